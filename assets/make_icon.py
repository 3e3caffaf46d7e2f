#!/usr/bin/env python3
"""Draws assets/icon.png (256x256): a rounded tile with event bars and a lens.
Pure Python (zlib) so it regenerates anywhere: python3 assets/make_icon.py"""
import math, struct, zlib, pathlib

N = 256
def blend(dst, src, a):
    return tuple(int(d * (1 - a) + s * a) for d, s in zip(dst, src))

px = [[(0, 0, 0, 0)] * N for _ in range(N)]
def rounded_rect_alpha(x, y, x0, y0, x1, y1, r):
    cx = min(max(x, x0 + r), x1 - r); cy = min(max(y, y0 + r), y1 - r)
    d = math.hypot(x - cx, y - cy) - r
    return max(0.0, min(1.0, 0.5 - d))

bg = (24, 32, 48)
bars = [(0.18, 0.30, (94, 160, 255)), (0.38, 0.55, (120, 200, 150)), (0.58, 0.80, (240, 180, 80)), (0.78, 0.45, (200, 120, 230))]
for y in range(N):
    for x in range(N):
        a = rounded_rect_alpha(x + 0.5, y + 0.5, 8, 8, 248, 248, 44)
        if a <= 0:
            continue
        c = bg
        fy = (y + 0.5) / N
        for top, width, col in bars:
            if top <= fy <= top + 0.1:
                ba = rounded_rect_alpha(x + 0.5, y + 0.5, 40, top * N, 40 + width * 176, (top + 0.1) * N, 8)
                c = blend(c, col, ba)
        # Lens: ring centred lower right, plus handle.
        lx, ly, lr = 170, 150, 50
        d = math.hypot(x + 0.5 - lx, y + 0.5 - ly)
        ring = max(0.0, min(1.0, 7 - abs(d - lr)))
        inside = max(0.0, min(1.0, lr - 6 - d))
        c = blend(c, (255, 255, 255), inside * 0.18)
        c = blend(c, (245, 248, 255), ring)
        hx, hy = (x + 0.5 - lx) / math.sqrt(2) + (y + 0.5 - ly) / math.sqrt(2), (x + 0.5 - lx) / math.sqrt(2) - (y + 0.5 - ly) / math.sqrt(2)
        if lr + 2 < hx < lr + 55:
            c = blend(c, (245, 248, 255), max(0.0, min(1.0, 10 - abs(hy))))
        px[y][x] = (*c, int(255 * a))

raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in px)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
pathlib.Path(__file__).with_name("icon.png").write_bytes(png)
