#!/bin/sh
# Formation-energy conditioning on the MP-20 subset (issue 6, target 2), from the CLI only.
#   bench/crystals_cond.sh [build-dir]
# For each guidance weight, target value and seed: `sdegen sample MODEL -n N --seed S --cond
# PROP=TARGET --guidance W -o FILE.h5` (EDM Heun, the model's defaults), then `sdegen eval crystals
# FILE.h5 --dataset mp_20 --property PROP --k K`: PROP of every decoded sample is predicted by
# dataset neighbour (the mean over its K nearest crystals of train+val+test under the L1
# distance of fractional compositions; docs/crystals.md "Property by dataset neighbour").
# An unconditional row (no --cond: the model's null embedding) per seed is the baseline.
# Prints one line per run, then a table target x seed -> mean predicted PROP with mean +- sd
# over seeds, and per guidance the verdict: are the means strictly increasing with the target
# (monotone), and the spread (mean at the highest target - mean at the lowest). The predictor
# is a proxy (composition lookup), not DFT: this shows direction, it is no benchmark figure.
# Environment:
#   MODEL     conditioned mp_20 model (default data/models/mp20_cond.h5; required otherwise)
#   PROP      the model's property (formation_energy_per_atom)
#   TARGETS   values asked for (default "-2.81 -0.87 -0.16": the 10th, 50th and 90th
#             percentiles of formation_energy_per_atom over the 847 train crystals, linear
#             interpolation between order statistics as numpy.percentile: -2.8104, -0.8685,
#             -0.1642 eV/atom); sorted ascending by the script
#   GUIDANCE  classifier-free guidance weights, each a separate table ("1"; "0 1 2" also
#             shows the effect of w, 0 = the conditional model without guidance)
#   SEEDS ("1 2 3"), N (500 samples per run), K (5 neighbours), THREADS (2),
#   OUT (default bench-out/crystals_cond), SDEGEN_SHARED, SDEGEN_DATA,
#   SAMPLE_ARGS (extra sample options, e.g. "--steps 50").
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
shared=${SDEGEN_SHARED:-$root/../shared}
data=${SDEGEN_DATA:-$shared/data}
model=${MODEL:-$root/data/models/mp20_cond.h5}
prop=${PROP:-formation_energy_per_atom}
targets=$(printf '%s\n' ${TARGETS:--2.81 -0.87 -0.16} | sort -g | tr '\n' ' ' | sed 's/ $//')
guidance=${GUIDANCE:-1}
seeds=${SEEDS:-1 2 3}
n=${N:-500}
k=${K:-5}
threads=${THREADS:-2}
out=${OUT:-$root/bench-out/crystals_cond}
if [ ! -f "$model" ]; then
    echo "bench/crystals_cond.sh: $model: no such model; set MODEL to an mp_20 model trained with --cond $prop" >&2
    exit 2
fi
. "$root/bench/lib.sh"
bench_build "$build" sdegen_cli
exe=$build/sdegen
mkdir -p "$out"
rm -f "$out/results.txt"
export OMP_NUM_THREADS=$threads
now() { date +%s.%N; }
echo "# bench/crystals_cond.sh: $(date -u +%FT%TZ), $(uname -m), $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg), threads $threads"
echo "# model $model, $prop, targets: $targets, guidance: $guidance, seeds: $seeds, N $n, k $k"
echo "# guidance target seed pred_mean pred_median pred_sd exact_pct n_pred overall_valid_pct sample_wall_s"
# run LABEL GUIDANCE SEED [sample options]: one sample + eval, one line in results.txt
run() {
    label=$1; g=$2; s=$3; shift 3
    base=$out/$([ "$label" = uncond ] && echo uncond || echo "target${label}_g$g")_seed$s   # no leading '-'
    gen=$base.h5
    rm -f "$gen"
    t0=$(now)
    "$exe" sample "$model" -n "$n" --seed "$s" --threads "$threads" "$@" ${SAMPLE_ARGS:-} -o "$gen" \
        >"$base.sample.log" 2>&1
    t1=$(now)
    "$exe" eval crystals "$gen" --dataset mp_20 --data "$data" --property "$prop" --k "$k" \
        >"$base.eval.log" 2>&1
    awk -v l="$label" -v g="$g" -v s="$s" -v t0="$t0" -v t1="$t1" '
        /^overall validity:/      { ov = $3 }
        /^property mean:/         { m = $3 }
        /^property median:/       { md = $3 }
        /^property sd:/           { sd = $3 }
        /^property exact match:/  { ex = $4 }
        /^property n:/            { np = $3 }
        END { printf "%s %s %s %s %s %s %s %s %s %.1f\n", g, l, s, m, md, sd, ex, np, ov, t1 - t0 }' \
        "$base.eval.log" | tee -a "$out/results.txt"
}
for s in $seeds; do run uncond - "$s"; done
for g in $guidance; do
    for t in $targets; do
        for s in $seeds; do run "$t" "$g" "$s" --cond "$prop=$t" --guidance "$g"; done
    done
done
echo "# mean predicted $prop (dataset neighbour, k $k) by target and seed; last column mean +- sd over seeds"
awk -v seeds="$seeds" -v targets="$targets" -v guidance="$guidance" '
    { v[$1, $2, $3] = $4 }
    function row(g, l, name,   i, ns, x, sx, sxx, line, sd) {
        line = sprintf("  %-8s %-8s", g, name); sx = 0; sxx = 0
        for (i = 1; i <= ns_; i++) {
            x = v[g, l, S[i]]; line = line sprintf(" %9s", x); sx += x; sxx += x * x
            if (x ~ /nan/) nodec = 1
        }
        m = sx / ns_; sd = ns_ > 1 ? (sxx - ns_ * m * m) / (ns_ - 1) : 0
        printf "%s   %.4f +- %.4f\n", line, m, sqrt(sd > 0 ? sd : 0)
        return m
    }
    END {
        ns_ = split(seeds, S, " "); nt = split(targets, T, " "); ng = split(guidance, G, " ")
        head = sprintf("  %-8s %-8s", "guidance", "target")
        for (i = 1; i <= ns_; i++) head = head sprintf(" %9s", "seed" S[i])
        print head "   mean +- sd"
        row("-", "uncond", "uncond")
        for (j = 1; j <= ng; j++) {
            mono = 1; nodec = 0
            for (i = 1; i <= nt; i++) { M[i] = row(G[j], T[i], T[i]); if (i > 1 && !(M[i] > M[i - 1])) mono = 0 }
            if (nodec) { printf "  guidance %s: no verdict: a run decoded no crystal\n", G[j]; continue }
            printf "  guidance %s: %s; spread (target %s minus target %s) %.4f\n", G[j],
                   mono ? "monotone (means strictly increase with the target)" : "NOT monotone", T[nt], T[1], M[nt] - M[1]
        }
    }' "$out/results.txt"
