#!/usr/bin/env bash
# Reproduces models/koclip-emoji from a clean checkout (after scripts/setup.sh):
#   bash recipes/koclip-emoji/run.sh              # the Korean model (see README for times)
#   bash recipes/koclip-emoji/run.sh --bilingual  # then also the Korean + English variant
# 1. render the emoji dataset (training styles Noto, Twemoji, Fluent flat, Fluent modern; OpenMoji for evaluation only)
# 2. train a WordPiece tokenizer on the training captions (held-out concepts excluded)
# 3. stage 1: train the KoCLIP model from scratch (model-config.json, train.json; seed 0)
# 4. stage 2: continue it with fresh backgrounds, outline strokes, blur and prompt templates (train-stage2.json; seed 1)
# 5. stage 3: the same recipe again from a warm restart of the learning rate (train-stage3.json; seed 2)
# 6. stages 4 to 19: once more for 1,600 steps, then 1,000, 1,200, and thirteen times 1,000 (train-stage4.json … train-stage19.json; seeds 3 to 18)
# 7. evaluate on OpenMoji and ship fp16 weights to models/koclip-emoji
# Every step resumes: a killed run picks up from its newest checkpoint.
set -euo pipefail
cd "$(dirname "$0")/../.."
KOCLIP=bin/koclip
[ -f data/emoji/manifest.json ] || $KOCLIP data emoji --out data/emoji --seed 0
mkdir -p runs/koclip-emoji
[ -f runs/koclip-emoji/tokenizer/tokenizer.json ] ||
  $KOCLIP tokenizer train --data data/emoji/train.jsonl --out runs/koclip-emoji/tokenizer --vocab-size 6000 --max-length 64 --merge-score likelihood
$KOCLIP train --config recipes/koclip-emoji/train.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage2.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage3.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage4.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage5.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage6.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage7.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage8.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage9.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage10.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage11.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage12.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage13.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage14.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage15.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage16.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage17.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage18.json --resume
$KOCLIP train --config recipes/koclip-emoji/train-stage19.json --resume
$KOCLIP eval zeroshot --model runs/koclip-emoji/model-stage19 --data data/emoji/openmoji-cls.jsonl --by split --json | tail -1 > runs/koclip-emoji/eval-ko.json
bin/koclip-node dist/recipes/koclip-emoji/ship.js models/koclip-emoji runs/koclip-emoji/model runs/koclip-emoji/model-stage2 runs/koclip-emoji/model-stage3 runs/koclip-emoji/model-stage4 runs/koclip-emoji/model-stage5 \
  runs/koclip-emoji/model-stage6 runs/koclip-emoji/model-stage7 runs/koclip-emoji/model-stage8 runs/koclip-emoji/model-stage9 runs/koclip-emoji/model-stage10 runs/koclip-emoji/model-stage11 \
  runs/koclip-emoji/model-stage12 runs/koclip-emoji/model-stage13 runs/koclip-emoji/model-stage14 runs/koclip-emoji/model-stage15 runs/koclip-emoji/model-stage16 \
  runs/koclip-emoji/model-stage17 runs/koclip-emoji/model-stage18 runs/koclip-emoji/model-stage19

if [ "${1:-}" = "--bilingual" ]; then
  # Korean + English: a bilingual tokenizer, the Korean model (stage 3) continued with it (shared pieces keep their embeddings).
  mkdir -p runs/koclip-emoji-bilingual
  [ -f runs/koclip-emoji-bilingual/tokenizer/tokenizer.json ] ||
    $KOCLIP tokenizer train --data data/emoji/train-bilingual.jsonl --out runs/koclip-emoji-bilingual/tokenizer --vocab-size 8000 --max-length 64
  $KOCLIP train --config recipes/koclip-emoji/train-bilingual.json --resume
  $KOCLIP eval zeroshot --model runs/koclip-emoji-bilingual/model --data data/emoji/openmoji-cls.jsonl --by split --json | tail -1 > runs/koclip-emoji-bilingual/eval-ko.json
  $KOCLIP eval zeroshot --model runs/koclip-emoji-bilingual/model --data data/emoji/openmoji-cls-en.jsonl --templates en --by split --json | tail -1 > runs/koclip-emoji-bilingual/eval-en.json
fi
