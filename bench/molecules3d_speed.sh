#!/bin/sh
# 3-D molecule sampling speed, from the command line tools only: the issue's target is 1,000 QM9
# 3-D molecules with 100 ODE steps (101 network evaluations per chunk) written as SDF in <= 60 s
# on 2 cores.
#   bench/molecules3d_speed.sh [build-dir]
# Builds Release, then for each thread count in THREADS, RUNS times: `sdegen sample MODEL -n N
# -o OUT/runK.sdf --threads T` under /usr/bin/time, with a 1024^3 sgemm (bench_sgemm) measured
# right before and after each run (the faster of the two is the reference). Prints per run the
# wall and CPU (user + system) seconds, both scaled to 1,000 molecules, and the sgemm figure;
# then the medians per thread count and the load average before and after. On a shared machine
# the CPU seconds are the figure to compare: wall time there measures the other jobs.
# Environment: MODEL (default: a throwaway model with the default network, 1 epoch on the first
# 400 conformers, trained into OUT: speed does not depend on the weights), N (1000), RUNS (3),
# THREADS ("1 2"), SEED (1), EXE (the sdegen to time, default the build's: point it at an older
# build for a before/after comparison), OUT (default bench-out/molecules3d-speed), SDEGEN_DATA.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
data=${SDEGEN_DATA:-${SDEGEN_SHARED:-$root/../shared}/data}
n=${N:-1000}
runs=${RUNS:-3}
threads_list=${THREADS:-1 2}
seed=${SEED:-1}
out=${OUT:-$root/bench-out/molecules3d-speed}
. "$root/bench/lib.sh"
bench_build "$build" sdegen_cli bench_sgemm
exe=${EXE:-$build/sdegen}
mkdir -p "$out"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} OPENBLAS_NUM_THREADS=1
model=${MODEL:-}
if [ -z "$model" ]; then
    model=$out/mol3d_untrained.h5
    if [ ! -f "$model" ]; then
        "$build/sdegen" train molecules3d --data "$data" -o "$model" --max-rows 400 --epochs 1 --threads 1 \
            >"$out/train.log" 2>&1
    fi
fi
echo "# bench/molecules3d_speed.sh: $(date -u +%FT%TZ), $(uname -m), $(getconf _NPROCESSORS_ONLN) cores"
echo "# sdegen: $exe; model: $model"
echo "# load before: $(uptime | sed 's/.*load average: //')"
echo "# threads run n wall_s wall_per_1000 cpu_s cpu_per_1000 sgemm_gflops"
for t in $threads_list; do
    k=1
    while [ "$k" -le "$runs" ]; do
        g0=$("$build/bench/bench_sgemm" 5 "$t" | awk '{print $2}')
        /usr/bin/time -f "%e %U %S" -o "$out/time$t.$k" "$exe" sample "$model" -n "$n" --seed "$seed" \
            --threads "$t" -o "$out/run$t.$k.sdf" >"$out/run$t.$k.log" 2>&1
        g1=$("$build/bench/bench_sgemm" 5 "$t" | awk '{print $2}')
        awk -v t="$t" -v k="$k" -v n="$n" -v g0="$g0" -v g1="$g1" '
            { w = $1; c = $2 + $3 }
            END { ref = g0 > g1 ? g0 : g1
                  printf "%s %s %s %.2f %.1f %.2f %.1f %.1f\n", t, k, n, w, w * 1000 / n, c, c * 1000 / n, ref }' \
            "$out/time$t.$k"
        k=$((k + 1))
    done
done | tee "$out/results.txt"
echo "# load after: $(uptime | sed 's/.*load average: //')"
for t in $threads_list; do
    awk -v t="$t" '$1 == t' "$out/results.txt" | sort -n -k7 | awk -v t="$t" '
        { w[NR] = $5; c[NR] = $7; g[NR] = $8 }
        END { m = int((NR + 1) / 2)
              printf "threads %s, median of %d (by CPU): %.1f CPU s and %.1f wall s per 1000 molecules, sgemm %.1f GFLOP/s (target: <= 60 s wall per 1000 on 2 cores)\n",
                     t, NR, c[m], w[m], g[m] }'
done
