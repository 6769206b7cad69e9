#!/usr/bin/env bash
# The main job: search and classify a picture collection in Korean with the default model.
#   bash scripts/demo.sh            # the OpenMoji gallery (an art style koclip-emoji never trained on)
#   bash scripts/demo.sh ~/Photos   # your own folder
# Indexes the folder (incrementally: a second run only embeds what changed) and serves the page
# at http://127.0.0.1:${PORT:-3000}.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-models/koclip-emoji}
if [ $# -ge 1 ]; then
  gallery=$1
  db=${DB:-$gallery/.koclip-index.db}
else
  if [ ! -f data/demo-gallery/manifest.json ]; then
    bin/koclip data emoji --out data/demo-gallery --styles openmoji --size 128
  fi
  gallery=data/demo-gallery/images/openmoji
  db=${DB:-data/demo-gallery/index.db}
fi
bin/koclip index "$gallery" --db "$db" --model "$MODEL"
exec bin/koclip serve --db "$db" --model "$MODEL" --port "${PORT:-3000}"
