#!/usr/bin/env bash
# The property regressor end to end, on the first records of the QM9 geometry files, tiny network:
#   train   train regressor3d writes a prop3d_regressor file, a TSV log with val_mae per epoch and
#           the test MAE beside the atom-count baseline; the loss falls; stopped after epoch 1 and
#           resumed it equals an uninterrupted run bit for bit (log, h5dump of /params /ema /adam);
#           eval regressor3d prints the same test MAE
#   mae     eval molecules3d --regressor on a hand-made SDF: a regressor that predicts mean + std
#           exactly (reg3d_fixture) against known gap_target fields gives the expected MAE over
#           the expected records (one without a target, one with Cl excluded)
#   errors  a regressor file of another kind, a target of another property, --prop missing or
#           unknown: one line naming the file, non-zero exit
#   export  sdegen export, ema and raw (export_check in lib.sh: the line, the size, the weights, /meta
#           kept but for train.*, the errors); each copy gives, with either --weights, the eval
#           regressor3d report (test MAE, conformers, DFT, baseline) and the eval molecules3d
#           --regressor property_mae line of the original with the weights chosen at export;
#           --resume on a copy fails in one line saying it is a weights-only export
# usage: regressor3d.sh SDEGEN REG3D_FIXTURE SHARED_DIR CASE. Exit 77 (skip) without the data.
set -uo pipefail
exe=$1; fix=$2; shared=$3; case=$4
unset SDEGEN_DATA
data="$shared/data"
[ -f "$data/qm9/qm9_3d_conformers.sdf" ] && [ -f "$data/qm9/qm9_3d_subset.xyz" ] || { echo "QM9 3-D data absent: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/sdegen-reg3d-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"   # fail, err
net=(--data "$data" --max-rows 1200 --batch 32 --hidden 16 --layers 1 --threads 1 --seed 5 --lr 3e-3)
train() { "$exe" train regressor3d --prop gap "${net[@]}" "$@" >"$tmp/train.txt" 2>&1 || fail "train $*: $(cat "$tmp/train.txt")"; }
ch4="C 0 0 0;H 0.63 0.63 0.63;H -0.63 -0.63 0.63;H -0.63 0.63 -0.63;H 0.63 -0.63 -0.63"
# a hand-made SDF record: NAME ATOMS(El x y z;...) [TARGET_FIELD VALUE]
rec() {
  local name=$1 atoms=$2 field=${3:-} value=${4:-}
  local n; n=$(echo "$atoms" | tr ';' '\n' | wc -l)
  printf '%s\n  sdegen      3D\n\n%3d  0  0  0  0  0  0  0  0  0999 V2000\n' "$name" "$n"
  echo "$atoms" | tr ';' '\n' | while read -r el x y z; do
    printf '%10.4f%10.4f%10.4f %-3s 0  0  0  0  0  0  0  0  0  0  0  0\n' "$x" "$y" "$z" "$el"
  done
  printf 'M  END\n'
  [ -n "$field" ] && printf '> <%s>\n%s\n\n' "$field" "$value"
  printf '$$$$\n'
}

case $case in
train)
  train -o "$tmp/a.h5" --epochs 4
  grep -q "regressor part (gap, not in PropMolFlow's train_a" "$tmp/train.txt" || fail "no split line: $(cat "$tmp/train.txt")"
  grep -q "^test_mae .*meV" "$tmp/train.txt" || fail "no test MAE: $(cat "$tmp/train.txt")"
  grep -q "^baseline_natoms_mae .*meV" "$tmp/train.txt" || fail "no baseline: $(cat "$tmp/train.txt")"
  [ "$(wc -l <"$tmp/a.h5.log")" = 5 ] || fail "log has not 4 epochs: $(cat "$tmp/a.h5.log")"
  head -1 "$tmp/a.h5.log" | grep -q "^epoch	loss	val_mae	val_mae_ema	seconds" || fail "log header"
  awk -F'\t' 'NR==2{a=$2} NR==5{b=$2} END{exit !(b < a)}' "$tmp/a.h5.log" || fail "the loss did not fall: $(cat "$tmp/a.h5.log")"
  want=$(grep "^test_mae" "$tmp/train.txt" | awk '{print $2}')
  train -o "$tmp/b.h5" --epochs 1
  "$exe" train regressor3d --data "$data" --max-rows 1200 --threads 1 -o "$tmp/b.h5" --epochs 4 --resume \
    >"$tmp/resume.txt" 2>&1 || fail "resume: $(cat "$tmp/resume.txt")"
  grep -q "4 epochs (from 1)" "$tmp/resume.txt" || fail "resume did not start at epoch 1: $(cat "$tmp/resume.txt")"
  diff <(cut -f1-4 "$tmp/a.h5.log") <(cut -f1-4 "$tmp/b.h5.log") || fail "resumed log differs from an uninterrupted run"
  if command -v h5dump >/dev/null; then
    for g in /params /ema /adam; do
      h5dump -g $g "$tmp/a.h5" | tail -n +2 >"$tmp/da" && h5dump -g $g "$tmp/b.h5" | tail -n +2 >"$tmp/db" || fail "h5dump $g"
      cmp -s "$tmp/da" "$tmp/db" || fail "$g differs after --resume"
    done
    h5dump -a /meta/model "$tmp/a.h5" | grep -q '"prop3d_regressor"' || fail "meta model is not prop3d_regressor"
  fi
  "$exe" eval regressor3d "$tmp/a.h5" --data "$data" --max-rows 1200 >"$tmp/ev.txt" 2>&1 || fail "eval regressor3d: $(cat "$tmp/ev.txt")"
  [ "$(grep "^test_mae" "$tmp/ev.txt" | awk '{print $2}')" = "$want" ] || fail "eval regressor3d differs: $(cat "$tmp/ev.txt")"
  err 1 "trained on" "$exe" train regressor3d --data "$data" --max-rows 900 --threads 1 -o "$tmp/b.h5" --epochs 5 --resume
  echo "regressor trains, reports its test MAE and resumes bit for bit"
  ;;
mae)
  "$fix" "$tmp/r.h5" gap 0.25 0.05 || fail "fixture"   # predicts 0.30 Hartree for every molecule
  { rec m0 "$ch4" gap_target 0.20; rec m1 "$ch4" gap_target 0.36; rec m2 "$ch4";
    rec m3 "C 0 0 0;Cl 1.78 0 0;H -0.36 1.03 0;H -0.36 -0.51 0.89;H -0.36 -0.51 -0.89" gap_target 0.9; } >"$tmp/s.sdf"
  "$exe" eval molecules3d "$tmp/s.sdf" --regressor "$tmp/r.h5" --no-validity >"$tmp/ev.txt" 2>&1 || fail "eval: $(cat "$tmp/ev.txt")"
  # |0.20 - 0.30| and |0.36 - 0.30|: mean 0.08 Hartree = 2176.9 meV, over 2 of 3 targets (Cl excluded)
  grep -q "^property_mae *2176.9 meV .*over the 2 of 3 records with a <gap_target> field.*(1 excluded)" "$tmp/ev.txt" \
    || fail "wrong property_mae: $(grep property_mae "$tmp/ev.txt")"
  grep -q "its own test MAE 27.2 meV" "$tmp/ev.txt" || fail "own test MAE not printed: $(grep property_mae "$tmp/ev.txt")"
  "$exe" eval molecules3d "$tmp/s.sdf" --no-validity | grep -q "^property_mae .*give --regressor" || fail "no hint without --regressor"
  echo "property_mae is the hand-computed 2176.9 meV"
  ;;
errors)
  "$fix" "$tmp/r.h5" gap 0.25 0.05 || fail "fixture"
  { rec m0 "C 0 0 0;H 0.63 0.63 0.63;H -0.63 -0.63 0.63;H -0.63 0.63 -0.63;H 0.63 -0.63 -0.63" mu_target 1.5; } >"$tmp/mu.sdf"
  err 1 "the records carry mu_target, but the regressor $tmp/r.h5 predicts gap" \
    "$exe" eval molecules3d "$tmp/mu.sdf" --regressor "$tmp/r.h5" --no-validity
  "$exe" train molecules3d --data "$data" --max-rows 100 --hidden 8 --layers 1 --threads 1 --epochs 1 -o "$tmp/f.h5" >/dev/null 2>&1 || fail "flow model"
  err 1 "$tmp/f.h5: not a 3-D property regressor" "$exe" eval molecules3d "$tmp/mu.sdf" --regressor "$tmp/f.h5" --no-validity
  err 1 "$tmp/f.h5: not a 3-D property regressor" "$exe" eval regressor3d "$tmp/f.h5" --data "$data"
  err 2 "--prop PROP is required" "$exe" train regressor3d --data "$data" -o "$tmp/x.h5"
  err 2 "unknown property 'nope'" "$exe" train regressor3d --data "$data" -o "$tmp/x.h5" --prop nope
  err 2 "cannot be given with it" "$exe" train regressor3d --data "$data" -o "$tmp/x.h5" --resume --lr 1e-3
  echo "bad input fails in one line naming the file"
  ;;
export)
  train -o "$tmp/a.h5" --epochs 2
  export_check "$tmp/a.h5" prop3d_regressor 2
  # into FILE: the eval regressor3d report from test_mae on (the header names the model), and the
  # eval molecules3d --regressor property_mae line with the model named REG; weights as given
  report() { "$exe" eval regressor3d "$2" --weights "$3" --data "$data" --max-rows 1200 >"$tmp/o" 2>&1 || fail "eval $2: $(cat "$tmp/o")"
             sed -n '/^test_mae/,$p' "$tmp/o" >"$1"
             "$exe" eval molecules3d "$tmp/s.sdf" --no-validity --regressor "$2" --weights "$3" >"$tmp/o" 2>&1 || fail "eval molecules3d --regressor $2: $(cat "$tmp/o")"
             grep "^property_mae" "$tmp/o" | sed "s|$2|REG|" >>"$1"; }
  { rec m0 "$ch4" gap_target 0.20; rec m1 "$ch4" gap_target 0.36
    rec m2 "N 0 0 0;H 0.94 0 0.3;H -0.47 0.81 0.3;H -0.47 -0.81 0.3" gap_target 0.3; } >"$tmp/s.sdf"
  for w in ema raw; do
    report "$tmp/r_$w" "$tmp/a.h5" $w
    grep -q "^test_mae .*($w weights, 2 epochs)" "$tmp/r_$w" || fail "report: $(cat "$tmp/r_$w")"
    grep -q "^property_mae .*regressor REG ($w weights, 2 epochs" "$tmp/r_$w" || fail "property_mae: $(cat "$tmp/r_$w")"
  done
  cmp -s "$tmp/r_ema" "$tmp/r_raw" && fail "ema and raw weights report the same: the checks below cannot fail"
  for w in ema raw; do
    for sw in ema raw; do
      report "$tmp/x" "$tmp/x_$w.h5" $sw
      sed -i "s/($sw weights/($w weights/" "$tmp/x"
      cmp -s "$tmp/x" "$tmp/r_$w" || fail "export $w with --weights $sw: $(diff "$tmp/r_$w" "$tmp/x")"
    done
  done
  err 1 "--resume: $tmp/x_raw.h5: a weights-only export (raw weights" \
    "$exe" train regressor3d --data "$data" --max-rows 1200 --threads 1 -o "$tmp/x_raw.h5" --epochs 3 --resume
  err 2 "are sampler settings" "$exe" export "$tmp/a.h5" -o "$tmp/y.h5" --pos-sde-tmax 0.5
  echo "exports evaluate as the weights chosen, are $(stat -c %s "$tmp/x_ema.h5") of $(stat -c %s "$tmp/a.h5") bytes, refuse --resume"
  ;;
*) fail "unknown case" ;;
esac
