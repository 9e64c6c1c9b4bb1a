#!/usr/bin/env bash
# bench/corpus.sh: assemble the benchmark corpus from Debian wallpaper packages.
#
#   bench/corpus.sh [options]
#
#   --dir DIR          where the corpus goes (default: bench/corpus; env BENCH_CORPUS)
#   --max-jpeg N       at most N JPEGs (default 64; env BENCH_MAX_JPEG)
#   --max-png N        at most N PNGs (default 50; env BENCH_MAX_PNG)
#   --min-pixels N     leave out images smaller than N pixels (default 250000;
#                      env BENCH_MIN_PIXELS): icons and logos time process
#                      start-up, not thumbnailing
#   --packages "A B"   Debian packages to take images from (env BENCH_PACKAGES)
#   --force            rebuild even if DIR already holds a corpus built with
#                      the same settings
#   --summary          print what DIR holds and build nothing
#
# Each package is fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into a temporary directory. Every regular file whose first
# bytes are a JPEG or PNG signature is a candidate; byte-identical copies are
# kept once, images under --min-pixels are left out. Candidates get a flat,
# unique name (package + path). Up to N of each kind are copied to DIR/jpeg
# and DIR/png, taken in turn from each package (first of each package, then
# second of each, ...), each package's files in name order (C collation), so
# the choice is deterministic and every package contributes. DIR/MANIFEST.tsv records
# each file's source package, version, path, size and SHA-256.
#
# Idempotent: a DIR/.stamp holding the same settings means the corpus is
# already built, and the script only prints its summary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

dir=${BENCH_CORPUS:-$here/corpus}
max_jpeg=${BENCH_MAX_JPEG:-64}
max_png=${BENCH_MAX_PNG:-50}
min_pixels=${BENCH_MIN_PIXELS:-250000}
packages=${BENCH_PACKAGES:-mate-backgrounds ukui-wallpapers plasma-workspace-wallpapers desktop-base gnome-backgrounds debian-edu-artwork}
force=0
summary_only=0

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() {
    echo "corpus.sh: $*" >&2
    exit 1
}
is_count() { [[ $1 =~ ^[0-9]+$ ]]; }

while [ $# -gt 0 ]; do
    case $1 in
        --dir) dir=${2:?--dir needs a value}; shift 2 ;;
        --max-jpeg) max_jpeg=${2:?--max-jpeg needs a value}; shift 2 ;;
        --max-png) max_png=${2:?--max-png needs a value}; shift 2 ;;
        --min-pixels) min_pixels=${2:?--min-pixels needs a value}; shift 2 ;;
        --packages) packages=${2:?--packages needs a value}; shift 2 ;;
        --force) force=1; shift ;;
        --summary) summary_only=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "corpus.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for v in "$max_jpeg" "$max_png" "$min_pixels"; do
    is_count "$v" || die "not a count: $v"
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# --- summary ------------------------------------------------------------------

# Prints what the corpus holds, from its manifest (no image is opened).
summary() {
    local manifest=$dir/MANIFEST.tsv
    [ -f "$manifest" ] || die "no corpus in $dir (run without --summary to build it)"
    echo "corpus: $dir"
    awk -F '\t' '
        NR == 1 { next }
        {
            k = $1; n[k]++; px[k] += $3 * $4; bytes[k] += $8
            if ($5 == "yes") il[k]++
            if ($6 == "yes") alpha[k]++
            if ($7 == "Gray") gray[k]++
            if ($7 == "CMYK") cmyk[k]++
            p = $9 "=" $10
            if (!(p in seen)) { seen[p] = 1; pkgs = pkgs (pkgs == "" ? "" : " ") p }
            if (!(k in minpx) || $3 * $4 < minpx[k]) { minpx[k] = $3 * $4; mindim[k] = $3 "x" $4 }
            if (!(k in maxpx) || $3 * $4 > maxpx[k]) { maxpx[k] = $3 * $4; maxdim[k] = $3 "x" $4 }
            pk[k, $9]++
        }
        END {
            printf "  from: %s\n", pkgs
            split("jpeg png", kinds, " ")
            for (i = 1; i <= 2; i++) {
                k = kinds[i]
                if (!(k in n)) { printf "  %-4s: 0 files\n", k; continue }
                extra = (k == "jpeg") \
                    ? sprintf("%d progressive, %d grayscale, %d CMYK", il[k], gray[k], cmyk[k]) \
                    : sprintf("%d interlaced, %d with alpha", il[k], alpha[k])
                printf "  %-4s: %d files (%s), %.1f Mpixel, %.1f MB, %s to %s\n",
                    k, n[k], extra, px[k] / 1e6, bytes[k] / 1048576, mindim[k], maxdim[k]
            }
        }' "$manifest"
    awk -F '\t' 'NR > 1 { c[$1 " " $9]++ } END { for (x in c) print x, c[x] }' "$manifest" |
        LC_ALL=C sort | awk '{ printf "  %-4s from %s: %d\n", $1, $2, $3 }'
}

stamp="layout=3 packages=$packages max_jpeg=$max_jpeg max_png=$max_png min_pixels=$min_pixels"

if [ "$summary_only" -eq 1 ]; then
    summary
    exit 0
fi

if [ "$force" -eq 0 ] && [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] &&
    [ -d "$dir/jpeg" ] && [ -d "$dir/png" ] && [ -f "$dir/MANIFEST.tsv" ]; then
    echo "corpus.sh: already built with these settings (--force rebuilds)"
    summary
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb identify sha256sum od; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (run bench/setup.sh)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/thumbd-corpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debs" "$tmp/x" "$tmp/new/jpeg" "$tmp/new/png"

# --- fetch --------------------------------------------------------------------

candidate_version() {
    apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }'
}

read -ra wanted <<<"$packages"
[ ${#wanted[@]} -gt 0 ] || die "no packages given"

# apt-cache knows nothing before the first `apt-get update`: update once if
# any wanted package has no candidate version.
for pkg in "${wanted[@]}"; do
    v=$(candidate_version "$pkg")
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
        if [ "$(id -u)" -eq 0 ]; then
            echo "corpus.sh: $pkg unknown to apt-cache; running apt-get update"
            apt-get update -q >/dev/null
        else
            echo "corpus.sh: $pkg unknown to apt-cache (apt-get update as root may help)" >&2
        fi
        break
    fi
done

# apt-get drops privileges to _apt for downloads; let it write there.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$tmp/debs"
fi

got=()
for pkg in "${wanted[@]}"; do
    v=$(candidate_version "$pkg")
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
        echo "corpus.sh: skipping $pkg: not in the configured apt repositories" >&2
        continue
    fi
    # One package per call: apt-get download fetches nothing if any is unknown.
    if ! (cd "$tmp/debs" && apt-get download -q "$pkg" >"$tmp/download.log" 2>&1); then
        echo "corpus.sh: skipping $pkg: apt-get download failed:" >&2
        sed 's/^/  /' "$tmp/download.log" >&2
        continue
    fi
    got+=("$pkg")
done
[ ${#got[@]} -gt 0 ] || die "could not download any of: ${wanted[*]}"

# --- unpack and collect candidates ---------------------------------------------

# flat_name PKG RELPATH EXT: sets $flat to a short flat name, unique within
# the corpus. (Not called in $(...): the set of used names must persist.)
declare -A used_names=()
flat=
flat_name() {
    local pkg=$1 rel=$2 ext=$3 short part name try n=1
    local -a parts keep=()
    short=${pkg%-wallpapers}
    short=${short%-backgrounds}
    short=${short%-artwork}
    short=${short/-workspace/}
    if [[ ${rel##*/} == *.* ]]; then
        rel=${rel%.*}
    fi
    IFS=/ read -ra parts <<<"$rel"
    for part in "${parts[@]}"; do
        case $part in
            usr | share | backgrounds | wallpapers | contents | images | themes | desktop-base | "$short" | "") ;;
            *) keep+=("$part") ;;
        esac
    done
    name=${short}_$(IFS=_; printf '%s' "${keep[*]}")
    name=$(printf '%s' "$name" | tr -c 'A-Za-z0-9._+-' '-')
    try=$name
    while [ -n "${used_names[$try.$ext]+x}" ]; do
        n=$((n + 1))
        try=$name-$n
    done
    used_names[$try.$ext]=1
    flat=$try.$ext
}

declare -A seen_sha=()
: >"$tmp/jpeg.tsv"
: >"$tmp/png.tsv"
dupes=0 small=0 unreadable=0

for pkg in "${got[@]}"; do
    deb=$(find "$tmp/debs" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
    [ -n "$deb" ] || die "downloaded $pkg but cannot find its .deb"
    version=$(dpkg-deb -f "$deb" Version)
    root=$tmp/x/$pkg
    mkdir -p "$root"
    dpkg-deb -x "$deb" "$root"
    rm -f "$deb"

    while IFS= read -r -d '' f; do
        case $(od -An -tx1 -N8 "$f" | tr -d ' \n') in
            ffd8ff*) kind=jpeg ext=jpg ;;
            89504e470d0a1a0a) kind=png ext=png ;;
            *) continue ;;
        esac
        sha=$(sha256sum "$f" | cut -d ' ' -f 1)
        if [ -n "${seen_sha[$sha]+x}" ]; then
            dupes=$((dupes + 1))
            continue
        fi
        seen_sha[$sha]=1
        # -ping reads headers only. ImageMagick warns about odd XMP; ignore.
        if ! info=$(identify -ping -format '%w %h %[interlace] %A %[colorspace]\n' "${f}[0]" 2>/dev/null) ||
            [ -z "$info" ]; then
            unreadable=$((unreadable + 1))
            continue
        fi
        read -r w h interlace alpha colorspace <<<"$info"
        if [ $((w * h)) -lt "$min_pixels" ]; then
            small=$((small + 1))
            continue
        fi
        if [ "$interlace" = None ]; then interlace=no; else interlace=yes; fi
        case $alpha in True | true | Blend) alpha=yes ;; *) alpha=no ;; esac
        rel=${f#"$root"/}
        flat_name "$pkg" "$rel" "$ext"
        name=$flat
        bytes=$(stat -c %s "$f")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$name" "$kind" "$w" "$h" "$interlace" "$alpha" "$colorspace" "$bytes" \
            "$pkg" "$version" "$rel" "$sha" >>"$tmp/$kind.tsv"
        printf '%s\0%s\0' "$f" "$tmp/new/$kind/$name" >>"$tmp/$kind.copy"
    done < <(find "$root" -type f -print0 | LC_ALL=C sort -z)
done

# --- select the first N of each kind by name, copy, write the manifest --------

{
    printf 'kind\tname\twidth\theight\tinterlaced\talpha\tcolorspace\tbytes\tpackage\tversion\tsource\tsha256\n'
    for kind in jpeg png; do
        if [ "$kind" = jpeg ]; then cap=$max_jpeg; else cap=$max_png; fi
        # Round robin over the packages, each in name order, so that a cap
        # takes from every package rather than from the first in the alphabet.
        LC_ALL=C sort -t $'\t' -k 9,9 -k 1,1 "$tmp/$kind.tsv" |
            awk -F '\t' -v OFS='\t' '{ print ++rank[$9], $0 }' |
            LC_ALL=C sort -t $'\t' -k 1,1n -k 10,10 -k 2,2 | head -n "$cap" | cut -f 2- |
            LC_ALL=C sort -t $'\t' -k 1,1 |
            awk -F '\t' -v OFS='\t' '{ n = $1; $1 = $2; $2 = n; print }'
    done
} >"$tmp/new/MANIFEST.tsv"

# The copy lists pair every candidate's source with its destination; copy
# only those the manifest kept.
declare -A keep_names=()
while IFS=$'\t' read -r _ name _; do
    keep_names[$name]=1
done < <(tail -n +2 "$tmp/new/MANIFEST.tsv")
for kind in jpeg png; do
    [ -f "$tmp/$kind.copy" ] || continue
    while IFS= read -r -d '' src && IFS= read -r -d '' dst; do
        if [ -n "${keep_names[${dst##*/}]+x}" ]; then
            cp "$src" "$dst"
        fi
    done <"$tmp/$kind.copy"
done

total_jpeg=$(wc -l <"$tmp/jpeg.tsv")
total_png=$(wc -l <"$tmp/png.tsv")
echo "corpus.sh: candidates: $total_jpeg JPEG, $total_png PNG" \
    "(left out: $dupes duplicates, $small under $min_pixels pixels, $unreadable unreadable)"

# Swap the new corpus in, then stamp it: an interrupted build leaves no stamp.
rm -f "$dir/.stamp"
rm -rf "$dir/jpeg" "$dir/png" "$dir/MANIFEST.tsv"
mv "$tmp/new/jpeg" "$tmp/new/png" "$tmp/new/MANIFEST.tsv" "$dir/"
printf '%s\n' "$stamp" >"$dir/.stamp"
summary
