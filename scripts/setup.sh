#!/usr/bin/env bash
# Installs the Debian 12 packages thumbd needs (only those missing), then
# configures and builds into build/ (or $1), passing any further arguments to
# cmake (scripts/test.sh: -DTHUMBD_WERROR=ON). Run as root on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true

packages=(
  build-essential cmake pkg-config
  libjpeg62-turbo-dev libpng-dev zlib1g-dev libdeflate-dev liblcms2-dev libstb-dev libcmocka-dev libvips-dev libseccomp-dev
  libjpeg-turbo-progs
  # CI's second compiler (scripts/test.sh: build-clang/)
  clang
  # tests: strace (openat2 refused: tests/test_paths.c); systemd-analyze verify
  # (and man, for the units' Documentation=), PyYAML for the Kubernetes Job
  # (tests/test_deploy_*.sh)
  strace systemd man-db python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
