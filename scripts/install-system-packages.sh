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
#                                      features WebGPU needs; Mesa 25 from bookworm-backports works,
#                                      taken from the mirror apt already uses for bookworm.
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

# The archive this machine already installs its release from, as "URI<TAB>Signed-By", read from
# apt's own sources (deb822 *.sources, then one-line *.list): backports come from the same mirror,
# so no mirror is named here and a hospital's local mirror keeps being the only one used.
release_archive() {
  local suite=$1 etc=${APT_ETC:-/etc/apt} f
  for f in "$etc"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""; types = ""; key = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) uris = substr($i, 6)
          else if ($i ~ /^Suites:/) suites = substr($i, 8)
          else if ($i ~ /^Types:/) types = substr($i, 7)
          else if ($i ~ /^Signed-By:/) key = substr($i, 11)
        }
        if (types !~ /(^|[ \t])deb([ \t]|$)/) next
        n = split(suites, s, /[ \t]+/)
        for (j = 1; j <= n; j++) if (s[j] == suite) {
          split(uris, u, /[ \t]+/)
          for (k = 1; k in u; k++) if (u[k] != "") { gsub(/^[ \t]+/, "", key); print u[k] "\t" key; exit }
        }
      }' "$f"
  done
  # Either file may be missing (deb822-only machines): that is not an error under pipefail.
  { cat "$etc"/sources.list "$etc"/sources.list.d/*.list 2>/dev/null || true; } | awk -v suite="$suite" '
    $1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
      if ($(i + 1) == suite) { print $i "\t"; exit }
    }'
}

need_mesa_backport=false
mesa_version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if grep -q '^12' /etc/debian_version 2>/dev/null && [[ "$mesa_version" != 25* ]]; then
  need_mesa_backport=true
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    archive=$(release_archive bookworm | head -n 1)
    if [ -z "$archive" ]; then
      echo "setup: no apt source for bookworm found; add bookworm-backports for your mirror, then install mesa-vulkan-drivers (Mesa >= 25) from it"
      need_mesa_backport=false
    else
      signed_by=${archive#*$'\t'}
      cat >/etc/apt/sources.list.d/clinprompt-backports.sources <<SOURCES
Types: deb
URIs: ${archive%%$'\t'*}
Suites: bookworm-backports
Components: main
Signed-By: ${signed_by:-/usr/share/keyrings/debian-archive-keyring.gpg}
SOURCES
    fi
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
