"""Langevin GAN: a discriminator trained by Langevin dynamics with covariance-controlled noise.

Ramakers, Kollmann & Harmeling, "Stabilizing Generative Adversarial Networks using Langevin
dynamics". Real and generated samples are coarse-grained by A_lambda before D sees them (eq. 9),
and D's parameters theta follow a Langevin equation instead of gradient ascent (eq. 10), whose
injected noise has the running average of the gradient covariance as its covariance (eq. 11):

    J(G, D) = E_x[log D(A_lambda(x))] + E_z[log(1 - D(A_lambda(G(z))))]                  (9)
    theta_{t+1} = theta_t + eps grad_theta (J_t + log P(theta_t)) + sqrt(2 eps) eta_t,
                  eta_t ~ N(0, I_t)                                                        (10)
    I_t = (1 - 1/t) I_{t-1} + (1/t) V(theta_t)                                             (11)

The paper gives no hyper-parameters, networks or numbers: every default below is ours [I]. The
paper's [V]: eqs. 9-11, the diagonal approximation of V, the GAN and WGAN losses, the conditional
MNIST GAN, the falling noise level (its Fig. 1d). docs/langevin_gan.md has the evidence.

* `LangevinSGD` is eq. 10-11 as a small torch optimizer (copy it on its own): the paper's
  first-order simplification of CCAdL (Shang et al. 2015), which puts the running covariance
  estimate into the injected noise of a plain Langevin step, not into a thermostat's friction.
* V is the diagonal covariance of the *minibatch-mean* gradient, v / m with v the per-parameter
  variance of the m per-example gradients g_i = grad[log D(A(x_i)) + log(1 - D(A(G(z_i))))] (one
  example's v would inject m times more noise than the step's gradient carries), computed exactly
  by a per-layer identity for nn.Linear layers (`linear_gradient_moments`; every D here is an MLP).
* `--noise none|sgld|cc`: no noise (gradient ascent with the prior), N(0, tau I) (`--temperature`
  6e-6, the mean I_t of a default cc ring run, so both inject as much noise), or covariance-
  controlled. Prior N(0, s^2 I) (`--prior-std` 10), a weight decay. eps (`--lr-d`) 0.1, the plain
  GAN's best on the ring; at eps 0.02 the plain GAN collapses into one blob between two ring
  modes, the failure the paper describes. `--d-optimizer adam` (ours): D's drift is Adam's step
  (0.5/0.999, lr 1e-3) on the same gradient, plus the same sqrt(2 eps) eta.
* G: Adam (1e-3, beta1 0.5) on the non-saturating -log D(A(G(z))), a deviation from eq. 6 (which
  `--saturating-g` runs), whose gradient vanishes where D rejects the fakes.
* Coarse-graining: images, a separable Gaussian blur of std lambda pixels (radius ceil(3 lambda),
  reflect padding); points, fresh Gaussian noise of std lambda on real and fake (instance noise).
  `--blur` points 0, images 1 pixel; `--blur-decay-steps` N lowers lambda linearly to 0 over N steps.
* `--loss wgan`: J = E[D(A(x))] - E[D(A(G(z)))], weight clipping (`--clip` 0.01), 5 critic steps (a
  gradient penalty would need per-example double backward).
* Networks: points, MLPs (G 2 x 128 ReLU, D 1 x 128 ReLU), z ~ N(0, I_2), batch 500. `--conditional`
  MNIST (Mirza & Osindero, our MLPs): y one-hot concatenated to G's and D's inputs, G 110 -> 256 ->
  512 -> 784 (ReLU, tanh), D 794 -> 512 -> 256 -> 1 (LeakyReLU 0.2), batch 64, G Adam 2e-4.

Run:
    python langevin_gan.py                                # ring, covariance-controlled noise (< 2 min CPU)
    python langevin_gan.py --noise none                   # the plain GAN of the same networks and steps
    python langevin_gan.py --dataset mnist --data-dir ../shared/data/mnist-5k --conditional --steps 3000
    python benchmarks/langevin.py --eps 0.1 --seeds 5     # ring and grid x none, sgld, cc x 5 seeds
    python benchmarks/langevin.py --seeds 3 --eps 0.02 0.05 0.1 0.2 0.5   # the step-size sweep
Report: docs/langevin_gan.md (the verdict per setting, every table and the command behind it).
"""
from __future__ import annotations

import argparse
import functools
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import common
import data as datasets
import metrics
import plots

PRESETS = {
    "points": dict(z_dim=2, batch=500, lr_g=1e-3, blur=0.0),  # VEEGAN protocol's batch and hidden sizes [I]
    "images": dict(z_dim=100, batch=64, lr_g=2e-4, blur=1.0),  # [I]
}
TEMPERATURE = 6e-6  # sgld tau: the mean cc noise level over a default ring run (seed 0), so both arms inject as much [I]


def build_parser() -> argparse.ArgumentParser:
    p = common.script_parser(__file__, __doc__)
    common.add_common_args(p, dataset="ring", steps=5000, batch=None)
    g = p.add_argument_group("method")
    g.add_argument("--noise", default="cc", choices=["none", "sgld", "cc"], help="D's injected noise (eq. 10, 11)")
    g.add_argument("--loss", default="gan", choices=["gan", "wgan"], help="GAN (eq. 9) or WGAN objective")
    g.add_argument("--lr-d", type=common.number(float, above=0), default=None, help="Langevin step size eps of D (default 0.1; 1e-3 with --d-optimizer adam)")
    g.add_argument("--d-optimizer", default="sgd", choices=["sgd", "adam"],
                   help="D's drift: eq. 10's gradient step (sgd), or Adam's step, the noise added alike (ours)")
    g.add_argument("--prior-std", type=common.number(float, above=0), default=10.0, help="std s of D's Gaussian prior P(theta)")
    g.add_argument("--temperature", type=common.number(float, at_least=0), default=TEMPERATURE, help="--noise sgld: eta ~ N(0, tau I)")
    g.add_argument("--blur", type=common.number(float, at_least=0), default=None, help="coarse-graining lambda (pixels for images)")
    g.add_argument("--blur-decay-steps", type=common.number(int, at_least=0), default=0, help="lower lambda linearly to 0 over N steps (0 = constant)")
    g.add_argument("--conditional", action="store_true", help="conditional GAN on a labelled image set (paper Fig. 2)")
    g = p.add_argument_group("training")
    g.add_argument("--z-dim", type=common.number(int, at_least=1), default=None, help="latent dimension")
    g.add_argument("--lr-g", type=common.number(float, above=0), default=None, help="Adam learning rate of G")
    g.add_argument("--saturating-g", action="store_true", help="G minimises eq. 6's log(1 - D) (default: -log D)")
    g.add_argument("--critic-steps", type=common.number(int, at_least=1), default=None, help="D steps per G step (gan 1, wgan 5)")
    g.add_argument("--clip", type=common.number(float, above=0), default=0.01, help="--loss wgan: weight clip")
    g = p.add_argument_group("evaluation")
    g.add_argument("--eval-n", type=common.number(int, at_least=2), default=None, help="samples per evaluation (default 2,500 points, else 2,000)")
    common.preset_help(p, PRESETS)
    return p


# ----------------------------------------------------------------------------- Langevin dynamics (the paper's idea)

class LangevinSGD(torch.optim.Optimizer):
    """Eq. 10-11 for minimising U = -J (a torch loss): theta <- theta - eps (grad U + theta / s^2)
    + sqrt(2 eps) eta, eta ~ N(0, I_t) with I_t diagonal.

    noise "none": no eta; "sgld": I_t = tau; "cc": I_t = (1 - 1/t) I_{t-1} + (1/t) V_t, where
    V_t (one tensor per parameter, the diagonal covariance of the gradient) is passed to `step`.
    The first-order simplification of CCAdL the paper uses, not CCAdL itself."""

    def __init__(self, params, lr: float, prior_std: float = math.inf, noise: str = "cc", temperature: float = 1.0,
                 generator: torch.Generator | None = None, adam_betas: tuple[float, float] | None = None):
        if noise not in ("none", "sgld", "cc"):
            raise ValueError(f"noise must be none, sgld or cc, not {noise}")
        super().__init__(params, dict(lr=lr, prior_std=prior_std))
        self.noise, self.temperature, self.generator, self.t = noise, temperature, generator, 0
        self.adam_betas = adam_betas  # drift = Adam's step instead of eps * grad (--d-optimizer adam, ours)
        self.noise_history: list[list[float]] = []  # [step, noise_level()] rows, for Fig. 1d

    def state_dict(self) -> dict:
        return {**super().state_dict(), "t": self.t, "noise_history": torch.tensor(self.noise_history or [[0.0, 0.0]])}

    def load_state_dict(self, state: dict) -> None:
        state = dict(state)
        self.t = state.pop("t")
        self.noise_history = [row for row in state.pop("noise_history").tolist() if row[0] > 0]
        super().load_state_dict(state)

    @torch.no_grad()
    def step(self, variances: list[torch.Tensor] | None = None, generator: torch.Generator | None = None) -> None:
        """One step; eta is drawn from `generator` (default: the one given at construction)."""
        if self.noise == "cc" and variances is None:
            raise ValueError("noise 'cc' needs the gradient variances V_t of every parameter")
        self.t += 1
        variances = iter(variances or [])
        for group in self.param_groups:
            eps, s = group["lr"], group["prior_std"]
            for p in group["params"]:
                v = next(variances) if self.noise == "cc" else None
                if p.grad is None:
                    continue
                drift = p.grad + (p / s ** 2 if math.isfinite(s) else 0)
                if self.adam_betas is not None:  # Adam's bias-corrected step on the same gradient of U
                    (b1, b2), state = self.adam_betas, self.state[p]
                    if "m" not in state:
                        state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                    state["m"].mul_(b1).add_(drift, alpha=1 - b1)
                    state["v"].mul_(b2).addcmul_(drift, drift, value=1 - b2)
                    drift = (state["m"] / (1 - b1 ** self.t)) / ((state["v"] / (1 - b2 ** self.t)).sqrt() + 1e-8)
                p.add_(drift, alpha=-eps)
                if self.noise == "none":
                    continue
                if self.noise == "cc":
                    state = self.state[p]
                    state["I"] = v.clone() if "I" not in state else state["I"].mul_(1 - 1 / self.t).add_(v, alpha=1 / self.t)
                    std = state["I"].sqrt()
                else:
                    std = math.sqrt(self.temperature)
                eta = torch.randn(p.shape, generator=generator or self.generator, device=p.device) * std
                p.add_(eta, alpha=math.sqrt(2 * eps))

    def noise_level(self) -> float:
        """Mean of I_t over every parameter (tau for sgld, 0 for none): the curve of the paper's Fig. 1d."""
        if self.noise != "cc":
            return self.temperature if self.noise == "sgld" else 0.0
        levels = [s["I"] for s in self.state.values() if "I" in s]
        return float(sum(x.sum() for x in levels) / max(sum(x.numel() for x in levels), 1))


# ----------------------------------------------------------------------------- networks and coarse-graining

class Conditional(nn.Module):
    """A net applied to concat(input flattened, one-hot label): Mirza & Osindero's conditioning."""

    def __init__(self, net: nn.Module, classes: int, out_shape: tuple | None = None):
        super().__init__()
        self.net, self.classes, self.out_shape = net, classes, out_shape

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.net(torch.cat([x.flatten(1), F.one_hot(y, self.classes).to(x.dtype)], 1))
        return out.unflatten(1, self.out_shape) if self.out_shape else out


def build_networks(ds: datasets.Dataset, args, device) -> tuple[dict, dict]:
    """G and D (conditional on the label with --conditional), D's Langevin optimiser (train_step
    hands it the noise stream rng["eta"]), and Adam for G."""
    if ds.kind == "points":
        G, D = common.mlp([args.z_dim, 128, 128, ds.shape[0]]), common.mlp([ds.shape[0], 128, 1])
    else:
        x, classes = int(np.prod(ds.shape)), 10 if args.conditional else 0
        G = common.mlp([args.z_dim + classes, 256, 512, x], out_activation=nn.Tanh)
        D = common.mlp([x + classes, 512, 256, 1], lambda: nn.LeakyReLU(0.2))
        G, D = ((Conditional(G, classes, ds.shape), Conditional(D, classes)) if args.conditional
                else (nn.Sequential(G, nn.Unflatten(1, ds.shape)), nn.Sequential(nn.Flatten(), D)))
    G, D = G.to(device), D.to(device)
    opt_d = LangevinSGD(D.parameters(), args.lr_d, args.prior_std, args.noise, args.temperature,
                        adam_betas=(0.5, 0.999) if args.d_optimizer == "adam" else None)
    return {"G": G, "D": D}, {"g": torch.optim.Adam(G.parameters(), args.lr_g, betas=(0.5, 0.999)), "d": opt_d}


@functools.lru_cache(maxsize=16)
def blur_matrix(size: int, lam: float, device: torch.device = torch.device("cpu"),
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(size, size) matrix B of the 1-D Gaussian of std lam pixels (radius ceil(3 lam), weights summing
    to 1) with reflect boundaries: B @ column blurs a column. Built in float64 on the CPU, cached on
    `device` in `dtype`, so that a GPU step copies nothing from the host."""
    radius = min(math.ceil(3 * lam), size - 1)
    offsets = torch.arange(-radius, radius + 1, device="cpu")  # built on the host once, then cached
    weights = torch.exp(-offsets.double() ** 2 / (2 * lam ** 2))
    weights = weights / weights.sum()
    matrix = torch.zeros(size, size, dtype=torch.float64, device="cpu")
    for i in range(size):
        j = (i + offsets).abs()  # reflect at 0 ...
        j = torch.where(j > size - 1, 2 * (size - 1) - j, j)  # ... and at size - 1
        matrix[i].index_add_(0, j, weights)
    return matrix.to(device, dtype)


def gaussian_blur(images: torch.Tensor, lam: float) -> torch.Tensor:
    """A_lambda for images (N, C, H, W): separable Gaussian of std lam pixels, applied as B_H X B_W^T
    (one small matmul per axis, far faster on a CPU than a padded convolution); the kernel sums to 1
    (mass-preserving away from the border), reflect boundaries; lam = 0 is the identity."""
    if lam <= 0:
        return images
    rows = blur_matrix(images.shape[-2], lam, images.device, images.dtype)
    cols = blur_matrix(images.shape[-1], lam, images.device, images.dtype)
    return rows @ images @ cols.T


def coarse_grain(x: torch.Tensor, lam: float, gen: torch.Generator) -> torch.Tensor:
    """A_lambda: blur for images, fresh Gaussian noise of std lam for points."""
    if x.dim() == 4:
        return gaussian_blur(x, lam)
    return x + lam * torch.randn(x.shape, generator=gen, device=x.device) if lam > 0 else x


# ----------------------------------------------------------------------------- losses

def example_objective(d_real: torch.Tensor, d_fake: torch.Tensor, loss: str) -> torch.Tensor:
    """J per (x_i, z_i) pair, from D's logits: log D(A(x)) + log(1 - D(A(G(z)))) = -softplus(-real)
    - softplus(fake) (eq. 9); WGAN: D(A(x)) - D(A(G(z)))."""
    if loss == "wgan":
        return d_real - d_fake
    return -F.softplus(-d_real) - F.softplus(d_fake)


def generator_loss(d_fake: torch.Tensor, loss: str, saturating: bool = False) -> torch.Tensor:
    """Non-saturating -E[log D(A(G(z)))] = softplus(-logit) (ours); `saturating`: the paper's eq. 6,
    L_G = E[log(1 - D(A(G(z))))] = -softplus(logit), minimised. WGAN: -E[D(A(G(z)))]."""
    if loss == "wgan":
        return -d_fake.mean()
    return (-F.softplus(d_fake) if saturating else F.softplus(-d_fake)).mean()


def linear_gradient_moments(D: nn.Module, real, fake, labels, loss: str) -> tuple[list, list, torch.Tensor]:
    """Per parameter, the mean over the m pairs (x_i, z_i) of g_i = grad_theta(-J_i) and V, the
    variance of that mean (the g_i's variance, 1/(m-1), over m), for a D whose parameters all sit in
    nn.Linear layers, without forming the m gradients: with layer inputs A and output gradients
    Delta of the real (r) and fake (f) pass, example i's weight gradient is d_ri a_ri^T + d_fi a_fi^T,

        sum_i g_i^2 = (D_r^2)^T (A_r^2) + (D_f^2)^T (A_f^2) + 2 (D_r o D_f)^T (A_r o A_f),

    three matmuls per layer (BackPACK's trick, extended to pairs). Other layers would need the g_i
    themselves (torch.func.vmap of torch.func.grad). Also returns D's loss -1/m sum_i J_i, detached."""
    linears = [mod for mod in D.modules() if isinstance(mod, nn.Linear)]
    if sum(p.numel() for mod in linears for p in mod.parameters()) != sum(p.numel() for p in D.parameters()):
        raise ValueError("linear_gradient_moments needs a D whose parameters all sit in nn.Linear layers")
    calls = {mod: [] for mod in linears}
    hooks = [mod.register_forward_hook(lambda mod, inp, out: calls[mod].append((inp[0].detach(), out))) for mod in linears]
    cond = (labels,) if labels is not None else ()
    try:
        minus_j = -example_objective(D(real, *cond), D(fake, *cond), loss).sum()
    finally:
        for h in hooks:
            h.remove()
    outputs = [out for mod in linears for _, out in calls[mod]]
    deltas = iter(torch.autograd.grad(minus_j, outputs))
    moments = {}
    m = len(real)
    for mod in linears:
        (a_r, _), (a_f, _) = calls[mod]
        d_r, d_f = next(deltas), next(deltas)
        mean_w, mean_b = (d_r.T @ a_r + d_f.T @ a_f) / m, (d_r + d_f).sum(0) / m
        square_w = (d_r ** 2).T @ a_r ** 2 + (d_f ** 2).T @ a_f ** 2 + 2 * (d_r * d_f).T @ (a_r * a_f)
        square_b = ((d_r + d_f) ** 2).sum(0)
        for param, mean, square in ((mod.weight, mean_w, square_w), (mod.bias, mean_b, square_b)):
            if param is not None:
                moments[param] = (mean, (square - m * mean ** 2).clamp_min(0) / (m - 1) / m if m > 1 else 0 * mean)
    means, variances = zip(*(moments[p] for p in D.parameters()))
    return list(means), list(variances), minus_j.detach() / m


# ----------------------------------------------------------------------------- one training step

def blur_level(args, step: int) -> float:
    """lambda at `step`: --blur, lowered linearly to 0 over --blur-decay-steps when that is > 0."""
    return args.blur * max(0.0, 1 - step / args.blur_decay_steps) if args.blur_decay_steps > 0 else args.blur


def train_step(nets: dict, opts: dict, batch: tuple, args, rng: dict, step: int) -> dict:
    """`--critic-steps` Langevin steps of D (eq. 10, 11 with the per-example variance), then one
    Adam step of G, all on coarse-grained samples (eq. 9); batch = (real, labels or None)."""
    (G, D), (opt_d, opt_g), (real, labels), gens = (nets["G"], nets["D"]), (opts["d"], opts["g"]), batch, rng
    lam = blur_level(args, step)
    cond = (labels,) if args.conditional else ()
    for _ in range(args.critic_steps):
        z = torch.randn(len(real), args.z_dim, generator=gens["z"], device=real.device)
        with torch.no_grad():
            fake = G(z, *cond)
        real_a, fake_a = coarse_grain(real, lam, gens["blur"]), coarse_grain(fake, lam, gens["blur"])
        if args.noise == "cc":
            means, variances, loss_d = linear_gradient_moments(D, real_a, fake_a, labels if cond else None, args.loss)
            for p, g in zip(D.parameters(), means):
                p.grad = g
        else:
            loss_d = -example_objective(D(real_a, *cond), D(fake_a, *cond), args.loss).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            variances = None
        opt_d.step(variances, gens["eta"])
        if args.loss == "wgan":
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-args.clip, args.clip)
    fake = G(torch.randn(len(real), args.z_dim, generator=gens["z"], device=real.device), *cond)
    loss_g = generator_loss(D(coarse_grain(fake, lam, gens["blur"]), *cond), args.loss, args.saturating_g)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    if step % max(1, args.steps // 100) == 0:
        opt_d.noise_history.append([step, opt_d.noise_level()])
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}


def labelled_batch(run: common.Run, args, rng: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """--conditional: real images and their labels, the rows drawn as Dataset.sample draws them."""
    idx = torch.randint(len(run.ds.array), (args.batch,), generator=rng["data"])
    return run.to_model(run.ds.array[idx].float()).to(run.device), torch.as_tensor(run.ds.labels[idx.numpy()], device=run.device)


# ----------------------------------------------------------------------------- evaluation

def sample_generator(G, n: int, args, gen: torch.Generator, labels: torch.Tensor | None = None) -> torch.Tensor:
    def noise(i, m):
        z = torch.randn(m, args.z_dim, generator=gen, device=gen.device)
        return (z, labels[i:i + m]) if labels is not None else (z,)
    return common.sample_in_chunks(G, n, args.batch, noise)


def evaluate(nets: dict, run: common.Run, args) -> tuple[dict, np.ndarray]:
    """The protocol's numbers on eval_n samples (conditional: ten of each label), from the same noise every time."""
    ds, reference, classifier = run.ds, run.reference, run.classifier
    gen = torch.Generator(run.device).manual_seed(args.seed + 10_000)
    labels = torch.arange(args.eval_n, device=run.device) % 10 if args.conditional else None
    samples = run.from_model(sample_generator(nets["G"], args.eval_n, args, gen, labels).cpu())
    if ds.kind == "points":
        return metrics.point_scores(samples.numpy(), ds, reference), samples.numpy()
    images = samples.clamp(*ds.value_range)
    result = {}
    if classifier is not None:
        unit = metrics.to_unit_range(images)
        result = metrics.class_histogram(classifier, unit)
        if args.conditional:  # does G draw the digit it was asked for?
            predicted = torch.as_tensor(classifier.predict(unit))
            per_label = [float((predicted[labels.cpu() == k] == k).float().mean()) for k in range(10)]
            result.update(label_accuracy=float(np.mean(per_label)), label_accuracy_per_digit=per_label)
    return result, (images.round().to(torch.uint8) if ds.integer else images).numpy()


def write_level_lines(path: str, samples: np.ndarray, nets: dict, run: common.Run, args, step: int) -> None:
    """Fig. 1a-c: density of the samples with D's level lines 0.1, ..., 0.9 drawn white."""
    ds, extent, res = run.ds, plots.plot_extent(run.ds), 160
    with torch.no_grad():  # D's logit (or a WGAN critic's value) over the plane, row 0 = top
        level = nets["D"](run.to_model(torch.as_tensor(plots.plane_grid(extent, res))).to(run.device))
    level = level.reshape(res, res).cpu().numpy()
    level = ((level - level.min()) / max(level.max() - level.min(), 1e-12) if args.loss == "wgan"  # onto [0, 1]
             else 1 / (1 + np.exp(-level)))
    title = f"{args.noise}, {args.dataset}, step {step}"
    plots.write_png(path, plots.scalar_map(plots.density_map(samples, extent), extent, title, ds.centers,
                                             contours=level, colorbar="sample density (log)",
                                             legend=[((255, 255, 255), "D = 0.1, 0.2, ..., 0.9 (levels D reaches)")]))


def write_snapshot(nets: dict, run: common.Run, args, step: int) -> None:
    """level_lines_<step>.png at a third, two thirds and the end of the run (2-D points), from fixed noise."""
    if run.ds.kind == "points" and run.ds.shape == (2,) and step in {max(1, args.steps // 3), max(1, 2 * args.steps // 3), args.steps}:
        gen = torch.Generator(run.device).manual_seed(args.seed)
        now = run.from_model(sample_generator(nets["G"], args.eval_n, args, gen).cpu())
        write_level_lines(os.path.join(run.dir, f"level_lines_{step}.png"), now.numpy(), nets, run, args, step)


def write_pictures(run: common.Run, args, samples: np.ndarray) -> None:
    """samples.png (Fig. 1a-c level lines for 2-D points, an image grid), noise_level.png (Fig. 1d),
    level_lines_<steps>.png, mode_hist.png or class_hist.png."""
    nets, ds, run_dir, noise_rows = run.nets, run.ds, run.dir, run.opts["d"].noise_history
    rows = common.MetricsLog.read(os.path.join(run_dir, "metrics.jsonl"))
    if ds.kind == "points" and ds.shape == (2,):
        write_level_lines(os.path.join(run_dir, "samples.png"), samples, nets, run, args, args.steps)
    if noise_rows:
        plots.write_png(os.path.join(run_dir, "noise_level.png"), plots.line_plot(
            {"mean I_t": ([r[0] for r in noise_rows], [r[1] for r in noise_rows])},
            f"{args.noise}: noise level of D's Langevin steps", "step", "mean I_t"))
    shown = None if ds.kind == "points" else samples[:100]  # 2-D points: samples.png has the level lines
    if args.conditional:  # row k: ten samples asked for digit k
        shown = np.concatenate([shown[k::10][:10] for k in range(10)])
    plots.write_run_pictures(run, rows, shown, args.noise, nrow=10)


# ----------------------------------------------------------------------------- main

def apply_presets(args, ds) -> None:
    """The paper's settings for the data family, wherever a flag was not given."""
    if args.conditional and (ds.kind != "images" or ds.labels is None or ds.labels.max() >= 10):
        raise common.UserError("--conditional needs a labelled image set with 10 classes (mnist, fashion-mnist, cifar10)")
    common.apply_presets(args, PRESETS[ds.kind])
    args.critic_steps = args.critic_steps or (5 if args.loss == "wgan" else 1)
    args.lr_d = args.lr_d if args.lr_d is not None else (1e-3 if args.d_optimizer == "adam" else 0.1)
    args.eval_n = args.eval_n or (2500 if ds.kind == "points" else 2000)
    common.require({"--prior-std": (args.prior_std > 0, "> 0"), "--blur": (args.blur >= 0, ">= 0"),
                    "--temperature": (args.temperature >= 0, ">= 0"), "--critic-steps": (args.critic_steps >= 1, ">= 1"),
                    "--blur-decay-steps": (args.blur_decay_steps >= 0, ">= 0"), "--clip": (args.clip > 0, "> 0")})


def main(argv=None) -> dict:
    args = common.parse_args(build_parser(), argv)
    ds = datasets.load_dataset(args.dataset, args.data_dir, args.centers)
    apply_presets(args, ds)
    with common.Run(args, ds, ds.model_maps()) as run:
        rng = run.generators("blur", "eta")
        nets, opts = build_networks(ds, args, run.device)
        for step in run.start(nets, opts, rng):
            batch = labelled_batch(run, args, rng) if args.conditional else (run.batch(rng), None)
            losses = train_step(nets, opts, batch, args, rng, step)
            run.step_done(step, losses, lambda: evaluate(nets, run, args),
                          row=lambda: {"noise_level": opts["d"].noise_level(), "blur": blur_level(args, step)})
            write_snapshot(nets, run, args, step)
        samples = run.end(lambda: evaluate(nets, run, args))
        write_pictures(run, args, samples)
        return run.finish(noise=args.noise, final_noise_level=opts["d"].noise_level(), dataset=args.dataset)


if __name__ == "__main__":
    common.run_main(main)
