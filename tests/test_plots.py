import struct
import zlib

import numpy as np
import pytest

import plots


def read_png(path):
    """Minimal PNG reader for the writer's output: checks signature and CRCs, returns the pixels."""
    raw = open(path, "rb").read()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos:pos + 4])
        kind, body = raw[pos + 4:pos + 8], raw[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", raw[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = 1 if colour == 0 else 3
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * channels)
    assert (rows[:, 0] == 0).all()
    pixels = rows[:, 1:].reshape(h, w, channels)
    return pixels[..., 0] if channels == 1 else pixels


@pytest.mark.parametrize("shape", [(5, 7), (4, 6, 3)])
def test_png_round_trip(tmp_path, shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    plots.write_png(str(tmp_path / "x.png"), pixels)
    np.testing.assert_array_equal(read_png(str(tmp_path / "x.png")), pixels)


def test_image_grid_uses_fixed_range_and_torchvision_geometry():
    images = np.full((64, 1, 28, 28), -1.0, np.float32)
    images[0] = 0.0  # mid grey stays mid grey: no per-batch stretching
    grid = plots.image_grid(images, nrow=8)
    assert grid.shape == (242, 242)
    assert grid[2, 2] == 128 and grid[2, 32] == 0


def test_plots_write_readable_pngs(tmp_path):
    plots.write_png(str(tmp_path / "l.png"), plots.line_plot({"a": ([0, 1, 2], [3.0, 2.0, 1.0], [0.1, 0.2, 0.1]),
                                                    "b": ([0, 2], [1.0, 1.5])}, "T", "x", "y", hlines={"floor": 0.5}))
    plots.write_png(str(tmp_path / "b.png"), plots.bar_chart([0.1, 0.9], ["0", "1"], "bars"))
    pts = np.random.default_rng(0).normal(size=(500, 2))
    plots.write_png(str(tmp_path / "h.png"), plots.heatmap(pts, (-3, 3, -3, 3), "heat", centers=np.zeros((1, 2))))
    for name in ("l.png", "b.png", "h.png"):
        img = read_png(str(tmp_path / name))
        assert img.ndim == 3 and img.std() > 0


def test_read_png_and_tile(tmp_path):
    rng = np.random.default_rng(1)
    grey, rgb = rng.integers(0, 256, (5, 7)).astype(np.uint8), rng.integers(0, 256, (4, 6, 3)).astype(np.uint8)
    plots.write_png(str(tmp_path / "g.png"), grey)
    np.testing.assert_array_equal(plots.read_png(str(tmp_path / "g.png")), grey)
    plots.write_png(str(tmp_path / "t.png"), plots.tile([str(tmp_path / "g.png"), rgb], 2, ["a", "b"]))
    tiled = read_png(str(tmp_path / "t.png"))  # the independent reader above
    assert tiled.shape == (49, 46, 3)  # cells 18 x 39 (picture, 24-pixel caption strip, 10-pixel gaps)
    np.testing.assert_array_equal(tiled[34:38, 28:34], rgb)
    np.testing.assert_array_equal(tiled[34:39, 10:17, 1], grey)
    with pytest.raises(ValueError, match="not a PNG"):
        (tmp_path / "bad.png").write_bytes(b"GIF89a")
        plots.read_png(str(tmp_path / "bad.png"))
