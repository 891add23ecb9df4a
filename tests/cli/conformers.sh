#!/usr/bin/env bash
# sdegen prepare conformers and the trainers' --conformers, on a handful of molecules:
#   build   --limit 4 writes 4 records (titles gdb_k, sdegen-conformers fields, explicit H) that
#           eval molecules3d reads; the summary has the speed and the EDM stability beside the
#           shipped file's; a record cut in the middle is dropped by --resume (one line naming
#           it), and the resumed file has the same titles, atoms and bonds as an uninterrupted run
#           and no duplicates; --shard 2/3 builds only gdb_k with k mod 3 = 1; --part unvalued
#           starts at gdb_4 (C#C, the first train_a row without values) and has no property field
#   train   train molecules3d --conformers: the checkpoint records the file and its record count;
#           --resume reads it again; --resume with another file says the training set changed
#   errors  unknown --part, bad --shard, an existing output without --resume, a missing data
#           file, a malformed property row, a duplicate gdb id in --conformers: one line, non-zero
# usage: conformers.sh SDEGEN SHARED_DIR CASE. Exit 77 (skip) without the data.
set -uo pipefail
exe=$1; shared=$2; case=$3
unset SDEGEN_DATA
data="$shared/data"
[ -f "$data/qm9/qm9_3d_conformers.sdf" ] && [ -f "$data/qm9/qm9_smiles.csv" ] || { echo "QM9 data absent: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/sdegen-conf-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"   # fail, err
prep() { "$exe" prepare conformers --data "$data" "$@" >"$tmp/p.txt" 2>"$tmp/p.err" || fail "prepare $*: $(cat "$tmp/p.txt" "$tmp/p.err")"; }
# titles and everything but the coordinate columns of the atom lines (Open Babel's builder is clock-seeded)
topo() { awk 'NF == 16 && $4 ~ /^[A-Z][a-z]?$/ {print substr($0, 31); next} {print}' "$1"; }

case $case in
build)
  prep -o "$tmp/a.sdf" --part generator --limit 4 --seed 3
  [ "$(grep -c '^\$\$\$\$' "$tmp/a.sdf")" = 4 ] || fail "not 4 records: $(cat "$tmp/p.txt")"
  for k in sdegen_format sdegen_format_version sdegen_version method seed steps jitter; do
    [ "$(grep -c "^> <$k>" "$tmp/a.sdf")" = 4 ] || fail "field <$k> not on every record"
  done
  grep -qx "sdegen-openbabel-gen3d-mmff94-jitter" "$tmp/a.sdf" || fail "no method value"
  [ "$(grep -c '^gdb_[0-9]*$' "$tmp/a.sdf")" = 4 ] || fail "titles are not gdb_k"
  grep -q " H   0  0" "$tmp/a.sdf" || fail "no explicit hydrogens"
  for l in "built 4, failed 0" "CPU-s per molecule" "atom stability" "(qm9_3d_conformers.sdf: 98.0 / 87.1 %)"; do
    grep -qF -- "$l" "$tmp/p.txt" || fail "summary lacks '$l': $(cat "$tmp/p.txt")"
  done
  head -1 "$tmp/a.sdf.failed" | grep -qx "# sdegen-conformers-failed 1" || fail "no failures-file header"
  "$exe" eval molecules3d "$tmp/a.sdf" --no-validity >"$tmp/ev.txt" 2>&1 || fail "eval molecules3d: $(cat "$tmp/ev.txt")"
  grep -q "4 records" "$tmp/ev.txt" || fail "eval did not read 4 records: $(cat "$tmp/ev.txt")"
  # cut in the middle of record 3, resume to 4: one line names the dropped record
  third=$(grep -m3 -n '^\$\$\$\$' "$tmp/a.sdf" | sed -n 2p | cut -d: -f1)
  head -n $((third + 9)) "$tmp/a.sdf" >"$tmp/b.sdf"
  cp "$tmp/a.sdf.failed" "$tmp/b.sdf.failed"
  want=$(sed -n "$((third + 1))p" "$tmp/a.sdf")
  err 2 "exists" "$exe" prepare conformers --data "$data" -o "$tmp/b.sdf" --part generator --limit 1
  "$exe" prepare conformers --data "$data" -o "$tmp/b.sdf" --part generator --limit 2 --resume >"$tmp/p.txt" 2>"$tmp/p.err" \
    || fail "resume: $(cat "$tmp/p.err")"
  grep -q "dropped the truncated last record ($want)" "$tmp/p.err" || fail "no dropped-record line: $(cat "$tmp/p.err")"
  [ "$(wc -l <"$tmp/p.err")" = 1 ] || fail "resume stderr is not one line: $(cat "$tmp/p.err")"
  grep -q "2 already in" "$tmp/p.txt" || fail "resume did not skip the 2 complete records: $(cat "$tmp/p.txt")"
  [ "$(grep '^gdb_' "$tmp/b.sdf" | sort | uniq -d | wc -l)" = 0 ] || fail "duplicate records after --resume"
  diff <(topo "$tmp/a.sdf") <(topo "$tmp/b.sdf") >/dev/null || fail "resumed records differ: $(diff <(topo "$tmp/a.sdf") <(topo "$tmp/b.sdf") | head)"
  err 1 "seed 3" "$exe" prepare conformers --data "$data" -o "$tmp/b.sdf" --part generator --limit 1 --resume --seed 4
  prep -o "$tmp/s.sdf" --part regressor --limit 3 --shard 2/3
  [ "$(grep '^gdb_' "$tmp/s.sdf" | sed 's/gdb_//' | awk '$1 % 3 != 1' | wc -l)" = 0 ] || fail "--shard 2/3 built other molecules"
  prep -o "$tmp/u.sdf" --part unvalued --limit 2
  grep -q "^34258 molecules of PropMolFlow's train_a have no property value" "$tmp/p.txt" \
    || fail "no unvalued count: $(cat "$tmp/p.txt")"
  [ "$(grep '^gdb_' "$tmp/u.sdf" | head -1)" = gdb_4 ] || fail "the unvalued part does not start at gdb_4"
  [ "$(grep -c '^\$\$\$\$' "$tmp/u.sdf")" = 2 ] || fail "--part unvalued --limit 2: not 2 records"
  echo "records read back; resume drops the cut record and rebuilds the same molecules"
  ;;
train)
  prep -o "$tmp/c.sdf" --part generator --limit 12
  net=(--data "$data" --max-rows 200 --batch 32 --hidden 16 --layers 1 --threads 1 --seed 5)
  "$exe" train molecules3d "${net[@]}" -o "$tmp/m.h5" --epochs 1 --cond gap --conformers "$tmp/c.sdf" >"$tmp/t.txt" 2>&1 \
    || fail "train: $(cat "$tmp/t.txt")"
  grep -q "extra conformers: $tmp/c.sdf, 12 records" "$tmp/t.txt" || fail "no extra-conformers line: $(cat "$tmp/t.txt")"
  if command -v h5dump >/dev/null; then
    h5dump -a /meta/conformers.file "$tmp/m.h5" | grep -q '"c.sdf"' || fail "checkpoint lacks conformers.file"
    h5dump -a /meta/conformers.records "$tmp/m.h5" | grep -q "(0): 12" || fail "checkpoint lacks conformers.records"
  fi
  "$exe" train molecules3d --data "$data" --max-rows 200 --threads 1 -o "$tmp/m.h5" --epochs 2 --resume >"$tmp/t.txt" 2>&1 \
    || fail "resume: $(cat "$tmp/t.txt")"
  grep -q "extra conformers: $tmp/c.sdf, 12 records" "$tmp/t.txt" || fail "resume did not reread the file: $(cat "$tmp/t.txt")"
  grep -q "changed on resume" "$tmp/t.txt" && fail "same data reported as changed"
  awk '/^\$\$\$\$/{n++; print; if (n == 6) exit; next} {print}' "$tmp/c.sdf" >"$tmp/c6.sdf"
  "$exe" train molecules3d --data "$data" --max-rows 200 --threads 1 -o "$tmp/m.h5" --epochs 3 --resume \
    --conformers "$tmp/c6.sdf" >"$tmp/t.txt" 2>&1 || fail "resume with another file: $(cat "$tmp/t.txt")"
  [ "$(grep -c "the training set changed on resume" "$tmp/t.txt")" = 1 ] || fail "no changed-set line: $(cat "$tmp/t.txt")"
  err 1 "trained on" "$exe" train molecules3d --data "$data" --max-rows 150 --threads 1 -o "$tmp/m.h5" --epochs 4 --resume
  echo "the checkpoint records the extra conformers; resume rereads them or says the set changed"
  ;;
errors)
  err 2 "is not generator, regressor, all or unvalued" "$exe" prepare conformers --data "$data" -o "$tmp/x.sdf" --part nope
  err 2 "is not K/N" "$exe" prepare conformers --data "$data" -o "$tmp/x.sdf" --shard 4/3
  err 2 "unknown or missing target" "$exe" prepare nothing
  : >"$tmp/e.sdf"
  err 2 "exists (continue it with --resume" "$exe" prepare conformers --data "$data" -o "$tmp/e.sdf"
  mkdir -p "$tmp/d/qm9"
  for f in "$data"/qm9/*; do ln -s "$f" "$tmp/d/qm9/"; done
  rm "$tmp/d/qm9/qm9_3d_subset.xyz"
  err 1 "qm9_3d_subset.xyz: cannot open" "$exe" prepare conformers --data "$tmp/d" -o "$tmp/x.sdf"
  ln -s "$data/qm9/qm9_3d_subset.xyz" "$tmp/d/qm9/"
  rm "$tmp/d/qm9/qm9_props_subset.csv"
  { head -3 "$data/qm9/qm9_props_subset.csv"; echo "9,gdbX,CC,1,2,3"; tail -n +4 "$data/qm9/qm9_props_subset.csv"; } \
    >"$tmp/d/qm9/qm9_props_subset.csv"
  err 1 "qm9_props_subset.csv: line 4: mol_id 'gdbX'" "$exe" prepare conformers --data "$tmp/d" -o "$tmp/x.sdf"
  [ ! -e "$tmp/x.sdf" ] || fail "an output was written before an error"
  awk '{print} /^\$\$\$\$/{exit}' "$data/qm9/qm9_3d_conformers.sdf" >"$tmp/dup.sdf"
  err 1 "is already record 1 of" "$exe" train molecules3d --data "$data" --max-rows 50 --threads 1 -o "$tmp/m.h5" \
    --epochs 1 --conformers "$tmp/dup.sdf"
  err 1 "--conformers $tmp/nothere.sdf" "$exe" train regressor3d --prop gap --data "$data" --max-rows 50 --threads 1 \
    -o "$tmp/r.h5" --epochs 1 --conformers "$tmp/nothere.sdf"
  echo "bad input fails in one line"
  ;;
*) fail "unknown case" ;;
esac
