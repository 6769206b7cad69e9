#!/usr/bin/env bash
# Reproduces models/koclip-emoji from a clean checkout (after scripts/setup.sh):
#   bash recipes/koclip-emoji/run.sh              # the Korean model
#   bash recipes/koclip-emoji/run.sh --bilingual  # then also the Korean + English variant
# data → tokenizer → train (train.json: one schedule, 19 stages in runs/koclip-emoji/stage-N) →
# eval → ship. Every step resumes: run it again after a kill and it picks up where it stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
KOCLIP=bin/koclip
RUN=runs/koclip-emoji
[ -f data/emoji/manifest.json ] || $KOCLIP data emoji --out data/emoji --seed 0
mkdir -p $RUN
[ -f $RUN/tokenizer/tokenizer.json ] ||
  $KOCLIP tokenizer train --data data/emoji/train.jsonl --out $RUN/tokenizer --vocab-size 6000 --max-length 64 --merge-score likelihood
$KOCLIP train --config recipes/koclip-emoji/train.json --resume
$KOCLIP eval zeroshot --model $RUN/stage-19 --data data/emoji/openmoji-cls.jsonl --by split --json | tail -1 > $RUN/eval-ko.json
bin/koclip-node dist/recipes/koclip-emoji/ship.js models/koclip-emoji recipes/koclip-emoji/train.json $(for i in $(seq 1 19); do echo $RUN/stage-$i; done)

if [ "${1:-}" = "--bilingual" ]; then
  # Korean + English: a bilingual tokenizer, the Korean model's stage 3 continued with it (shared pieces keep their embeddings).
  mkdir -p runs/koclip-emoji-bilingual
  [ -f runs/koclip-emoji-bilingual/tokenizer/tokenizer.json ] ||
    $KOCLIP tokenizer train --data data/emoji/train-bilingual.jsonl --out runs/koclip-emoji-bilingual/tokenizer --vocab-size 8000 --max-length 64
  $KOCLIP train --config recipes/koclip-emoji/train-bilingual.json --resume
  $KOCLIP eval zeroshot --model runs/koclip-emoji-bilingual/model --data data/emoji/openmoji-cls.jsonl --by split --json | tail -1 > runs/koclip-emoji-bilingual/eval-ko.json
  $KOCLIP eval zeroshot --model runs/koclip-emoji-bilingual/model --data data/emoji/openmoji-cls-en.jsonl --templates en --by split --json | tail -1 > runs/koclip-emoji-bilingual/eval-en.json
fi
