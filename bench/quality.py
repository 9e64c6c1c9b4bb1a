#!/usr/bin/env python3
"""bench/quality.py: sharpness of thumbnails against a full-resolution
Lanczos reference (Pillow's Image.resize(LANCZOS) of the fully decoded,
EXIF-oriented source, at the thumbnail's own size).

    quality.py [--cover WxH] [--by-format] SRC_DIR TOOL=THUMB_DIR [TOOL=THUMB_DIR ...]

For every source image SRC_DIR/REL, each tool's thumbnail is THUMB_DIR/REL.png.
Prints, per tool, the median, 10th percentile and minimum of PSNR (dB,
over RGB) and the median and 10th percentile of "detail kept": the Laplacian energy of the thumbnail over the reference's
(1 = as much fine detail; below 1 softer, above 1 sharper or noisier).

--cover WxH: the thumbnails are --fit cover into a WxH box; the reference is
the centred crop thumbd takes (src/geometry.c, geom_plan_compute) resized.
--by-format: also a line per tool for the JPEG and the PNG sources apart.
"""
import math
import os
import sys

import numpy as np
from PIL import Image, ImageOps

Image.MAX_IMAGE_PIXELS = None


def laplacian_energy(a):
    g = a.astype(np.float64).mean(axis=2)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float((lap * lap).sum())


def lround(x):
    return int(math.floor(x + 0.5))


def cover_crop(uw, uh, box, w, h):
    """The centred region of an upright uw x uh image that thumbd scales to
    w x h under --fit cover into box (without --enlarge)."""
    s = min(max(box[0] / uw, box[1] / uh), 1.0)
    cw = min(max(lround(w / s), 1), uw)
    ch = min(max(lround(h / s), 1), uh)
    cx, cy = (uw - cw) // 2, (uh - ch) // 2
    return (cx, cy, cx + cw, cy + ch)


class Reference:
    """The decoded source, kept while every tool's thumbnail of it is measured."""

    def __init__(self, src, cover):
        with Image.open(src) as im:
            self.full = ImageOps.exif_transpose(im).convert("RGB")
        self.cover = cover
        self.sized = {}

    def at(self, w, h):
        if (w, h) not in self.sized:
            im = self.full
            if self.cover:
                im = im.crop(cover_crop(im.width, im.height, self.cover, w, h))
            self.sized[(w, h)] = np.asarray(im.resize((w, h), Image.LANCZOS))
        return self.sized[(w, h)]


def measure(ref, thumb):
    t = np.asarray(Image.open(thumb).convert("RGB"))
    h, w = t.shape[:2]
    r = ref.at(w, h)
    mse = float(((t.astype(np.float64) - r) ** 2).mean())
    psnr = 99.0 if mse == 0 else 10 * np.log10(255.0 * 255.0 / mse)
    return psnr, laplacian_energy(t) / max(laplacian_energy(r), 1e-9)


def summary(name, ps, ds):
    if not ps:
        return f"{name:<20} no thumbnails"
    return (f"{name:<20} {len(ps):>4} {np.median(ps):>12.1f} {np.percentile(ps, 10):>9.1f} "
            f"{min(ps):>9.1f} {np.median(ds):>14.3f} {np.percentile(ds, 10):>11.3f}")


def main():
    args, cover, by_format = sys.argv[1:], None, False
    while args and args[0].startswith("--"):
        if args[0] == "--cover" and len(args) > 1:
            cover = tuple(int(v) for v in args[1].split("x"))
            args = args[2:]
        elif args[0] == "--by-format":
            by_format, args = True, args[1:]
        else:
            sys.exit(__doc__)
    if len(args) < 2:
        sys.exit(__doc__)
    src_dir, tools = args[0], [a.split("=", 1) for a in args[1:]]
    rels = []
    for root, _, files in os.walk(src_dir):
        for f in sorted(files):
            if f.lower().endswith((".jpg", ".jpeg", ".png")):
                rels.append(os.path.relpath(os.path.join(root, f), src_dir))
    rels.sort()
    what = f"the centred --fit cover {cover[0]}x{cover[1]} crop" if cover else "the full image"
    print(f"{len(rels)} sources in {src_dir}; reference: Pillow LANCZOS of {what}")
    # results[tool] = list of (rel, psnr, detail); each source decoded once.
    results = {name: [] for name, _ in tools}
    for rel in rels:
        ref = None
        for name, d in tools:
            thumb = os.path.join(d, rel + ".png")
            if not os.path.exists(thumb):
                continue
            ref = ref or Reference(os.path.join(src_dir, rel), cover)
            results[name].append((rel,) + measure(ref, thumb))
    print(f"{'tool':<20} {'n':>4} {'PSNR median':>12} {'PSNR p10':>9} {'PSNR min':>9} "
          f"{'detail median':>14} {'detail p10':>11}")
    for name, _ in tools:
        rows = results[name]
        print(summary(name, [r[1] for r in rows], [r[2] for r in rows]))
        if not by_format:
            continue
        for kind, exts in (("jpeg", (".jpg", ".jpeg")), ("png", (".png",))):
            part = [r for r in rows if r[0].lower().endswith(exts)]
            print(summary(f"  {name} {kind}", [r[1] for r in part], [r[2] for r in part]))


if __name__ == "__main__":
    main()
