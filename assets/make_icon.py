#!/usr/bin/env python3
"""Draws eventscope's icon: a rounded tile with event bars and a lens.

Writes assets/icon.png (256x256, the window icon built into the binary) and the hicolor
theme sizes the Debian package installs, assets/icons/hicolor/NxN/apps/eventscope.png
(16 … 512), each drawn at its own size (not scaled down from one bitmap). Pure Python
(zlib) so it regenerates anywhere: python3 assets/make_icon.py"""
import math, struct, zlib, pathlib

HERE = pathlib.Path(__file__).parent
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def blend(dst, src, a):
    return tuple(int(d * (1 - a) + s * a) for d, s in zip(dst, src))


def rounded_rect_alpha(x, y, x0, y0, x1, y1, r):
    cx = min(max(x, x0 + r), x1 - r); cy = min(max(y, y0 + r), y1 - r)
    d = math.hypot(x - cx, y - cy) - r
    return max(0.0, min(1.0, 0.5 - d))


def stroke(half_width, k):
    """A line's half width in output pixels, never so thin that small sizes lose it."""
    return max(half_width * k, 0.9)


def draw(n):
    """The icon at n x n: the 256 px design with every length scaled by n / 256, so the
    edges stay one pixel of anti-aliasing wide at every size."""
    k = n / 256
    px = [[(0, 0, 0, 0)] * n for _ in range(n)]
    # The tile's edges on whole pixels, so small sizes get no half-transparent rim.
    margin = round(8 * k)
    bg = (24, 32, 48)
    bars = [(0.18, 0.30, (94, 160, 255)), (0.38, 0.55, (120, 200, 150)), (0.58, 0.80, (240, 180, 80)), (0.78, 0.45, (200, 120, 230))]
    for y in range(n):
        for x in range(n):
            # Pixel centre in the 256 px design's coordinates; distances in output pixels.
            X, Y = (x + 0.5) / k, (y + 0.5) / k
            a = rounded_rect_alpha(x + 0.5, y + 0.5, margin, margin, n - margin, n - margin, 44 * k)
            if a <= 0:
                continue
            c = bg
            fy = Y / 256
            for top, width, col in bars:
                if top <= fy <= top + 0.1:
                    ba = rounded_rect_alpha(x + 0.5, y + 0.5, 40 * k, top * n, (40 + width * 176) * k, (top + 0.1) * n, 8 * k)
                    c = blend(c, col, ba)
            # Lens: ring centred lower right, plus handle.
            lx, ly, lr = 170, 150, 50
            d = math.hypot(X - lx, Y - ly)
            ring = max(0.0, min(1.0, stroke(7, k) - abs(d - lr) * k))
            inside = max(0.0, min(1.0, (lr - 6 - d) * k))
            c = blend(c, (255, 255, 255), inside * 0.18)
            c = blend(c, (245, 248, 255), ring)
            hx, hy = (X - lx) / math.sqrt(2) + (Y - ly) / math.sqrt(2), (X - lx) / math.sqrt(2) - (Y - ly) / math.sqrt(2)
            if lr + 2 < hx < lr + 55:
                c = blend(c, (245, 248, 255), max(0.0, min(1.0, stroke(10, k) - abs(hy) * k)))
            px[y][x] = (*c, int(255 * a))
    return px


def png(px):
    n = len(px)
    raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in px)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 6, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


for size in SIZES:
    data = png(draw(size))
    out = HERE / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "eventscope.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    if size == 256:
        (HERE / "icon.png").write_bytes(data)
