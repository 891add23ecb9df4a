#!/usr/bin/env bash
# sdegen's CIFs read by pymatgen and ASE (interop.py); exit 77 when neither Python has both
# (Debian: apt-get install python3-pymatgen python3-ase).
# Arguments: the sdegen executable, the shared data directory, this directory.
set -uo pipefail
exe=$1; data=$2; here=$3
py=""
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import pymatgen.io.cif, ase.io' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "pymatgen or ASE absent: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/sdegen-interop-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
run() {   # IN [CSV]
  "$exe" cif "$1" "$tmp/p1.cif" >/dev/null && "$exe" cif "$1" "$tmp/sym.cif" --symmetrize >/dev/null || return 1
  "$py" "$here/interop.py" "$tmp/p1.cif" "$tmp/sym.cif" ${2:-}
}
run "$here/../cli/data/crystal_two.cif" || exit 1
for f in "$data/crystals/mp_20_subset/val.csv"; do
  [ -f "$f" ] || continue
  run "$f" "$f" || exit 1
done
exit 0
