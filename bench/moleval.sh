#!/bin/sh
# Measures `sdegen eval molecules` on a perfect sampler (docs/molecules.md, "Evaluation"):
# K random training molecules, as copies and after GDSS's graph round trip, against the test split.
# Usage: bench/moleval.sh [build-dir] [qm9|zinc250k] [K] [seed]   (data from $SDEGEN_DATA or ../shared/data)
set -eu
BUILD=${1:-build/release}
SET=${2:-qm9}
K=${3:-10000}
SEED=${4:-0}
cd "$(dirname "$0")/.."
DATA=${SDEGEN_DATA:-$(pwd)/../shared/data}
if [ ! -x "$BUILD/bench/bench_moleval" ]; then
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j2 --target bench_moleval sdegen_cli >/dev/null
fi
TMP=$(mktemp -d /tmp/sdegen-moleval-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
"$BUILD/bench/bench_moleval" "$DATA" "$SET" "$K" "$SEED" "$TMP/$SET"
for kind in copy graph; do
    echo "## $K $SET training molecules ($kind), seed $SEED"
    /usr/bin/time -f "# /usr/bin/time: %e s wall, %M KB max RSS" \
        "$BUILD/sdegen" eval molecules "$TMP/$SET.$kind.smi" --dataset "$SET" --data "$DATA"
done
