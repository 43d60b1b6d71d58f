#!/usr/bin/env bash
# Retrain the shipped model (models/default) from scratch on the synthetic corpus, every stage from the CLI:
# synth -> label from annotations -> train + apply the quality filter -> tokenizer -> tokenize -> LAM ->
# dynamics -> evaluate each -> export. Seeds are fixed; budgets are steps (and a wall-clock cap per stage).
#
#   bash scripts/default_model.sh            # 2-core CPU: about 4 h 30 min on an idle machine (the shipped figures)
#   GPU=1 bash scripts/default_model.sh      # CUDA: larger presets and more steps, minutes per stage
#
# Every training stage resumes when re-run (--resume), so a cut run continues where it stopped.
# Env: WORK (scratch folder, default work/default), OUT (bundle, default models/default), MINUTES (corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
MG=${MG:-.venv/bin/musegenie}
WORK=${WORK:-work/default}
OUT=${OUT:-models/default}
MINUTES=${MINUTES:-60}
mkdir -p "$WORK"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}  # use 1 on a shared, busy CPU: OpenMP threads thrash there

# Each training stage is a recipe (training/recipes/KIND/NAME.toml) and a budget (wall-clock minutes; the
# steps are in the recipe). The tokenizer is four runs, each warm-started from the one before (--init-from):
# about 4 h 10 min on 2 idle cores.
if [[ "${GPU:-0}" == 1 ]]; then
  TOK_STAGES=("tokenizer|gpu-high|600")  # RUN|RECIPE|MINUTES
  LAM=(gpu-base 120)
  DYN=(gpu-base 240)
  THREADS=0
  MINUTES=${MINUTES_GPU:-600}
else
  TOK_STAGES=(
    "tokenizer_base|shipped-1-base|90"
    "tokenizer_s2|shipped-2-spectrum|60"
    "tokenizer_s3|shipped-3-anneal|88"
    "tokenizer|shipped-4-mdct1024|28"
  )
  LAM=(shipped 5)
  DYN=(shipped 10)
  THREADS=2
fi
resume() { [[ -d "$1/checkpoints" ]] && echo --resume || true; }

[[ -f $WORK/corpus/corpus.jsonl ]] ||
  $MG synth "$WORK/corpus" --minutes "$MINUTES" --seed 0 --workers 2 --degrade-fraction 0.25 --renderer additive \
    --picture "$WORK/corpus.png"
[[ -f $WORK/labels.csv ]] ||
  $MG data label "$WORK/corpus/corpus.jsonl" --out "$WORK/labels.csv" --n 200 --seed 0 --from-annotations --no-play --no-show
[[ -f $WORK/filter.joblib ]] || $MG data train-filter "$WORK/labels.csv" --out "$WORK/filter.joblib"
$MG data filter "$WORK/corpus/corpus.jsonl" --model "$WORK/filter.joblib" --out "$WORK/manifest.jsonl" --workers 2

previous=
for stage in "${TOK_STAGES[@]}"; do  # a finished stage leaves RUN/done and is not re-entered
  IFS='|' read -r run recipe minutes <<<"$stage"
  if [[ ! -f $WORK/$run/done ]]; then
    # shellcheck disable=SC2046
    $MG train tokenizer --data "$WORK/manifest.jsonl" --out "$WORK/$run" --recipe "$recipe" \
      --max-minutes "$minutes" --seed 0 --threads "$THREADS" ${previous:+--init-from "$WORK/$previous"} \
      $(resume "$WORK/$run")
    touch "$WORK/$run/done"
  fi
  previous=$run
done
$MG eval tokenizer --checkpoint "$WORK/tokenizer" --out "$WORK/eval/tokenizer" --steps 4 --method heun --shift 0.8
$MG tokenize --checkpoint "$WORK/tokenizer" --data "$WORK/manifest.jsonl" --out "$WORK/latents"
# shellcheck disable=SC2046
$MG train lam --latents "$WORK/latents" --out "$WORK/lam" --recipe "${LAM[0]}" --max-minutes "${LAM[1]}" --seed 0 \
  $(resume "$WORK/lam")
$MG eval lam --checkpoint "$WORK/lam" --latents "$WORK/latents" --tokenizer "$WORK/tokenizer" --out "$WORK/eval/lam"
# shellcheck disable=SC2046
$MG train dynamics --latents "$WORK/latents" --lam "$WORK/lam" --out "$WORK/dynamics" --recipe "${DYN[0]}" \
  --max-minutes "${DYN[1]}" --seed 0 --threads "$THREADS" $(resume "$WORK/dynamics")
$MG eval dynamics --checkpoint "$WORK/dynamics" --tokenizer "$WORK/tokenizer" --out "$WORK/eval/dynamics" --decoder-steps 4 --windows 16

# Who plays: the instrument estimator hears the additive corpus and sampled instruments (the FluidR3 General
# MIDI soundfont: apt-get install fluidsynth fluid-soundfont-gm); held-out pieces of another seed score it.
SF=(--renderer soundfont --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2)
I=$WORK/instruments
if [[ ! -f $I/instruments.npz ]]; then
  $MG synth "$I/additive-seed0" --minutes 60 --seed 0 --renderer additive
  $MG synth "$I/soundfont-seed0" --minutes 30 --seed 0 "${SF[@]}"
  $MG synth "$I/soundfont-seed1" --minutes 40 --seed 1 "${SF[@]}"
  $MG synth "$I/heldout-additive-seed3" --minutes 6 --seed 3 --renderer additive
  $MG synth "$I/heldout-soundfont-seed3" --minutes 6 --seed 3 "${SF[@]}"
  $MG train instruments --data "$I"/{additive-seed0,soundfont-seed0,soundfont-seed1}/corpus.jsonl \
    --held-out "$I"/heldout-{additive,soundfont}-seed3/corpus.jsonl --out "$I/instruments.npz"
fi
# The model card's words on the data and its limits (everything else on it is read from eval/*.json).
DATA_NOTE="$MINUTES minutes of the synthetic jazz corpus (musegenie synth --minutes $MINUTES --seed 0 --degrade-fraction \
0.25, a quarter of the pieces with old-recording damage), kept or trimmed by the quality filter trained on labels \
read from its annotations. Licence: rendered by musegenie's own additive synthesiser from generated scores \
(Apache-2.0, like the code); no third-party recording was used."
$MG export --tokenizer "$WORK/tokenizer" --lam "$WORK/lam" --dynamics "$WORK/dynamics" --out "$OUT" --name default \
  --actions-json "$WORK/eval/lam/actions.json" --default-decoder-steps 4 --default-decoder-sampler heun \
  --default-decoder-shift 0.8 --force \
  --eval tokenizer_metrics="$WORK/eval/tokenizer/metrics.json" dynamics="$WORK/eval/dynamics/dynamics.json" \
    instruments="$I/instruments.json" --instrument-estimator "$I/instruments.npz" \
  --data-note "$DATA_NOTE" \
  --note "The models have heard only the additive synthesiser: no recorded instrument, voice or mix."
# The edit as heard, through the engine on held-out pieces of another seed; --record puts it in the card.
[[ -f $WORK/heldout/corpus.jsonl ]] || $MG synth "$WORK/heldout" --minutes 5 --seed 7 --renderer additive
$MG eval edit --bundle "$OUT" --data "$WORK/heldout/corpus.jsonl" --out "$WORK/eval/edit" --clips 8 \
  --region-seconds 4 --context-seconds 4 --record
$MG bundle info "$OUT"
