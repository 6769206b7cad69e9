#!/usr/bin/env bash
# Run here before a GPU check: packs what the GPU machine lacks into .gpu/ (git-ignored):
# an xz-compressed node binary, Node's headers, and the HF fixtures (../shared does not travel).
# Then call the device tool with:
#   carry: [".gpu", "dist", "node_modules/node-addon-api", "node_modules/@huggingface", "node_modules/@msgpack"]
#   command: bash scripts/gpu/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build >/dev/null
rm -rf .gpu && mkdir -p .gpu
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
headers="$node_prefix/include/node"
[ -f "$headers/node_api.h" ] || headers=/usr/include/node
tar -C "$(dirname "$headers")" -cJf .gpu/node-headers.tar.xz node
cp -r "${KOCLIP_FIXTURES:-../shared/fixtures/hf}" .gpu/fixtures
du -sh .gpu
