#!/bin/sh
# Runs the SDE engine benchmark (bench/sde.c) on a Release build and prints Markdown tables.
# Usage: bench/sde.sh [build-dir] [quick]
set -eu
BUILD=${1:-build}
MODE=${2:-}
cd "$(dirname "$0")/.."
if [ ! -x "$BUILD/bench/bench_sde" ]; then
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j2 --target bench_sde >/dev/null
fi
echo "# bench_sde on $(uname -m), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OPENBLAS_NUM_THREADS=1 "$BUILD/bench/bench_sde" $MODE
