import json
import math
import os
import types

import numpy as np
import pytest
import torch

import common
import data
import metrics
import plots
import langevin_gan as lg
from conftest import DEVICE

TINY = ["--steps", "6", "--batch", "32", "--eval-n", "64", "--eval-every", "3", "--device", DEVICE]
DIVERGE = ["--lr-g", "1e30", "--lr-d", "1e30"]  # blows the losses up within a few steps
OUTPUTS = ["level_lines_2.png", "level_lines_4.png", "level_lines_6.png"]


def run(tmp_path, *extra, name="run"):
    out = str(tmp_path / name)
    return out, lg.main([*TINY, "--out", out, *extra])


def quadratic_step(noise, variances=None, theta0=1.0, a=2.0, eps=0.01, s=5.0, n=200_000, temperature=1.0, t_before=0):
    """One LangevinSGD step on U = a theta^2 / 2 for n independent copies of theta."""
    p = torch.nn.Parameter(torch.full((n,), theta0, dtype=torch.float64))
    opt = lg.LangevinSGD([p], eps, s, noise, temperature, torch.Generator().manual_seed(0))
    for v in variances[:t_before] if variances else []:  # earlier steps, with zero gradient and theta reset
        p.grad = torch.zeros_like(p)
        opt.step([torch.full_like(p, v)])
        p.data.fill_(theta0)
    p.grad = a * p.detach().clone()
    opt.step([torch.full_like(p, variances[t_before])] if noise == "cc" else None)
    return p.detach(), theta0 - eps * (a * theta0 + theta0 / s ** 2)


def test_step_on_a_quadratic_matches_eq_10():
    theta, mean = quadratic_step("none")
    assert torch.allclose(theta, torch.full_like(theta, mean))  # no noise: exactly the drift with the prior
    theta, mean = quadratic_step("sgld", temperature=0.5)
    assert abs(theta.mean() - mean) < 4 * math.sqrt(2 * 0.01 * 0.5 / len(theta))
    assert math.isclose(theta.var().item(), 2 * 0.01 * 0.5, rel_tol=0.02)  # sqrt(2 eps) eta, eta ~ N(0, tau)
    theta, mean = quadratic_step("cc", variances=[0.3])
    assert abs(theta.mean() - mean) < 4 * math.sqrt(2 * 0.01 * 0.3 / len(theta))
    assert math.isclose(theta.var().item(), 2 * 0.01 * 0.3, rel_tol=0.02)  # I_1 = V_1
    theta, _ = quadratic_step("cc", variances=[0.1, 0.3, 0.8], t_before=2)
    assert math.isclose(theta.var().item(), 2 * 0.01 * (0.1 + 0.3 + 0.8) / 3, rel_tol=0.02)  # I_3: the 1/t average
    with pytest.raises(ValueError, match="variances"):
        lg.LangevinSGD([torch.nn.Parameter(torch.zeros(2))], 0.1, noise="cc").step()


def test_adam_drift_is_adams_step_and_the_noise_is_added_alike():
    torch.manual_seed(0)
    grads = [torch.randn(5) for _ in range(4)]
    plain, ours = torch.nn.Parameter(torch.ones(5)), torch.nn.Parameter(torch.ones(5))
    adam = torch.optim.Adam([plain], 1e-2, betas=(0.5, 0.999), eps=1e-8)
    langevin = lg.LangevinSGD([ours], 1e-2, noise="none", adam_betas=(0.5, 0.999))
    for g in grads:  # without noise or prior: Adam itself
        for p, opt in ((plain, adam), (ours, langevin)):
            p.grad = g.clone()
            opt.step()
    torch.testing.assert_close(ours.detach(), plain.detach(), rtol=1e-6, atol=1e-7)
    noisy = torch.nn.Parameter(torch.ones(200_000, dtype=torch.float64))
    opt = lg.LangevinSGD([noisy], 1e-3, noise="cc", adam_betas=(0.5, 0.999), generator=torch.Generator().manual_seed(0))
    noisy.grad = torch.ones_like(noisy)
    opt.step([torch.full_like(noisy, 0.3)])
    assert math.isclose(noisy.mean().item(), 1 - 1e-3, abs_tol=1e-4)  # Adam's first step moves by lr
    assert math.isclose(noisy.var().item(), 2 * 1e-3 * 0.3, rel_tol=0.02)  # sqrt(2 eps) eta, eta ~ N(0, I_1)


def test_generator_losses_on_logits():
    logits = torch.tensor([-30.0, -1.0, 0.0, 2.0])
    d = torch.sigmoid(logits.double())
    torch.testing.assert_close(lg.generator_loss(logits, "gan").double(), -torch.log(d).mean(), rtol=1e-5, atol=1e-6)
    saturating = lg.generator_loss(logits, "gan", saturating=True).double()
    torch.testing.assert_close(saturating, torch.log1p(-d).mean(), rtol=1e-5, atol=1e-6)  # eq. 6: E log(1 - D)
    assert lg.generator_loss(logits, "wgan", saturating=True) == -logits.mean()


def test_d_optimizer_adam_runs_resumes_and_takes_its_own_step_size(tmp_path):
    out, a = run(tmp_path, "--d-optimizer", "adam", "--steps", "8", "--ckpt-every", "4", "--eval-every", "4", name="a")
    assert json.load(open(os.path.join(out, "args.json")))["lr_d"] == 1e-3
    out_c, _ = run(tmp_path, "--d-optimizer", "adam", "--steps", "4", "--ckpt-every", "4", "--eval-every", "4", name="c")
    c = lg.main(["--resume", out_c, "--steps", "8"])
    assert a["emd"] == c["emd"] and a["final_noise_level"] == c["final_noise_level"]
    _, sgd = run(tmp_path, "--steps", "8", "--ckpt-every", "4", "--eval-every", "4", name="sgd")
    assert sgd["emd"] != a["emd"]


@pytest.mark.parametrize("conditional", [False, True])
def test_per_example_variance_equals_a_brute_force_loop(conditional):
    torch.manual_seed(0)
    if conditional:
        D = lg.Conditional(common.mlp([6 + 10, 8, 1], torch.nn.LeakyReLU), 10)
        labels = torch.randint(0, 10, (12,))
    else:
        D, labels = common.mlp([6, 8, 1]), None
    real, fake = torch.randn(12, 6), torch.randn(12, 6) + 1
    means, variances, loss_d = lg.linear_gradient_moments(D, real, fake, labels, "gan")  # what training uses
    cond = (labels,) if conditional else ()
    assert torch.allclose(loss_d, -lg.example_objective(D(real, *cond), D(fake, *cond), "gan").mean())
    loop = []
    for i in range(12):
        D.zero_grad()
        cond = (labels[i:i + 1],) if conditional else ()
        (-lg.example_objective(D(real[i:i + 1], *cond), D(fake[i:i + 1], *cond), "gan")).sum().backward()
        loop.append([p.grad.clone() for p in D.parameters()])
    for k, (m, v) in enumerate(zip(means, variances)):
        g = torch.stack([row[k] for row in loop])
        assert torch.allclose(m, g.mean(0), atol=1e-6)
        assert torch.allclose(v, g.var(0, unbiased=True) / 12, atol=1e-7)  # variance of the minibatch mean
    D.zero_grad()
    cond = (labels,) if conditional else ()
    (-lg.example_objective(D(real, *cond), D(fake, *cond), "gan")).mean().backward()
    assert all(torch.allclose(p.grad, m, atol=1e-6) for p, m in zip(D.parameters(), means))  # mean = grad of -J


def test_blur_preserves_mass_and_is_the_identity_at_zero():
    images = torch.zeros(2, 3, 28, 28)
    images[0, 1, 14, 13] = 1.0
    images[1] = torch.rand(3, 28, 28)
    assert torch.equal(lg.gaussian_blur(images, 0.0), images)
    blurred = lg.gaussian_blur(images, 1.5)
    assert math.isclose(blurred[0].sum().item(), 1.0, rel_tol=1e-6) and blurred[0, 1].max() < 0.1
    assert torch.allclose(lg.gaussian_blur(torch.full((1, 1, 28, 28), 0.7), 2.0), torch.full((1, 1, 28, 28), 0.7))
    profile = blurred[0, 1, 14, 10:17] / blurred[0, 1, 14, 13]  # separable Gaussian of std 1.5
    assert torch.allclose(profile, torch.exp(-torch.arange(-3.0, 4.0) ** 2 / (2 * 1.5 ** 2)), atol=1e-5)
    points = torch.zeros(10_000, 2)
    noisy = lg.coarse_grain(points, 0.3, torch.Generator().manual_seed(0))
    assert math.isclose(noisy.std().item(), 0.3, rel_tol=0.03) and torch.equal(lg.coarse_grain(points, 0, None), points)


@pytest.mark.parametrize("noise", ["none", "sgld", "cc"])
def test_every_noise_arm_coarse_grains_and_keeps_its_noise_level(tmp_path, noise):
    out, final = run(tmp_path, "--noise", noise, "--blur", "0.05", "--blur-decay-steps", "4")
    rows = common.MetricsLog.read(os.path.join(out, "metrics.jsonl"))
    assert [r["blur"] for r in rows] == [pytest.approx(0.05 * 0.25), 0.0]
    assert (final["final_noise_level"] > 0) == (noise != "none")
    state = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
    assert ("I" in str(state["opt_d"]["state"])) == (noise == "cc")


def test_wgan_clips_the_critic(tmp_path):
    out, _ = run(tmp_path, "--loss", "wgan", "--critic-steps", "2", "--clip", "0.02")
    state = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
    assert all(v.abs().max() <= 0.02 + 1e-9 for k, v in state["D"].items())


def test_same_seed_same_numbers_and_resume_equals_uninterrupted(tmp_path):
    flags = ["--steps", "8", "--ckpt-every", "4", "--eval-every", "4"]
    _, a = run(tmp_path, *flags, name="a")
    _, b = run(tmp_path, *flags, name="b")
    out_c, _ = run(tmp_path, "--steps", "4", "--ckpt-every", "4", "--eval-every", "4", name="c")
    c = lg.main(["--resume", out_c, "--steps", "8"])
    for key in ("emd", "hq", "kl", "final_noise_level"):
        assert a[key] == b[key] == c[key], key
    assert np.array_equal(np.load(str(tmp_path / "a" / "samples.npy")), np.load(os.path.join(out_c, "samples.npy")))


def test_conditional_batches_carry_each_images_own_label_and_both_nets_use_it(shared_mnist_dir):
    ds = data.load_dataset("mnist", str(shared_mnist_dir))
    args = lg.build_parser().parse_args(["--dataset", "mnist", "--conditional", "--batch", "16"])
    lg.apply_presets(args, ds)
    run = types.SimpleNamespace(ds=ds, to_model=lambda x: x, device=DEVICE)
    images, labels = lg.labelled_batch(run, args, {"data": torch.Generator().manual_seed(0)})
    rows = ds.array.float().flatten(1)
    for image, label in zip(images, labels):  # each image is a row of the set that has this label
        matches = (rows == image.flatten()).all(1).nonzero().flatten()
        assert len(matches) and any(int(ds.labels[i]) == int(label) for i in matches)
    nets, _ = lg.build_networks(ds, args, DEVICE)
    z, other = torch.randn(16, args.z_dim), (labels + 1) % 10
    with torch.no_grad():
        assert not torch.allclose(nets["G"](z, labels), nets["G"](z, other))
        assert not torch.allclose(nets["D"](images, labels), nets["D"](images, other))


def test_conditional_mnist_writes_the_digit_grid_and_label_accuracy(tmp_path, shared_mnist_dir):
    out, final = run(tmp_path, "--dataset", "mnist", "--data-dir", str(shared_mnist_dir), "--conditional", "--eval-n", "100")
    classifier, _ = metrics.get_classifier(data.load_dataset("mnist", str(shared_mnist_dir)), str(shared_mnist_dir))
    predicted = classifier.predict(metrics.to_unit_range(torch.as_tensor(np.load(os.path.join(out, "samples.npy"))).float()))
    asked = np.arange(100) % 10  # sample i was asked for digit i mod 10
    per_digit = [float(np.mean(predicted[asked == k] == k)) for k in range(10)]
    rows = common.MetricsLog.read(os.path.join(out, "metrics.jsonl"))
    # the evaluation classifies the images before they are rounded to the stored uint8: a sample may flip
    assert np.abs(np.subtract(rows[-1]["label_accuracy_per_digit"], per_digit)).sum() <= 0.1 + 1e-6
    assert final["label_accuracy"] == pytest.approx(np.mean(rows[-1]["label_accuracy_per_digit"]))
    assert plots.read_png(os.path.join(out, "samples.png")).shape == (302, 302)  # 10 x 10 digits
    with pytest.raises(common.UserError, match="labelled image set"):
        run(tmp_path, "--conditional", name="bad")


def test_gradient_moments_refuse_a_critic_with_other_layers():
    D = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 1))
    with pytest.raises(ValueError, match="nn.Linear"):
        lg.linear_gradient_moments(D, torch.randn(5, 2), torch.randn(5, 2), None, "gan")
