import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import common
import data
import masked_weighted_gan as mw
from conftest import DEVICE, ROOT

TINY = ["--steps", "6", "--batch", "32", "--presample", "64", "--eval-n", "64", "--eval-every", "3", "--device", DEVICE]
DIVERGE = ["--optimizer", "sgd", "--lr", "1e30", "--lr-d", "1e30"]  # blows the losses up within a few steps
OUTPUTS = ["prior_map.png", "emd_curve.png"]  # a ring run's own pictures, beside every script's


def run(tmp_path, *extra, name="run"):
    out = str(tmp_path / name)
    final = mw.main([*TINY, "--out", out, *extra])
    return out, final


@pytest.mark.parametrize("extra, expected", [
    (["--loss", "wgan"], dict(n_critic=5, lr=1e-4, lr_d=1e-3, gp_weight=1.0, optimizer="adam")),
    (["--loss", "gan"], dict(n_critic=1, lr=2e-4, lr_d=2e-4, optimizer="adam")),
    (["--loss", "wgan", "--lr-d", "1e-4", "--gp-weight", "10"], dict(n_critic=5, lr=1e-4, lr_d=1e-4, gp_weight=10.0)),
])
def test_toy_settings_follow_the_loss_and_explicit_flags_win(tmp_path, extra, expected):
    out, _ = run(tmp_path, "--steps", "1", *extra)
    stored = json.load(open(os.path.join(out, "args.json")))
    assert {k: stored[k] for k in expected} == expected


def test_masked_sampling_of_a_constant_prior_gan_keeps_what_d_scores_highest(tmp_path):
    """The paper's 0.3378 case: the same trained constant-prior nets, sampled through the mask."""
    out, final = run(tmp_path, "--prior", "constant", "--rate", "0.3")
    masked_dir = str(tmp_path / "masked_at_generation")
    shutil.copytree(out, masked_dir)
    masked = mw.main(["--resume", masked_dir, "--sample-prior", "masked"])
    assert final["sample_prior"] == "train" and masked["sample_prior"] == "masked"
    args = argparse.Namespace(**json.load(open(os.path.join(out, "args.json"))))
    ds = data.ring()
    nets, _ = mw.build_networks(ds, args, DEVICE)
    state = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
    nets["G"].load_state_dict(state["G"]), nets["D"].load_state_dict(state["D"])
    to_model = ds.model_maps(identity=False)[2]
    with torch.no_grad():
        score = {name: nets["D"](to_model(torch.as_tensor(np.load(os.path.join(d, "samples.npy")), dtype=torch.float32)))
                 for name, d in (("constant", out), ("masked", masked_dir))}
    # the mask keeps the top 30 % of each pre-sample by D's score: every kept sample scores above the
    # constant prior's median, and the masked samples are not the constant prior's
    assert score["masked"].min() > score["constant"].median() and not torch.equal(score["masked"], score["constant"])


def test_same_seed_same_numbers(tmp_path):
    _, a = run(tmp_path, "--prior", "weighted", name="a")
    _, b = run(tmp_path, "--prior", "weighted", name="b")
    _, c = run(tmp_path, "--prior", "weighted", "--seed", "1", name="c")
    assert a["emd"] == b["emd"] and a["kl"] == b["kl"]
    assert c["emd"] != a["emd"]


def test_resume_gives_the_numbers_of_an_uninterrupted_run(tmp_path):
    common_flags = ["--prior", "masked", "--ckpt-every", "3"]
    full_dir, full = run(tmp_path, *common_flags, name="full")
    part_dir, _ = run(tmp_path, *common_flags, "--steps", "3", name="part")
    resumed = mw.main(["--resume", part_dir, "--steps", "6"])
    assert resumed["emd"] == full["emd"] and resumed["hq"] == full["hq"]
    rows = [json.loads(r) for r in open(os.path.join(part_dir, "metrics.jsonl"))]
    assert [r["step"] for r in rows] == [3, 6]
    np.testing.assert_array_equal(np.load(os.path.join(part_dir, "samples.npy")),
                                  np.load(os.path.join(full_dir, "samples.npy")))


def test_pre_sample_resampling_follows_the_definitions():
    z = torch.arange(10.0)[:, None]
    scores = torch.tensor([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6, 0.5, 0.05])
    gen = torch.Generator().manual_seed(0)
    masked = mw.masked_prior_batch(z, scores, rate=0.3, m=2000, gen=gen)
    assert set(masked.flatten().tolist()) == {1.0, 3.0, 5.0}  # the top 3 of 10 (Definition 3)
    counts = torch.bincount(masked.flatten().long(), minlength=10).float()
    assert counts[[1, 3, 5]].min() > 550  # uniform over the kept points
    weighted = mw.weighted_prior_batch(z, torch.logit(scores), "gan", m=20000, gen=gen).flatten().long()
    share = torch.bincount(weighted, minlength=10).float() / 20000
    torch.testing.assert_close(share, scores / scores.sum(), atol=0.01, rtol=0)  # w proportional to s (eq. 7)
    w = mw.prior_weights(torch.tensor([-3.0, 1.0, 50.0]), "wgan")
    assert w.sum().item() == pytest.approx(1.0) and (w[1:] > w[:-1]).all()  # positive, increasing (eq. 10)
    assert torch.isfinite(mw.prior_weights(torch.full((4,), -1e4), "gan")).all()  # every s underflows to 0
    w_shifted = mw.prior_weights(torch.tensor([-3.0, 1.0, 50.0]) * 7 + 100, "wgan")
    torch.testing.assert_close(w, w_shifted)  # blind to the critic's offset and scale


def test_prior_scores_are_a_function_of_z_alone():
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 3))
    D = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(3, 1))
    z = torch.rand(50, 2)
    first = mw.prior_scores(G, D, z)
    torch.testing.assert_close(first, mw.prior_scores(G, D, z))  # dropout off: the same scores twice
    torch.testing.assert_close(first[:10], mw.prior_scores(G, D, z[:10]))  # BN's running statistics, not the batch's
    assert G.training and D.training  # both nets handed back in the mode they came in
    G.eval()
    mw.prior_scores(G, D, z)
    assert not G.training and D.training


def test_gradient_penalty_of_a_linear_critic_is_exact():
    """D(x) = w.x + b has gradient w everywhere, so the penalty is (||w|| - 1)^2 at every xhat."""
    D = torch.nn.Linear(3, 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[2.0, -1.0, 2.0]]))  # ||w|| = 3
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    penalty = mw.gradient_penalty(D, real, fake, torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx(4.0, rel=1e-6)
    (grad_w,) = torch.autograd.grad(penalty, D.weight)  # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    torch.testing.assert_close(grad_w, 2 * 2 * D.weight.detach() / 3)


def test_user_points_at_another_scale_are_judged_in_their_own_units(tmp_path):
    rng = np.random.default_rng(0)
    centers = 50 * np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) + [1000.0, -300.0]
    points = centers[rng.integers(0, 4, 3000)] + rng.normal(0, 2.0, (3000, 2))
    np.save(tmp_path / "mix.npy", points)
    (tmp_path / "mix.json").write_text(json.dumps({"centers": centers.tolist(), "sigma": 2.0}))
    out, final = run(tmp_path, "--dataset", str(tmp_path / "mix.npy"), "--centers", str(tmp_path / "mix.json"),
                     "--steps", "30")
    samples = np.load(os.path.join(out, "samples.npy"))
    assert np.abs(samples.mean(0) - [1000.0, -300.0]).max() < 120  # in data units, not [-1, 1]
    assert 5 < final["emd_floor"] < 40 and final["emd"] > final["emd_floor"]  # EMD in data units too
    args = json.load(open(os.path.join(out, "args.json")))
    assert args["affine_center"] == pytest.approx([1000, -300], abs=10) and args["affine_scale"] > 50


def test_mnist_path_writes_grid_and_class_histogram(tmp_path, shared_mnist_dir):
    out, final = run(tmp_path, "--dataset", "mnist", "--data-dir", str(shared_mnist_dir), "--prior", "masked",
                     "--z-dim", "8")
    assert 0 <= final["class_kl"] <= np.log(10) + 1e-9 and final["classifier_accuracy"] > 0.5
    samples = np.load(os.path.join(out, "samples.npy"))
    assert samples.shape == (64, 1, 28, 28) and samples.dtype == np.uint8
    for name in ("samples.png", "class_hist.png"):
        assert os.path.isfile(os.path.join(out, name))


def test_goodfellow_code_sets_the_original_ranges_output_bias_and_lr_decay(tmp_path, shared_mnist_dir):
    ds = data.load_dataset("mnist", str(shared_mnist_dir))
    args = argparse.Namespace(arch="gan-mlp", z_dim=8, goodfellow_code=True, affine_center=127.5, affine_scale=127.5,
                              optimizer="sgd", loss="gan", lr=0.01, lr_d=0.02)
    nets, opts = mw.build_networks(ds, args, "cpu")
    G, D = nets["G"], nets["D"]
    g_layers = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    for layer, bound in [*((m, 0.05) for m in g_layers[:-1]), (g_layers[-1], 0.025),
                         *((m, 0.005) for m in D.modules() if isinstance(m, torch.nn.Linear))]:
        assert 0.9 * bound < layer.weight.abs().max() <= bound
    # with G's weights off, its output is the mean image: sigmoid(logit(p)) in the original's units
    for layer in g_layers:
        torch.nn.init.zeros_(layer.weight)
    mean = ds.array.float().mean(0) / 127.5 - 1
    inside = mean.abs() < 0.99  # pixels at the clip (always black) map to atanh(1 - 2e-7)
    assert torch.allclose(G(torch.zeros(1, 8))[0][inside], mean[inside], atol=1e-5)
    batch = [ds.sample(4, torch.Generator().manual_seed(0)) / 127.5 - 1]
    mw.train_step(nets, opts, batch, argparse.Namespace(**vars(args), prior="constant", batch=4, n_critic=1, steps=10,
                                                         presample=8), {"z": torch.Generator().manual_seed(0)}, 1000)
    assert opts["g"].param_groups[0]["lr"] == pytest.approx(0.01 / 1.000004 ** 1000)
    assert opts["d"].param_groups[0]["lr"] == pytest.approx(0.02 / 1.000004 ** 1000)


def cli(capsys, *args):
    """The command line as `python masked_weighted_gan.py` runs it, in this process: (exit status,
    stderr). The offline-MNIST test below runs the real process."""
    with pytest.raises(SystemExit) as exit_info:
        common.run_main(mw.main, [*TINY, *args])
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("make_input, message", [
    (lambda p: "no-such-set", "unknown data set"),
    (lambda p: str(p / "missing.npy"), "not found"),
    (lambda p: (np.save(p / "v.npy", np.zeros(5)), str(p / "v.npy"))[1], "expected points"),
    (lambda p: (np.save(p / "n.npy", np.full((5, 2), np.nan)), str(p / "n.npy"))[1], "NaN"),
    (lambda p: (np.save(p / "e.npy", np.zeros((0, 2))), str(p / "e.npy"))[1], "empty"),
    (lambda p: ((p / "c.npy").write_bytes(b"junk"), str(p / "c.npy"))[1], "not a readable"),
])
def test_bad_data_gives_one_line_error_and_nonzero_exit(tmp_path, capsys, make_input, message):
    code, err = cli(capsys, "--dataset", make_input(tmp_path), "--out", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing is created for a run that cannot start


def test_missing_mnist_offline_names_what_to_do(tmp_path):
    env = dict(os.environ, GAN_DATA_DIR=str(tmp_path / "d"), http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "masked_weighted_gan.py"), "--dataset", "mnist",
                             "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and "could not download" in result.stderr and "copy the file there" in result.stderr


def test_diverging_run_stops_with_a_clear_error(tmp_path, capsys):
    code, err = cli(capsys, "--optimizer", "sgd", "--lr", "1e30", "--out", str(tmp_path / "o"))
    assert code == 2 and "diverged" in err and "--resume" in err


def test_corrupt_checkpoint_on_resume(tmp_path, capsys):
    out, _ = run(tmp_path)
    with open(os.path.join(out, "ckpt.pt"), "wb") as f:
        f.write(b"\x00" * 100)
    code, err = cli(capsys, "--resume", out)
    assert code == 2 and "unreadable" in err
    code, err = cli(capsys, "--resume", str(tmp_path / "nowhere"))
    assert code == 2 and "no args.json" in err


def test_bad_flag_values(tmp_path, capsys):
    code, err = cli(capsys, "--rate", "0", "--out", str(tmp_path / "o"))
    assert code == 2 and "--rate" in err
    code, err = cli(capsys, "--arch", "dcgan", "--out", str(tmp_path / "o"))
    assert code == 2 and "for images" in err
    code, err = cli(capsys, "--goodfellow-code", "--out", str(tmp_path / "o"))
    assert code == 2 and "--arch gan-mlp" in err and not (tmp_path / "o").exists()
