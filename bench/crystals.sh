#!/bin/sh
# Crystal models against the benchmark test sets (issue 6, target 1), from the CLI only.
#   bench/crystals.sh [build-dir]
# For each dataset and seed: `sdegen sample MODEL -n N --seed S -o DS_seedS.h5` (EDM Heun, the
# model's defaults), then `sdegen eval crystals DS_seedS.h5 --dataset DS` (reference = the test
# split, training set = the split the model trained on; undecodable samples count as invalid).
# Prints a line per seed and mean +- sd over seeds of: structural, compositional and overall
# validity, uniqueness, novelty, density W1 (g/cm^3), element-count W1, the most common space
# group, and the sampling wall time.
# Environment: DATASETS (default "perov_5 carbon_24"), SEEDS ("1 2 3"), N (1000), THREADS (2),
# MODEL_DIR (default data/models: perov5.h5, carbon24.h5), OUT (default bench-out/crystals),
# SDEGEN_SHARED, SDEGEN_DATA, SAMPLE_ARGS (extra sample options, e.g. "--steps 50").
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
shared=${SDEGEN_SHARED:-$root/../shared}
data=${SDEGEN_DATA:-$shared/data}
datasets=${DATASETS:-perov_5 carbon_24}
seeds=${SEEDS:-1 2 3}
n=${N:-1000}
threads=${THREADS:-2}
models=${MODEL_DIR:-$root/data/models}
out=${OUT:-$root/bench-out/crystals}
. "$root/bench/lib.sh"
bench_build "$build" sdegen_cli
exe=$build/sdegen
mkdir -p "$out"
rm -f "$out/results.txt"
export OMP_NUM_THREADS=$threads
now() { date +%s.%N; }
echo "# bench/crystals.sh: $(date -u +%FT%TZ), $(uname -m), $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg), N $n, seeds: $seeds, threads $threads"
echo "# dataset seed structural compositional overall uniqueness novelty density_w1 elements_w1 top_spacegroup sample_wall_s"
for ds in $datasets; do
    model=$models/$(echo "$ds" | tr -d '_').h5
    [ -f "$model" ] || { echo "bench/crystals.sh: $model: no such model" >&2; exit 1; }
    for s in $seeds; do
        gen=$out/${ds}_seed$s.h5
        rm -f "$gen"
        t0=$(now)
        "$exe" sample "$model" -n "$n" --seed "$s" ${SAMPLE_ARGS:-} -o "$gen" >"$out/${ds}_seed$s.sample.log" 2>&1
        t1=$(now)
        "$exe" eval crystals "$gen" --dataset "$ds" --data "$data" >"$out/${ds}_seed$s.eval.log" 2>&1
        awk -v ds="$ds" -v s="$s" -v t0="$t0" -v t1="$t1" '
            /^structural validity:/    { st = $3 }
            /^compositional validity:/ { co = $3 }
            /^overall validity:/       { ov = $3 }
            /^uniqueness:/             { un = $2 }
            /^novelty:/                { no = $2 }
            /^density W1:/             { dw = $3 }
            /^elements W1:/            { ew = $3 }
            /^space groups/            { top = 1; next }
            top == 1 && NF >= 3        { sg = $1 "(" $2 ")"; top = 2 }
            END { printf "%s %s %s %s %s %s %s %s %s %s %.1f\n", ds, s, st, co, ov, un, no, dw, ew, sg, t1 - t0 }' \
            "$out/${ds}_seed$s.eval.log" | tee -a "$out/results.txt"
    done
done
echo "# dataset   metric          mean +- sd (over seeds)"
for ds in $datasets; do
    awk -v ds="$ds" -v seeds="$seeds" '
        $1 == ds { k++; for (i = 3; i <= 9; i++) { x[i] += $i; xx[i] += $i * $i } }
        END { split("structural compositional overall uniqueness novelty density_w1 elements_w1", nm, " ")
              for (i = 3; i <= 9; i++) { m = x[i] / k; v = k > 1 ? (xx[i] - k * m * m) / (k - 1) : 0
                  printf "  %-9s %-15s %.4f +- %.4f\n", ds, nm[i - 2], m, sqrt(v > 0 ? v : 0) } }' \
        "$out/results.txt"
done
