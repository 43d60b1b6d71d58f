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

if [[ "${GPU:-0}" == 1 ]]; then
  TOK_STAGES=("tokenizer|--preset high --latent-mel --latent-mel-weight 10 --compand-bins 1024 --compand-window 3 --max-steps 40000 --batch-size 32 --threads 0 --precision bf16")
  LAM="--preset base --max-steps 20000"
  DYN="--preset base --max-steps 40000 --threads 0 --precision bf16"
  MINUTES=${MINUTES_GPU:-600}
else
  # The tokenizer in four runs, each warm-started from the one before (--init-from); about 4 h 10 min on
  # 2 idle cores: a base model (with the preset's log-mel shortcut, weighted 10x against the learned latent
  # features) without the spectrum view and fine gate, then those added (zero-initialised) and the decoder
  # space companded on a 256-bin MDCT instead of the patch's 64, with a smooth (3 x 3) gain; then more
  # steps at a lower learning rate (a fresh warm-up and cosine: the second run's had decayed); then the
  # companding moved to a 1024-bin MDCT, whose 128 ms atoms keep a partial's errors out of a quiet bass.
  SAMPLES="--threads 2 --sample-clips 4 --sample-steps 4"
  TOK_STAGES=(
    "tokenizer_base|--preset small --no-spectrum --no-fine-gate --latent-mel-weight 10 --loss-t-floor 0.25 --max-steps 8500 --curriculum 0:1,6500:2 --max-minutes 90 --sample-every 2000"
    "tokenizer_s2|--spectrum --fine-gate --compand-bins 256 --compand-window 3 --latent-mel-weight 10 --curriculum 0:2 --max-steps 3000 --max-minutes 60 --lr 3e-4 --warmup-steps 100 --sample-every 1000"
    "tokenizer_s3|--curriculum 0:2 --max-steps 4500 --max-minutes 88 --lr 2e-4 --warmup-steps 100 --sample-every 1500"
    "tokenizer|--compand-bins 1024 --curriculum 0:2 --max-steps 2000 --max-minutes 28 --lr 2e-4 --warmup-steps 100 --sample-every 1000"
  )
  LAM="--preset small --max-steps 600 --max-minutes 5"
  DYN="--preset small --max-steps 2000 --max-minutes 10 --threads 2"
fi
resume() { [[ -d "$1/checkpoints" ]] && echo --resume || true; }

[[ -f $WORK/corpus/corpus.jsonl ]] ||
  $MG synth "$WORK/corpus" --minutes "$MINUTES" --seed 0 --workers 2 --degrade-fraction 0.25 --picture "$WORK/corpus.png"
[[ -f $WORK/labels.csv ]] ||
  $MG data label "$WORK/corpus/corpus.jsonl" --out "$WORK/labels.csv" --n 200 --seed 0 --from-annotations --no-play --no-show
[[ -f $WORK/filter.joblib ]] || $MG data train-filter "$WORK/labels.csv" --out "$WORK/filter.joblib"
$MG data filter "$WORK/corpus/corpus.jsonl" --model "$WORK/filter.joblib" --out "$WORK/manifest.jsonl" --workers 2

previous=
for stage in "${TOK_STAGES[@]}"; do  # RUN|OPTIONS; a finished stage leaves RUN/done and is not re-entered
  run=${stage%%|*}
  if [[ ! -f $WORK/$run/done ]]; then
    # shellcheck disable=SC2046,SC2086
    $MG train tokenizer --data "$WORK/manifest.jsonl" --out "$WORK/$run" --seed 0 ${stage#*|} ${SAMPLES:-} \
      ${previous:+--init-from "$WORK/$previous"} $(resume "$WORK/$run")
    touch "$WORK/$run/done"
  fi
  previous=$run
done
$MG eval tokenizer --checkpoint "$WORK/tokenizer" --out "$WORK/eval/tokenizer" --steps 4 --method heun --shift 0.8
$MG tokenize --checkpoint "$WORK/tokenizer" --data "$WORK/manifest.jsonl" --out "$WORK/latents"
# shellcheck disable=SC2086
$MG train lam --latents "$WORK/latents" --out "$WORK/lam" --actions 8 --chunk-seconds 1 --seed 0 $LAM $(resume "$WORK/lam")
$MG eval lam --checkpoint "$WORK/lam" --latents "$WORK/latents" --tokenizer "$WORK/tokenizer" --out "$WORK/eval/lam"
# shellcheck disable=SC2086
$MG train dynamics --latents "$WORK/latents" --lam "$WORK/lam" --out "$WORK/dynamics" --seed 0 $DYN $(resume "$WORK/dynamics")
$MG eval dynamics --checkpoint "$WORK/dynamics" --tokenizer "$WORK/tokenizer" --out "$WORK/eval/dynamics" --decoder-steps 4 --windows 16

$MG export --tokenizer "$WORK/tokenizer" --lam "$WORK/lam" --dynamics "$WORK/dynamics" --out "$OUT" --name default \
  --actions-json "$WORK/eval/lam/actions.json" --default-decoder-steps 4 --default-decoder-sampler heun \
  --default-decoder-shift 0.8 --force \
  --eval tokenizer_metrics="$WORK/eval/tokenizer/metrics.json" dynamics="$WORK/eval/dynamics/dynamics.json"
$MG bundle info "$OUT"
