#!/usr/bin/env bash
# Configures and builds one flavour of sdegen: build.sh release|asan  (prints the build dir).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:-release}
case "$flavour" in
  release) dir="$root/build/release"; opts=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    dir="$root/build/asan";    opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSDEGEN_SANITIZE=ON) ;;
  *) echo "usage: build.sh release|asan" >&2; exit 2 ;;
esac
mkdir -p "$root/build"
cmake -S "$root" -B "$dir" "${opts[@]}" -DSDEGEN_TEST_DATA="$root/../shared" >"$dir.configure.log" 2>&1 \
  || { mkdir -p "$dir"; cat "$dir.configure.log" >&2; exit 1; }
cmake --build "$dir" -j"$(nproc)" >"$dir.build.log" 2>&1 || { tail -40 "$dir.build.log" >&2; exit 1; }
echo "$dir"
