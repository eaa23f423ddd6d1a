"""Pictures for the five mode-collapse GAN scripts, with numpy and zlib alone (no plotting package).

A PNG writer and reader, the plots the papers show (image grid, 2-D density heatmap and scalar
map, bar chart, line plot, tiles of several pictures), and the pictures every script's run folder
gets (samples, class and mode histograms, curves). A method's own pictures stay in its script.
"""
from __future__ import annotations

import math
import os
import struct
import zlib

import numpy as np


# ----------------------------------------------------------------------------- PNG and plots

def write_png(path: str, pixels: np.ndarray) -> None:
    """Write an 8-bit grey (H, W) or RGB (H, W, 3) uint8 array as PNG with zlib alone."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"PNG needs (H, W) or (H, W, 3), got {pixels.shape}")
    h, w = pixels.shape[:2]
    colour_type = 0 if pixels.ndim == 2 else 2
    rows = pixels.reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()  # filter byte 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path + ".tmp", "wb") as f:
        f.write(png)
    os.replace(path + ".tmp", path)


def read_png(path: str) -> np.ndarray:
    """Read a PNG that `write_png` wrote (8-bit grey or RGB, no interlace, filter 0 on every row)
    back as uint8, so that pictures of several runs can be tiled into one."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, header, data = 8, None, b""
    while pos < len(blob):
        length, kind = struct.unpack(">I4s", blob[pos:pos + 8])
        body = blob[pos + 8:pos + 8 + length]
        header = body if kind == b"IHDR" else header
        data += body if kind == b"IDAT" else b""
        pos += 12 + length
    w, h, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = {0: 1, 2: 3}.get(colour_type)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path}: only 8-bit grey or RGB PNGs as write_png writes them are read")
    rows = np.frombuffer(zlib.decompress(data), np.uint8).reshape(h, 1 + w * channels)
    if rows[:, 0].any():
        raise ValueError(f"{path}: row filters other than 0 are not supported")
    pixels = rows[:, 1:].reshape(h, w, channels)
    return pixels[..., 0] if channels == 1 else pixels


def tile(pictures: list, columns: int, captions: list[str] | None = None, gap: int = 10) -> np.ndarray:
    """Tile pictures (uint8 (H, W) or (H, W, 3) arrays, or PNG paths) on a white canvas, `columns`
    per row, each under its optional caption."""
    pictures = [read_png(p) if isinstance(p, str) else np.asarray(p, np.uint8) for p in pictures]
    pictures = [np.repeat(p[..., None], 3, 2) if p.ndim == 2 else p for p in pictures]
    captions = captions or [""] * len(pictures)
    top = 24 if any(captions) else 0
    cells = [divmod(i, columns) for i in range(len(pictures))]
    heights, widths = [0] * math.ceil(len(pictures) / columns), [0] * min(columns, len(pictures))
    for (r, c), picture, caption in zip(cells, pictures, captions):  # each row as tall, each column as wide as its largest
        heights[r] = max(heights[r], picture.shape[0] + top + gap)
        widths[c] = max(widths[c], picture.shape[1] + gap, text_width(caption) + gap)
    ys, xs = np.cumsum([gap] + heights), np.cumsum([gap] + widths)
    canvas = np.full((ys[-1], xs[-1], 3), 255, np.uint8)
    for (r, c), picture, caption in zip(cells, pictures, captions):
        draw_text(canvas, xs[c], ys[r] + 4, caption)
        canvas[ys[r] + top:ys[r] + top + picture.shape[0], xs[c]:xs[c] + picture.shape[1]] = picture
    return canvas


def image_grid(images: np.ndarray, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Tile (N, C, H, W) images in the fixed range [-1, 1] (no per-batch stretching) into uint8."""
    n, c, h, w = images.shape
    ncol, nrows = min(nrow, n), math.ceil(n / nrow)
    grid = np.zeros((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding), np.float32)
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[:, padding + r * (h + padding):padding + r * (h + padding) + h,
             padding + q * (w + padding):padding + q * (w + padding) + w] = images[i]
    grid = np.clip((grid + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


# 3x5 pixel font (rows top to bottom) for plot labels; lower case is drawn as upper case.
_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111", "A": "010101111101101", "B": "110101110101110",
    "C": "011100100100011", "D": "110101101101110", "E": "111100110100111", "F": "111100110100100",
    "G": "011100101101011", "H": "101101111101101", "I": "111010010010111", "J": "001001001101010",
    "K": "101101110101101", "L": "100100100100111", "M": "101111111101101", "N": "110101101101101",
    "O": "010101101101010", "P": "110101110100100", "Q": "010101101110011", "R": "110101110101101",
    "S": "011100010001110", "T": "111010010010010", "U": "101101101101111", "V": "101101101101010",
    "W": "101101111111101", "X": "101101010101101", "Y": "101101010010010", "Z": "111001010100111",
    ".": "000000000000010", ",": "000000000010100", "-": "000000111000000", "+": "000010111010000",
    ":": "000010000010000", "=": "000111000111000", "(": "010100100100010", ")": "010001001001010",
    "/": "001001010100100", "%": "101001010100101", "_": "000000000000111", "<": "001010100010001",
    ">": "100010001010100", "*": "000101010101000", "'": "010010000000000", " ": "000000000000000",
    "|": "010010010010010", "^": "010101000000000", "[": "110100100100110", "]": "011001001001011",
}

PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def draw_text(canvas: np.ndarray, x: int, y: int, text: str, colour=(0, 0, 0), scale: int = 2) -> None:
    """Draw `text` with its top-left corner at (x, y) in the 3x5 font, each font pixel scale x scale."""
    for ch in str(text).upper():
        bits = _FONT.get(ch, _FONT["*"])
        for i, bit in enumerate(bits):
            if bit == "1":
                r, c = divmod(i, 3)
                y0, x0 = y + r * scale, x + c * scale
                if 0 <= y0 and y0 + scale <= canvas.shape[0] and 0 <= x0 and x0 + scale <= canvas.shape[1]:
                    canvas[y0:y0 + scale, x0:x0 + scale] = colour
        x += 4 * scale


def text_width(text: str, scale: int = 2) -> int:
    return 4 * scale * len(str(text))


def _colormap(values: np.ndarray) -> np.ndarray:
    """Map [0, 1] to a dark-blue -> green -> yellow ramp (viridis-like), uint8 RGB."""
    anchors = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float32)
    pos = np.clip(values, 0, 1) * (len(anchors) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(anchors) - 2)
    frac = (pos - lo)[..., None]
    return (anchors[lo] * (1 - frac) + anchors[lo + 1] * frac).astype(np.uint8)


def _nice_ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    span = max(hi - lo, 1e-12)
    step = 10 ** math.floor(math.log10(span / count))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if span / (step * m) <= count)
    return np.arange(math.ceil(lo / step) * step, hi + 1e-9 * span, step)


def _tick_label(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.3g}"


def _draw_line(canvas, x0, y0, x1, y1, colour, width=2) -> None:
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs, ys = np.linspace(x0, x1, n).round().astype(int), np.linspace(y0, y1, n).round().astype(int)
    for dx in range(width):
        for dy in range(width):
            ok = (ys + dy >= 0) & (ys + dy < canvas.shape[0]) & (xs + dx >= 0) & (xs + dx < canvas.shape[1])
            canvas[ys[ok] + dy, xs[ok] + dx] = colour


def _axes(canvas, box, xlim, ylim, title, xlabel, ylabel, xticks=True) -> None:
    left, top, right, bottom = box
    canvas[top:bottom + 1, [left, right]] = 0
    canvas[[top, bottom], left:right + 1] = 0
    draw_text(canvas, left, 8, title, scale=2)
    draw_text(canvas, (left + right - text_width(xlabel)) // 2, bottom + 26, xlabel)
    draw_text(canvas, 6, top - 16, ylabel)
    for v in _nice_ticks(*ylim):
        y = int(round(bottom - (v - ylim[0]) / (ylim[1] - ylim[0]) * (bottom - top)))
        canvas[y, left - 4:left] = 0
        draw_text(canvas, left - 6 - text_width(_tick_label(v)), y - 5, _tick_label(v))
    if xticks:
        for v in _nice_ticks(*xlim):
            x = int(round(left + (v - xlim[0]) / (xlim[1] - xlim[0]) * (right - left)))
            canvas[bottom:bottom + 4, x] = 0
            draw_text(canvas, x - text_width(_tick_label(v)) // 2, bottom + 8, _tick_label(v))


def line_plot(series: dict, title: str, xlabel: str, ylabel: str, hlines: dict | None = None,
              size=(720, 460)) -> np.ndarray:
    """Lines of `series` {name: (x, y) or (x, y, yerr)} with a shaded +-yerr band, dashed `hlines`
    {name: y}, axes with ticks, and a legend, as an RGB array."""
    w, h = size
    canvas = np.full((h, w, 3), 255, np.uint8)
    box = (80, 40, w - 200, h - 50)
    left, top, right, bottom = box
    xs = np.concatenate([np.asarray(s[0], float) for s in series.values()])
    ys = [np.asarray(s[1], float) + sign * (np.asarray(s[2], float) if len(s) > 2 else 0)
          for s in series.values() for sign in (-1, 1)] + [np.array(list((hlines or {}).values()), float)]
    ys = np.concatenate(ys)
    ys = ys[np.isfinite(ys)]
    xlim = (xs.min(), xs.max() if xs.max() > xs.min() else xs.min() + 1)
    pad = 0.05 * max(ys.max() - ys.min(), 1e-9)
    ylim = (ys.min() - pad, ys.max() + pad)

    def px(x, y):
        return (left + (x - xlim[0]) / (xlim[1] - xlim[0]) * (right - left),
                bottom - (y - ylim[0]) / (ylim[1] - ylim[0]) * (bottom - top))

    entries = list(series.items()) + list((hlines or {}).items())
    colours = {name: PALETTE[i % len(PALETTE)] for i, (name, _) in enumerate(entries)}
    for name, s in series.items():  # all bands first, so that no band hides another series' line
        if len(s) > 2:
            x, y, err = (np.asarray(v, float) for v in s)
            light = tuple(int(255 - (255 - c) * 0.25) for c in colours[name])
            grid_x = np.linspace(x.min(), x.max(), max(2, int(px(x.max(), 0)[0] - px(x.min(), 0)[0])))
            for gx, a, b in zip(grid_x, np.interp(grid_x, x, y - err), np.interp(grid_x, x, y + err)):
                (cx, ya), (_, yb) = px(gx, a), px(gx, b)
                region = canvas[int(max(top, min(ya, yb))):int(min(bottom, max(ya, yb))) + 1, int(cx)]
                region[(region == 255).all(-1)] = light  # blend: keep bands drawn before visible
    for i, (name, s) in enumerate(entries):
        colour = colours[name]
        if name in (hlines or {}):
            x0, y0 = px(xlim[0], s)
            x1, _ = px(xlim[1], s)
            for xa in np.arange(x0, x1, 12):
                _draw_line(canvas, xa, y0, min(xa + 6, x1), y0, colour, 1)
        else:
            pts = [px(a, b) for a, b in zip(np.asarray(s[0], float), np.asarray(s[1], float))]
            for (xa, ya), (xb, yb) in zip(pts[:-1], pts[1:]):
                _draw_line(canvas, xa, ya, xb, yb, colour)
            for xa, ya in pts if len(pts) <= 30 else []:
                _draw_line(canvas, xa - 2, ya, xa + 2, ya, colour, 3)
        ly = top + 10 + 18 * i
        _draw_line(canvas, right + 12, ly + 4, right + 30, ly + 4, colour, 3)
        draw_text(canvas, right + 36, ly, name)
    _axes(canvas, box, xlim, ylim, title, xlabel, ylabel)
    return canvas


def bar_chart(values, labels, title: str, ylabel: str = "share", size=(560, 360)) -> np.ndarray:
    """Vertical bars (e.g. the class histogram of generated images, paper Fig. 6)."""
    w, h = size
    canvas = np.full((h, w, 3), 255, np.uint8)
    box = (70, 40, w - 20, h - 50)
    left, top, right, bottom = box
    values = np.asarray(values, float)
    ylim = (0.0, max(values.max() * 1.1, 1e-9))
    slot = (right - left) / len(values)
    for i, (v, lab) in enumerate(zip(values, labels)):
        x0 = int(left + i * slot + slot * 0.15)
        x1 = int(left + (i + 1) * slot - slot * 0.15)
        y = int(bottom - v / ylim[1] * (bottom - top))
        canvas[y:bottom, x0:x1] = PALETTE[0]
        draw_text(canvas, (x0 + x1 - text_width(lab)) // 2, bottom + 8, lab)
    _axes(canvas, box, (0, 1), ylim, title, "", ylabel, xticks=False)
    return canvas


def heatmap(points: np.ndarray, extent, title: str, centers: np.ndarray | None = None, size: int = 420,
            bins: int = 140) -> np.ndarray:
    """2-D density of `points` (log-scaled histogram) over `extent` (xmin, xmax, ymin, ymax), with the
    true mode centres marked by red crosses (the paper's Fig. 2), as an RGB array."""
    return scalar_map(density_map(points, extent, bins), extent, title, centers, size)


def density_map(points: np.ndarray, extent, bins: int = 140) -> np.ndarray:
    """The log-scaled 2-D histogram of `points` over `extent`, in [0, 1], row 0 = top = largest y."""
    hist, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=bins, range=[extent[:2], extent[2:]])
    return np.log1p(hist.T[::-1]) / max(np.log1p(hist.max()), 1e-9)


def scalar_map(values: np.ndarray, extent, title: str, centers: np.ndarray | None = None, size: int = 420,
               marks: np.ndarray | None = None, marks2: np.ndarray | None = None,
               contours: np.ndarray | None = None, colorbar: str | None = None,
               legend: list[tuple] | None = None) -> np.ndarray:
    """A (rows, cols) array in [0, 1] (row 0 = top = ymax) as a coloured map with axes; optional red
    crosses at `centers`, white dots at `marks` and red dots at `marks2` (all in the extent's units),
    white level lines at 0.1, 0.2, ..., 0.9 of a second array `contours` over the same extent (only
    the levels it reaches show), a colour bar from 0 to 1 named `colorbar`, and a line of
    `legend` entries (colour, text) under the axes; RGB array."""
    xmin, xmax, ymin, ymax = extent
    pad_l, pad_t, pad_b, pad_r = 70, 40, 50 + (22 if legend else 0), 90 if colorbar else 20
    canvas = np.full((size + pad_t + pad_b, size + pad_l + pad_r, 3), 255, np.uint8)
    if colorbar:  # 0 at the bottom, 1 at the top, with its name beside
        x0 = pad_l + size + 14
        canvas[pad_t:pad_t + size, x0:x0 + 12] = _colormap(np.linspace(1, 0, size)[:, None].repeat(12, 1))
        draw_text(canvas, x0 + 16, pad_t, "1")
        draw_text(canvas, x0 + 16, pad_t + size - 10, "0")
        for i, word in enumerate(colorbar.split()[:6]):
            draw_text(canvas, x0 + 16, pad_t + size // 2 - 20 + 14 * i, word)
    x = pad_l
    for colour, text in legend or []:
        canvas[pad_t + size + 52:pad_t + size + 62, x:x + 10] = colour
        canvas[pad_t + size + 52:pad_t + size + 62, x:x + 10][[0, -1]] = 0  # outline, for white entries
        draw_text(canvas, x + 16, pad_t + size + 52, text)
        x += 16 + text_width(text) + 24
    idx = (np.arange(size) * values.shape[0] / size).astype(int)
    jdx = (np.arange(size) * values.shape[1] / size).astype(int)
    canvas[pad_t:pad_t + size, pad_l:pad_l + size] = _colormap(values[idx][:, jdx])
    if contours is not None:
        band = np.floor(np.clip(contours, 0, 0.999) * 10)[(np.arange(size) * contours.shape[0] / size).astype(int)][
            :, (np.arange(size) * contours.shape[1] / size).astype(int)]
        edge = np.zeros((size, size), bool)
        edge[:-1] |= band[:-1] != band[1:]
        edge[:, :-1] |= band[:, :-1] != band[:, 1:]
        canvas[pad_t:pad_t + size, pad_l:pad_l + size][edge] = 255

    def px(x, y):
        return pad_l + (x - xmin) / (xmax - xmin) * size, pad_t + (ymax - y) / (ymax - ymin) * size

    for dots, colour in ((marks, (255, 255, 255)), (marks2, (230, 30, 30))):
        for x, y in (dots if dots is not None else []):
            cx, cy = px(x, y)
            if pad_l < cx < pad_l + size - 1 and pad_t < cy < pad_t + size - 1:
                canvas[int(cy) - 1:int(cy) + 2, int(cx) - 1:int(cx) + 2] = colour
    for x, y in (centers if centers is not None else []):
        cx, cy = px(x, y)
        _draw_line(canvas, cx - 5, cy - 5, cx + 5, cy + 5, (230, 30, 30))
        _draw_line(canvas, cx - 5, cy + 5, cx + 5, cy - 5, (230, 30, 30))
    _axes(canvas, (pad_l, pad_t, pad_l + size, pad_t + size), (xmin, xmax), (ymin, ymax), title, "x", "y")
    return canvas


# ----------------------------------------------------------------------------- the pictures of a run

def view_note(ds) -> str:
    """What a 2-D picture of the samples shows when the data has more dimensions than two."""
    if ds.noise_dims:
        return " (means of noisy / constant coords)"
    return f" (coords 1-2 of {ds.shape[0]})" if ds.shape[0] > 2 else ""


def plot_extent(ds) -> tuple:
    """A square (x0, x1, y0, y1) around a point set's value range, 15 % of its width to spare."""
    lo, hi = float(np.min(ds.value_range[0])), float(np.max(ds.value_range[1]))
    pad = 0.15 * (hi - lo)
    return lo - pad, hi + pad, lo - pad, hi + pad


def plane_grid(extent, res: int) -> np.ndarray:
    """The res x res grid over `extent` (x0, x1, y0, y1) as (res * res, 2) float32 points, row by
    row from the top (largest y), so that reshape(res, res) of a value per point is a picture."""
    xx, yy = np.meshgrid(np.linspace(extent[0], extent[1], res), np.linspace(extent[3], extent[2], res))
    return np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)


def image_picture(ds, images: np.ndarray, nrow: int = 8) -> np.ndarray:
    """`image_grid` of images in the data set's own units, through its affine map onto [-1, 1]."""
    center, scale = ds.affine()
    return image_grid((np.asarray(images, np.float32) - center) / scale, nrow)


def histogram_picture(counts, title: str) -> np.ndarray:
    """Bars of the shares of `counts` (classes or modes), numbered when there are at most 10."""
    counts = np.asarray(counts, float)
    return bar_chart(counts / max(counts.sum(), 1e-12), [str(i) if len(counts) <= 10 else "" for i in range(len(counts))], title)


def samples_picture(ds, shown: np.ndarray, title: str, nrow: int = 8, size: int = 420) -> np.ndarray:
    """Samples as a picture: images as a grid, `nrow` per row; 2-D points (or a 2-D view of them) as
    their density under `title`, the true mode centres crossed where the modes are isotropic."""
    if ds.kind == "images":
        return image_picture(ds, shown, nrow)
    centers = ds.centers[:, :2] if ds.centers is not None and ds.component_maps is None else None
    return heatmap(shown, plot_extent(ds), title + view_note(ds), centers, size=size)


def write_run_pictures(run, rows: list, shown: np.ndarray | None, label: str, nrow: int = 8) -> None:
    """The pictures every run gets. samples.png: `shown` as a density (2-D points, e.g. a view of
    the samples) or as a grid of images, `nrow` per row; None where the script draws its own.
    Points with known modes: mode_hist.png (high-quality samples per mode) and curves.png (modes and
    HQ share over training). Labelled images: class_hist.png (the last evaluation's classes)."""
    ds, args, last = run.ds, run.args, rows[-1] if rows else {}
    if shown is not None:
        write_png(os.path.join(run.dir, "samples.png"), samples_picture(ds, shown, f"{label}, {args.dataset}, step {args.steps}", nrow))
    if "mode_counts" in last:
        counts, steps = last["mode_counts"], [r["step"] for r in rows]
        write_png(os.path.join(run.dir, "mode_hist.png"), histogram_picture(counts, f"high-quality samples per mode, {label}"))
        curves = {"modes %": (steps, [100 * r["modes"] / len(counts) for r in rows]), "HQ %": (steps, [r["hq"] for r in rows])}
        write_png(os.path.join(run.dir, "curves.png"), line_plot(curves, f"{label} on {args.dataset}", "step", "%"))
    if "class_shares" in last:
        write_png(os.path.join(run.dir, "class_hist.png"), histogram_picture(
            last["class_shares"], f"classes of {args.eval_n} samples, {label}"))
