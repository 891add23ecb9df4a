#!/bin/sh
# GDSS QM9 network call vs the SDE engine's own work per call, same batch, same run.
#   bench/gdss.sh [build-dir] [batch]      (needs ../shared/gdss/gdss_qm9.h5 or $SDEGEN_SHARED)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shared=${SDEGEN_SHARED:-$root/../shared}
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target bench_gdss >/dev/null
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cores"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$build/bench/bench_gdss" "$shared/gdss/gdss_qm9.h5" "${2:-1024}" 9
