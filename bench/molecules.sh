#!/bin/sh
# GDSS on molecules: issue 5's targets, from the command-line tools only.
#   bench/molecules.sh published [build-dir]  published QM9 and ZINC250k weights (../shared/gdss),
#                                              our sampler with GDSS's settings (batch 10,000)
#   bench/molecules.sh trained   [build-dir]  the shipped data/models/qm9.h5 (or MODEL=path)
#   bench/molecules.sh speed     [build-dir]  1,000 QM9 molecules with the full 1000-step PC
#                                              sampler into an SDF, then faster settings
# For each model and seed: sample N molecules (`sdegen sample`), then `sdegen eval molecules`
# against the dataset's GDSS test split; one line per run with validity w/o correction,
# validity, uniqueness, novelty and NSPDK MMD, wall seconds, network GFLOP/s and the ratio
# to a 1024^3 sgemm measured right before and after the run (the faster of the two).
# Summary: mean +- std over seeds and the issue's target for each metric.
# Environment: SEEDS (default "1 2 3"), DATASETS (published: "qm9 zinc250k"), N (10000; the
# speed mode uses 1000), N_ZINC (ZINC250k sample count, default N), THREADS (2), SDEGEN_SHARED,
# SDEGEN_DATA, OUT (default bench-out/molecules-<mode>), MODEL (trained mode),
# SAMPLE_ARGS (extra options for sdegen sample), FAST (speed mode: the faster sampler settings
# to compare, ';'-separated; default "--sampler s4 --steps 500;--sampler ode").
set -eu
mode=${1:-published}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$root/build/release}
shared=${SDEGEN_SHARED:-$root/../shared}
data=${SDEGEN_DATA:-$shared/data}
seeds=${SEEDS:-1 2 3}
threads=${THREADS:-2}
out=${OUT:-$root/bench-out/molecules-$mode}
case $mode in
    published|trained|speed) ;;
    *) echo "usage: bench/molecules.sh published|trained|speed [build-dir]" >&2; exit 2 ;;
esac
. "$root/bench/lib.sh"
bench_build "$build" sdegen_cli bench_sgemm
exe=$build/sdegen
mkdir -p "$out"
export OMP_NUM_THREADS=$threads
sgemm() { "$build/bench/bench_sgemm" 5 "$threads" | awk '{print $2}'; }
now() { date +%s.%N; }
echo "# bench/molecules.sh $mode: $(date -u +%FT%TZ), $(uname -m), $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg), seeds: $seeds, threads $threads"

# run NAME MODEL DATASET N SEED EXT [sample options...]: one sample + eval; prints the result line
run() {
    name=$1 model=$2 ds=$3 n=$4 s=$5 ext=$6
    shift 6
    gen=$out/$name.$ext
    rm -f "$gen"
    g0=$(sgemm)
    t0=$(now)
    "$exe" sample "$model" -n "$n" --seed "$s" "$@" -o "$gen" >"$out/$name.sample.log" 2>&1
    t1=$(now)
    g1=$(sgemm)
    "$exe" eval molecules "$gen" --dataset "$ds" --data "$data" >"$out/$name.eval.log" 2>&1
    awk -v name="$name" -v n="$n" -v g0="$g0" -v g1="$g1" -v t0="$t0" -v t1="$t1" '
        FNR == NR && /^(validity_wo_correction|validity|uniqueness|novelty|nspdk_mmd) / { v[$1] = $2; next }
        FNR != NR && /GFLOP\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) == "GFLOP/s") gf = $i }
        END { ref = g0 > g1 ? g0 : g1
              printf "%s %s %s %s %s %s %s %.1f %s %.1f %.3f\n", name, n, v["validity_wo_correction"],
                     v["validity"], v["uniqueness"], v["novelty"], v["nspdk_mmd"], t1 - t0, gf, ref,
                     (gf + 0) / ref }' \
        "$out/$name.eval.log" "$out/$name.sample.log"
}

header="# run n valid_wo_corr validity uniqueness novelty nspdk wall_s gflops sgemm_gflops ratio"
case $mode in
published)
    echo "$header"
    for ds in ${DATASETS:-qm9 zinc250k}; do
        model=$out/$ds.h5
        [ -f "$model" ] || "$exe" import-gdss "$shared/gdss/gdss_$ds.h5" -o "$model" --data "$data" >/dev/null
        n=${N:-10000}
        [ "$ds" = zinc250k ] && n=${N_ZINC:-$n}
        for s in $seeds; do run "${ds}_seed$s" "$model" "$ds" "$n" "$s" h5 ${SAMPLE_ARGS:-}; done
    done | tee "$out/results.txt" ;;
trained)
    echo "$header"
    model=${MODEL:-$root/data/models/qm9.h5}
    for s in $seeds; do run "qm9_seed$s" "$model" qm9 "${N:-10000}" "$s" h5 ${SAMPLE_ARGS:-}; done |
        tee "$out/results.txt" ;;
speed)
    # 1,000 molecules, one chunk, written as SDF: the full PC sampler, then each FAST setting
    # (network evaluations per molecule in the sample log); validity over N_VALID molecules
    # (default 10000) for each setting, so that the 2-point comparison is not noise.
    model=${MODEL:-$out/qm9.h5}
    [ -f "$model" ] || "$exe" import-gdss "$shared/gdss/gdss_qm9.h5" -o "$model" --data "$data" >/dev/null
    echo "$header"
    {
        for s in $seeds; do run "pc_seed$s" "$model" qm9 1000 "$s" sdf --batch 1000 ${SAMPLE_ARGS:-}; done
        IFS=';'
        k=0
        for f in ${FAST:---sampler s4 --steps 500;--sampler ode}; do
            k=$((k + 1))
            IFS=' '
            for s in $seeds; do run "fast${k}_seed$s" "$model" qm9 1000 "$s" sdf --batch 1000 $f ${SAMPLE_ARGS:-}; done
            IFS=';'
        done
        IFS=' '
    } | tee "$out/results.txt"
    exit 0 ;;
esac
# summary over seeds against the targets (issue 5: validity w/o correction >= 95 % for the
# published weights, >= 93 % for the model trained here; ZINC250k's only target is that one)
awk -v mode="$mode" '
    !/^#/ { split($1, p, "_seed"); d = p[1]; k = ++c[d]; for (j = 3; j <= 7; j++) x[d, j, k] = $j
            if (!(d in seen)) { seen[d] = 1; ord[++n] = d } }
    END {
        split("- - valid_wo_corr validity uniqueness novelty nspdk", name, " ")
        t["qm9", 3] = mode == "trained" ? ">= 0.93" : ">= 0.95"; t["qm9", 5] = ">= 0.98"; t["qm9", 6] = ">= 0.85"; t["qm9", 7] = "<= 0.005"
        t["zinc250k", 3] = ">= 0.95"
        printf "# %-10s %-15s %-22s %-10s %s\n", "model", "metric", "mean +- std", "target", "met"
        for (i = 1; i <= n; i++) { d = ord[i]
            for (j = 3; j <= 7; j++) { m = 0; for (k = 1; k <= c[d]; k++) m += x[d, j, k]; m /= c[d]
                v = 0; for (k = 1; k <= c[d]; k++) v += (x[d, j, k] - m) ^ 2; sd = c[d] > 1 ? sqrt(v / (c[d] - 1)) : 0
                tg = t[d, j]; met = "-"
                if (tg != "") { split(tg, q, " "); met = (q[1] == ">=" ? m >= q[2] : m <= q[2]) ? "yes" : "NO" }
                printf "  %-10s %-15s %.5f +- %.5f   %-10s %s\n", d, name[j], m, sd, tg == "" ? "-" : tg, met } } }
' "$out/results.txt"
