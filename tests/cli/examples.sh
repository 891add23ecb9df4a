#!/usr/bin/env bash
# Installs the build into a staging prefix and builds every example against it through
# pkg-config, as a user would; then runs each and checks it exits 0.
set -euo pipefail
build=$1; src=$2
stage=$(mktemp -d /tmp/sdegen-stage-XXXXXX)
trap 'rm -rf "$stage"' EXIT
cmake --install "$build" --prefix "$stage" >/dev/null
export PKG_CONFIG_PATH="$stage/lib/pkgconfig:$stage/lib/x86_64-linux-gnu/pkgconfig"
pkg-config --exists sdegen || { echo "pkg-config cannot find the installed sdegen.pc"; exit 1; }
for c in "$src"/examples/*.c; do
  exe="$stage/$(basename "${c%.c}")"
  cc -std=c11 -Wall -Wextra -Werror "$c" $(pkg-config --cflags sdegen) -o "$exe" \
     -Wl,-rpath,"$(pkg-config --variable=libdir sdegen)" $(pkg-config --libs sdegen)
  out=$("$exe")
  echo "$(basename "$c"): $out"
done
