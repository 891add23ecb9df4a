#!/usr/bin/env bash
# Runs one CLI case: tests/cli/cases/NAME.args holds the arguments of one sdegen call per line;
# every line but the last is a setup call that must exit 0, the last is the call under test.
# @SRC@, @TMP@ and @SHARED@ are replaced by the source tree, a fresh temporary directory and
# $SDEGEN_SHARED. Checks: NAME.exit (the exit status), NAME.stdout.exact (byte for byte, if
# present), NAME.stdout.contains (each line must occur in stdout, if present) and
# NAME.stderr.contains (each line must occur in stderr, and stderr is at most one line, if
# present). NAME.needs (optional) lists files, one a line, that must exist, else the case is
# skipped (exit 77). Exit 0 = pass.
set -uo pipefail
exe=$1; src=$2; name=$3
dir="$src/tests/cli/cases"
shared=${SDEGEN_SHARED:-/nonexistent}
tmp=$(mktemp -d /tmp/sdegen-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
subst() { sed -e "s#@SRC@#$src#g" -e "s#@TMP@#$tmp#g" -e "s#@SHARED@#$shared#g"; }
if [ -f "$dir/$name.needs" ]; then
  while IFS= read -r f; do
    f=$(printf '%s' "$f" | subst)
    [ -z "$f" ] || [ -e "$f" ] || { echo "$name: $f absent: skipped"; exit 77; }
  done <"$dir/$name.needs"
fi
mapfile -t lines < <(subst <"$dir/$name.args")
[ ${#lines[@]} -gt 0 ] || lines=("")
last=$((${#lines[@]} - 1))
for ((k = 0; k < last; k++)); do
  eval "set -- ${lines[$k]}"
  if ! "$exe" "$@" >"$tmp/setup.stdout" 2>"$tmp/setup.stderr" </dev/null; then
    echo "$name: setup call $((k + 1)) failed: ${lines[$k]}"
    cat "$tmp/setup.stdout" "$tmp/setup.stderr"
    exit 1
  fi
done
eval "set -- ${lines[$last]}"
"$exe" "$@" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
rc=$?
want=$(cat "$dir/$name.exit")
fail=0
[ "$rc" = "$want" ] || { echo "$name: exit $rc, expected $want"; fail=1; }
if [ -f "$dir/$name.stdout.exact" ]; then
  diff -u "$dir/$name.stdout.exact" "$tmp/stdout" || { echo "$name: stdout differs"; fail=1; }
fi
if [ -f "$dir/$name.stdout.contains" ]; then
  while IFS= read -r line; do
    grep -qF -- "$line" "$tmp/stdout" || { echo "$name: stdout lacks: $line"; fail=1; }
  done <"$dir/$name.stdout.contains"
fi
if [ -f "$dir/$name.stderr.contains" ]; then
  while IFS= read -r line; do
    grep -qF -- "$line" "$tmp/stderr" || { echo "$name: stderr lacks: $line"; fail=1; }
  done <"$dir/$name.stderr.contains"
  # a one-line error: stderr has exactly one line
  [ "$(wc -l <"$tmp/stderr")" -le 1 ] || { echo "$name: stderr has more than one line"; fail=1; }
fi
[ $fail -eq 0 ] || { echo "--- stdout"; cat "$tmp/stdout"; echo "--- stderr"; cat "$tmp/stderr"; }
exit $fail
