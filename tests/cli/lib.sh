# Sourced by the CLI test scripts (bash) after they set tmp (a scratch directory) and case.
fail() { echo "FAIL ($case): $*"; exit 1; }
# err WANT_EXIT TEXT cmd...: cmd fails with exit status WANT_EXIT and one line on stderr holding TEXT
err() {
  local want=$1 text=$2; shift 2
  "$@" >"$tmp/o" 2>"$tmp/e"; local rc=$?
  [ "$rc" = "$want" ] || fail "exit $rc (want $want): $*: $(cat "$tmp/e")"
  grep -qF -- "$text" "$tmp/e" || fail "stderr lacks '$text': $(cat "$tmp/e")"
  [ "$(wc -l <"$tmp/e")" -eq 1 ] || fail "stderr is not one line: $(cat "$tmp/e")"
}
# export_check MODEL KIND EPOCHS (exe = the sdegen command): sdegen export MODEL to $tmp/x_ema.h5 and
# $tmp/x_raw.h5 prints its one line and writes a file under 60 % of MODEL's size; with the HDF5 tools,
# /params and /ema both hold MODEL's chosen weights (/ema or /params), /buffers is MODEL's, /adam is
# gone, and /meta is MODEL's but for the train.* state, plus weights_only. Then the errors: a missing
# file, a non-HDF5 file and another kind of model (exit 1), and bad usage (exit 2), one line each.
export_check() {
  local model=$1 kind=$2 epochs=$3 w x src size
  local meta='h5dump -m %.17g -A -g /meta'   # every attribute as "name = value", exact
  local kv='/ATTRIBUTE "/{split($0, q, "\""); k = q[2]} /\(0\):/{sub(/^ *\(0\): */, ""); print k " = " $0}'
  local train='^train\.\(batch\|lr\|grad_clip\|ema_decay\|seed\|threads\|molecules\) = '
  if command -v h5diff >/dev/null; then
    h5diff -q "$model" "$model" /params /ema >/dev/null && fail "$model: /params and /ema are equal: the weight checks cannot fail"
  fi
  for w in ema raw; do
    x="$tmp/x_$w.h5"
    "$exe" export "$model" -o "$x" --weights $w >"$tmp/o" 2>"$tmp/e" || fail "export --weights $w: $(cat "$tmp/e")"
    [ ! -s "$tmp/e" ] || fail "export --weights $w wrote to stderr: $(cat "$tmp/e")"
    size=$(stat -c %s "$x")
    grep -qx "$x: $kind, epoch $epochs, $w weights, [1-9][0-9]* parameters, $size bytes (training state dropped: cannot --resume)" \
      "$tmp/o" || fail "export line: $(cat "$tmp/o")"
    [ "$size" -lt $(($(stat -c %s "$model") * 6 / 10)) ] || fail "export $size bytes, not under 60 % of $(stat -c %s "$model")"
    command -v h5dump >/dev/null && command -v h5diff >/dev/null || continue
    src=/params; [ $w = ema ] && src=/ema
    for g in /params /ema; do
      h5diff -q "$model" "$x" $src $g >/dev/null || fail "$x: $g is not $model's $src"
    done
    if h5dump -g /buffers "$model" >/dev/null 2>&1; then
      h5diff -q "$model" "$x" /buffers /buffers >/dev/null || fail "$x: /buffers differ from $model's"
    fi
    h5dump -g /adam "$model" >/dev/null 2>&1 || fail "$model has no /adam"
    ! h5dump -g /adam "$x" >/dev/null 2>&1 || fail "$x kept /adam"
    diff <({ $meta "$model" | awk "$kv" | grep -v "$train"; echo "weights_only = \"$w\""; } | sort) \
      <($meta "$x" | awk "$kv" | sort) >"$tmp/d" || fail "$x: /meta is not $model's without train.*: $(cat "$tmp/d")"
    grep -q "^train.epoch = $epochs\$" <($meta "$x" | awk "$kv") || fail "$x: train.epoch is not $epochs"
  done
  err 1 "sdegen export: $tmp/nope.h5: cannot open" "$exe" export "$tmp/nope.h5" -o "$tmp/y.h5"
  echo "not a model" >"$tmp/junk.h5"
  err 1 "sdegen export: $tmp/junk.h5: not an HDF5 file" "$exe" export "$tmp/junk.h5" -o "$tmp/y.h5"
  local other; other="$(dirname "$0")/../../data/models/perov5.h5"
  [ ! -f "$other" ] || err 1 "$other: a 'crystal_unet' model; export writes mol3d_flow" "$exe" export "$other" -o "$tmp/y.h5"
  err 2 "-o OUT.h5 is required" "$exe" export "$model"
  err 2 "is the model itself" "$exe" export "$model" -o "$model"
  err 2 "'best' is not ema or raw" "$exe" export "$model" -o "$tmp/y.h5" --weights best
  err 2 "unknown option '--resume'" "$exe" export "$model" -o "$tmp/y.h5" --resume
  [ ! -e "$tmp/y.h5" ] || fail "a failed export wrote $tmp/y.h5"
}
