#!/usr/bin/env bash
# sdegen sample with a molecule model, end to end: the published QM9 weights imported with the
# node flags of a small QM9 data directory (the first 2000 rows), then one case:
#   sdf     the .sdf read back by Open Babel's obabel: same count and canonical SMILES as the .smi
#           of the same run; .smi is "SMILES<TAB>index" only; eval reads both
#   h5      h5dump reads the .h5: SMILES as in the .smi, count and complete attributes
#   resume  a run killed with SIGKILL, then --resume, equals an uninterrupted run dataset by
#           dataset (h5dump); mismatched settings and a foreign file are refused in one line
#   nodata  no flag table and no data directory: one-line error; with --data: works, novelty;
#           shipped model names through SDEGEN_MODELS; bad outputs refused before sampling
# usage: molecules.sh SDEGEN SHARED_DIR CASE. Exit 77 (skip) without the data or the tools.
set -uo pipefail
exe=$1; shared=$2; case=$3
unset SDEGEN_DATA   # every call names its data directory (the full QM9 takes ~10 s to load)
gdss="$shared/gdss/gdss_qm9.h5"; csv="$shared/data/qm9/qm9_smiles.csv"; idx="$shared/data/qm9/valid_idx_qm9.json"
[ -f "$gdss" ] && [ -f "$csv" ] && [ -f "$idx" ] || { echo "QM9 data or weights absent: skipped"; exit 77; }
command -v python3 >/dev/null || exit 77
tmp=$(mktemp -d /tmp/sdegen-mol-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"   # fail, err

mkdir -p "$tmp/data/qm9"
head -n 2001 "$csv" >"$tmp/data/qm9/qm9_smiles.csv"
python3 - "$idx" "$tmp/data/qm9/valid_idx_qm9.json" <<'PY' || exit 1
import json, sys
v = json.load(open(sys.argv[1]))["valid_idxs"]
json.dump({"valid_idxs": [s for s in v if int(s) < 2000]}, open(sys.argv[2], "w"))
PY
data="$tmp/data"
"$exe" import-gdss "$gdss" -o "$tmp/m.h5" --data "$data" >"$tmp/import.txt" 2>&1 || fail "import: $(cat "$tmp/import.txt")"
grep -q "node flags: .* distinct rows from .* training molecules of 'qm9'" "$tmp/import.txt" || fail "no flag table: $(cat "$tmp/import.txt")"
run=(-n 12 --batch 5 --steps 10 --seed 3 --data "$data")

case $case in
sdf)
  command -v obabel >/dev/null || { echo "obabel absent: skipped"; exit 77; }
  "$exe" sample "$tmp/m.h5" "${run[@]}" -o "$tmp/a.sdf" >"$tmp/sum.txt" || fail "sample .sdf"
  "$exe" sample "$tmp/m.h5" "${run[@]}" -o "$tmp/a.smi" >/dev/null || fail "sample .smi"
  for l in "validity w/o correction:" "validity: " "uniqueness: " "novelty: " "training split" "atom types: C " \
           "molecules/s" "GFLOP/s" "protocol: n 12, seed 3, sampler pc"; do
    grep -qF -- "$l" "$tmp/sum.txt" || fail "summary lacks '$l'"
  done
  [ ! -e "$tmp/a.sdf.part" ] && [ ! -e "$tmp/a.smi.part" ] || fail ".part left behind"
  grep -vqP '^[^\t ]+\t[0-9]+$' "$tmp/a.smi" && fail ".smi has a line that is not SMILES<TAB>index"
  cut -f2 "$tmp/a.smi" | sort -n -c || fail ".smi indices not increasing"
  n=$(wc -l <"$tmp/a.smi")
  [ "$n" -ge 1 ] || fail "no molecules"
  obabel "$tmp/a.sdf" -ocan -xi 2>"$tmp/ob.err" | cut -f1 >"$tmp/ob.txt"
  grep -q "$n molecules converted" "$tmp/ob.err" || fail "obabel: $(cat "$tmp/ob.err")"
  cut -f1 "$tmp/a.smi" | diff - "$tmp/ob.txt" || fail "obabel's canonical SMILES of the .sdf differ from the .smi"
  for k in SMILES valid_wo_correction index sampler seed batch threads model dataset; do
    [ "$(grep -c "^> <$k>" "$tmp/a.sdf")" = "$n" ] || fail "SDF field <$k> not on every record"
  done
  "$exe" eval molecules "$tmp/a.sdf" --test "$tmp/a.smi" >"$tmp/ev.txt" 2>&1 || fail "eval .sdf: $(cat "$tmp/ev.txt")"
  grep -q "validity_wo_correction .*of $n records flagged" "$tmp/ev.txt" || fail "eval did not use the SDF flags"
  "$exe" eval molecules "$tmp/a.smi" --test "$tmp/a.smi" >"$tmp/ev.txt" 2>&1 || fail "eval .smi"
  grep -q "^validity_wo_correction   -  *not recorded" "$tmp/ev.txt" || fail "eval took the .smi index for flags"
  echo "obabel reads $n molecules of the .sdf with the .smi's canonical SMILES"
  ;;
h5)
  command -v h5dump >/dev/null || { echo "h5dump absent: skipped"; exit 77; }
  "$exe" sample "$tmp/m.h5" "${run[@]}" -o "$tmp/a.h5" >/dev/null || fail "sample .h5"
  "$exe" sample "$tmp/m.h5" "${run[@]}" -o "$tmp/a.smi" >/dev/null || fail "sample .smi"
  h5dump -d /smiles -d /valid -d /index -y -w 0 "$tmp/a.h5" >"$tmp/d.txt" || fail "h5dump"
  h5dump -a /count -a /complete -a /sdegen_format "$tmp/a.h5" >"$tmp/a.txt" || fail "h5dump attributes"
  python3 - "$tmp" <<'PY' || fail "h5dump disagrees with the .smi"
import re, sys
t = sys.argv[1]
body = open(f"{t}/d.txt").read()
sets = {m.group(1): m.group(2) for m in re.finditer(r'DATASET "/(\w+)" \{.*?DATA \{(.*?)\n\s*\}', body, re.S)}
smiles = re.findall(r'"((?:[^"\\]|\\.)*)"', sets["smiles"])
valid = [int(x) for x in re.findall(r"-?\d+", sets["valid"])]
index = [int(x) for x in re.findall(r"-?\d+", sets["index"])]
assert len(smiles) == len(valid) == len(index) == 12, (len(smiles), len(valid), len(index))
assert index == list(range(12))
ref = [l.rstrip("\n").split("\t") for l in open(f"{t}/a.smi")]
got = [(s, str(i)) for s, v, i in zip(smiles, valid, index) if v]
assert got == [tuple(r) for r in ref], (got, ref)
a = open(f"{t}/a.txt").read()
assert re.search(r'"count".*?\(0\): 12', a, re.S) and re.search(r'"complete".*?\(0\): 1', a, re.S)
assert '"sdegen-molecules"' in a
print(f"h5dump reads {len(smiles)} records, {sum(valid)} valid, as in the .smi")
PY
  ;;
resume)
  command -v h5dump >/dev/null || { echo "h5dump absent: skipped"; exit 77; }
  big=(-n 40 --batch 5 --steps 60 --seed 9)
  "$exe" sample "$tmp/m.h5" "${big[@]}" -o "$tmp/full.h5" >"$tmp/full.txt" || fail "uninterrupted run"
  "$exe" sample "$tmp/m.h5" "${big[@]}" -o "$tmp/cut.h5" >/dev/null 2>&1 &
  pid=$!
  peek() { HDF5_USE_FILE_LOCKING=FALSE h5dump -a /count "$tmp/cut.h5" 2>/dev/null | sed -n 's/.*(0): \([0-9]*\).*/\1/p'; }
  for _ in $(seq 400); do   # kill once a chunk or two are in (at most ~20 s)
    c=$(peek); [ -n "$c" ] && [ "$c" -ge 10 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  count=$(peek)
  [ -n "$count" ] || fail "the killed run left no readable file"
  [ $((count % 5)) -eq 0 ] || [ "$count" -eq 40 ] || fail "count $count is not whole chunks"
  err 2 "seed is 9, this run's 10" "$exe" sample "$tmp/m.h5" -n 40 --batch 5 --steps 60 --seed 10 -o "$tmp/cut.h5" --resume
  err 2 "batch is 5, this run's 4" "$exe" sample "$tmp/m.h5" -n 40 --batch 4 --steps 60 --seed 9 -o "$tmp/cut.h5" --resume
  err 2 "sampler is 'pc, predictor reverse, corrector langevin, 60 steps" \
    "$exe" sample "$tmp/m.h5" -n 40 --batch 5 --steps 61 --seed 9 -o "$tmp/cut.h5" --resume
  "$exe" sample "$tmp/m.h5" "${big[@]}" -o "$tmp/cut.h5" --resume >"$tmp/res.txt" || fail "resume"
  grep -q "wrote 40 molecules" "$tmp/res.txt" || fail "resume summary: $(cat "$tmp/res.txt")"
  for d in index smiles valid valid_wo_correction atom_offsets atoms bond_offsets bonds; do
    h5dump -d "/$d" "$tmp/full.h5" | tail -n +2 >"$tmp/f.$d"
    h5dump -d "/$d" "$tmp/cut.h5" | tail -n +2 >"$tmp/c.$d"
    cmp -s "$tmp/f.$d" "$tmp/c.$d" || fail "/$d differs after resuming from $count"
  done
  for a in count complete requested seed batch model dataset sampler; do
    [ "$(h5dump -a "/$a" "$tmp/full.h5" | tail -n +2)" = "$(h5dump -a "/$a" "$tmp/cut.h5" | tail -n +2)" ] ||
      fail "attribute $a differs"
  done
  err 2 "a QM9 checkpoint asked for zinc250k output" "$exe" eval molecules "$tmp/cut.h5" --dataset zinc250k --data "$data"
  cp "$tmp/m.h5" "$tmp/ck.h5"
  err 1 "ck.h5: not an sdegen molecule file (sdegen_format is 'sdegen-checkpoint'" \
    "$exe" sample "$tmp/m.h5" "${big[@]}" -o "$tmp/ck.h5" --resume
  printf 'garbage\n' >"$tmp/g.h5"
  err 1 "g.h5: not an HDF5 file" "$exe" sample "$tmp/m.h5" "${big[@]}" -o "$tmp/g.h5" --resume
  echo "killed at $count of 40 molecules; resumed file equals the uninterrupted one"
  ;;
nodata)
  env -u SDEGEN_DATA "$exe" import-gdss "$gdss" -o "$tmp/nf.h5" >"$tmp/i.txt" 2>&1 || fail "import without data"
  grep -q "node flags: none stored" "$tmp/i.txt" || fail "flags without data?"
  err 2 "has no node-flag table; give --data DIR" env -u SDEGEN_DATA "$exe" sample "$tmp/nf.h5" -n 3 -o "$tmp/x.smi"
  "$exe" sample "$tmp/nf.h5" -n 4 --steps 5 --data "$data" -o "$tmp/x.smi" >"$tmp/s.txt" || fail "sample with --data"
  grep -q "node flags from the training split" "$tmp/s.txt" || fail "flags not from the data: $(cat "$tmp/s.txt")"
  env -u SDEGEN_DATA "$exe" sample "$tmp/m.h5" -n 4 --steps 5 -o "$tmp/y.smi" >"$tmp/s.txt" || fail "sample, no data"
  grep -q "novelty: .*needs --data" "$tmp/s.txt" || fail "novelty without data: $(cat "$tmp/s.txt")"
  # shipped names
  cp "$tmp/m.h5" "$tmp/qm9.h5"
  (cd "$tmp" && mkdir -p w && cd w && SDEGEN_MODELS="$tmp" "$exe" sample qm9 -n 2 --steps 5 -o z.smi >../s.txt) ||
    fail "shipped name through SDEGEN_MODELS"
  grep -q "model: $tmp/qm9.h5" "$tmp/s.txt" || fail "shipped model path: $(cat "$tmp/s.txt")"
  err 2 "'qm10' is neither a file nor a shipped model (looked for $tmp/qm10.h5" \
    env SDEGEN_MODELS="$tmp" "$exe" sample qm10 -n 2 -o "$tmp/z.smi"
  # bad outputs, refused before any sampling
  err 1 "$tmp/no/dir/x.sdf.part: cannot open for writing" "$exe" sample "$tmp/m.h5" -n 2 -o "$tmp/no/dir/x.sdf"
  err 1 "$tmp/no/dir/x.h5: cannot create" "$exe" sample "$tmp/m.h5" -n 2 -o "$tmp/no/dir/x.h5"
  err 2 "x.mol2: unknown extension for molecules" "$exe" sample "$tmp/m.h5" -n 2 -o "$tmp/x.mol2"
  err 2 "--resume: $tmp/x.smi: only .h5 molecule files can be resumed" "$exe" sample "$tmp/m.h5" -n 2 -o "$tmp/x.smi" --resume
  err 2 "--3d: $tmp/x.h5: coordinates are written to .sdf only" "$exe" sample "$tmp/m.h5" -n 2 -o "$tmp/x.h5" --3d
  "$exe" import-gdss "$shared/gdss/gdss_community_small.h5" -o "$tmp/cs.h5" >/dev/null 2>&1 || fail "graph import"
  err 2 "is a graph model (GDSS community_small), not a molecule model" "$exe" sample "$tmp/cs.h5" -n 2 -o "$tmp/x.sdf"
  err 2 "is a graph model" "$exe" sample "$tmp/cs.h5" -n 2 -o "$tmp/x.smi"
  printf 'not an sdf\n' >"$tmp/bad.sdf"
  err 1 "bad.sdf: record 1" "$exe" eval molecules "$tmp/bad.sdf" --test "$tmp/x.smi"
  echo "no-data, shipped-name and bad-output cases behave"
  ;;
*) fail "unknown case" ;;
esac
exit 0
