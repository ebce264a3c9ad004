#!/usr/bin/env bash
# Sets up a fresh machine for ClinPrompt development, offline-safe: system packages (when run as
# root on Debian/Ubuntu), node modules without any binary downloads, and the build.
#   bash scripts/setup.sh          (or: npm run setup)
set -euo pipefail
cd "$(dirname "$0")/.."

# Install steps that download binaries cannot work on hospital networks and CI: skip them.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1       # electron's binary (installers are built elsewhere)
export ONNXRUNTIME_NODE_INSTALL=skip         # CUDA provider libs; CPU + WebGPU are bundled

# System packages:
#   libsecret-1-dev           keytar's build (OS keychain access)
#   gnome-keyring dbus        a Secret Service for the keychain tests
#   chromium fonts-dejavu-core  the renderer's end-to-end tests
#   python3-torch libopenblas0-openmp  PyTorch reference for parity checks and benchmarks
APT_PACKAGES=(libsecret-1-dev gnome-keyring dbus chromium fonts-dejavu-core python3-torch libopenblas0-openmp)
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
elif command -v apt-get >/dev/null; then
  echo "setup: not root; make sure these packages are installed: ${APT_PACKAGES[*]}"
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
