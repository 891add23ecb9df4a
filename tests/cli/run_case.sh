#!/usr/bin/env bash
# Runs one CLI case: tests/cli/cases/NAME.args (the arguments, one line; @SRC@ and @TMP@ are
# replaced by the source tree and a fresh temporary directory), and checks NAME.exit (the exit
# status), NAME.stdout.exact (byte for byte, if present) and NAME.stderr.contains (each line
# must occur in stderr, if present). Exit 0 = pass.
set -uo pipefail
exe=$1; src=$2; name=$3
dir="$src/tests/cli/cases"
tmp=$(mktemp -d /tmp/sdegen-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
args=$(sed -e "s#@SRC@#$src#g" -e "s#@TMP@#$tmp#g" "$dir/$name.args")
eval "set -- $args"
"$exe" "$@" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
rc=$?
want=$(cat "$dir/$name.exit")
fail=0
[ "$rc" = "$want" ] || { echo "$name: exit $rc, expected $want"; fail=1; }
if [ -f "$dir/$name.stdout.exact" ]; then
  diff -u "$dir/$name.stdout.exact" "$tmp/stdout" || { echo "$name: stdout differs"; fail=1; }
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
