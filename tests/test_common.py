import os

import numpy as np
import pytest
import torch

import common


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


@pytest.mark.parametrize("shape", [(3, 32, 28), (1, 1, 1), (3, 48, 48)])
def test_dcgan_blocks_refuse_images_they_cannot_take_in_one_line(shape):
    with pytest.raises(common.UserError, match="square 28x28 or power-of-two"):
        common.dcgan_size(shape)
