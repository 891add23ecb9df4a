#!/usr/bin/env bash
# Crystal models end to end: bash crystals.sh SDEGEN SHARED CASE (77 = skipped).
#   train   a short run on 50 perov_5 val crystals lowers the loss; 2 + 2 epochs with --resume
#           equal 4 epochs bit for bit (h5dump of the parameters and Adam moments)
#   sample  a tiny carbon model: every decoded crystal is one NNNNNN.cif the CIF reader reads
#           back to the same crystal (re-written text identical but for the derived volume),
#           summary.tsv has N rows, the .h5 has N rows (h5dump) and complete = 1; an .h5 run
#           killed after one chunk and resumed equals an uninterrupted run; the shipped perov5
#           model loads by name and samples
#   vocab   --element-rows vocab on 50 perov_5 val crystals: the header gives the rows and the
#           vocabulary size, the model stores its element rows (= its training vocabulary), 2 + 2
#           epochs with --resume equal 4 bit for bit and keep the rows, and every sampled site is
#           an element of the rows (h5dump /species)
#   errors  unknown dataset, --cond on an unconditioned model, unwritable output, --element-rows
#           with --resume or a bad value: one line, exit != 0
set -uo pipefail
exe=$1; shared=$2; case=$3
data=$shared/data
[ -f "$data/crystals/perov_5/val.csv" ] || { echo "no crystal data: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/sdegen-crys-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }
tiny_carbon() {   # a small model that decodes some crystals after a few seconds of training
  "$exe" train crystal --dataset carbon_24 --data "$data" -o "$1" --epochs 300 --max-rows 8 --batch 8 --base 16 \
    --levels 1 --lr 0.003 --threads 1 --ckpt-every 0 >/dev/null || fail "tiny training"
}
case $case in
train)
  "$exe" train crystal --dataset perov_5 --data "$data" -o "$tmp/a.h5" --epochs 6 --max-rows 50 --batch 25 --base 16 \
    --threads 1 --ckpt-every 0 --seed 2 >"$tmp/out" || fail "training"
  grep -q "val is the training set" "$tmp/out" || fail "no note on the val split"
  first=$(awk 'NR==2{print $2}' "$tmp/a.h5.log"); last=$(awk 'END{print $2}' "$tmp/a.h5.log")
  awk -v f="$first" -v l="$last" 'BEGIN{exit !(l < 0.9 * f)}' || fail "loss $first -> $last did not fall by 10 %"
  for f in b c; do
    "$exe" train crystal --dataset perov_5 --data "$data" -o "$tmp/$f.h5" --epochs $([ $f = b ] && echo 4 || echo 2) \
      --max-rows 50 --batch 25 --base 16 --threads 1 --ckpt-every 0 --seed 2 >/dev/null || fail "training $f"
  done
  "$exe" train crystal --dataset perov_5 --data "$data" -o "$tmp/c.h5" --epochs 4 --max-rows 50 --threads 1 --resume \
    >/dev/null || fail "resume"
  for g in params ema adam; do
    h5dump -g /$g "$tmp/b.h5" | sed 1d >"$tmp/b.$g"; h5dump -g /$g "$tmp/c.h5" | sed 1d >"$tmp/c.$g"
    cmp -s "$tmp/b.$g" "$tmp/c.$g" || fail "/$g differs between 4 epochs and 2 + 2 resumed"
  done
  [ -s "$tmp/b.params" ] || fail "h5dump read nothing" ;;
sample)
  command -v h5dump >/dev/null || { echo "no h5dump: skipped"; exit 77; }
  tiny_carbon "$tmp/m.h5"
  "$exe" sample "$tmp/m.h5" -n 12 -o "$tmp/d/" --steps 25 --batch 5 --threads 1 >"$tmp/out" || fail "sample dir"
  rows=$(($(wc -l <"$tmp/d/summary.tsv") - 1)); [ "$rows" = 12 ] || fail "summary.tsv has $rows rows"
  dec=$(awk -F'\t' 'NR>1 && $5==1' "$tmp/d/summary.tsv" | wc -l)
  ncif=$(ls "$tmp/d" | grep -c '\.cif$'); [ "$dec" = "$ncif" ] && [ "$ncif" -gt 0 ] || fail "$ncif CIFs for $dec decoded"
  # every written CIF reads back to the same crystal: read + write again is the identical text
  # (cell, formula, volume, every site's label, element and coordinates at the written precision)
  for f in "$tmp"/d/*.cif; do
    "$exe" cif "$f" "$tmp/back.cif" >/dev/null 2>&1 || fail "CIF reader rejects $f"
    # the volume is derived from the rounded cell parameters: equal to 1e-7 relative, the rest identical
    grep -v '^_cell_volume' "$f" >"$tmp/a.txt"; grep -v '^_cell_volume' "$tmp/back.cif" >"$tmp/b.txt"
    cmp -s "$tmp/a.txt" "$tmp/b.txt" || fail "$f does not read back to the same crystal: $(diff "$tmp/a.txt" "$tmp/b.txt" | head -3)"
    awk '/^_cell_volume/ { v[FILENAME == ARGV[1]] = $2 } END { d = v[0] - v[1]; exit !(v[1] > 0 && d * d <= 1e-14 * v[1] * v[1]) }' \
      "$f" "$tmp/back.cif" || fail "$f: the volume changed on reading back"
  done
  # the element vocabulary (carbon_24: carbon alone) is in the model; --vocab-decode writes only carbon
  h5dump -a /meta/decode.elements "$tmp/m.h5" | grep -q '"6"' || fail "no element vocabulary in the model"
  grep -q "outside the training vocabulary: [0-9]* of" "$tmp/out" || fail "no vocabulary line: $(cat "$tmp/out")"
  "$exe" sample "$tmp/m.h5" -n 12 -o "$tmp/v/" --steps 25 --batch 5 --threads 1 --vocab-decode >"$tmp/vout" ||
    fail "sample --vocab-decode"
  grep -q "vocabulary decoding: [0-9]* of" "$tmp/vout" || fail "no vocabulary decoding line: $(cat "$tmp/vout")"
  awk -F'\t' 'NR > 1 && $5 == 1 && $2 !~ /^C[0-9]*$/ { bad++ } END { exit bad > 0 }' "$tmp/v/summary.tsv" ||
    fail "--vocab-decode wrote an element other than carbon"
  "$exe" sample "$tmp/m.h5" -n 12 -o "$tmp/full.h5" --steps 25 --batch 5 --threads 1 >/dev/null || fail "sample h5"
  n=$(h5dump -d /index "$tmp/full.h5" | grep -o 'DATASPACE  SIMPLE { ( [0-9]*' | grep -o '[0-9]*$')
  [ "$n" = 12 ] || fail "/index has $n rows"
  h5dump -a /complete "$tmp/full.h5" | grep -q '(0): 1' || fail "complete != 1"
  # the same run killed after its first chunk, then resumed
  "$exe" sample "$tmp/m.h5" -n 12 -o "$tmp/part.h5" --steps 25 --batch 5 --threads 1 >/dev/null &
  pid=$!
  for _ in $(seq 1 200); do
    c=$(h5dump -a /count "$tmp/part.h5" 2>/dev/null | grep -o '(0): [0-9]*' | grep -o '[0-9]*$')
    [ "${c:-0}" -ge 5 ] && break; sleep 0.05
  done
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  "$exe" sample "$tmp/m.h5" -n 12 -o "$tmp/part.h5" --steps 25 --batch 5 --threads 1 --resume >"$tmp/rout" ||
    fail "resume"
  for d in index decoded lattice species frac spacegroup valid site_offsets; do
    h5dump -d /$d "$tmp/full.h5" | sed 1d >"$tmp/x"; h5dump -d /$d "$tmp/part.h5" | sed 1d >"$tmp/y"
    cmp -s "$tmp/x" "$tmp/y" || fail "/$d differs after resume"
  done
  # the shipped Perov-5 model loads by its name (data/models/perov5.h5 of this source tree) and
  # samples crystals that decode (a few Heun steps: a smoke test of the file, not of quality)
  (cd "$tmp" && env -u SDEGEN_MODELS "$exe" sample perov5 -n 4 --steps 8 --threads 1 -o shipped.h5 >shipped.txt 2>&1) ||
    fail "sample perov5: $(tail -2 "$tmp/shipped.txt")"
  grep -q "model: .*data/models/perov5.h5 (perov_5/val" "$tmp/shipped.txt" || fail "shipped model: $(head -3 "$tmp/shipped.txt")" ;;
vocab)
  command -v h5dump >/dev/null || { echo "no h5dump: skipped"; exit 77; }
  attr() { h5dump -a "/meta/$1" "$2" | grep -o '(0): "[0-9 ]*"' | sed 's/^(0): "//; s/"$//'; }
  args=(train crystal --dataset perov_5 --data "$data" --max-rows 50 --batch 25 --base 16 --threads 1 --ckpt-every 0
        --seed 2 --element-rows vocab)
  "$exe" "${args[@]}" -o "$tmp/a.h5" --epochs 4 >"$tmp/out" || fail "training"
  rows=$(attr matrix.element_rows "$tmp/a.h5"); nv=$(echo $rows | wc -w)
  [ "$nv" -gt 0 ] || fail "no element rows in the model"
  [ "$rows" = "$(attr decode.elements "$tmp/a.h5")" ] || fail "element rows '$rows' != the training vocabulary"
  head="matrix $((nv + 12)) x 5 (E_max 5, N_max 5, element rows $nv, the training vocabulary); training vocabulary"
  grep -qF "$head $nv elements; 50 crystals fit" "$tmp/out" || fail "header: $(grep '^matrix' "$tmp/out")"
  "$exe" "${args[@]}" -o "$tmp/b.h5" --epochs 2 >/dev/null || fail "training b"
  "$exe" train crystal --dataset perov_5 --data "$data" -o "$tmp/b.h5" --epochs 4 --max-rows 50 --threads 1 --resume \
    >"$tmp/rout" || fail "resume"
  grep -qF "$head $nv elements" "$tmp/rout" || fail "resumed header: $(grep '^matrix' "$tmp/rout")"
  [ "$(attr matrix.element_rows "$tmp/b.h5")" = "$rows" ] || fail "the resumed file changed its element rows"
  for g in params ema adam; do
    h5dump -g /$g "$tmp/a.h5" | sed 1d >"$tmp/a.$g"; h5dump -g /$g "$tmp/b.h5" | sed 1d >"$tmp/b.$g"
    cmp -s "$tmp/a.$g" "$tmp/b.$g" || fail "/$g differs between 4 epochs and 2 + 2 resumed"
  done
  "$exe" sample "$tmp/b.h5" -n 12 -o "$tmp/s/" --steps 8 --batch 6 --threads 1 >"$tmp/sout" || fail "sample"
  grep -q "outside the training vocabulary: 0 of" "$tmp/sout" || fail "$(grep outside "$tmp/sout")"
  # this barely trained model leaves sites on empty element columns: --vocab-decode reassigns them
  # (its vocabulary part is a no-op here), so that crystals decode and their species can be read
  "$exe" sample "$tmp/b.h5" -n 12 -o "$tmp/v.h5" --steps 8 --batch 6 --threads 1 --vocab-decode >"$tmp/vout" ||
    fail "sample --vocab-decode"
  grep -q "so no element had to move" "$tmp/vout" || fail "$(grep vocabulary "$tmp/vout")"
  h5dump -d /species "$tmp/v.h5" | awk '/^ *\([0-9]+\):/ { sub(/^ *\([0-9]+\): */, ""); print }' | tr -s ', ' '\n\n' |
    grep . >"$tmp/z"
  [ -s "$tmp/z" ] || fail "no sampled crystal decoded"
  for z in $(sort -un "$tmp/z"); do
    case " $rows " in *" $z "*) ;; *) fail "sampled element Z = $z is not an element row ($rows)" ;; esac
  done ;;
errors)
  check1() {   # expected failure with a one-line message
    local want=$1; shift
    "$exe" "$@" >/dev/null 2>"$tmp/err" && fail "'$*' succeeded"
    [ "$(wc -l <"$tmp/err")" = 1 ] || fail "'$*' wrote $(wc -l <"$tmp/err") lines: $(cat "$tmp/err")"
    grep -q "$want" "$tmp/err" || fail "'$*': $(cat "$tmp/err")"
  }
  check1 "unknown dataset 'perov_6'" train crystal --dataset perov_6 --data "$data" -o "$tmp/x.h5"
  tiny_carbon "$tmp/m.h5"
  check1 "unconditioned model" sample "$tmp/m.h5" -n 2 -o "$tmp/o/" --cond band_gap=1
  check1 "cannot" sample "$tmp/m.h5" -n 2 -o /proc/nonexistent/x.cif --steps 2
  check1 "only the edm sampler has churn" sample "$tmp/m.h5" -n 2 -o "$tmp/o/" --sampler pc --churn 10
  check1 "element-rows: 'some' is not all or vocab" train crystal --dataset perov_5 --data "$data" -o "$tmp/x.h5" \
    --element-rows some
  check1 "element-rows cannot be given with it" train crystal --dataset carbon_24 --data "$data" -o "$tmp/m.h5" \
    --resume --element-rows vocab ;;
*) echo "unknown case $case"; exit 2 ;;
esac
echo ok
