#!/usr/bin/env bash
# The README's main command: installs missing packages, builds, and runs the main job.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
mkdir -p "$root/build"
rel=$("$root/scripts/build.sh" release)
export SDEGEN_DATA="${SDEGEN_DATA:-$root/../shared/data}"
"$rel/sdegen" --version
"$rel/sdegen" demo "$@"
