"""Reads sdegen's CIF output with pymatgen and ASE (tests/crystal/interop.sh).
argv: P1.cif SYM.cif [CSV]: the P1 and symmetrised CIFs of the same crystals, in order, and
optionally the CDVAE CSV they came from. Space groups use spglib's default angle tolerance as
sdegen does (pymatgen's default of 5 degrees can differ on near-symmetric cells); volumes per
atom agree to 1 % (spglib idealises the standard cell's lattice). Checks that both tools read every block (pymatgen
without warnings other than its usual coordinate rounding), that the symmetrised cell has
the same reduced formula, volume per atom and space group as the P1 cell, and that the P1
file gives pymatgen the same lattice, species and wrapped coordinates as the CSV's own CIF."""
import csv, sys, warnings
from pymatgen.io.cif import CifParser
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
import ase.io
p1, sym = sys.argv[1], sys.argv[2]
BENIGN = "Some fractional coordinates rounded to ideal values"   # pymatgen's own CIFs do this too
def parse(path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s = CifParser(path).get_structures(primitive=False)
    for x in w:
        for line in str(x.message).replace("Issues encountered while parsing CIF: ", "").split("\n"):
            if line.strip() and not line.startswith(BENIGN) and issubclass(x.category, UserWarning):
                print(f"{path}: pymatgen warns: {line}")
                sys.exit(1)
    return s
a = parse(p1)
b = parse(sym)
ea = ase.io.read(p1, index=':')
eb = ase.io.read(sym, index=':')
assert len(a) == len(b) == len(ea) == len(eb), (len(a), len(b), len(ea), len(eb))
bad = 0
for k, (x, y, u, v) in enumerate(zip(a, b, ea, eb)):
    ok = (x.composition.reduced_formula == y.composition.reduced_formula and
          abs(x.volume / len(x) - y.volume / len(y)) < 1e-2 * x.volume / len(x) and
          len(u) == len(x) and len(v) == len(y) and
          SpacegroupAnalyzer(x, symprec=0.1, angle_tolerance=-1).get_space_group_number() ==
          SpacegroupAnalyzer(y, symprec=1e-3, angle_tolerance=-1).get_space_group_number())
    if not ok:
        bad += 1
        if bad < 4: print("block", k, x.composition, y.composition, len(x), len(y), len(u), len(v))
if len(sys.argv) > 3:
    from pymatgen.core import Structure
    csv.field_size_limit(1 << 30)
    rows = list(csv.DictReader(open(sys.argv[3], newline="")))
    assert len(rows) == len(a), (len(rows), len(a))
    for k, (row, x) in enumerate(zip(rows, a)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = CifParser.from_string(row["cif"]).get_structures(primitive=False)[0]
        same = (len(ref) == len(x) and
                all(abs(p - q) < 1e-6 * max(1, abs(p)) for p, q in zip(ref.lattice.parameters, x.lattice.parameters)) and
                all(s.species == t.species and
                    all(abs(((u - w) + 0.5) % 1.0 - 0.5) < 1e-6 for u, w in zip(s.frac_coords, t.frac_coords))
                    for s, t in zip(ref, x)))
        if not same:
            bad += 1
            if bad < 4: print("row", k, "differs from the CSV's own CIF")
print(f"{len(a)} structures read by pymatgen and ASE from both files; {bad} disagree")
sys.exit(1 if bad else 0)
