#!/usr/bin/env bash
# Reproduces models/koclip-emoji from a clean checkout (after scripts/setup.sh):
#   bash recipes/koclip-emoji/run.sh            # ~40 min on 2 CPU cores (bf16 autocast)
# 1. render the emoji dataset (training styles Noto, Twemoji, Fluent flat, Fluent modern; OpenMoji for evaluation only)
# 2. train a WordPiece tokenizer on the training captions (held-out concepts excluded)
# 3. train the KoCLIP model from scratch (model-config.json, train.json; seed 0)
# 4. evaluate on OpenMoji and ship fp16 weights to models/koclip-emoji
set -euo pipefail
cd "$(dirname "$0")/../.."
KOCLIP=bin/koclip
[ -f data/emoji/manifest.json ] || $KOCLIP data emoji --out data/emoji --seed 0
mkdir -p runs/koclip-emoji
$KOCLIP tokenizer train --data data/emoji/train.jsonl --out runs/koclip-emoji/tokenizer --vocab-size 6000 --max-length 64 --merge-score likelihood
$KOCLIP train --config recipes/koclip-emoji/train.json --resume "$@"
$KOCLIP eval zeroshot --model runs/koclip-emoji/model --data data/emoji/openmoji-cls.jsonl --by split --json | tail -1 > runs/koclip-emoji/eval-ko.json
bin/koclip-node dist/recipes/koclip-emoji/ship.js runs/koclip-emoji/model models/koclip-emoji
