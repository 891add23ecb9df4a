# Sourced by the bench scripts (after they set root, the source tree).
# bench_build DIR TARGET...: configures DIR as a Release build of the tree when it has no
# build yet, then builds the targets, quietly.
bench_build() {
    _dir=$1
    shift
    [ -f "$_dir/CMakeCache.txt" ] || cmake -S "$root" -B "$_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$_dir" -j2 --target "$@" >/dev/null
}
