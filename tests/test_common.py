import os
import struct
import zlib

import numpy as np
import pytest
import torch

import common


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
    common.write_png(str(tmp_path / "x.png"), pixels)
    np.testing.assert_array_equal(read_png(str(tmp_path / "x.png")), pixels)


def test_image_grid_uses_fixed_range_and_torchvision_geometry():
    images = np.full((64, 1, 28, 28), -1.0, np.float32)
    images[0] = 0.0  # mid grey stays mid grey: no per-batch stretching
    grid = common.image_grid(images, nrow=8)
    assert grid.shape == (242, 242)
    assert grid[2, 2] == 128 and grid[2, 32] == 0


def test_plots_write_readable_pngs(tmp_path):
    common.write_png(str(tmp_path / "l.png"), common.line_plot({"a": ([0, 1, 2], [3.0, 2.0, 1.0], [0.1, 0.2, 0.1]),
                                                    "b": ([0, 2], [1.0, 1.5])}, "T", "x", "y", hlines={"floor": 0.5}))
    common.write_png(str(tmp_path / "b.png"), common.bar_chart([0.1, 0.9], ["0", "1"], "bars"))
    pts = np.random.default_rng(0).normal(size=(500, 2))
    common.write_png(str(tmp_path / "h.png"), common.heatmap(pts, (-3, 3, -3, 3), "heat", centers=np.zeros((1, 2))))
    for name in ("l.png", "b.png", "h.png"):
        img = read_png(str(tmp_path / name))
        assert img.ndim == 3 and img.std() > 0


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    net = torch.nn.Linear(3, 2)
    gen = torch.Generator().manual_seed(1)
    path = str(tmp_path / "ckpt.pt")
    common.save_checkpoint(path, {"net": net.state_dict(), "step": 7, "rng": common.rng_state(gen)})
    assert os.listdir(tmp_path) == ["ckpt.pt"]
    state = torch.load(path, weights_only=True)
    assert state["step"] == 7 and torch.equal(state["net"]["weight"], net.weight)
    expected = torch.rand(3, generator=gen)
    gen2 = torch.Generator()
    common.set_rng_state(common.load_checkpoint(path)["rng"], gen2)
    assert torch.equal(torch.rand(3, generator=gen2), expected)


def test_corrupt_checkpoint_is_a_user_error(tmp_path):
    (tmp_path / "ckpt.pt").write_bytes(b"garbage")
    with pytest.raises(common.UserError, match="unreadable"):
        common.load_checkpoint(str(tmp_path / "ckpt.pt"))
    with pytest.raises(common.UserError, match="no checkpoint"):
        common.load_checkpoint(str(tmp_path / "none.pt"))


def test_progress_flags_divergence(capsys):
    progress = common.Progress(total=4, every=2)
    progress.update(1, loss=torch.tensor(1.0))
    progress.update(2, loss=torch.tensor(3.0))
    assert "loss +2.0000" in capsys.readouterr().out
    progress.update(3, loss=torch.tensor(float("nan")))
    with pytest.raises(common.UserError, match="diverged at step 4"):
        progress.update(4, loss=torch.tensor(1.0))


def test_progress_window_means_cover_the_steps_since_the_last_row(capsys):
    progress = common.Progress(total=6, every=4)
    for step, value in enumerate([1.0, 2.0, 3.0], start=1):
        progress.update(step, loss_d=torch.tensor(value))
    assert progress.window_means() == {"train_loss_d": 2.0}
    for step, value in enumerate([10.0, 20.0, 30.0], start=4):  # a progress line at 4 does not reset the window
        progress.update(step, loss_d=torch.tensor(value))
    assert progress.window_means() == {"train_loss_d": 20.0}


@pytest.mark.parametrize("size", [28, 32, 64])
def test_dcgan_shapes(size):
    G, D = common.dcgan_generator(10, 3, size), common.dcgan_discriminator(3, size)
    x = G(torch.zeros(2, 10))
    assert x.shape == (2, 3, size, size) and D(x).shape == (2, 1)


def test_read_png_and_tile(tmp_path):
    rng = np.random.default_rng(1)
    grey, rgb = rng.integers(0, 256, (5, 7)).astype(np.uint8), rng.integers(0, 256, (4, 6, 3)).astype(np.uint8)
    common.write_png(str(tmp_path / "g.png"), grey)
    np.testing.assert_array_equal(common.read_png(str(tmp_path / "g.png")), grey)
    common.write_png(str(tmp_path / "t.png"), common.tile([str(tmp_path / "g.png"), rgb], 2, ["a", "b"]))
    tiled = read_png(str(tmp_path / "t.png"))  # the independent reader above
    assert tiled.shape == (49, 46, 3)  # cells 18 x 39 (picture, 24-pixel caption strip, 10-pixel gaps)
    np.testing.assert_array_equal(tiled[34:38, 28:34], rgb)
    np.testing.assert_array_equal(tiled[34:39, 10:17, 1], grey)
    with pytest.raises(ValueError, match="not a PNG"):
        (tmp_path / "bad.png").write_bytes(b"GIF89a")
        common.read_png(str(tmp_path / "bad.png"))
