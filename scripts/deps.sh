#!/usr/bin/env bash
# Installs the Debian packages sdegen needs, if any is missing (apt-get, through sudo when not root).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libgsl-dev libigraph-dev libopenbabel-dev libsymspg-dev
      libhdf5-dev libcunit1-dev libopenblas-dev openbabel hdf5-tools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "sdegen: installing missing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "sdegen: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
