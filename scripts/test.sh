#!/usr/bin/env bash
# The README's test command: installs missing packages, then builds and runs the whole suite
# twice, in a Release build and in an ASan+UBSan build; any failure or sanitizer report fails it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
mkdir -p "$root/build"
export SDEGEN_DATA="${SDEGEN_DATA:-$root/../shared/data}"
status=0
echo "== Release build"
rel=$("$root/scripts/build.sh" release)
(cd "$rel" && ctest -j2 --output-on-failure) || status=1
echo "== ASan+UBSan build"
asan=$("$root/scripts/build.sh" asan)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd "$asan" && ctest -j2 --output-on-failure) || status=1
exit $status
