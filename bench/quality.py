#!/usr/bin/env python3
"""bench/quality.py: sharpness of thumbnails against a full-resolution
Lanczos reference (Pillow's Image.resize(LANCZOS) of the fully decoded,
EXIF-oriented source, at the thumbnail's own size).

    quality.py SRC_DIR TOOL=THUMB_DIR [TOOL=THUMB_DIR ...]

For every source image SRC_DIR/REL, each tool's thumbnail is THUMB_DIR/REL.png.
Prints, per tool, the median and 10th percentile of PSNR (dB, over RGB) and
of "detail kept": the Laplacian energy of the thumbnail over the reference's
(1 = as much fine detail; below 1 softer, above 1 sharper or noisier).
"""
import os
import sys

import numpy as np
from PIL import Image, ImageOps

Image.MAX_IMAGE_PIXELS = None


def laplacian_energy(a):
    g = a.astype(np.float64).mean(axis=2)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float((lap * lap).sum())


def measure(src, thumb):
    t = np.asarray(Image.open(thumb).convert("RGB"))
    h, w = t.shape[:2]
    with Image.open(src) as im:
        ref = ImageOps.exif_transpose(im).convert("RGB").resize((w, h), Image.LANCZOS)
    r = np.asarray(ref)
    mse = float(((t.astype(np.float64) - r) ** 2).mean())
    psnr = 99.0 if mse == 0 else 10 * np.log10(255.0 * 255.0 / mse)
    return psnr, laplacian_energy(t) / max(laplacian_energy(r), 1e-9)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src_dir, tools = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    rels = []
    for root, _, files in os.walk(src_dir):
        for f in sorted(files):
            if f.lower().endswith((".jpg", ".jpeg", ".png")):
                rels.append(os.path.relpath(os.path.join(root, f), src_dir))
    print(f"{len(rels)} sources in {src_dir}; reference: Pillow LANCZOS of the full image")
    print(f"{'tool':<16} {'n':>4} {'PSNR median':>12} {'PSNR p10':>9} "
          f"{'detail median':>14} {'detail p10':>11}")
    for name, d in tools:
        ps, ds = [], []
        for rel in sorted(rels):
            thumb = os.path.join(d, rel + ".png")
            if not os.path.exists(thumb):
                continue
            p, k = measure(os.path.join(src_dir, rel), thumb)
            ps.append(p)
            ds.append(k)
        if not ps:
            print(f"{name:<16} no thumbnails in {d}")
            continue
        print(f"{name:<16} {len(ps):>4} {np.median(ps):>12.1f} {np.percentile(ps, 10):>9.1f} "
              f"{np.median(ds):>14.3f} {np.percentile(ds, 10):>11.3f}")


if __name__ == "__main__":
    main()
