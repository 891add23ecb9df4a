#!/bin/sh
# Crystal sampling speed, from the command line tools only: the issue's target is 1,000 Perov-5
# crystals (EDM Heun, 100 steps = 199 network evaluations) written as CIF in <= 30 s on 2 cores.
#   bench/crystals_speed.sh [build-dir]
# Builds Release, then RUNS times: `sdegen sample MODEL -n N -o OUT/runK/` (a directory: one CIF
# per decoded crystal plus summary.tsv), with a 1024^3 sgemm (bench_sgemm) measured right before
# and after each run (the faster of the two is the reference). Prints per run the wall time, the
# seconds per 1000 crystals, the network GFLOP/s (network FLOPs over the whole wall time, so
# decoding and CIF writing count against it) and its ratio to sgemm; then the medians and the
# load average before and after.
# Environment: MODEL (default data/models/perov5.h5 when it exists; otherwise a throwaway model
# of 1 epoch is trained into OUT, which the output says: its crystals are mostly undecodable,
# which makes decoding and writing cheaper than with a trained model), N (1000), RUNS (3),
# THREADS (2), SEED (1), BASE (U-Net base width of the throwaway model, 32), OUT (results
# directory, default bench-out/crystals-speed), SDEGEN_SHARED / SDEGEN_DATA (datasets).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
shared=${SDEGEN_SHARED:-$root/../shared}
data=${SDEGEN_DATA:-$shared/data}
n=${N:-1000}
runs=${RUNS:-3}
threads=${THREADS:-2}
seed=${SEED:-1}
base=${BASE:-32}
out=${OUT:-$root/bench-out/crystals-speed}
. "$root/bench/lib.sh"
bench_build "$build" sdegen_cli bench_sgemm
exe=$build/sdegen
mkdir -p "$out"
export OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
sgemm() { "$build/bench/bench_sgemm" 5 "$threads" | awk '{print $2}'; }
model=${MODEL:-}
trained=yes
if [ -z "$model" ] && [ -f "$root/data/models/perov5.h5" ]; then
    model=$root/data/models/perov5.h5
elif [ -z "$model" ]; then
    model=$out/perov5_untrained_b$base.h5
    trained=no
    if [ ! -f "$model" ]; then
        "$exe" train crystal --dataset perov_5 --data "$data" -o "$model" --epochs 1 --base "$base" \
            --threads "$threads" >"$out/train.log"
    fi
fi
echo "# bench/crystals_speed.sh: $(date -u +%FT%TZ), $(uname -m), $(getconf _NPROCESSORS_ONLN) cores, threads $threads"
echo "# model: $model$([ "$trained" = no ] && echo " (UNTRAINED throwaway, 1 epoch, base $base: timing only)")"
echo "# load before: $(uptime | sed 's/.*load average: //')"
echo "# run n wall_s s_per_1000 gflop gflops sgemm_gflops ratio"
k=1
while [ "$k" -le "$runs" ]; do
    dir=$out/run$k
    rm -rf "$dir"
    g0=$(sgemm)
    "$exe" sample "$model" -n "$n" --seed "$seed" -o "$dir/" >"$out/run$k.log"
    g1=$(sgemm)
    awk -v k="$k" -v n="$n" -v g0="$g0" -v g1="$g1" '
        /^wall:/ { wall = $2 }
        /^speed:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^GFLOP/) gf = $i }
        END { ref = g0 > g1 ? g0 : g1
              printf "%s %s %.2f %.1f %.1f %.2f %.1f %.3f\n", k, n, wall, wall * 1000 / n, gf, gf / wall, ref,
                     gf / wall / ref }' "$out/run$k.log"
    k=$((k + 1))
done | tee "$out/results.txt"
echo "# load after: $(uptime | sed 's/.*load average: //')"
sort -n -k3 "$out/results.txt" | awk -v runs="$runs" '
    { w[NR] = $3; p[NR] = $4; g[NR] = $6; r[NR] = $8 }
    END { m = int((NR + 1) / 2)
          printf "median run of %d (by wall): wall %.2f s, %.1f s per 1000 crystals, %.2f GFLOP/s, %.3f of sgemm (target: <= 30 s per 1000)\n",
                 NR, w[m], p[m], g[m], r[m] }'
