#!/usr/bin/env bash
# Installs the Debian packages ClinPrompt's build and tests need, when run as root and missing:
#   libsecret-1-dev                    keytar's build (OS keychain access)
#   gnome-keyring dbus                 a Secret Service for the keychain tests
#   chromium fonts-dejavu-core         the renderer's end-to-end tests
#   python3-torch libopenblas0-openmp  the PyTorch reference for parity checks and benchmarks
#                                      (without OpenBLAS, torch uses the slow reference BLAS)
#   mesa-vulkan-drivers (Mesa 25)      lavapipe, a Vulkan driver on the CPU, so that onnxruntime's
#                                      WebGPU provider runs on machines without a GPU and the tests
#                                      cover the GPU code path. Debian 12's own Mesa 22 lacks Vulkan
#                                      features WebGPU needs; Mesa 25 from bookworm-backports works.
set -euo pipefail

PACKAGES=(libsecret-1-dev gnome-keyring dbus chromium fonts-dejavu-core python3-torch libopenblas0-openmp)

if ! command -v apt-get >/dev/null; then
  echo "setup: no apt-get; install the equivalents of: ${PACKAGES[*]} mesa-vulkan-drivers (Mesa >= 25)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: not root; make sure these packages are installed: ${PACKAGES[*]} mesa-vulkan-drivers (Mesa >= 25)"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done

need_mesa_backport=false
mesa_version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if grep -q '^12' /etc/debian_version 2>/dev/null && [[ "$mesa_version" != 25* ]]; then
  need_mesa_backport=true
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat >/etc/apt/sources.list.d/clinprompt-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  fi
fi

if [ ${#missing[@]} -eq 0 ] && [ "$need_mesa_backport" = false ]; then exit 0; fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$need_mesa_backport" = true ]; then
  echo "setup: installing Mesa 25 (mesa-vulkan-drivers from bookworm-backports)"
  apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi
