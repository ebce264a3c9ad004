#!/usr/bin/env bash
# Sets up a fresh machine for ClinPrompt development, offline-safe: system packages (when run as
# root on Debian/Ubuntu), node modules without any binary downloads, and the build.
#   bash scripts/setup.sh          (or: npm run setup)
set -euo pipefail
cd "$(dirname "$0")/.."

# Install steps that download binaries cannot work on hospital networks and CI: skip them.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1       # electron's binary (installers are built elsewhere)
export ONNXRUNTIME_NODE_INSTALL=skip         # CUDA provider libs; CPU + WebGPU are bundled

bash scripts/install-system-packages.sh

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
