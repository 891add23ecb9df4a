#!/usr/bin/env bash
# The README's main command: installs missing packages, builds, and runs the main job:
# 1,000 QM9 molecules from the shipped GDSS model (data/models/qm9.h5, trained with sdegen)
# written to out/qm9.sdf, with a one-screen summary of their metrics (novelty against the QM9
# training split when the data directory is there). Extra arguments go to sdegen sample
# (e.g. -n 10000, --seed 2, --sampler s4 --steps 500).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
mkdir -p "$root/build" "$root/out"
rel=$("$root/scripts/build.sh" release)
data="${SDEGEN_DATA:-$root/../shared/data}"
if [ -f "$data/qm9/qm9_smiles.csv" ]; then
    export SDEGEN_DATA="$data"
else
    unset SDEGEN_DATA
    echo "(no QM9 data at $data: novelty is skipped; set SDEGEN_DATA to the data directory)"
fi
"$rel/sdegen" --version
echo "== 1,000 QM9 molecules from data/models/qm9.h5 (GDSS, trained with sdegen) -> out/qm9.sdf"
SDEGEN_MODELS="$root/data/models" "$rel/sdegen" sample qm9 -n 1000 --seed 1 -o "$root/out/qm9.sdf" "$@"
