# Sourced by the CLI test scripts (bash) after they set tmp (a scratch directory) and case.
fail() { echo "FAIL ($case): $*"; exit 1; }
# err WANT_EXIT TEXT cmd...: cmd fails with exit status WANT_EXIT and one line on stderr holding TEXT
err() {
  local want=$1 text=$2; shift 2
  "$@" >"$tmp/o" 2>"$tmp/e"; local rc=$?
  [ "$rc" = "$want" ] || fail "exit $rc (want $want): $*: $(cat "$tmp/e")"
  grep -qF -- "$text" "$tmp/e" || fail "stderr lacks '$text': $(cat "$tmp/e")"
  [ "$(wc -l <"$tmp/e")" -eq 1 ] || fail "stderr is not one line: $(cat "$tmp/e")"
}
