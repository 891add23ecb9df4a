#!/bin/sh
# GDSS network calls (X + A, grad off) with the published weights against a same-run sgemm;
# for QM9 also the SDE engine's own work per call.
#   bench/gdss.sh [build-dir] [dataset ...]     datasets: community_small ego_small enzymes
#                                               grid qm9 zinc250k (default: all six)
# Each dataset runs at its sampling batch (bench/gdss.c; QM9 at 1000, the batch of its target:
# one X+A call <= 20 ms, printed as "QM9 target"); BATCH=n overrides it, REPS the
# repetitions (default 9). The load average is printed first: the ratios to the same-run
# sgemm are the figures to compare on a shared machine. Needs ../shared/gdss/gdss_<dataset>.h5
# or $SDEGEN_SHARED.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
shared=${SDEGEN_SHARED:-$root/../shared}
. "$root/bench/lib.sh"
bench_build "$build" bench_gdss
sets=${*:-community_small ego_small enzymes grid qm9 zinc250k}
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for d in $sets; do
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$build/bench/bench_gdss" "$shared/gdss/gdss_$d.h5" \
        "${BATCH:-0}" "${REPS:-9}"
done
