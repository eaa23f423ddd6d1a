import json
import os
from copy import deepcopy

import numpy as np
import pytest
import torch

import common
import data
import metrics
import veegan
from conftest import DEVICE, write_cifar

TINY = ["--steps", "6", "--batch", "32", "--eval-n", "64", "--eval-every", "3", "--z-dim", "8", "--hidden", "16",
        "--device", DEVICE]
DIVERGE = ["--lr", "1e30"]  # blows the losses up within a few steps
OUTPUTS = []


def run(tmp_path, *extra, name="run"):
    out = str(tmp_path / name)
    return out, veegan.main([*TINY, "--out", out, *extra])


def test_on_1200_d_the_literal_rule_fails_real_data_and_the_calibrated_one_does_not(tmp_path):
    out, final = run(tmp_path, "--dataset", "hd")
    assert np.load(os.path.join(out, "samples.npy")).shape == (64, 1200)
    assert final["real_hq"] == 0.0 and final["real_hq_calibrated"] > 95


@pytest.mark.parametrize("method", ["veegan", "ali", "gan", "unrolled"])
def test_only_the_methods_with_a_reconstructor_have_one(method):
    args = veegan.build_parser().parse_args(["--method", method])
    veegan.apply_presets(args, data.ring())
    nets, opts = veegan.build_networks(data.ring(), args, DEVICE)
    assert (nets["F"] is not None) == (method in ("veegan", "ali"))
    assert {id(p) for p in opts["gf"].param_groups[0]["params"]} == {
        id(p) for name in ("G", "F") if nets[name] is not None for p in nets[name].parameters()}


def test_image_data_sets_and_ivom(tmp_path, shared_mnist_dir, monkeypatch):
    _, final = run(tmp_path, "--dataset", "stacked-mnist", "--data-dir", str(shared_mnist_dir), name="stacked")
    stacked = np.load(os.path.join(tmp_path, "stacked", "samples.npy"))
    classifier, _ = metrics.get_classifier(data.load_dataset("mnist", str(shared_mnist_dir)), str(shared_mnist_dir))
    scores = metrics.stacked_histogram(classifier, metrics.to_unit_range(torch.as_tensor(stacked).float()))
    assert stacked.shape == (64, 3, 28, 28) and (final["modes"], final["kl"]) == (scores["modes"], pytest.approx(scores["kl"]))
    out, final = run(tmp_path, "--dataset", "mnist", "--data-dir", str(shared_mnist_dir), "--method", "ali", name="mnist")
    assert os.path.isfile(os.path.join(out, "class_hist.png")) and "class_kl" in final
    monkeypatch.setattr(data, "CIFAR_MD5", write_cifar(str(tmp_path / "c" / "cifar-10-batches-py")))
    out, final = run(tmp_path, "--dataset", "cifar10", "--data-dir", str(tmp_path / "c"), "--ivom-n", "4",
                     "--ivom-steps", "3", "--ivom-restarts", "2", name="cifar")
    assert np.load(os.path.join(out, "samples.npy")).shape == (64, 3, 32, 32)
    assert 0 < final["ivom_mse"] < 1 and final["ivom_n"] == 4 and os.path.isfile(os.path.join(out, "ivom.png"))


def test_losses_match_hand_computed_values():
    d_gen, d_rec = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 0.0])
    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    o_lr = -np.mean(np.log(sig(np.array([2.0, -1.0])))) - np.mean(np.log(1 - sig(np.array([0.5, 0.0]))))
    assert veegan.discriminator_loss(d_gen, d_rec).item() == pytest.approx(o_lr, rel=1e-6)
    z, z_rec = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    assert veegan.noise_reconstruction(z, z_rec).item() == pytest.approx((0.5 * 5 + 0.5 * 9) / 2)
    assert veegan.veegan_loss(d_gen, torch.tensor(3.5), 2.0).item() == pytest.approx(0.5 + 7.0)  # raw logit mean
    ali = -np.mean(np.log(1 - sig(np.array([2.0, -1.0])))) - np.mean(np.log(sig(np.array([0.5, 0.0]))))
    assert veegan.ali_loss(d_gen, d_rec).item() == pytest.approx(ali, rel=1e-6)


def step_gradients(method, recon_weight=1.0):
    """Gradients one train_step leaves on F, and the gradient of the autoencoder term alone at the same noise."""
    args = veegan.build_parser().parse_args(["--method", method, "--z-dim", "6", "--hidden", "16"])
    args.recon_weight, args.lr = recon_weight, 0.0
    torch.manual_seed(0)
    nets, opts = veegan.build_networks(data.ring(), args, DEVICE)
    G, F_ = nets["G"], nets["F"]
    real = data.ring().sample(16, torch.Generator().manual_seed(1))
    z_gen = torch.Generator().manual_seed(2)
    before = z_gen.get_state()
    veegan.train_step(nets, opts, real, args, {"z": z_gen}, step=1)
    step_grads = [p.grad for p in F_.parameters()]
    z_gen.set_state(before)
    z, eps = veegan.sample_noise(16, args, z_gen)
    recon = recon_weight * veegan.noise_reconstruction(z, F_(veegan.generate(G, z, eps)))
    return step_grads, torch.autograd.grad(recon, list(F_.parameters()))


def test_reconstructor_gets_only_the_autoencoder_gradient():
    step_grads, recon_grads = step_gradients("veegan")
    for got, want in zip(step_grads, recon_grads):
        torch.testing.assert_close(got, want)  # no adversarial part under VEEGAN (Algorithm 1)
    step_grads, recon_grads = step_gradients("veegan", recon_weight=0.0)
    assert all(g is None or not g.any() for g in step_grads)  # weight 0 is not ALI: F gets nothing at all
    step_grads, _ = step_gradients("ali")
    assert all(g is not None for g in step_grads) and sum(g.abs().sum() for g in step_grads) > 0  # ALI: adversarial


def test_same_seed_same_numbers_and_resume(tmp_path):
    _, a = run(tmp_path, name="a")
    _, b = run(tmp_path, name="b")
    _, c = run(tmp_path, "--seed", "1", name="c")
    assert a["emd"] == b["emd"] and a["hq_calibrated"] == b["hq_calibrated"] and c["emd"] != a["emd"]
    part, _ = run(tmp_path, "--steps", "3", "--ckpt-every", "3", name="part")
    resumed = veegan.main(["--resume", part, "--steps", "6"])
    assert resumed["emd"] == a["emd"] and resumed["kl"] == a["kl"]
    np.testing.assert_array_equal(np.load(os.path.join(part, "samples.npy")),
                                  np.load(str(tmp_path / "a" / "samples.npy")))


def test_user_points_are_mapped_and_judged_in_their_own_units(tmp_path):
    rng = np.random.default_rng(0)
    centers = 30 * np.array([[1.0, 0.0], [-1.0, 0.0]]) + [500.0, 20.0]
    np.save(tmp_path / "mix.npy", centers[rng.integers(0, 2, 1000)] + rng.normal(0, 1.0, (1000, 2)))
    (tmp_path / "mix.json").write_text(json.dumps({"centers": centers.tolist(), "sigma": 1.0}))
    out, final = run(tmp_path, "--dataset", str(tmp_path / "mix.npy"), "--centers", str(tmp_path / "mix.json"))
    assert np.abs(np.load(os.path.join(out, "samples.npy")).mean(0) - [500, 20]).max() < 60
    assert 1 < final["emd_floor"] < 10 and final["real_hq"] > 95


def cli(capsys, *args):
    """The command line as `python veegan.py` runs it, in this process: (exit status, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        common.run_main(veegan.main, [*TINY, *args])
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--dataset", "nope"], "unknown data set"),
    (["--ivom-n", "5"], "--ivom-n needs an image data set"),
    (["--batch", "1"], "--batch: 1 must be >= 2"),
])
def test_bad_input_one_line_error(tmp_path, capsys, flags, message):
    code, err = cli(capsys, *flags, "--out", str(tmp_path / "o"))
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_standardise_maps_a_builtin_mixture_and_reports_in_the_data_units(tmp_path):
    untrained = ["--dataset", "hd", "--steps", "1", "--lr", "1e-12", "--eval-every", "1"]
    raw_dir, raw = run(tmp_path, *untrained, name="raw")
    std_dir, std = run(tmp_path, *untrained, "--standardise", name="std")
    args = json.load(open(os.path.join(std_dir, "args.json")))
    center, scale = np.asarray(args["affine_center"]), args["affine_scale"]
    assert scale > 5 and json.load(open(os.path.join(raw_dir, "args.json")))["affine_scale"] == 1.0
    raw_samples, std_samples = np.load(os.path.join(raw_dir, "samples.npy")), np.load(os.path.join(std_dir, "samples.npy"))
    # an untrained G puts out about 0 in model units: raw runs sit at the origin, mapped ones at the data's centre
    assert abs(raw_samples[:, 700:].mean()) < 0.5 and abs(std_samples[:, 700:].mean() - center[700:].mean()) < 0.5 * scale / 10
    assert center[700:].mean() < -1
    assert std["emd_floor"] == raw["emd_floor"]  # both judged against the same real data, in its own units
    assert std["emd"] != raw["emd"]


def test_glorot_init_is_the_notebooks():
    args = veegan.build_parser().parse_args(["--init", "glorot", "--z-dim", "6", "--hidden", "16", "--lr", "1e-3"])
    for net in veegan.build_networks(data.ring(), args, DEVICE)[0].values():
        linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
        assert linears and all(float(m.bias.detach().abs().max()) == 0 for m in linears)
        for m in linears:
            bound = (6 / (m.in_features + m.out_features)) ** 0.5
            assert 0.8 * bound < float(m.weight.detach().abs().max()) <= bound
    default = veegan.build_parser().parse_args(["--z-dim", "6", "--hidden", "16", "--lr", "1e-3"])
    G = veegan.build_networks(data.ring(), default, DEVICE)[0]["G"]
    assert float(G[0].bias.detach().abs().max()) > 0  # PyTorch's default draws the biases too


def unrolled_setting(seed=0):
    """A tiny G and D in float64, D's Adam with a state after one real step, and a minibatch."""
    torch.manual_seed(seed)
    G = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).double()
    D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    opt_d = torch.optim.Adam(D.parameters(), 1e-2, betas=(0.5, 0.999))
    real, z = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64)
    veegan.discriminator_loss(D(real).flatten(), D(G(z).detach()).flatten()).backward()
    opt_d.step()
    opt_d.zero_grad()
    return G, D, opt_d, real, z


def generator_gradient(G, loss):
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(G.parameters()))])


def test_unrolled_loss_is_the_gan_loss_on_d_after_k_real_adam_steps_and_k0_is_the_plain_gan():
    G, D, opt_d, real, z = unrolled_setting()
    fake = G(z)
    plain = torch.nn.functional.softplus(-D(fake).flatten()).mean()
    assert veegan.unrolled_generator_loss(D, opt_d, real, fake, 0).item() == plain.item()
    assert torch.equal(generator_gradient(G, veegan.unrolled_generator_loss(D, opt_d, real, G(z), 0)),
                       generator_gradient(G, torch.nn.functional.softplus(-D(G(z)).flatten()).mean()))
    before = [p.detach().clone() for p in D.parameters()]
    unrolled = veegan.unrolled_generator_loss(D, opt_d, real, fake, 5)
    assert all(torch.equal(p, q) for p, q in zip(before, D.parameters()))  # the simulation leaves D alone
    copy = deepcopy(D)  # the same 5 steps by torch's Adam on a copy of D and of its state
    opt_copy = torch.optim.Adam(copy.parameters(), 1e-2, betas=(0.5, 0.999))
    opt_copy.load_state_dict(deepcopy(opt_d.state_dict()))  # load_state_dict shares the tensors
    for _ in range(5):
        opt_copy.zero_grad()
        veegan.discriminator_loss(copy(real).flatten(), copy(fake.detach()).flatten()).backward()
        opt_copy.step()
    assert unrolled.item() == pytest.approx(torch.nn.functional.softplus(-copy(fake).flatten()).mean().item(), rel=1e-10)
    # K > 0 changes G's gradient, and not only by evaluating G against a D that has moved on: the
    # gradient also runs back through the K steps (the part a port that detaches them loses)
    grad_unrolled = generator_gradient(G, veegan.unrolled_generator_loss(D, opt_d, real, G(z), 5))
    grad_plain = generator_gradient(G, torch.nn.functional.softplus(-D(G(z)).flatten()).mean())
    grad_detached = generator_gradient(G, torch.nn.functional.softplus(-copy(G(z)).flatten()).mean())
    assert not torch.allclose(grad_unrolled, grad_plain, rtol=1e-3, atol=1e-6)
    assert not torch.allclose(grad_unrolled, grad_detached, rtol=1e-3, atol=1e-6)


def test_unrolled_gradient_matches_finite_differences_through_the_unrolled_steps():
    """dF_K/dtheta_G by autograd against central differences of the whole unrolled loss, K = 3."""
    G, D, opt_d, real, z = unrolled_setting(seed=1)
    grad = generator_gradient(G, veegan.unrolled_generator_loss(D, opt_d, real, G(z), 3))
    weight = next(G.parameters())
    for index in [(0, 0), (3, 1), (7, 2)]:
        h, values = 1e-6, []
        for sign in (1, -1):
            with torch.no_grad():
                weight[index] += sign * h
            values.append(veegan.unrolled_generator_loss(D, opt_d, real, G(z), 3).item())
            with torch.no_grad():
                weight[index] -= sign * h
        assert grad[index[0] * 3 + index[1]].item() == pytest.approx((values[0] - values[1]) / (2 * h), rel=1e-5, abs=1e-9)


def test_the_minimax_unrolled_loss_is_minus_d_loss_after_the_steps_and_runs(tmp_path):
    G, D, opt_d, real, z = unrolled_setting(seed=2)
    fake = G(z)
    at_zero = veegan.unrolled_generator_loss(D, opt_d, real, fake, 0, minimax=True)
    assert at_zero.item() == pytest.approx(-veegan.discriminator_loss(D(real).flatten(), D(fake).flatten()).item())
    grad = generator_gradient(G, veegan.unrolled_generator_loss(D, opt_d, real, G(z), 3, minimax=True))
    assert not torch.allclose(grad, generator_gradient(G, veegan.unrolled_generator_loss(D, opt_d, real, G(z), 3)))
    _, final = run(tmp_path, "--method", "unrolled", "--unrolled-minimax", "--unroll-steps", "2")
    assert final["method"] == "unrolled"
