#!/usr/bin/env bash
# Runs on the GPU machine (pip PyTorch 2.x with CUDA, no node): unpacks node, builds the addon
# against the pip libtorch with plain g++ (no node-gyp there), runs the GPU benchmark row and the
# engine and model tests, including tests/unit/torch/cuda.test.ts, which only runs where CUDA is.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/koclip-gpu}
mkdir -p "$out" /tmp/node/bin /tmp/node/include build/Release
xz -dc .gpu/node.xz > /tmp/node/bin/node && chmod +x /tmp/node/bin/node
tar -C /tmp/node/include -xJf .gpu/node-headers.tar.xz
export PATH=/tmp/node/bin:$PATH
echo "libtorch: $(node native/find-libtorch.mjs summary)" | tee "$out/build.log"
defines=$(node native/find-libtorch.mjs defines | tr ' ' '\n' | sed 's/^/-D/' | tr '\n' ' ')
includes=$(node native/find-libtorch.mjs include_dirs | tr ' ' '\n' | sed 's/^/-I/' | tr '\n' ' ')
# The same flags binding.gyp uses: C++17, exceptions and RTTI on, N-API C++ exceptions. One g++
# per source file, in parallel (the machine has many cores; ops_generated.cc alone takes minutes).
mkdir -p build/obj
for src in native/src/*.cc; do
  g++ -std=c++17 -O2 -fPIC -fexceptions -frtti -Wno-deprecated-declarations \
    -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION $defines \
    -I/tmp/node/include/node -Inode_modules/node-addon-api $includes \
    -c "$src" -o "build/obj/$(basename "$src" .cc).o" >>"$out/build.log" 2>&1 &
done
wait
g++ -shared build/obj/*.o -o build/Release/koclip.node $(node native/find-libtorch.mjs libraries) 2>&1 | tee -a "$out/build.log"
export KOCLIP_FIXTURES=$PWD/.gpu/fixtures
set -o pipefail
# The GPU row of `npm run bench` (training pairs/s at koclip-base shapes), then the tests.
node dist/bench/main.js gpu 2>&1 | tee "$out/bench.md"
node --test --test-concurrency=1 dist/tests/unit/torch dist/tests/unit/optim dist/tests/unit/formats dist/tests/parity 2>&1 | tee "$out/test.log" | grep -E '^# (tests|pass|fail|skipped)|^not ok'
