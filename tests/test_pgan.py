import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import common
import plots
import pgan
from conftest import DEVICE, ROOT, bench

TINY = ["--steps", "6", "--batch", "32", "--eval-n", "64", "--epoch-steps", "3", "--device", DEVICE]
DIVERGE = ["--loss", "lsgan", "--lr", "1e30"]  # blows the losses up within a few steps
OUTPUTS = ["landscape.png", "landscape.npy", "likelihood.png", "hist.png", "gradients.png", "snapshots/step-0000006.png"]


def run(tmp_path, *extra, name="run"):
    out = str(tmp_path / name)
    return out, pgan.main([*TINY, "--out", out, *extra])


def test_gmm_one_component_is_the_closed_form_fit():
    gen = torch.Generator().manual_seed(0)
    h = torch.tensor([1.5, -2.0]) + torch.tensor([0.3, 2.0]) * torch.randn(20_000, 2, generator=gen)
    gmm = pgan.DiagonalGMM(1, 2)
    gmm.fit(h)
    assert torch.allclose(gmm.means[0], h.mean(0)) and torch.allclose(gmm.variances[0], h.var(0, unbiased=False))
    assert torch.allclose(gmm.means[0], torch.tensor([1.5, -2.0]), atol=0.05)
    assert torch.allclose(gmm.variances[0], torch.tensor([0.09, 4.0]), rtol=0.05)
    gmm.fit(torch.zeros(10, 2))  # a collapsed embedding: the floor keeps the density finite
    assert torch.all(gmm.variances == 1e-4) and torch.isfinite(gmm.log_peak())


def test_gmm_three_components_recover_means_variances_weights():
    gen = torch.Generator().manual_seed(1)
    means = torch.tensor([[-4.0, 0.0], [0.0, 3.0], [5.0, -1.0]])
    stds = torch.tensor([[0.5, 0.2], [0.3, 0.6], [0.8, 0.4]])
    k = torch.multinomial(torch.tensor([0.2, 0.3, 0.5]), 30_000, replacement=True, generator=gen)
    h = means[k] + stds[k] * torch.randn(30_000, 2, generator=gen)
    gmm = pgan.DiagonalGMM(3, 2, em_iters=10)
    for _ in range(5):  # warm-started: every call goes on from the last one's parameters
        gmm.fit(h)
    order = gmm.means[:, 0].argsort()
    assert torch.allclose(gmm.means[order], means, atol=0.05)
    assert torch.allclose(gmm.variances[order].sqrt(), stds, rtol=0.05)
    assert torch.allclose(gmm.log_weights[order].exp(), torch.tensor([0.2, 0.3, 0.5]), atol=0.01)


def test_raw_density_is_eq_7_and_the_losses_use_it():
    gmm = pgan.DiagonalGMM(1, 1)
    gmm.fit(torch.tensor([[-1.0], [3.0]]))  # mean 1, variance 4
    assert gmm.means.item() == 1.0 and gmm.variances.item() == 4.0
    h = torch.tensor([[1.0], [3.0], [5.0]])  # 0, 1 and 2 sigma from the mean
    density = torch.tensor([math.exp(-0.5 * k * k) / math.sqrt(2 * math.pi * 4) for k in (0, 1, 2)])
    assert torch.allclose(gmm.log_likelihood(h).exp(), density, rtol=1e-6)  # the default: eq. 7 as written
    assert torch.allclose(gmm.log_likelihood(h, peak_normalised=True).exp(), density / density[0], rtol=1e-6)
    # eq. 5 and 6 on those values: L(real) = density of the first two, L(fake) = of the last
    real, fake = density[:2], density[2:]
    want_d = 0.5 * ((density[0] - 1) ** 2 + (density[1] - 1) ** 2) / 2 + 0.5 * density[2] ** 2
    assert math.isclose(pgan.discriminator_loss(real, fake).item(), want_d, rel_tol=1e-6)
    assert math.isclose(pgan.generator_loss(fake).item(), 0.5 * (density[2] - 1) ** 2, rel_tol=1e-6)
    # and the same numbers through the E step of a training pass
    nets = {"gmm": pgan.DiagonalGMM(1, 1)}
    score_real, score_fake = pgan.scores(nets, torch.tensor([[-1.0], [3.0]]), torch.tensor([[5.0]]))
    assert torch.allclose(score_real, torch.full((2,), density[1].item())) and torch.allclose(score_fake, density[2:])


@pytest.mark.parametrize("components", [1, 3])
def test_peak_normalised_likelihood_lies_in_0_1_and_keeps_its_gradient(components):
    gen = torch.Generator().manual_seed(2)
    gmm = pgan.DiagonalGMM(components, 2, em_iters=20)
    gmm.fit(torch.randn(3000, 2, generator=gen) * torch.tensor([1.0, 0.5]) + 3 * torch.randint(0, 3, (3000, 1), generator=gen))
    axis = torch.linspace(-4, 10, 400)
    plane = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    values = gmm.log_likelihood(plane, peak_normalised=True).exp()
    assert values.max() <= 1 + 1e-5 and values.max() > 0.995  # the fitted peak is the maximum
    raw = gmm.log_likelihood(plane).exp()
    assert torch.allclose(raw, values * gmm.log_peak().exp(), rtol=1e-4)
    near = gmm.means.clone().requires_grad_()  # at and around the peak the gradient is not cut off
    gmm.log_likelihood(near + 0.3, peak_normalised=True).exp().sum().backward()
    assert torch.all(near.grad.abs().sum(1) > 0)
    if components == 1:
        mu, var = gmm.means[0], gmm.variances[0]
        h = torch.tensor([[0.3, -1.2]])
        assert torch.allclose(gmm.log_likelihood(h, peak_normalised=True).exp(), torch.exp(-0.5 * ((h - mu) ** 2 / var).sum()))


def test_losses_match_hand_computed_values():
    real, fake = torch.tensor([0.9, 0.5]), torch.tensor([0.2, 0.0])
    assert math.isclose(pgan.discriminator_loss(real, fake).item(), 0.5 * (0.01 + 0.25) / 2 + 0.5 * 0.04 / 2, rel_tol=1e-6)
    assert math.isclose(pgan.generator_loss(torch.tensor([0.2, 0.6])).item(), 0.5 * (0.64 + 0.16) / 2, rel_tol=1e-6)
    gmm = pgan.DiagonalGMM(1, 1)
    gmm.means.fill_(1.0), gmm.variances.fill_(4.0)
    h = torch.tensor([[3.0], [-1.0]])  # both one sigma (2) away: log L = -1/2 (peak-normalised)
    assert math.isclose(pgan.generator_log_loss(gmm.log_likelihood(h, peak_normalised=True)).item(), 0.5, rel_tol=1e-6)
    raw = 0.5 + 0.5 * math.log(2 * math.pi * 4)  # the density's own log adds the normaliser
    assert math.isclose(pgan.generator_log_loss(gmm.log_likelihood(h)).item(), raw, rel_tol=1e-6)


def test_no_gradient_reaches_the_fitted_parameters():
    gen = torch.Generator().manual_seed(3)
    h_real = torch.randn(64, 2, generator=gen).requires_grad_()
    h_fake = (torch.randn(64, 2, generator=gen) + 1).requires_grad_()
    nets = {"gmm": pgan.DiagonalGMM(1, 2)}
    score_real, score_fake = pgan.scores(nets, h_real, h_fake)
    pgan.discriminator_loss(score_real, score_fake).backward()
    gmm = nets["gmm"]
    assert not any(b.requires_grad for b in gmm.buffers()) and not list(gmm.parameters())
    mu, var = gmm.means[0], gmm.variances[0]  # constants: dL/dh = -L (h - mu) / sigma^2 only
    dl_dh = -score_fake[:, None].detach() * (h_fake.detach() - mu) / var
    assert torch.allclose(h_fake.grad, (score_fake.detach()[:, None] * dl_dh) / 64, atol=1e-7)
    dl_dh_real = -score_real[:, None].detach() * (h_real.detach() - mu) / var
    assert torch.allclose(h_real.grad, ((score_real.detach() - 1)[:, None] * dl_dh_real) / 64, atol=1e-7)


def test_points_run_writes_every_output(tmp_path):
    out, final = run(tmp_path, "--dataset", "ring", "--components", "2", "--bottleneck", "2")
    for key in ("score_real", "score_fake", "overlap"):
        assert key in final
    state = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
    assert state["gmm"]["means"].shape == (2, 2) and "opt_D" in state
    rows = common.MetricsLog.read(os.path.join(out, "metrics.jsonl"))
    assert [r["epoch"] for r in rows] == [1, 2] and all(r["train_grad_g_norm"] > 0 and r["train_grad_d_var"] >= 0 for r in rows)
    landscape = np.load(os.path.join(out, "landscape.npy"))
    assert landscape.shape == (160, 160) and 0 <= landscape.min() and landscape.max() <= 1


def test_star_toy_lsgan_and_frozen_generator(tmp_path):
    out, final = run(tmp_path, "--loss", "lsgan", "--freeze-epochs", "1")
    assert final["dataset"] == "star" and "modes" not in final  # no isotropic modes to count: EMD only
    rows = common.MetricsLog.read(os.path.join(out, "metrics.jsonl"))
    assert [r["generator_updated"] for r in rows] == [False, True]
    assert_frozen_steps_leave_g_as_built(pgan.datasets.star(), ["--z-dim", "2", "--lrelu-slope", "0.2"])


def assert_frozen_steps_leave_g_as_built(ds, flags):
    """Three train_steps with --freeze-generator from freshly built networks: G's weights and BN
    statistics stay bit-equal to what build_networks made, while G's gradient is computed."""
    args = pgan.build_parser().parse_args([*flags, "--freeze-generator", "--batch", "16", "--epoch-steps", "3"])
    pgan.apply_presets(args, ds)
    nets, opts = pgan.build_networks(ds, args, DEVICE)
    built = {k: v.clone() for k, v in nets["G"].state_dict().items()}
    rng = {"data": torch.Generator().manual_seed(0), "z": torch.Generator().manual_seed(1)}
    encoder_before = [p.clone() for p in nets["encoder"].parameters()]
    for step in (1, 2, 3):
        real = ds.sample(args.batch, rng["data"])
        stats = pgan.train_step(nets, opts, real.float() / 255 if ds.kind == "images" else real, args, rng, step)
        assert stats["grad_g_norm"] > 0  # computed, not applied
    after = nets["G"].state_dict()
    assert after.keys() == built.keys() and all(torch.equal(after[k], built[k]) for k in built)
    assert not all(torch.equal(a, b) for a, b in zip(encoder_before, nets["encoder"].parameters()))  # D did train


@pytest.mark.parametrize("init", ["torch", "glorot"])
def test_32x32_pair_shapes_and_its_fixed_convolution_init(init):
    args = pgan.build_parser().parse_args(["--init", init, "--bottleneck", "2"])
    common.apply_presets(args, pgan.PRESETS["images"])
    torch.manual_seed(0)
    G, encoder = pgan.image_networks(args.z_dim, 3, 32, args)
    pgan.initialise(G, args.init, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    pgan.initialise(encoder, args.init, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
    x = G(torch.randn(4, args.z_dim))
    assert x.shape == (4, 3, 32, 32) and 0 <= x.min() and x.max() <= 1 and encoder(x).shape == (4, 2)
    convs = [m for m in [*G.modules(), *encoder.modules()] if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(convs) == 8 and all(abs(m.weight.std().item() - 0.02) < 0.004 and not m.bias.any() for m in convs)
    dense = [m for m in encoder.modules() if isinstance(m, torch.nn.Linear)]
    glorot = math.sqrt(6 / (dense[0].in_features + dense[0].out_features))  # Glorot-uniform's bound
    assert (dense[0].weight.abs().max().item() <= glorot) == (init == "glorot")  # PyTorch's bound is 1/2 here
    assert bool(dense[0].bias.any()) == (init == "torch")


def test_frozen_generator_with_batch_norm_stays_at_its_initialisation(tmp_path, shared_mnist_dir):
    out, final = run(tmp_path, "--dataset", "mnist", "--data-dir", str(shared_mnist_dir), "--freeze-generator",
                     "--steps", "3", "--epoch-steps", "3")
    saved = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)["G"]
    assert any("running_mean" in k for k in saved)  # the MNIST G has BN layers
    shorter, _ = run(tmp_path, "--dataset", "mnist", "--data-dir", str(shared_mnist_dir), "--freeze-generator",
                     "--steps", "1", "--epoch-steps", "3", name="one-step")
    after_one = torch.load(os.path.join(shorter, "ckpt.pt"), weights_only=True)["G"]
    assert all(torch.equal(saved[k], after_one[k]) for k in saved)  # BN statistics too
    assert_frozen_steps_leave_g_as_built(pgan.datasets.load_dataset("mnist", str(shared_mnist_dir)), ["--z-dim", "100"])
    rows = common.MetricsLog.read(os.path.join(out, "metrics.jsonl"))
    assert rows[-1]["train_grad_g_norm"] > 0 and rows[-1]["generator_updated"] is False  # computed, not applied


def test_generator_frozen_after_its_first_epochs_keeps_their_weights(tmp_path):
    flags = ("--dataset", "ring", "--epoch-steps", "2", "--eval-n", "64", "--emd-n", "64")
    trained, _ = run(tmp_path / "a", *flags, "--steps", "2")
    frozen, _ = run(tmp_path / "b", *flags, "--steps", "6", "--freeze-after", "1")
    before, after = (torch.load(os.path.join(d, "ckpt.pt"), weights_only=True) for d in (trained, frozen))
    assert all(torch.equal(before["G"][k], v) for k, v in after["G"].items())  # G stopped after epoch 1
    assert not all(torch.equal(before["encoder"][k], v) for k, v in after["encoder"].items())  # D went on
    updated = [r["generator_updated"] for r in common.MetricsLog.read(os.path.join(frozen, "metrics.jsonl"))]
    assert updated == [True, False, False]


def test_mnist_format_run_with_classifier_and_sigmoid_range(tmp_path, shared_mnist_dir):
    out, final = run(tmp_path, "--dataset", "mnist", "--data-dir", str(shared_mnist_dir), "--loss", "pgan",
                     "--generator-loss", "log", "--steps", "4", "--epoch-steps", "2")
    assert "classes_hit" in final and 0 <= final["score_fake"] <= 1
    samples = np.load(os.path.join(out, "samples.npy"))
    assert samples.dtype == np.uint8 and samples.shape == (64, 1, 28, 28)
    for name in ("class_hist.png", "likelihood.png", "hist.png"):
        assert os.path.isfile(os.path.join(out, name)), name


def test_same_seed_same_numbers_and_resume_equals_uninterrupted(tmp_path):
    flags = ["--dataset", "ring", "--components", "3", "--steps", "8", "--ckpt-every", "4", "--eval-every", "4"]
    _, a = run(tmp_path, *flags, name="a")
    _, b = run(tmp_path, *flags, name="b")
    out_c, _ = run(tmp_path, *flags[:-4], "--steps", "4", "--ckpt-every", "4", "--eval-every", "4", name="c")
    c = pgan.main(["--resume", out_c, "--steps", "8"])
    for key in ("emd", "score_real", "score_fake", "overlap", "hq"):
        assert a[key] == b[key] == c[key], key
    assert np.array_equal(np.load(str(tmp_path / "a" / "samples.npy")), np.load(os.path.join(out_c, "samples.npy")))


def test_bad_input_is_one_line_error(tmp_path):
    cmd = [sys.executable, os.path.join(ROOT, "pgan.py"), "--loss", "lsgan", "--generator-loss", "log",
           "--out", str(tmp_path / "x")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--loss pgan" in result.stderr
    np.save(tmp_path / "odd.npy", np.zeros((40, 1, 20, 20), np.uint8) + np.arange(40, dtype=np.uint8)[:, None, None, None])
    with pytest.raises(common.UserError, match="28x28 and 32x32"):
        run(tmp_path, "--dataset", str(tmp_path / "odd.npy"))


def test_probe_benchmark_on_points(tmp_path, capsys):
    code, out, err = bench(capsys, "pgan", "probe", "--dataset", "ring", "--steps", "4", "--runs", str(tmp_path / "runs"),
                           "--results", str(tmp_path / "res"), "--", "--batch", "32", "--eval-n", "64", "--epoch-steps", "2")
    assert code == 0, out + err
    table = (tmp_path / "res" / "pgan_probe.md").read_text()
    assert "| ring | pgan frozen |" in table and "| ring | lsgan frozen |" in table
    summary = json.loads((tmp_path / "res" / "pgan_probe.json").read_text())["results"]["ring"]
    assert len(summary["pgan frozen"]["per_epoch"]["overlap"]) == 2
    assert plots.read_png(str(tmp_path / "res" / "pgan_probe.png")).ndim == 3


def test_readings_on_seeds_that_chose_nothing(tmp_path, capsys, shared_mnist_dir):
    """--first-seed 5: the readings' seeds 5.. in their own folders and table, the picture at half size."""
    code, out, err = bench(capsys, "pgan", "readings", "--readings", "default", "--losses", "pgan", "--seeds", "1",
                           "--first-seed", "5", "--steps", "4", "--runs", str(tmp_path / "runs"),
                           "--results", str(tmp_path / "res"), "--", "--data-dir", str(shared_mnist_dir),
                           "--batch", "16", "--epoch-steps", "2", "--eval-n", "64")
    assert code == 0, out + err
    (run_dir,) = (tmp_path / "runs").glob("pgan-readings-mnist-pgan-default-4-x*-s5")  # -x: the flags after --
    table = (tmp_path / "res" / "pgan_readings_4_pgan_seeds5-5.md").read_text()
    assert "| default | pgan | 5 |" in table and "seeds 5 to 5" in table
    tile = plots.read_png(str(tmp_path / "res" / "pgan_readings_4_pgan_seeds5-5.png"))
    sample_grid = plots.read_png(str(run_dir / "samples.png"))
    assert tile.ndim == 2 and tile.shape[1] <= sample_grid.shape[1] // 2 + 10  # grey, half the width of one grid
