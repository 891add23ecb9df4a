#!/bin/sh
# Where the 3-D flow model's samples fail (docs/molecules3d.md, "Where the samples fail"):
#   bench/mol3d_diag.sh profile MODEL [build-dir]  the denoiser's position error at fixed times t
#       on val-split conformers (SPLIT=train: training conformers, for the generalisation gap),
#       beside x_t's own, for the EMA and the raw weights
#   bench/mol3d_diag.sh noise [build-dir]          EDM-rule stability of training conformers
#       under Gaussian coordinate noise (what a geometric error of that size costs)
# Environment: N (molecules, 512 for profile, 1000 for noise), SEED (5), SPLIT and WEIGHTS
# (profile mode: val, "ema raw"), SIGMAS (noise mode,
# "0 0.005 0.01 0.0127 0.02 0.03"); data from $SDEGEN_DATA or ../shared/data.
set -eu
mode=${1:-}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
data=${SDEGEN_DATA:-$root/../shared/data}
seed=${SEED:-5}
case $mode in
profile)
    model=${2:?usage: bench/mol3d_diag.sh profile MODEL [build-dir]}
    build=${3:-$root/build/release}
    bench_build "$build" bench_mol3d_diag
    for w in ${WEIGHTS:-ema raw}; do
        "$build/bench/bench_mol3d_diag" profile "$model" "$data" "${N:-512}" "$seed" $w "${SPLIT:-val}"
    done ;;
noise)
    build=${2:-$root/build/release}
    bench_build "$build" bench_mol3d_diag
    # shellcheck disable=SC2086
    "$build/bench/bench_mol3d_diag" noise "$data" "${N:-1000}" "$seed" ${SIGMAS:-0 0.005 0.01 0.0127 0.02 0.03} ;;
*) echo "usage: bench/mol3d_diag.sh profile MODEL [build-dir] | noise [build-dir]" >&2; exit 2 ;;
esac
