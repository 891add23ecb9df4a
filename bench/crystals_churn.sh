#!/bin/sh
# EDM churn for crystal sampling (docs/crystals.md "Sampling"): the same model, seed and sample
# count with several --churn values, everything else at the defaults (EDM Heun, 100 steps, plain
# decoding). Validity is reference-free; the W1 distances are against the test split.
#   bench/crystals_churn.sh [build-dir]
# Prints per churn value: undecodable, crystals holding an element outside the training
# vocabulary, structural, compositional and overall validity (of all samples), density and
# element-count W1, and the sampling wall time.
# Environment: MODEL (default data/models/perov5.h5), DATASET (the model's, default perov_5),
# CHURNS (default "0 10 20 40 80"), N (200), SEED (100: not one of bench/crystals.sh's seeds),
# THREADS (1), OUT (default bench-out/crystals-churn), SDEGEN_SHARED, SDEGEN_DATA.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
shared=${SDEGEN_SHARED:-$root/../shared}
data=${SDEGEN_DATA:-$shared/data}
model=${MODEL:-$root/data/models/perov5.h5}
ds=${DATASET:-perov_5}
churns=${CHURNS:-0 10 20 40 80}
n=${N:-200}
seed=${SEED:-100}
threads=${THREADS:-1}
out=${OUT:-$root/bench-out/crystals-churn}
. "$root/bench/lib.sh"
bench_build "$build" sdegen_cli
exe=$build/sdegen
mkdir -p "$out"
export OMP_NUM_THREADS=$threads
echo "# bench/crystals_churn.sh: $(date -u +%FT%TZ), $(uname -m), $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg), model $model, N $n, seed $seed, threads $threads"
echo "# churn undecodable outside_vocabulary structural compositional overall density_w1 elements_w1 wall_s"
for c in $churns; do
    gen=$out/churn$c.h5
    rm -f "$gen"
    "$exe" sample "$model" -n "$n" --seed "$seed" --threads "$threads" --churn "$c" -o "$gen" >"$out/churn$c.sample.log" 2>&1
    "$exe" eval crystals "$gen" --dataset "$ds" --data "$data" >"$out/churn$c.eval.log" 2>&1
    awk -v c="$c" '
        FNR == NR && /^undecodable:/                     { und = $2 }
        FNR == NR && /^outside the training vocabulary:/ { fo = $5 "/" $7 }
        FNR == NR && /^wall:/                            { wall = $2 }
        FNR != NR && /^structural validity:/             { st = $3 }
        FNR != NR && /^compositional validity:/          { co = $3 }
        FNR != NR && /^overall validity:/                { ov = $3 }
        FNR != NR && /^density W1:/                      { dw = $3 }
        FNR != NR && /^elements W1:/                     { ew = $3 }
        END { printf "%s %s %s %s %s %s %s %s %s\n", c, und, fo == "" ? "-" : fo, st, co, ov, dw, ew, wall }' \
        "$out/churn$c.sample.log" "$out/churn$c.eval.log"
done | tee "$out/results.txt"
