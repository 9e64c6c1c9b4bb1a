#!/usr/bin/env bash
# Is thumbd's memory flat over the size of the tree? Peak RSS of whole runs
# over trees of increasing size built from the benchmark corpus: the peak of
# the largest run should be that of the smallest within a few MB.
#
#   bench/rss.sh [-j N] [COUNT...]      (default: -j 2, 1000 10000 files)
#
# Each tree holds COUNT hard links of the corpus files (JPEG and PNG, taken
# in turn) spread over directories of 100, so every name is its own image;
# it is kept in bench/work/rss/ and rebuilt only when COUNT changes. Every
# run makes every thumbnail (a fresh OUT_DIR, removed afterwards). Peak RSS
# is GNU time's; the RSS of the process is also sampled every second, and
# the largest sample in the first and in the second half of the run is
# printed, so growth within a run shows even where the peak does not.
# Needs build/thumbd (THUMBD=path runs another binary), GNU time and the
# corpus (bench/corpus.sh; BENCH_CORPUS=dir points at another copy). The
# corpus must be on the file system of bench/work/ (hard links).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
thumbd=${THUMBD:-$root/build/thumbd}
corpus=${BENCH_CORPUS:-$here/corpus}
work=$here/work/rss
jobs=2
if [ "${1:-}" = -j ]; then
  jobs=${2:?-j needs a value}
  shift 2
fi
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000)
[ -x "$thumbd" ] || { echo "rss.sh: $thumbd is missing (build first)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "rss.sh: GNU time (/usr/bin/time) is missing" >&2; exit 1; }
mapfile -d '' sources < <(find "$corpus/jpeg" "$corpus/png" -type f -print0 2>/dev/null | sort -z)
[ ${#sources[@]} -gt 0 ] || { echo "rss.sh: no corpus in $corpus (run bench/corpus.sh)" >&2; exit 1; }
mkdir -p "$work"

# A tree of n links, 100 per directory, the corpus files in turn.
build_tree() {
  local n=$1 dir=$work/in$1
  [ "$(cat "$dir.count" 2>/dev/null || true)" = "$n" ] && return
  echo "rss.sh: building a tree of $n files..." >&2
  rm -rf "$dir" "$dir.count"
  for ((i = 0; i < n; i++)); do
    local src=${sources[i % ${#sources[@]}]} sub
    sub=$(printf '%s/d%03d' "$dir" $((i / 100)))
    ((i % 100)) || mkdir -p "$sub"
    ln "$src" "$(printf '%s/f%05d.%s' "$sub" "$i" "${src##*.}")"
  done
  echo "$n" >"$dir.count"
}

# Runs thumbd over the tree of n files; prints one table row.
measure() {
  local n=$1 out=$work/out samples=$work/samples.txt
  rm -rf "$out"
  : >"$samples"
  /usr/bin/time -f %M -o "$work/peak.txt" \
    "$thumbd" --fit inside -j "$jobs" --quiet -r "$work/report.jsonl" "$work/in$n" "$out" &
  local pid=$!
  sleep 0.2
  local child
  child=$(pgrep -P "$pid" | head -1 || true)
  while kill -0 "$pid" 2>/dev/null; do
    [ -n "$child" ] && awk '/^VmRSS/ {print $2}' "/proc/$child/status" 2>/dev/null >>"$samples" || true
    sleep 1
  done
  wait "$pid" || { echo "rss.sh: thumbd failed on the tree of $n files" >&2; exit 1; }
  local made
  made=$(grep -c '"status":"ok"' "$work/report.jsonl" || true)
  rm -rf "$out"
  awk -v n="$n" -v made="$made" -v peak="$(cat "$work/peak.txt")" '
    {v[NR] = $1}
    END {
      h = int(NR / 2); a = 0; b = 0
      for (i = 1; i <= NR; i++) { if (i <= h) { if (v[i] > a) a = v[i] } else if (v[i] > b) b = v[i] }
      printf "| %d | %d | %.1f | %s | %s | %d |\n", n, made, peak / 1024,
        h ? sprintf("%.1f", a / 1024) : "-", NR - h ? sprintf("%.1f", b / 1024) : "-", NR
    }' "$samples"
}

for n in "${counts[@]}"; do build_tree "$n"; done
echo "thumbd $("$thumbd" --version 2>/dev/null | head -1), -j $jobs, corpus: ${#sources[@]} files in $corpus"
echo '| files | thumbnails written | peak RSS MB | largest sample, 1st half MB | largest sample, 2nd half MB | samples |'
echo '|---:|---:|---:|---:|---:|---:|'
for n in "${counts[@]}"; do measure "$n"; done
