#!/usr/bin/env bash
# Builds the Debian package (debian/, debhelper) from this tree and checks it
# with lintian: any error or warning fails. Prints the path of the .deb.
#
#   scripts/build-deb.sh [OUT_DIR]      (default build-deb/)
#
# The build runs on a copy of the tree (dpkg-buildpackage writes into the
# source folder): the files git tracks plus untracked ones it does not ignore
# (outside git: the tree without the build folders, .git and out/). It installs what
# is missing (debhelper, lintian, and the build dependencies scripts/setup.sh
# installs) when run as root. Leaves thumbd_VERSION_ARCH.deb, the .buildinfo
# and .changes, and lintian.txt in OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=$(realpath -m "${1:-build-deb}")

log() { printf 'build-deb: %s\n' "$*" >&2; }

packages=(debhelper lintian dpkg-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/thumbd-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/thumbd"
# In a git checkout, the files git knows and the untracked ones it does not
# ignore (scratch files such as bench/work/ stay out); otherwise the tree.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$src" ls-files -z --cached --others --exclude-standard |
    (cd "$src" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    tar -C "$src" --null -T - -cf - | tar -C "$work/thumbd" -xf -
else
  tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./out --exclude=./debian/thumbd \
    --exclude=./obj-\* -cf - . | tar -C "$work/thumbd" -xf -
fi

log "dpkg-buildpackage in $work/thumbd"
if ! (cd "$work/thumbd" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-noddebs} parallel=$(nproc)" \
        dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log" >&2
  log "dpkg-buildpackage failed"
  exit 1
fi

mkdir -p "$out"
rm -f "$out"/thumbd_*.deb "$out"/thumbd_*.buildinfo "$out"/thumbd_*.changes
cp "$work"/thumbd_*.deb "$work"/thumbd_*.buildinfo "$work"/thumbd_*.changes "$out/"
deb=$(ls "$out"/thumbd_*.deb)

# lintian as root warns that it runs as root; it checks the package either way.
if ! lintian --fail-on error,warning --display-info "$deb" >"$out/lintian.txt" 2>&1; then
  cat "$out/lintian.txt" >&2
  log "lintian found errors or warnings in $deb"
  exit 1
fi
log "$(basename "$deb"): lintian clean ($(grep -c . "$out/lintian.txt" || true) lines of notes in $out/lintian.txt)"
echo "$deb"
