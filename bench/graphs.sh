#!/bin/sh
# GDSS on the generic graph datasets: the issue's targets, from the command line tools only.
#   bench/graphs.sh published [build-dir]   published weights (../shared/gdss), our sampler
#   bench/graphs.sh trained   [build-dir]   the models shipped in data/models
#   bench/graphs.sh speed     [build-dir]   sampling speed only (published ENZYMES and grid
#                                           weights, one chunk at GDSS's batch, STEPS steps)
# For each dataset and seed: sample as many graphs as the test split holds (GDSS's protocol),
# then `sdegen eval graphs` against the test split. Prints per dataset the MMD^2 of each seed,
# mean and std over seeds, the paper's value and the target (published: paper + 50 %,
# trained: 1.5 x paper). Speed: each sample run's s per 1000 graphs and network GFLOP/s, with a
# 1024^3 sgemm measured right before and after it (the faster of the two is the reference).
# Environment: SEEDS (default "1 2 3"), DATASETS (default all four), SDEGEN_SHARED,
# SDEGEN_DATA, OUT (results directory, default bench-out/graphs-<mode>), THREADS (2),
# SAMPLE_ARGS (extra options for sdegen sample, e.g. "--weights ema"), MODEL_DIR (trained mode:
# where the DATASET.h5 models are, default data/models).
set -eu
mode=${1:-published}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$root/build/release}
shared=${SDEGEN_SHARED:-$root/../shared}
data=${SDEGEN_DATA:-$shared/data}
seeds=${SEEDS:-1 2 3}
threads=${THREADS:-2}
out=${OUT:-$root/bench-out/graphs-$mode}
case $mode in
    speed)     datasets=${DATASETS:-enzymes grid} ;;
    published) datasets=${DATASETS:-community_small ego_small enzymes grid} ;;
    trained)   datasets=${DATASETS:-community_small ego_small} ;;
    *) echo "usage: bench/graphs.sh published|trained|speed [build-dir]" >&2; exit 2 ;;
esac
. "$root/bench/lib.sh"
bench_build "$build" sdegen_cli bench_sgemm
exe=$build/sdegen
mkdir -p "$out"
export OMP_NUM_THREADS=$threads
sgemm() { "$build/bench/bench_sgemm" 5 "$threads" | awk '{print $2}'; }
echo "# bench/graphs.sh $mode: $(date -u +%FT%TZ), $(uname -m), $(getconf _NPROCESSORS_ONLN) cores, seeds: $seeds, threads $threads"
if [ "$mode" = speed ]; then
    # One chunk of GDSS's sampling batch per run (ENZYMES 64, grid 8), STEPS steps of the
    # model's own sampler; the network's GFLOP/s does not depend on the step count, and the
    # seconds per 1000 graphs at 1000 steps are projected as wall * (1000 / STEPS).
    steps=${STEPS:-20}
    echo "# dataset run graphs steps wall_s projected_s_per_1000_graphs_at_1000_steps gflops sgemm_gflops ratio"
    for ds in $datasets; do
        model=$out/$ds.h5
        [ -f "$model" ] || "$exe" import-gdss "$shared/gdss/gdss_$ds.h5" -o "$model" --data "$data" >/dev/null
        case $ds in enzymes) b=64 ;; grid) b=8 ;; community_small|ego_small) b=128 ;; esac
        for s in $seeds; do
            g0=$(sgemm)
            "$exe" sample "$model" -n "$b" --seed "$s" --steps "$steps" -o "$out/${ds}_speed$s.h5" >"$out/${ds}_speed$s.log"
            g1=$(sgemm)
            awk -v ds="$ds" -v s="$s" -v b="$b" -v k="$steps" -v g0="$g0" -v g1="$g1" '
                /^wall/ { wall = $2 }
                /GFLOP\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) == "GFLOP/s") gf = $i }
                END { ref = g0 > g1 ? g0 : g1
                      printf "%s %s %s %s %s %.0f %s %.1f %.3f\n", ds, s, b, k, wall, wall * 1000 / b * 1000 / k, gf, ref, gf / ref }' \
                "$out/${ds}_speed$s.log"
        done
    done | tee "$out/results.txt"
    exit 0
fi
echo "# dataset seed n degree clustering orbit wall_s s_per_1000 gflops sgemm_gflops ratio"
for ds in $datasets; do
    if [ "$mode" = published ]; then
        model=$out/$ds.h5
        [ -f "$model" ] || "$exe" import-gdss "$shared/gdss/gdss_$ds.h5" -o "$model" --data "$data" >/dev/null
    else
        model=${MODEL_DIR:-$root/data/models}/$ds.h5
    fi
    case $ds in   # the test split's size: floor(0.2 G), GDSS's sample count
        community_small) n=20 ;; ego_small) n=40 ;; enzymes) n=117 ;; grid) n=20 ;;
    esac
    for s in $seeds; do
        gen=$out/${ds}_seed$s.txt
        g0=$(sgemm)
        "$exe" sample "$model" -n "$n" --seed "$s" ${SAMPLE_ARGS:-} -o "$gen" >"$out/${ds}_seed$s.sample.log"
        g1=$(sgemm)
        "$exe" eval graphs "$gen" --ref "$ds" --data "$data" >"$out/${ds}_seed$s.eval.log"
        awk -v ds="$ds" -v s="$s" -v n="$n" -v g0="$g0" -v g1="$g1" '
            FNR == NR && /^(degree|clustering|orbit) / { v[$1] = $2; next }
            FNR != NR && /^wall/ { wall = $2 }
            FNR != NR && /per 1000 graphs/ { per = $2 }
            FNR != NR && /GFLOP\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) == "GFLOP/s") gf = $i }
            END { ref = g0 > g1 ? g0 : g1
                  printf "%s %s %s %.6f %.6f %.6f %s %s %s %.1f %.3f\n", ds, s, n, v["degree"], v["clustering"],
                         v["orbit"], wall, per, gf, ref, gf / ref }' \
            "$out/${ds}_seed$s.eval.log" "$out/${ds}_seed$s.sample.log"
    done
done | tee "$out/results.txt"
# summary: mean and std over seeds against the paper
awk -v mode="$mode" '
    BEGIN { p["ego_small"] = "0.021 0.024 0.007"; p["community_small"] = "0.045 0.086 0.007"
            p["enzymes"] = "0.026 0.061 0.009"; p["grid"] = "0.111 0.005 0.070"
            f = mode == "published" ? 1.5 : 1.5 }
    !/^#/ { k = ++c[$1]; for (j = 0; j < 3; j++) x[$1, j, k] = $(4 + j); if (!($1 in seen)) { seen[$1] = 1; ord[++n] = $1 } }
    END {
        split("degree clustering orbit", name, " ")
        printf "# %-16s %-11s %-18s %-7s %-7s %s\n", "dataset", "statistic", "mean +- std", "paper", "target", "met"
        for (i = 1; i <= n; i++) { d = ord[i]; split(p[d], pp, " ")
            for (j = 0; j < 3; j++) { m = 0; for (k = 1; k <= c[d]; k++) m += x[d, j, k]; m /= c[d]
                v = 0; for (k = 1; k <= c[d]; k++) v += (x[d, j, k] - m) ^ 2; sd = c[d] > 1 ? sqrt(v / (c[d] - 1)) : 0
                t = pp[j + 1] * f
                printf "  %-16s %-11s %.4f +- %.4f    %-7s %-7.4f %s\n", d, name[j + 1], m, sd, pp[j + 1], t, m <= t ? "yes" : "NO" } } }
' "$out/results.txt"
