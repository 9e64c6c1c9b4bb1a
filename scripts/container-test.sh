#!/usr/bin/env bash
# Builds the container image (Dockerfile) with podman and tests it, offline:
# the image's configuration, the shared libraries, --version, the non-root
# user, runs on testdata/ (thumbnails checked with file(1)), the libvips path
# (WebP and AVIF out and back in), and that `podman stop` (SIGTERM) ends a run
# by itself with exit 143 and no temporary files left. Prints one PASS/FAIL
# line per check and a closing "container-test: N passed, N failed"; exits 1
# on failure.
#
#   scripts/container-test.sh [DEB]
#
# With DEB (a thumbd .deb from scripts/build-deb.sh), it also installs the
# package with apt into a clean debian:bookworm container and checks it there:
# the files it installs, a run on testdata/ (JPEG/PNG and the libvips module
# from its compiled-in path), and `systemd-analyze verify` of its units.
#
# Run as root (rootful podman, debootstrap), from anywhere; it needs no stdin
# and is idempotent. It installs what is missing (podman runc conmon
# debootstrap debian-archive-keyring containernetworking-plugins iptables
# file), writes its own containers.conf in a temporary folder, and, only when
# `podman image exists` says they are missing, makes the debian:bookworm and
# debian:bookworm-slim base images with debootstrap from the machine's Debian
# mirror (there is no registry to pull from). The rootfs tarballs are cached
# in $THUMBD_CI_CACHE (default /var/cache/thumbd-ci): delete them and
# `podman rmi debian:bookworm debian:bookworm-slim` to refresh the base.
# Leaves the image thumbd:test (or $THUMBD_IMAGE), thumbd-deb:test (or
# $THUMBD_DEB_IMAGE) and the base images behind.
set -euo pipefail
deb=${1:+$(realpath "$1")}
cd "$(dirname "$0")/.."
exec </dev/null

image=${THUMBD_IMAGE:-thumbd:test}
deb_image=${THUMBD_DEB_IMAGE:-thumbd-deb:test}
cache_dir=${THUMBD_CI_CACHE:-/var/cache/thumbd-ci}
copies=${THUMBD_CT_COPIES:-300}  # copies of testdata/ for the SIGTERM test
box=200                          # thumbd's default --size is 200x200

t_start=$EPOCHREALTIME
log() { printf 'container-test: %s\n' "$*"; }
secs() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

passed=0 failed=0 image_size=none work="" containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
pass() { passed=$((passed + 1)); log "PASS $1"; }
fail() { failed=$((failed + 1)); log "FAIL $1${2:+: $2}"; }
finish() {
  cleanup
  trap - EXIT
  log "image $image: $image_size; times: tools ${t_tools:-?} s, base image ${t_base:-?} s, build ${t_build:-?} s, checks ${t_checks:-?} s${deb:+ (the package ${t_deb:-?} s of them)}, total $(secs "$t_start") s"
  echo "container-test: $passed passed, $failed failed"
  exit $((failed == 0 ? 0 : 1))
}
# A step the checks cannot do without (tools, base image, build) failed.
abort() { fail "$1" "$2"; finish; }

if [ -n "$deb" ] && [ ! -f "$deb" ]; then
  echo "container-test: no package $1" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "container-test: run as root (rootful podman and debootstrap)" >&2
  exit 1
fi

# ---- tools -----------------------------------------------------------------
t0=$EPOCHREALTIME
packages=(podman runc conmon debootstrap debian-archive-keyring
          containernetworking-plugins iptables file)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    abort "install tools" "apt-get install ${missing[*]} failed"
  fi
fi
t_tools=$(secs "$t0")

work=$(mktemp -d /tmp/thumbd-ct.XXXXXX)

# crun fails on this hybrid cgroup setup, and podman's default nofile limit is
# above the machine's hard limit; there is no systemd (no journald).
hard_nofile=$(ulimit -Hn) hard_nproc=$(ulimit -Hu)
nofile=20000 nproc=32768
[[ $hard_nofile != unlimited ]] && ((hard_nofile < nofile)) && nofile=$hard_nofile
[[ $hard_nproc != unlimited ]] && ((hard_nproc < nproc)) && nproc=$hard_nproc
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$work/containers.conf

# ---- base images -----------------------------------------------------------
# debian:bookworm is a debootstrap minbase; debian:bookworm-slim is the same
# with the files Debian's own slim image leaves out (docs but copyrights, man
# pages, locales) removed and kept out by a dpkg config.
debian_mirror() {
  local m=""
  [ -f /etc/apt/sources.list.d/debian.sources ] &&
    m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  [ -z "$m" ] && [ -f /etc/apt/sources.list ] &&
    m=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
  echo "${m:-http://deb.debian.org/debian}"
}

make_rootfs_tarballs() { # full.tar slim.tar
  local rootfs=$work/rootfs mirror t
  mirror=$(debian_mirror)
  log "debootstrap --variant=minbase bookworm from $mirror"
  t=$EPOCHREALTIME
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log"
    return 1
  fi
  log "debootstrap took $(secs "$t") s"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
    rm -f "$rootfs/etc/apt/sources.list"
  fi
  # What the container runtime provides, and what a base image should not carry.
  rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  find "$rootfs/var/log" -type f -delete
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  tar --numeric-owner -C "$rootfs" -cf "$1.tmp" . && mv "$1.tmp" "$1"

  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# slim image: keep out what containers do not need (the copyrights stay)
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
  find "$rootfs/usr/share/doc" -mindepth 2 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -maxdepth 1 ! -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -depth -type d -empty -delete
  tar --numeric-owner -C "$rootfs" -cf "$2.tmp" . && mv "$2.tmp" "$2"
  rm -rf "$rootfs"
}

have_base() { podman image exists debian:bookworm && podman image exists debian:bookworm-slim; }

t0=$EPOCHREALTIME
if ! have_base; then
  mkdir -p "$cache_dir"
  exec 9>"$cache_dir/lock"
  flock 9 # two runs on one machine: the second waits, then finds the images
  if ! have_base; then
    full=$cache_dir/debian-bookworm-minbase.tar slim=$cache_dir/debian-bookworm-slim.tar
    if [ ! -s "$full" ] || [ ! -s "$slim" ]; then
      make_rootfs_tarballs "$full" "$slim" || abort "base image" "debootstrap failed"
    fi
    for t in bookworm:"$full" bookworm-slim:"$slim"; do
      podman import -q \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' "${t#*:}" "docker.io/library/debian:${t%%:*}" >/dev/null ||
        abort "base image" "podman import ${t#*:} failed"
    done
    log "made base images debian:bookworm and debian:bookworm-slim from $cache_dir"
  fi
  exec 9>&-
fi
t_base=$(secs "$t0")

# ---- build -----------------------------------------------------------------
# build_image TAG CONTEXT: podman build, offline but for apt; prints the end
# of the log and fails when the build does.
build_image() {
  local old_id new_id
  old_id=$(podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true)
  if ! podman build --pull=never --network host -t "$1" "$2" >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log"
    return 1
  fi
  new_id=$(podman image inspect --format '{{.Id}}' "$1")
  # The image this build replaced, now untagged: remove it so reruns do not
  # pile up images (its layers stay as long as the build cache uses them).
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ] &&
     [ -z "$(podman image inspect --format '{{join .RepoTags ""}}' "$old_id" 2>/dev/null)" ]; then
    podman rmi "$old_id" >/dev/null 2>&1 || true
  fi
}

t0=$EPOCHREALTIME
build_image "$image" . || abort "podman build" "see the log above"
t_build=$(secs "$t0")
image_size=$(podman image inspect --format '{{.Size}}' "$image" |
  awk '{ printf "%.1f MB (%d bytes)", $1 / 1e6, $1 }')
pass "podman build ($t_build s)"

# ---- checks ----------------------------------------------------------------
t0=$EPOCHREALTIME
run=(podman run --rm --network none)

# Image configuration: the unprivileged user, the stop signal, the entrypoint.
cfg=$(podman image inspect --format '{{.Config.User}}|{{.Config.StopSignal}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}' "$image")
env=$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image")
if [[ $cfg == '10001:10001|SIGTERM|["thumbd"]|["/in","/out"]' ]] && grep -qx 'THUMBD_SHUTDOWN_TIMEOUT=8' <<<"$env"; then
  pass "image config (user 10001, STOPSIGNAL SIGTERM, THUMBD_SHUTDOWN_TIMEOUT=8, thumbd /in /out)"
else
  fail "image config" "$cfg $(grep '^THUMBD_' <<<"$env" | tr '\n' ' ')"
fi

# The binary reads the variable (a bad value is a usage error naming it), so
# the image's THUMBD_SHUTDOWN_TIMEOUT=8 is in force.
msg=$("${run[@]}" -e THUMBD_SHUTDOWN_TIMEOUT=bogus "$image" 2>&1) && code=0 || code=$?
if ((code == 2)) && grep -q THUMBD_SHUTDOWN_TIMEOUT <<<"$msg"; then
  pass "thumbd reads THUMBD_SHUTDOWN_TIMEOUT"
else
  fail "thumbd reads THUMBD_SHUTDOWN_TIMEOUT" "exit $code: $msg"
fi

# Every shared library the binary needs is in the runtime image.
if libs=$("${run[@]}" --entrypoint ldd "$image" /usr/local/bin/thumbd 2>&1) && ! grep -q 'not found' <<<"$libs"; then
  pass "shared libraries ($(grep -c '=>' <<<"$libs") found by ldd, none missing)"
else
  fail "shared libraries" "$(grep 'not found' <<<"$libs" | tr -s '\n\t' '  ' || echo "$libs")"
fi

want_version=$(sed -n 's/^project(thumbd VERSION \([^ ]*\) .*/\1/p' CMakeLists.txt)
if version=$("${run[@]}" "$image" --version 2>&1) && [ "$version" = "thumbd $want_version" ]; then
  pass "--version ($version)"
else
  fail "--version" "got '$version', want 'thumbd $want_version'"
fi

uid=$("${run[@]}" --entrypoint id "$image" -u 2>&1 || true)
if [[ $uid =~ ^[0-9]+$ ]] && ((uid != 0)); then
  pass "runs as non-root (uid $uid)"
else
  fail "runs as non-root" "id -u said '$uid'"
fi

# The input is a copy of testdata/ readable by anyone, whatever the umask of
# the checkout; output folders are handed to the container's user with :U.
in=$work/in
cp -R testdata "$in"
chmod -R a+rX "$in"

# What thumbd takes for an image (README: "Files are chosen by extension").
image_exts=(jpg jpeg jpe png webp tif tiff gif heic heif avif jxl jp2 svg pdf)
list_images() { # DIR: the image files under DIR, NUL-separated
  local e names=()
  for e in "${image_exts[@]}"; do names+=(-o -iname "*.$e"); done
  find "$1" -type f \( "${names[@]:1}" \) ! -name '.thumbd*' -print0
}

# kind FILE: "jpeg W H", "png W H", "webp" or "avif" from file(1) (which does
# not tell the size of WebP and AVIF images), or nothing.
kind() {
  local d
  d=$(file -b "$1")
  if [[ $d =~ ^JPEG\ image\ data.*\ ([0-9]+)x([0-9]+),\ components ]]; then
    echo "jpeg ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
  elif [[ $d =~ ^PNG\ image\ data,\ ([0-9]+)\ x\ ([0-9]+), ]]; then
    echo "png ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
  elif [[ $d =~ Web/P\ image ]]; then
    echo webp
  elif [[ $d =~ AVIF\ Image ]]; then
    echo avif
  fi
}

# outputs OUT: the files in OUT but thumbd's own (.thumbd.state, .thumbd.lock, .thumbd.memo/, .thumbd.run/)
# (its temporary files, .thumbd-tmp-*, are listed: none may be left).
outputs() { find "$1" -type f ! -path "$1/.thumbd.*"; }

# check_thumbs IN OUT BOX EXT...: one thumbnail per image under IN, named
# with one of EXT, a valid image of that type, exactly BOXxBOX (--fit cover)
# unless the source is known to be smaller, and nothing else in OUT. Prints
# what is wrong, or nothing.
check_thumbs() {
  local in=$1 out=$2 b=$3 src rel stem e t hits k w h sw sh n=0 bad=""
  shift 3
  while IFS= read -r -d '' src; do
    rel=${src#"$in"/} stem=${rel%.*}
    hits=()
    for e in "$@"; do [ -f "$out/$stem.$e" ] && hits+=("$out/$stem.$e"); done
    if ((${#hits[@]} != 1)); then bad+=" $rel: ${#hits[@]} thumbnails;"; continue; fi
    n=$((n + 1)) t=${hits[0]}
    read -r k w h <<<"$(kind "$t")"
    case "$k:${t##*.}" in
      jpeg:jpg | png:png | webp:webp | avif:avif) ;;
      *) bad+=" ${t#"$out"/}: not a valid image of its type ($(file -b "$t" | cut -c1-50));"; continue ;;
    esac
    [ -n "$w" ] || continue
    read -r _ sw sh <<<"$(kind "$src")"
    if [ -n "$sw" ] && ((sw < b || sh < b)); then
      ((w >= 1 && h >= 1 && w <= b && h <= b)) || bad+=" ${t#"$out"/}: ${w}x$h outside ${b}x$b;"
    else
      ((w == b && h == b)) || bad+=" ${t#"$out"/}: ${w}x$h, want ${b}x$b;"
    fi
  done < <(list_images "$in")
  local total
  total=$(outputs "$out" | wc -l)
  ((total == n)) || bad+=" $total files in the output for $n thumbnails ($(find "$out" -type f -name '.thumbd-tmp-*' | wc -l) temporary);"
  ((n > 0)) || bad+=" no source images under $in;"
  printf '%s' "$bad"
}

# run_check NAME IN OUT BOX "EXT..." [ARG...]: runs the image on IN (read-only
# at /in) into OUT (at /out, :U) with ARGs (none: the image's CMD), then
# expects exit 0 and check_thumbs IN OUT BOX EXT...
run_check() {
  local name=$1 in=$2 out=$3 b=$4 exts=$5 code=0 bad
  shift 5
  mkdir -p "$out"
  "${run[@]}" -v "$in:/in:ro" -v "$out:/out:U" "$image" "$@" >"$work/run.log" 2>&1 || code=$?
  if ((code != 0)); then
    fail "$name" "exit $code: $(tr '\n' ' ' <"$work/run.log")"
    return
  fi
  # shellcheck disable=SC2086 # EXT... is a word list
  bad=$(check_thumbs "$in" "$out" "$b" $exts)
  # With --quiet, thumbd prints nothing: anything else is a library's warning.
  if [[ " $* " == *" --quiet "* ]] && [ -s "$work/run.log" ]; then
    bad+=" printed: $(tr '\n' ' ' <"$work/run.log")"
  fi
  if [ -z "$bad" ]; then
    pass "$name: exit 0, $(outputs "$out" | wc -l) thumbnails ${b}x$b"
  else
    fail "$name" "$bad"
  fi
}

run_check "default run on testdata/" "$in" "$work/out-default" "$box" "jpg png"
# Arguments replace CMD (the ENTRYPOINT and the environment stay).
run_check "run with arguments (--size 64x64 /in /out)" "$in" "$work/out-args" 64 "jpg png" \
  --size 64x64 --quiet /in /out
# The libvips path (its loaders and savers are most of the image): WebP and
# AVIF thumbnails of testdata/, then thumbnails of those and of an SVG with
# text (librsvg, fontconfig), without a warning.
run_check "libvips: --format webp" "$in" "$work/webp" "$box" webp --format webp --quiet /in /out
run_check "libvips: --format avif" "$in" "$work/avif" "$box" avif --format avif --quiet /in /out
mkdir "$work/in-vips"
cp -R "$work/webp" "$work/in-vips/webp"
cp -R "$work/avif" "$work/in-vips/avif"
cat >"$work/in-vips/label.svg" <<'EOF'
<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">
  <rect width="400" height="300" fill="#2a6"/>
  <text x="40" y="170" font-family="sans-serif" font-size="72" fill="#fff">thumbd</text>
</svg>
EOF
chmod -R a+rX "$work/in-vips"
run_check "libvips: WebP, AVIF and SVG sources" "$work/in-vips" "$work/out-vips" "$box" "jpg png" --quiet /in /out

# SIGTERM: a run over $copies copies of testdata/'s images, stopped as soon
# as its first thumbnail appears. thumbd must exit 143 by itself well within
# the 20 s podman gives it (so not by SIGKILL), print its summary with the
# images it cancelled, and leave no temporary file or run marker.
# Each copy is one flat folder of hard links: folders are what is slow to make
# and remove on this disk.
big=$work/big
mkdir "$big"
mapfile -d '' images < <(list_images "$in")
for ((i = 0; i < copies; i++)); do
  mkdir "$big/copy$i"
  cp -l "${images[@]}" "$big/copy$i/" 2>/dev/null || cp "${images[@]}" "$big/copy$i/"
done
out=$work/out-stop
mkdir "$out"
name=thumbd-ct-stop-$$
containers+=("$name")
if podman run -d --name "$name" --network none -v "$big:/in:ro" -v "$out:/out:U" "$image" >/dev/null 2>"$work/run.log"; then
  started=0
  for ((i = 0; i < 600; i++)); do
    if [ -n "$(find "$out" -type f \( -name '*.jpg' -o -name '*.png' \) -print -quit)" ]; then started=1; break; fi
    [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] || break
    sleep 0.05
  done
  t_stop=$EPOCHREALTIME
  podman stop -t 20 "$name" >/dev/null 2>&1 || true
  stop_s=$(secs "$t_stop")
  code=$(podman wait "$name" 2>/dev/null || echo "?")
  podman logs "$name" >"$work/run.log" 2>&1 || true
  temps=$(find "$out" -name '.thumbd-tmp-*' | wc -l)
  invalid=$(outputs "$out" | tr '\n' '\0' | xargs -0 -r file -b | grep -cv '^JPEG image data\|^PNG image data' || true)
  written=$(outputs "$out" | wc -l)
  why=""
  ((started)) || why+=" no thumbnail appeared before the container stopped;"
  [ "$code" = 143 ] || why+=" exit code $code, want 143;"
  [ "$code" = 0 ] && why+=" (the run ended before the stop: raise THUMBD_CT_COPIES);"
  awk -v s="$stop_s" 'BEGIN { exit !(s < 10) }' || why+=" podman stop took $stop_s s (SIGKILL?);"
  grep -Eq '[1-9][0-9]* by shutdown' "$work/run.log" || why+=" no summary with images cancelled by shutdown: $(tr '\n' ' ' <"$work/run.log");"
  ((temps == 0)) || why+=" $temps .thumbd-tmp-* files left;"
  ((invalid == 0)) || why+=" $invalid invalid output files;"
  if [ -z "$why" ]; then
    pass "podman stop: exit 143 after $stop_s s, $written thumbnails written, no temporary files"
  else
    fail "podman stop (SIGTERM)" "$why"
  fi
else
  fail "podman stop (SIGTERM)" "podman run -d failed: $(tr '\n' ' ' <"$work/run.log")"
fi
podman rm -f -t 0 "$name" >/dev/null 2>&1 || true

# ---- Debian package ----------------------------------------------------------
# check_deb: installs $deb with apt into a clean debian:bookworm (minbase,
# which keeps man pages: systemd-analyze checks Documentation=man:thumbd(1)),
# with systemd for systemd-analyze, and checks the installed package.
check_deb() {
  local ctx=$work/deb-ctx name files f bad version exec_start out code=0
  local units="/lib/systemd/system/thumbd.service /lib/systemd/system/thumbd.timer"
  name=$(basename "$deb")
  mkdir "$ctx"
  cp "$deb" "$ctx/"
  cat >"$ctx/Containerfile" <<EOF
FROM debian:bookworm
COPY $name /tmp/
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/$name systemd man-db \\
 && rm -rf /var/lib/apt/lists/* /tmp/$name
EOF
  if ! build_image "$deb_image" "$ctx"; then
    fail "package: apt-get install $name in debian:bookworm" "see the log above"
    return
  fi
  pass "package: apt-get install $name in debian:bookworm (dependencies from the mirror)"
  local drun=("${run[@]}" "$deb_image")

  # The files the package installs, where Debian 12 keeps them.
  files=$("${drun[@]}" dpkg -L thumbd 2>&1 || true)
  bad=""
  # (patterns: the module is in the multiarch libdir, /usr/lib/x86_64-linux-gnu/...)
  for f in /usr/bin/thumbd '/usr/lib/[a-z0-9_-]+/thumbd/thumbd_vips\.so' /usr/share/man/man1/thumbd\.1\.gz \
           /lib/systemd/system/thumbd\.service /lib/systemd/system/thumbd\.timer; do
    grep -qxE "$f" <<<"$files" || bad+=" $f"
  done
  if [ -z "$bad" ]; then
    pass "package: installs thumbd, its libvips module, the man page and the units"
  else
    fail "package: files" "missing$bad"
  fi

  if version=$("${drun[@]}" thumbd --version 2>&1) && [ "$version" = "thumbd $want_version" ]; then
    pass "package: thumbd --version ($version)"
  else
    fail "package: thumbd --version" "got '$version'"
  fi

  # The packaged thumbd on testdata/: JPEG/PNG, then WebP through the libvips
  # module, which is not beside /usr/bin/thumbd: it comes from the libdir
  # compiled into the binary.
  local img=$image
  image=$deb_image
  run_check "package: run on testdata/" "$in" "$work/deb-out" "$box" "jpg png" thumbd --quiet /in /out
  run_check "package: --format webp (libvips module)" "$in" "$work/deb-webp" "$box" webp \
    thumbd --format webp --quiet /in /out
  image=$img

  # The installed units: ExecStart names the packaged binary, and verify
  # (which checks the ExecStart binary and the man page) prints nothing.
  exec_start=$("${drun[@]}" sed -n 's/^ExecStart=//p' /lib/systemd/system/thumbd.service 2>&1 || true)
  if [[ $exec_start == "/usr/bin/thumbd "* ]]; then
    pass "package: the service's ExecStart is /usr/bin/thumbd"
  else
    fail "package: ExecStart" "'$exec_start'"
  fi
  # shellcheck disable=SC2086 # two unit paths
  out=$("${drun[@]}" systemd-analyze verify $units 2>&1) || code=$?
  if ((code == 0)) && [ -z "$out" ]; then
    pass "package: systemd-analyze verify thumbd.service thumbd.timer"
  else
    fail "package: systemd-analyze verify" "exit $code: $(tr '\n' ' ' <<<"$out")"
  fi
  # verify is a real check: without the binary, it complains.
  out=$("${drun[@]}" sh -c "rm /usr/bin/thumbd && systemd-analyze verify $units" 2>&1) || true
  if [ -z "$out" ]; then
    fail "package: systemd-analyze verify is silent without /usr/bin/thumbd: the check is not real"
  fi
}
if [ -n "$deb" ]; then
  t1=$EPOCHREALTIME
  check_deb
  t_deb=$(secs "$t1")
fi

# Untagged images older than a week (earlier builds' intermediate stages):
# keeps a CI machine's storage from growing, leaves the recent build cache.
podman image prune -f --filter until=168h >/dev/null 2>&1 || true

t_checks=$(secs "$t0")
finish
