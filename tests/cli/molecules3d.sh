#!/usr/bin/env bash
# The 3-D molecule pipeline end to end, on the first 300 QM9 conformers and a tiny network:
#   train   train molecules3d writes a model and a TSV log; stopped after epoch 1 and resumed,
#           it equals an uninterrupted run bit for bit (log losses, h5dump of /params, /ema, /adam)
#   sample  sample MODEL.h5 -o FILE.sdf: every record reads back through Open Babel with the
#           generated atoms, charges, bonds and coordinates (sdf3d_roundtrip), for euler and heun;
#           the check fails on a file with a charge added or a bond moved (charged molecules
#           written by the same writer are checked in tests/molecule/test_flow3d.c); every record has its
#           data fields; no .part is left; eval molecules3d reads the file
#   errors  --cond / --guidance / --uncond for an unconditional model, --uncond with --cond, bad
#           --ode, a non-.sdf output: one
#           line, exit 2; a conditioned model warns for a target outside the training range
#           (naming the range) and samples; --resume refuses new settings
#   export  sdegen export of a conditioned model (--time-skew 2), ema and raw (export_check in lib.sh:
#           the line, the size, the weights, /buffers and /meta kept but for train.*, the errors);
#           each copy samples, with either --weights, the file the original samples with the
#           weights chosen at export, byte for byte but for the model field (and the weights field
#           when the option differs), trained 3 epochs; --resume on a copy fails in one line saying
#           it is a weights-only export and leaves it alone
# usage: molecules3d.sh SDEGEN SDF3D_ROUNDTRIP SHARED_DIR CASE. Exit 77 (skip) without the data.
set -uo pipefail
exe=$1; rt=$2; shared=$3; case=$4
unset SDEGEN_DATA
data="$shared/data"
[ -f "$data/qm9/qm9_3d_conformers.sdf" ] && [ -f "$data/qm9/valid_idx_qm9.json" ] || { echo "QM9 conformers absent: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/sdegen-mol3d-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"   # fail, err
net=(--data "$data" --max-rows 300 --batch 32 --hidden 16 --layers 1 --threads 1 --seed 5)
train() { "$exe" train molecules3d "${net[@]}" "$@" >"$tmp/train.txt" 2>&1 || fail "train $*: $(cat "$tmp/train.txt")"; }

case $case in
train)
  train -o "$tmp/a.h5" --epochs 3
  grep -q "training on [0-9]* molecules: 3 epochs" "$tmp/train.txt" || fail "no training line: $(cat "$tmp/train.txt")"
  [ "$(wc -l <"$tmp/a.h5.log")" = 4 ] || fail "log has not 3 epochs: $(cat "$tmp/a.h5.log")"
  head -1 "$tmp/a.h5.log" | grep -q "^epoch	loss	loss_x	loss_type	loss_charge	loss_bond	seconds" || fail "log header"
  train -o "$tmp/b.h5" --epochs 1
  "$exe" train molecules3d --data "$data" --max-rows 300 --threads 1 -o "$tmp/b.h5" --epochs 3 --resume \
    >"$tmp/resume.txt" 2>&1 || fail "resume: $(cat "$tmp/resume.txt")"
  grep -q "3 epochs (from 1)" "$tmp/resume.txt" || fail "resume did not start at epoch 1: $(cat "$tmp/resume.txt")"
  diff <(cut -f1-6 "$tmp/a.h5.log") <(cut -f1-6 "$tmp/b.h5.log") || fail "resumed losses differ from an uninterrupted run"
  if command -v h5dump >/dev/null; then
    for g in /params /ema /adam; do
      h5dump -g $g "$tmp/a.h5" | tail -n +2 >"$tmp/da" && h5dump -g $g "$tmp/b.h5" | tail -n +2 >"$tmp/db" || fail "h5dump $g"
      cmp -s "$tmp/da" "$tmp/db" || fail "$g differs after --resume"
    done
    h5dump -a /meta/model "$tmp/a.h5" | grep -q '"mol3d_flow"' || fail "meta model is not mol3d_flow"
  fi
  err 1 "trained on" "$exe" train molecules3d --data "$data" --max-rows 200 --threads 1 -o "$tmp/b.h5" --epochs 4 --resume
  echo "training resumes bit for bit"
  ;;
sample)
  train -o "$tmp/m.h5" --epochs 6 --lr 3e-3   # enough to make bonds (0 before ~4 epochs)
  n=50
  for ode in euler heun sde; do   # sde: the SDE mode (--sde-noise 8), Euler steps
    o=$ode; eta=0; proto="ode $ode"
    [ $ode = sde ] && { o=euler; eta=8; proto="sde mode, eta 8"; }
    "$exe" sample "$tmp/m.h5" -n $n -o "$tmp/$ode.sdf" --seed 7 --steps 8 --batch 16 --weights raw --ode $o \
      --sde-noise $eta --threads 1 >"$tmp/sum.txt" 2>&1 || fail "sample $ode: $(cat "$tmp/sum.txt")"
    [ ! -e "$tmp/$ode.sdf.part" ] || fail ".part left behind"
    for l in "molecules written to" "atom stability (EDM rule)" "validity:" "per 1000 molecules" "protocol: n $n, seed 7, $proto"; do
      grep -qF -- "$l" "$tmp/sum.txt" || fail "summary lacks '$l': $(cat "$tmp/sum.txt")"
    done
    "$rt" "$tmp/m.h5" "$tmp/$ode.sdf" 7 8 $n 16 raw $o $eta >"$tmp/rt.txt" 2>&1 || fail "Open Babel round trip ($ode): $(cat "$tmp/rt.txt")"
    grep -q "formal charges, [1-9][0-9]* bonds" "$tmp/rt.txt" || fail "the round trip saw no bonds: $(cat "$tmp/rt.txt")"
  done
  body() { awk '/^> <sampler>/ { skip = 1; next } skip { skip = 0; next } { print }' "$1"; }   # without the sampler field
  [ "$(body "$tmp/euler.sdf")" = "$(body "$tmp/sde.sdf")" ] && fail "the SDE mode wrote the ODE's molecules"
  for k in index seed sampler steps model weights threads; do
    [ "$(grep -c "^> <$k>" "$tmp/euler.sdf")" = $n ] || fail "SDF field <$k> not on every record"
  done
  [ "$(grep -c '^\$\$\$\$' "$tmp/euler.sdf")" = $n ] || fail "not $n records"
  grep -q "  sdegen      3D" "$tmp/euler.sdf" || fail "no 3D header line"
  [ "$(body "$tmp/euler.sdf")" = "$(body "$tmp/heun.sdf")" ] && fail "heun and euler wrote the same molecules"
  # the check must be able to fail: a charge added to record 0, a bond moved in record 0
  awk 'BEGIN{d=0} /^M  END/ && !d {print "M  CHG  1   1   1"; d=1} {print}' "$tmp/euler.sdf" >"$tmp/charge.sdf"
  "$rt" "$tmp/m.h5" "$tmp/charge.sdf" 7 8 $n 16 raw >"$tmp/o" 2>&1 && fail "round trip passes with an added charge"
  grep -q "atom 1:" "$tmp/o" || fail "added charge not reported: $(cat "$tmp/o")"
  python3 - "$tmp/euler.sdf" "$tmp/bond.sdf" <<'PY' || fail "could not move a bond"
import sys
lines = open(sys.argv[1]).read().split("\n")
na, nb = int(lines[3][0:3]), int(lines[3][3:6])
assert nb > 0 and na > 2
k = 4 + na                                   # first bond line: move its second atom
i, j, o = int(lines[k][0:3]), int(lines[k][3:6]), int(lines[k][6:9])
bonded = {(int(l[0:3]), int(l[3:6])) for l in lines[4 + na:4 + na + nb]}
new = next(x for x in range(1, na + 1) if x != i and (min(i, x), max(i, x)) not in bonded and (max(i, x), min(i, x)) not in bonded)
lines[k] = "%3d%3d%3d" % (i, new, o) + lines[k][9:]
open(sys.argv[2], "w").write("\n".join(lines))
PY
  "$rt" "$tmp/m.h5" "$tmp/bond.sdf" 7 8 $n 16 raw >"$tmp/o" 2>&1 && fail "round trip passes with a moved bond"
  grep -q "record 0: bond" "$tmp/o" || fail "moved bond not reported: $(cat "$tmp/o")"
  "$exe" eval molecules3d "$tmp/euler.sdf" >"$tmp/ev.txt" 2>&1 || fail "eval molecules3d: $(cat "$tmp/ev.txt")"
  grep -q "$n records" "$tmp/ev.txt" || fail "eval did not read $n records: $(cat "$tmp/ev.txt")"
  grep -q "^atom_stability_edm" "$tmp/ev.txt" || fail "eval prints no stability"
  # the shipped name: qm9_3d is data/models/qm9_3d.h5 (a conditioned model), as qm9 is for GDSS
  "$exe" sample qm9_3d -n 2 --steps 2 --threads 1 --cond gap=0.25 --guidance 1 -o "$tmp/shipped.sdf" \
    >"$tmp/o" 2>&1 || fail "sample qm9_3d: $(cat "$tmp/o")"
  grep -q "conditioned on gap = 0.25 Hartree (guidance 1)" "$tmp/o" || fail "shipped model protocol: $(cat "$tmp/o")"
  [ "$(grep -c '^\$\$\$\$' "$tmp/shipped.sdf")" = 2 ] || fail "sample qm9_3d: not 2 records"
  echo "Open Babel reads all $n records as generated (euler, heun and the SDE mode); eval molecules3d runs; qm9_3d samples"
  ;;
errors)
  train -o "$tmp/u.h5" --epochs 1
  s=(-n 4 --steps 2 --threads 1)
  err 2 "trained without conditioning" "$exe" sample "$tmp/u.h5" "${s[@]}" -o "$tmp/x.sdf" --cond 2.5
  err 2 "trained without conditioning" "$exe" sample "$tmp/u.h5" "${s[@]}" -o "$tmp/x.sdf" --guidance 1
  err 2 "is not euler, heun or rk4" "$exe" sample "$tmp/u.h5" "${s[@]}" -o "$tmp/x.sdf" --ode rk45
  err 2 "needs --ode euler" "$exe" sample "$tmp/u.h5" "${s[@]}" -o "$tmp/x.sdf" --ode heun --sde-noise 2
  err 2 "--sde-noise" "$exe" sample "$tmp/u.h5" "${s[@]}" -o "$tmp/x.sdf" --sde-noise -1
  err 2 "writes .sdf files" "$exe" sample "$tmp/u.h5" "${s[@]}" -o "$tmp/x.smi"
  err 2 "cannot be given with it" "$exe" train molecules3d --data "$data" -o "$tmp/u.h5" --resume --batch 8
  err 2 "unknown property" "$exe" train molecules3d --data "$data" -o "$tmp/v.h5" --cond nope
  err 2 "--pos-output: unknown value 'v'" "$exe" train molecules3d --data "$data" -o "$tmp/v.h5" --pos-output v
  err 2 "cannot be given with it" "$exe" train molecules3d --data "$data" -o "$tmp/u.h5" --resume --pos-output velocity
  err 2 "unknown option '--time-skew'" "$exe" train regressor3d --prop gap --data "$data" -o "$tmp/v.h5" --time-skew 2
  err 2 "--pos-loss: unknown value 'v0'" "$exe" train molecules3d --data "$data" -o "$tmp/v.h5" --pos-loss v0
  # the velocity output and a time law reach the model; --resume may change the law, not the output
  train -o "$tmp/p.h5" --epochs 1 --pos-output velocity --time-skew 2
  grep -q "position output velocity" "$tmp/train.txt" || fail "no velocity output: $(grep network "$tmp/train.txt")"
  grep -q "t ~ Beta(1, 2), positions loss x0," "$tmp/train.txt" || fail "no time law: $(grep 'training on' "$tmp/train.txt")"
  "$exe" train molecules3d --data "$data" --max-rows 300 --threads 1 -o "$tmp/p.h5" --epochs 2 --resume --time-skew 3 \
    --pos-loss velocity --lr 2e-4 >"$tmp/o" 2>&1 || fail "resume with --time-skew: $(cat "$tmp/o")"
  grep -q "learning rate 0.0005 -> 0.0002 from epoch 2 on" "$tmp/o" || fail "no learning-rate change line: $(cat "$tmp/o")"
  grep -q ", lr 0.0002," "$tmp/o" || fail "resume did not take the new learning rate: $(grep 'training on' "$tmp/o")"
  grep -q "time skew 2 -> 3 from epoch 2 on" "$tmp/o" || fail "no time-skew change line: $(cat "$tmp/o")"
  grep -q "positions loss x0 -> velocity from epoch 2 on" "$tmp/o" || fail "no positions-loss change line: $(cat "$tmp/o")"
  grep -q "positions loss velocity," "$tmp/o" || fail "resume did not take the velocity loss: $(grep 'training on' "$tmp/o")"
  grep -q "position output velocity" "$tmp/o" || fail "resume lost the velocity output: $(grep network "$tmp/o")"
  grep -q "t ~ Beta(1, 3)," "$tmp/o" || fail "resume did not take the new law: $(grep 'training on' "$tmp/o")"
  [ ! -e "$tmp/x.sdf" ] && [ ! -e "$tmp/x.sdf.part" ] || fail "an output was written before an error"
  train -o "$tmp/c.h5" --epochs 1 --cond mu
  grep -q "conditioning on mu (D)" "$tmp/train.txt" || fail "no conditioning line: $(cat "$tmp/train.txt")"
  "$exe" sample "$tmp/c.h5" "${s[@]}" -o "$tmp/c.sdf" --cond 1000 --guidance 1 >"$tmp/o" 2>"$tmp/e" || fail "conditioned sample: $(cat "$tmp/e")"
  grep -q "warning: --cond 1000 is outside the training range \[.*\] D of mu" "$tmp/e" || fail "no range warning: $(cat "$tmp/e")"
  [ "$(grep -c '^> <mu_target>' "$tmp/c.sdf")" = 4 ] || fail "no mu_target field"
  grep -A1 '^> <mu_target>' "$tmp/c.sdf" | grep -qx 1000 || fail "mu_target is not 1000"
  "$exe" sample "$tmp/c.h5" "${s[@]}" -o "$tmp/j.sdf" >"$tmp/o" 2>&1 || fail "joint sample: $(cat "$tmp/o")"
  grep -q "drawn jointly" "$tmp/o" || fail "no joint draw: $(cat "$tmp/o")"
  "$exe" sample "$tmp/c.h5" "${s[@]}" -o "$tmp/g.sdf" --guidance 2 >"$tmp/o" 2>&1 || fail "joint draw with guidance: $(cat "$tmp/o")"
  grep -q "drawn jointly with the size from the training table (guidance 2)" "$tmp/o" || fail "no guided joint draw: $(cat "$tmp/o")"
  [ "$(grep -A1 '^> <guidance>' "$tmp/g.sdf" | grep -cx 2)" = 4 ] || fail "guidance field is not 2"
  err 2 "conditioned on mu, not gap" "$exe" sample "$tmp/c.h5" "${s[@]}" -o "$tmp/x.sdf" --cond gap=0.2
  err 2 "unconditional already" "$exe" sample "$tmp/u.h5" "${s[@]}" -o "$tmp/x.sdf" --uncond
  err 2 "cannot be combined with --cond" "$exe" sample "$tmp/c.h5" "${s[@]}" -o "$tmp/x.sdf" --uncond --cond 1
  "$exe" sample "$tmp/c.h5" "${s[@]}" -o "$tmp/n.sdf" --uncond >"$tmp/o" 2>&1 || fail "--uncond sample: $(cat "$tmp/o")"
  grep -q "unconditional branch of a model conditioned on mu" "$tmp/o" || fail "no null-branch protocol: $(cat "$tmp/o")"
  ! grep -q '^> <mu_target>' "$tmp/n.sdf" || fail "an --uncond record carries a mu_target"
  [ "$(grep -c '^> <conditioning>' "$tmp/n.sdf")" = 4 ] || fail "no conditioning field in the --uncond records"
  echo "bad input fails in one line; out-of-range targets warn"
  ;;
export)
  train -o "$tmp/m.h5" --epochs 3 --cond mu --time-skew 2
  export_check "$tmp/m.h5" mol3d_flow 3
  s=(-n 24 --steps 4 --batch 8 --seed 11 --threads 1)
  blank() { sed -e "/^> <\($1\)>\$/{n;s/.*/-/}" "$2"; }   # blank the values of the data fields $1
  for w in ema raw; do
    "$exe" sample "$tmp/m.h5" "${s[@]}" --weights $w -o "$tmp/m_$w.sdf" >"$tmp/o" 2>&1 || fail "sample --weights $w: $(cat "$tmp/o")"
  done
  cmp -s "$tmp/m_ema.sdf" "$tmp/m_raw.sdf" && fail "ema and raw weights sample the same file: the checks below cannot fail"
  for w in ema raw; do
    for sw in ema raw; do
      x="$tmp/x_${w}_$sw.sdf"
      "$exe" sample "$tmp/x_$w.h5" "${s[@]}" --weights $sw -o "$x" >"$tmp/o" 2>&1 || fail "sample export $w --weights $sw: $(cat "$tmp/o")"
      grep -q "($sw weights, model trained 3 epochs on qm9_conformers/train)" "$tmp/o" || fail "summary: $(head -1 "$tmp/o")"
      f='model'; [ $sw = $w ] || f='model\|weights'
      cmp -s <(blank "$f" "$tmp/m_$w.sdf") <(blank "$f" "$x") || fail "export $w sampled with --weights $sw differs from $w"
    done
  done
  grep -qx "$tmp/x_ema.h5" "$tmp/x_ema_ema.sdf" || fail "no model field to blank"
  cp "$tmp/x_ema.h5" "$tmp/keep.h5"
  err 1 "--resume: $tmp/x_ema.h5: a weights-only export (ema weights" \
    "$exe" train molecules3d --data "$data" --max-rows 300 --threads 1 -o "$tmp/x_ema.h5" --epochs 4 --resume
  cmp -s "$tmp/x_ema.h5" "$tmp/keep.h5" || fail "a refused --resume changed the export"
  [ ! -e "$tmp/x_ema.h5.log" ] || fail "a refused --resume started a log"
  # a sampler setting shipped with the export: sample's default with euler, overridable, not for heun
  "$exe" export "$tmp/m.h5" -o "$tmp/x_sde.h5" --sde-noise 8 >"$tmp/o" 2>&1 || fail "export --sde-noise: $(cat "$tmp/o")"
  grep -q "sde-noise 8 --sde-tmax 1 with --ode euler" "$tmp/o" || fail "export does not report the sampler setting: $(cat "$tmp/o")"
  "$exe" export "$tmp/x_sde.h5" -o "$tmp/x_sde2.h5" >"$tmp/o" 2>&1 || fail "re-export: $(cat "$tmp/o")"
  grep -q "sde-noise 8 --sde-tmax 1 with --ode euler" "$tmp/o" || fail "re-export lost the sampler setting: $(cat "$tmp/o")"
  for c in "::sde mode, eta 8" "--sde-noise 0::ode euler," "--sde-noise 2::sde mode, eta 2" \
           "--ode heun::ode heun," "--sde-tmax 0.25::sde mode, eta 8 (g(t)^2 = 2 eta t) for t <= 0.25,"; do
    "$exe" sample "$tmp/x_sde.h5" "${s[@]}" ${c%%::*} -o "$tmp/d.sdf" >"$tmp/o" 2>&1 || fail "sample ${c%%::*}: $(cat "$tmp/o")"
    grep -qF "seed 11, ${c##*::}" "$tmp/o" || fail "sample ${c%%::*}: not '${c##*::}': $(grep protocol "$tmp/o")"
  done
  "$exe" sample "$tmp/x_sde.h5" "${s[@]}" --sde-noise 8 -o "$tmp/e.sdf" >/dev/null 2>&1
  "$exe" sample "$tmp/x_sde.h5" "${s[@]}" -o "$tmp/d.sdf" >/dev/null 2>&1
  cmp -s <(blank sampler "$tmp/d.sdf") <(blank sampler "$tmp/e.sdf") || fail "the shipped setting is not --sde-noise 8"
  err 2 "--sde-noise: " "$exe" export "$tmp/m.h5" -o "$tmp/y.h5" --sde-noise -3
  "$exe" export "$tmp/x_sde.h5" -o "$tmp/x_t.h5" --sde-tmax 0.5 >"$tmp/o" 2>&1 || fail "export --sde-tmax: $(cat "$tmp/o")"
  grep -q "sde-noise 8 --sde-tmax 0.5 with --ode euler" "$tmp/o" || fail "export --sde-tmax: $(cat "$tmp/o")"
  "$exe" sample "$tmp/x_t.h5" "${s[@]}" -o "$tmp/d.sdf" >"$tmp/o" 2>&1 || fail "sample x_t: $(cat "$tmp/o")"
  grep -qF "eta 8 (g(t)^2 = 2 eta t) for t <= 0.5," "$tmp/o" || fail "the shipped t_max is not used: $(grep protocol "$tmp/o")"
  # the positions' own setting: shipped, reported, overridable, equal to giving it by hand
  "$exe" export "$tmp/x_sde.h5" -o "$tmp/x_p.h5" --pos-sde-tmax 0.3 >"$tmp/o" 2>&1 || fail "export --pos-sde-tmax: $(cat "$tmp/o")"
  grep -q "sde-noise 8 --sde-tmax 1 --pos-sde-noise 8 --pos-sde-tmax 0.3 with --ode euler" "$tmp/o" \
    || fail "export --pos-sde-tmax: $(cat "$tmp/o")"
  pos="types/charges/bonds eta 8 for t <= 1, positions eta 8 for t <= 0.3,"
  for c in "::$pos" "--pos-sde-noise 2::types/charges/bonds eta 8 for t <= 1, positions eta 2 for t <= 0.3," \
           "--sde-noise 8::sde mode, eta 8 (g(t)^2 = 2 eta t) for t <= 1," "--sde-noise 0 --pos-sde-noise 4::types/charges/bonds eta 0 for t <= 1, positions eta 4 for t <= 1,"; do
    "$exe" sample "$tmp/x_p.h5" "${s[@]}" ${c%%::*} -o "$tmp/d.sdf" >"$tmp/o" 2>&1 || fail "sample ${c%%::*}: $(cat "$tmp/o")"
    grep -qF "${c##*::}" "$tmp/o" || fail "sample x_p ${c%%::*}: not '${c##*::}': $(grep protocol "$tmp/o")"
  done
  "$exe" sample "$tmp/x_p.h5" "${s[@]}" -o "$tmp/d.sdf" >/dev/null 2>&1
  "$exe" sample "$tmp/x_sde.h5" "${s[@]}" --pos-sde-tmax 0.3 -o "$tmp/e.sdf" >/dev/null 2>&1
  cmp -s <(blank "sampler\|model" "$tmp/d.sdf") <(blank "sampler\|model" "$tmp/e.sdf") || fail "the shipped positions setting is not --pos-sde-tmax 0.3"
  "$exe" sample "$tmp/x_sde.h5" "${s[@]}" -o "$tmp/f.sdf" >/dev/null 2>&1
  cmp -s <(blank "sampler\|model" "$tmp/d.sdf") <(blank "sampler\|model" "$tmp/f.sdf") && fail "--pos-sde-tmax 0.3 changed nothing"
  err 2 "--pos-sde-noise" "$exe" sample "$tmp/x_p.h5" "${s[@]}" -o "$tmp/x.sdf" --ode heun --pos-sde-noise 2
  echo "exports sample as the weights chosen, are $(stat -c %s "$tmp/x_ema.h5") of $(stat -c %s "$tmp/m.h5") bytes, refuse --resume, carry a sampler setting"
  ;;
*) fail "unknown case" ;;
esac
