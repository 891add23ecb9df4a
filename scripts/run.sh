#!/usr/bin/env bash
# The README's main command: installs missing packages, builds, and runs the main job:
# the SDE engine's smoke run (sdegen demo), then 20 graphs from the shipped GDSS
# community_small model written to out/community_small.graphml and, when the dataset is
# there, their MMD against its test split. Extra arguments go to sdegen demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
mkdir -p "$root/build" "$root/out"
rel=$("$root/scripts/build.sh" release)
export SDEGEN_DATA="${SDEGEN_DATA:-$root/../shared/data}"
"$rel/sdegen" --version
"$rel/sdegen" demo "$@"
echo
echo "== 20 graphs from data/models/community_small.h5 (GDSS, trained with sdegen; about a minute)"
"$rel/sdegen" sample "$root/data/models/community_small.h5" -n 20 --seed 1 -o "$root/out/community_small.graphml"
if [ -f "$SDEGEN_DATA/graphs/community_small.txt" ]; then
    echo
    "$rel/sdegen" eval graphs "$root/out/community_small.graphml" --ref community_small
fi
