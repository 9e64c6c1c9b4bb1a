#!/usr/bin/env bash
# Checks the documents a newcomer reads first:
#
#   test_docs.sh SOURCE_DIR
#
# - README.md is a front page: at most 300 lines, with the quick start's two
#   commands as they are, and an exit-status table with the same codes as
#   the man page's EXIT STATUS section.
# - every relative link in README.md, docs/*.md, bench/README.md and
#   bench/studies.md names a file that exists, and a #fragment names a
#   heading of the target (GitHub's anchors: lower case, punctuation
#   dropped, spaces to hyphens).
# - README.md and docs/ state what is, not its history: none of "no longer",
#   "used to", "before the fix", or "now" as a word (systemctl's --now aside).
set -euo pipefail

src=$1
py=/usr/bin/python3
[ -x "$py" ] || { echo "FAIL: $py is missing (Debian package python3)" >&2; exit 1; }

exec "$py" - "$src" <<'EOF'
import glob, os, re, sys

src = sys.argv[1]
errors = []

def read(rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read()

readme = read("README.md")
lines = readme.count("\n")
if lines > 300:
    errors.append(f"README.md has {lines} lines; a front page has at most 300")
for cmd in ("./scripts/setup.sh && ./build/thumbd testdata /tmp/thumbs", "./scripts/test.sh"):
    if f"\n{cmd}\n" not in readme:
        errors.append(f"README.md's quick start lacks the line: {cmd}")

# exit statuses: README's table against the man page's EXIT STATUS section
readme_codes = re.findall(r"^\| (\d+|128\+N) \|", readme, re.M)
man = read("man/thumbd.1")
m = re.search(r"^\.SH EXIT STATUS\n(.*?)^\.SH ", man, re.M | re.S)
man_codes = re.findall(r"^\.TP\n(\d+|128\+N)\n", m.group(1), re.M) if m else []
if not man_codes:
    errors.append("man/thumbd.1 has no EXIT STATUS codes")
if readme_codes != man_codes:
    errors.append(f"exit statuses differ: README.md {readme_codes}, man page {man_codes}")

def anchors(path):
    out = set()
    with open(path, encoding="utf-8") as f:
        fence = False
        for line in f:
            if line.startswith("```"):
                fence = not fence
            m = re.match(r"#+\s+(.*)", line)
            if m and not fence:
                t = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
                out.add(t.replace(" ", "-"))
    return out

docs = ["README.md", "bench/README.md", "bench/studies.md"] + sorted(
    os.path.relpath(p, src) for p in glob.glob(os.path.join(src, "docs", "*.md")))
for rel in docs:
    text = read(rel)
    here = os.path.dirname(os.path.join(src, rel))
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", link):
            continue
        path, _, frag = link.partition("#")
        target = os.path.normpath(os.path.join(here, path)) if path else os.path.join(src, rel)
        if not os.path.exists(target):
            errors.append(f"{rel}: link to a missing file: {link}")
        elif frag and target.endswith(".md") and frag not in anchors(target):
            errors.append(f"{rel}: link to a missing heading: {link}")

history = re.compile(r"\bno longer\b|\bused to\b|\bbefore the fix\b|(?<!--)\bnow\b", re.I)
for rel in [d for d in docs if not d.startswith("bench/")]:
    for n, line in enumerate(read(rel).splitlines(), 1):
        if history.search(line):
            errors.append(f"{rel}:{n}: history, not what is: {line.strip()}")

for e in errors:
    print("FAIL:", e, file=sys.stderr)
print(f"checked {len(docs)} documents: {'ok' if not errors else f'{len(errors)} problem(s)'}")
sys.exit(1 if errors else 0)
EOF
