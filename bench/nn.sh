#!/bin/sh
# Builds bench_nn if needed, runs it RUNS times (default 5) and prints, per case, the median over
# the runs of each run's median time, GFLOP/s and ratio to the same-run 1024^3 sgemm.
#   bench/nn.sh                  Release build in build/
#   NATIVE=1 bench/nn.sh         Release build with -march=native in build-native/
#   RUNS=9 REPS=21 THREADS=2 bench/nn.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
reps=${REPS:-15}
threads=${THREADS:-2}
if [ "${NATIVE:-0}" = 1 ]; then
    build=${BUILD_DIR:-$root/build-native}
    native=ON
else
    build=${BUILD_DIR:-$root/build}
    native=OFF
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSDEGEN_NATIVE=$native >/dev/null
fi
cmake --build "$build" -j2 --target bench_nn >/dev/null
bin=$build/bench/bench_nn
out=$(mktemp)
trap 'rm -f "$out"' EXIT
i=0
while [ "$i" -lt "$runs" ]; do
    OMP_NUM_THREADS=$threads "$bin" "$reps" "$threads" | grep -v '^#' >>"$out"
    i=$((i + 1))
done
echo "# bench_nn: $runs runs x $reps reps, $threads threads, native=$native ($(date -u +%FT%TZ))"
printf '# %-26s %9s %9s %8s\n' case ms GFLOP/s ratio
awk -F'\t' '
    { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
      k = ++cnt[$1]; ms[$1, k] = $2; gf[$1, k] = $3; ra[$1, k] = $4 }
    function med(arr, key, m,   i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = arr[key, i] + 0
        for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END { for (i = 1; i <= n; i++) { c = order[i]; m = cnt[c]
          printf "  %-26s %9.3f %9.1f %8.3f\n", c, med(ms, c, m), med(gf, c, m), med(ra, c, m) } }
' "$out"
