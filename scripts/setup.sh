#!/usr/bin/env bash
# Installs every Debian 12 package hopsim needs to build, test and run.
# Idempotent: does nothing when all are present. Run as root.
set -euo pipefail

PACKAGES=(
  gcc make cmake pkg-config          # toolchain (guests are built by the host gcc)
  libcapstone-dev                    # decodes each guest basic block once, for its cycle cost
  libelf-dev                         # loads guest ELF images, notes and symbols
  liblua5.4-dev                      # scenario scripts
  libxen-dev                         # Xen's public headers: the hypercall and PV protocol ABI
  nettle-dev                         # SHA-256: firmware file hashes, measured boot, code-image keys
  libssl-dev                         # tests: OpenSSL's SHA-256, to check Nettle's digests against
  zlib1g-dev                         # CRC32 of the EFI system / runtime-services table headers
  libjson-c-dev                      # reads trace JSON back in tests
  check                              # unit test framework
  libsdl2-dev                        # live view: window and renderer
  libsdl2-ttf-dev fonts-dejavu-core  # live view: text (SDL2_ttf, DejaVu Sans)
  libsdl2-image-dev                  # live view: PNG screenshots (IMG_SavePNG)
  libcairo2-dev                      # charts: SVG and PNG from compare, sweep and follow
  slurm-wlm munge                    # hopsim sweep --slurm: its test runs a one-node Slurm
  clang-format                       # the format check test
  clang libclang-rt-14-dev           # libFuzzer targets (tests/fuzz, scripts/fuzz.sh)
  jq                                 # scenario tests inspect the JSON trace
  tshark                             # tests read the pcap files back
  chromium                           # headless browser the speedscope test loads traces in
  ca-certificates curl xz-utils      # fetching Unicorn 2.1 (below)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash "$(dirname "$0")/unicorn21.sh"

# speedscope (the trace viewer tests/scenario/speedscope.sh loads every shipped
# scenario's trace into) and puppeteer-core (drives Debian's chromium for it;
# it downloads no browser of its own), pinned, from the npm registry with the
# machine's Node.js and npm.
SPEEDSCOPE_PREFIX=/opt/hopsim/speedscope
SPEEDSCOPE_PKGS=(speedscope@1.25.0 puppeteer-core@25.16.0)
have_npm_pkg() { # NAME VERSION
  [ -f "$SPEEDSCOPE_PREFIX/node_modules/$1/package.json" ] &&
    grep -q "\"version\": \"$2\"" "$SPEEDSCOPE_PREFIX/node_modules/$1/package.json"
}
if ! have_npm_pkg speedscope 1.25.0 || ! have_npm_pkg puppeteer-core 25.16.0; then
  command -v npm >/dev/null || { echo "setup: npm (Node.js) is needed for speedscope" >&2; exit 1; }
  echo "setup: installing ${SPEEDSCOPE_PKGS[*]} into $SPEEDSCOPE_PREFIX" >&2
  mkdir -p "$SPEEDSCOPE_PREFIX"
  npm install --prefix "$SPEEDSCOPE_PREFIX" --no-audit --no-fund --loglevel=error \
    "${SPEEDSCOPE_PKGS[@]}" >/dev/null
fi
