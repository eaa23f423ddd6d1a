"""Masked and weighted prior GAN.

Goerttler & Kloft, "Learning a Multimodal Prior Distribution for Generative Adversarial Nets",
LWDA 2019 (CEUR-WS Vol-2454). The method changes only *which* latent vectors are fed to G:

    s(z) = D(G(z))                                                         (eq. 2)
    masked:   pm(z) = 1 / (r n) for the pre-sample points whose score is above the (1 - r)
              percentile of the n scores, 0 elsewhere                       (Definition 3, eq. 8)
    weighted: pm(z_i) = w(s_i), w increasing, sum_i w(s_i) = 1, w(s) proportional to s
                                                                            (Definition 4, eqs. 7, 9-11)

Every time a minibatch of m latent vectors is needed (each critic step and each generator step)
a pre-sample of n vectors is drawn from p_z = U(-1, 1)^k, scored with the current D and G, and m
vectors are drawn i.i.d. from that probability mass function. `--prior constant` is the
traditional GAN, our baseline; `--sample-prior masked` masks a constant-prior GAN only at
generation time (the paper's 0.3378 case).

Choices where the paper is silent (each changes nothing else):
* WGAN: the paper gives "WGAN, 5 critic steps, lr 1e-4" and no optimiser, clip value or epoch
  size. The original WGAN is `--wgan-penalty clip --optimizer rmsprop --lr-d 1e-4` with `--clip`
  (0.01 in Arjovsky et al.); with the Table-1 nets its clip 0.01 learns nothing, and larger clips
  give the regime where the constant prior fails as the paper's baseline does. Since the paper
  gives no clip, the report shows the verdict at every clip of a sweep. Our default is the
  baseline trained as well as we can: the gradient penalty of Gulrajani et al. with Adam (betas
  0.5/0.9), their setting for toy data, with two changes, each with a flag for the other form:
  - penalty weight lambda = 1, not their 10 (`--gp-weight 10`): with lambda 10 the constant prior
    drives its samples into tanh's saturated border (the outline of a square) and keeps them there.
  - critic lr 1e-3 (two time-scale updates, Heusel et al. 2017); G keeps the paper's 1e-4
    (`--lr-d 1e-4` is the literal form, with which the constant prior stalls early).
* GAN loss (the paper's "alternative loss", "similar results"): one D step per G step and Adam
  2e-4 for both nets (Radford et al.); with the WGAN rates and 5 D steps every prior collapsed onto
  one or two modes. Set explicitly, --n-critic, --lr and --lr-d win over these per-loss toy defaults.
* Weighting with an unbounded WGAN critic: eq. 7 (w proportional to s) needs s > 0. We use
  w_i = softmax(s_i / std(s)), a positive, strictly increasing transform (eq. 10) that is
  invariant to the critic's arbitrary offset and scale (the masked prior uses ranks only, so it
  needs no transform). With `--loss gan`, s = sigmoid(D) is in (0, 1) and w is s / sum(s), literally (computed in
  log space so that it stays defined when D rejects every pre-sample point).
* Draws from the pre-sample are i.i.d. from the pmf (with replacement), as the definitions say.
* Scores are computed with both nets in eval mode, in training as at generation, so that s(z) is a
  function of z alone (no dropout masks, no batch statistics of the pre-sample).
* Data are mapped into tanh's range by an affine map that is printed and stored in args.json;
  samples and metrics are written back in the data's own units.
* The toy run length is given in generator steps; the paper's "50 epochs" has no epoch size.
* MNIST MLP (`--arch gan-mlp`): the paper takes "the parameters in [Goodfellow et al.]" with lr
  0.01. Their code (goodfeli/adversarial, mnist.yaml) also draws weights uniform in +-0.05 (G) and
  +-0.005 (D), gives G a sigmoid output with biases from the pixel marginals, and divides the lr
  by 1.000004 each step. Ours: PyTorch's default initialisation, a tanh output on data mapped to
  [-1, 1] (the same family up to an affine map), no decay (5 % over 12,000 steps);
  `--goodfellow-code` adds their initialisation and decay.
* MNIST DCGAN (`--arch dcgan`): the paper used carpedm20/DCGAN-tensorflow, whose MNIST model is
  conditioned on the label (y_dim = 10), which would fix the class shares that Fig. 7 compares.
  Ours is unconditional: Radford et al.'s G and D with 5x5 kernels, Adam 2e-4 (beta1 0.5), batch 64.

Run (defaults: ring, WGAN-GP, weighted prior):
    python masked_weighted_gan.py
    python masked_weighted_gan.py --prior constant --sample-prior masked
    python masked_weighted_gan.py --dataset mnist --prior masked --data-dir ../shared/data/mnist-5k
    python benchmarks/masked_weighted.py table --loss wgan --steps 12000  # the paper's table, tuned WGAN-GP, 5 seeds
    python benchmarks/masked_weighted.py table --steps 3000 --tag clip0.3 -- --wgan-penalty clip --optimizer rmsprop --lr-d 1e-4 --clip 0.3  # weight clipping
    python benchmarks/masked_weighted.py table --loss gan --steps 4000    # the same, standard GAN loss
    python benchmarks/masked_weighted.py rates --loss wgan --steps 1000   # Fig. 4a, r = 0.1 ... 1.0
    python benchmarks/masked_weighted.py rates --loss gan --steps 1000    # Fig. 4b
    python benchmarks/masked_weighted.py images --steps 12000 --data-dir ../shared/data/mnist-5k  # Figs. 5, 6, 3 seeds
    python benchmarks/masked_weighted.py images --arch dcgan --steps 500 --seeds 2 --data-dir ../shared/data/mnist-5k  # Fig. 7
    python benchmarks/masked_weighted.py images --dataset fashion-mnist --steps 12000 --seeds 1 --data-dir /usr/share/datasets/fashion-mnist
Report: docs/masked_weighted_gan.md (the verdict per setting, every table and the command behind it).
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import common
import data as datasets
import metrics
import plots

# Paper settings per network family; [V] stated in the paper, [I] our choice where it is silent.
PRESETS = {
    "mlp": dict(z_dim=2, batch=500, loss="wgan", optimizer="adam"),  # Table 1 [V]; Adam [I]; the rest in TOY_LOSS
    "gan-mlp": dict(z_dim=100, batch=100, loss="gan", n_critic=1, lr=0.01, lr_d=0.01, optimizer="sgd"),  # Goodfellow [V]
    "dcgan": dict(z_dim=100, batch=64, loss="gan", n_critic=1, lr=2e-4, lr_d=2e-4, optimizer="adam"),  # Radford [V]
}
# Table-1 nets per loss: WGAN 5 critic steps, G lr 1e-4 [V], critic lr 1e-3 [I]; GAN: Radford's Adam 2e-4 [I].
TOY_LOSS = {"wgan": dict(n_critic=5, lr=1e-4, lr_d=1e-3), "gan": dict(n_critic=1, lr=2e-4, lr_d=2e-4)}


def build_parser() -> argparse.ArgumentParser:
    p = common.script_parser(__file__, __doc__)
    # 5 evaluations a run: at 10, evaluation was 12 % of a default run
    common.add_common_args(p, dataset="ring", steps=1000, batch=None, evaluations=5, emd_n=None)
    g = p.add_argument_group("method")
    g.add_argument("--prior", default="weighted", choices=["constant", "masked", "weighted"], help="training prior")
    g.add_argument("--sample-prior", default="train", choices=["train", "constant", "masked", "weighted"],
                   help="prior used to generate samples for evaluation ('train': the training prior)")
    g.add_argument("--rate", type=common.number(float, above=0, at_most=1), default=0.5, help="masking rate r in (0, 1] (paper 0.5)")
    g.add_argument("--presample", type=common.number(int, at_least=1), default=1000, help="pre-sample size n (paper 1,000; 2,000 for the rate sweep)")
    g = p.add_argument_group("training")
    g.add_argument("--arch", default=None, choices=list(PRESETS), help="mlp (Table 1, points), gan-mlp (Goodfellow "
                   "MNIST MLP, default for images), dcgan")
    g.add_argument("--loss", default=None, choices=["wgan", "gan"], help="WGAN or non-saturating GAN")
    g.add_argument("--wgan-penalty", default="gp", choices=["gp", "clip"], help="Lipschitz constraint for WGAN")
    g.add_argument("--gp-weight", type=common.number(float, at_least=0), default=1.0, help="gradient-penalty lambda (ours 1; Gulrajani et al. 10)")
    g.add_argument("--clip", type=common.number(float, above=0), default=0.01, help="weight clip for --wgan-penalty clip (Arjovsky et al.)")
    g.add_argument("--n-critic", type=common.number(int, at_least=1), default=None, help="D steps per G step")
    g.add_argument("--lr", type=common.number(float, above=0), default=None, help="G learning rate")
    g.add_argument("--lr-d", type=common.number(float, above=0), default=None, help="D learning rate")
    g.add_argument("--optimizer", default=None, choices=["adam", "rmsprop", "sgd"], help="optimiser of both nets")
    g.add_argument("--z-dim", type=common.number(int, at_least=1), default=None, help="latent dimension k")
    g.add_argument("--goodfellow-code", action="store_true", help="gan-mlp: also the original code's initialisation "
                   "and lr decay (see the docstring)")
    g.add_argument("--eval-n", type=common.number(int, at_least=2), default=2000, help="samples per evaluation")
    p.resumable.add("sample_prior")  # a finished run sampled through another prior
    common.preset_help(p, {**PRESETS, **{f"mlp+{loss}": preset for loss, preset in TOY_LOSS.items()}})
    return p


# ----------------------------------------------------------------------------- networks

def build_networks(ds: datasets.Dataset, args, device) -> tuple[dict, dict]:
    """Table 1 MLPs for points; the original GAN's MNIST MLP; DCGAN with 5x5 filters, stride 2; and
    their optimisers."""
    if args.arch == "mlp":
        d = ds.shape[0]
        G = common.mlp([args.z_dim, 128, 128, d], nn.ReLU, nn.Tanh)  # Table 1: 2x128 ReLU, tanh output
        D = common.mlp([d, 128, 128, 128, 1], nn.Tanh)  # Table 1: 3x128 tanh; sigmoid lives in the loss
    elif args.arch == "gan-mlp":  # Goodfellow et al. 2014: G 1200-1200 ReLU; D maxout 240x5, 240x5 with dropout
        c, h, w = ds.shape
        G = nn.Sequential(common.mlp([args.z_dim, 1200, 1200, c * h * w], nn.ReLU, nn.Tanh), nn.Unflatten(1, (c, h, w)))
        D = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), Maxout(c * h * w, 240, 5), nn.Dropout(0.5),
                          Maxout(240, 240, 5), nn.Dropout(0.5), nn.Linear(240, 1))
        if args.goodfellow_code:
            goodfellow_init(G, D, (ds.array.float().mean(0) - torch.as_tensor(args.affine_center)) / args.affine_scale)
    else:
        size = common.dcgan_size(ds.shape)
        G, D = common.dcgan_generator(args.z_dim, ds.shape[0], size), common.dcgan_discriminator(ds.shape[0], size)
        G.apply(common.dcgan_init)
        D.apply(common.dcgan_init)
    nets = {"G": G.to(device), "D": D.to(device)}
    return nets, {"g": make_optimizer(G.parameters(), args, args.lr), "d": make_optimizer(D.parameters(), args, args.lr_d)}


class Maxout(nn.Module):
    """max over k linear pieces (Goodfellow et al. 2013), the original GAN's MNIST discriminator unit."""

    def __init__(self, d_in: int, d_out: int, pieces: int):
        super().__init__()
        self.d_out, self.pieces = d_out, pieces
        self.linear = nn.Linear(d_in, d_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.d_out, self.pieces).amax(-1)


def goodfellow_init(G: nn.Module, D: nn.Module, mean_image: torch.Tensor) -> None:
    """goodfeli/adversarial's mnist.yaml: weights uniform in +-0.05 (G) and +-0.005 (D), biases 0, and
    G's sigmoid output biased to the logit of each pixel's mean. tanh(a) = 2 sigmoid(2a) - 1, so our
    tanh layer is that sigmoid layer halved: weights in +-0.025, bias atanh(mean in [-1, 1])."""
    for net, irange in ((G, 0.05), (D, 0.005)):
        for layer in net.modules():
            if isinstance(layer, nn.Linear):
                nn.init.uniform_(layer.weight, -irange, irange)
                nn.init.zeros_(layer.bias)
    output = [layer for layer in G.modules() if isinstance(layer, nn.Linear)][-1]
    with torch.no_grad():
        output.weight.mul_(0.5)
        output.bias.copy_(torch.atanh(mean_image.flatten().clamp(-1 + 2e-7, 1 - 2e-7)))  # pylearn2 clips p to 1e-7


def make_optimizer(params, args, lr):
    if args.optimizer == "adam":
        return torch.optim.Adam(params, lr, betas=(0.5, 0.9) if args.loss == "wgan" else (0.5, 0.999))
    if args.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr)
    return torch.optim.SGD(params, lr, momentum=0.5)


# ----------------------------------------------------------------------------- the prior (the paper's idea)

def sample_uniform_prior(n: int, z_dim: int, gen: torch.Generator) -> torch.Tensor:
    """p_z = U_k(-1, 1)."""
    return torch.rand(n, z_dim, generator=gen, device=gen.device) * 2 - 1


@torch.no_grad()
def prior_scores(G: nn.Module, D: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """D's logit at G(z). The paper's score s(z) = D(G(z)) (eq. 2) is sigmoid(logit) for the GAN and the
    raw critic value for WGAN; masking needs only ranks, which the logit shares with s.

    Both nets score in eval mode, in training as at generation: s is then a function of z alone. In
    train mode the MNIST D's dropout would redraw its masks for every pre-sample, and batch norm
    (DCGAN) would make s(z) depend on the other n - 1 points; the paper defines s(z) = D(G(z))."""
    was_training = G.training, D.training
    G.eval(), D.eval()
    scores = D(G(z)).flatten()
    G.train(was_training[0]), D.train(was_training[1])
    return scores


def prior_weights(scores: torch.Tensor, loss: str) -> torch.Tensor:
    """w(s_i) with w increasing and sum_i w(s_i) = 1 (eqs. 10, 11), from logits.

    GAN: w proportional to s = sigmoid(logit) (eq. 7), computed as softmax(log sigmoid(logit)) so it
    stays defined when every s underflows. WGAN: softmax(s / std(s)), since critic values are unbounded."""
    if loss == "gan":
        return torch.softmax(F.logsigmoid(scores), 0)
    return torch.softmax(scores / scores.std().clamp_min(1e-12), 0)


def masked_prior_batch(z_pre: torch.Tensor, scores: torch.Tensor, rate: float, m: int,
                       gen: torch.Generator) -> torch.Tensor:
    """m i.i.d. draws from pm_masked (eq. 8): uniform over the r*n pre-sample points with the top scores."""
    keep = scores.topk(max(1, round(rate * len(scores)))).indices
    return z_pre[keep[torch.randint(len(keep), (m,), generator=gen, device=gen.device)]]


def weighted_prior_batch(z_pre: torch.Tensor, scores: torch.Tensor, loss: str, m: int,
                         gen: torch.Generator) -> torch.Tensor:
    """m i.i.d. draws from pm_weighted (eq. 9): z_i with probability w(s_i)."""
    weights = prior_weights(scores, loss)
    # non-finite scores break the resampling before the losses show it; checked first, since on CUDA
    # multinomial's own check is a device-side assert that surfaces later and poisons the context
    if not torch.isfinite(weights).all():
        raise common.Diverged("training diverged: D's scores of the pre-sample are not finite")
    return z_pre[torch.multinomial(weights, m, replacement=True, generator=gen)]


def prior_batch(kind: str, G: nn.Module, D: nn.Module, m: int, args, gen: torch.Generator) -> torch.Tensor:
    """A minibatch of m latent vectors from the constant, masked or weighted prior."""
    if kind == "constant":
        return sample_uniform_prior(m, args.z_dim, gen)
    z_pre = sample_uniform_prior(args.presample, args.z_dim, gen)
    scores = prior_scores(G, D, z_pre)
    if kind == "masked":
        return masked_prior_batch(z_pre, scores, args.rate, m, gen)
    return weighted_prior_batch(z_pre, scores, args.loss, m, gen)


# ----------------------------------------------------------------------------- losses

def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor, loss: str) -> torch.Tensor:
    """GAN (eq. 1): -E[log D(x)] - E[log(1 - D(G(z)))], in softplus form on logits.
    WGAN: E[D(G(z))] - E[D(x)]."""
    if loss == "gan":
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    return d_fake.mean() - d_real.mean()


def generator_loss(d_fake: torch.Tensor, loss: str) -> torch.Tensor:
    """GAN: the non-saturating -E[log D(G(z))] (the paper's "alternative loss"). WGAN: -E[D(G(z))]."""
    return F.softplus(-d_fake).mean() if loss == "gan" else -d_fake.mean()


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """E_xhat[(||grad D(xhat)||_2 - 1)^2], xhat uniform on segments between real and fake (Gulrajani et al.)."""
    eps = torch.rand(len(real), *[1] * (real.dim() - 1), generator=gen, device=gen.device)
    xhat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(xhat).sum(), xhat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


# ----------------------------------------------------------------------------- one training step

def train_step(nets: dict, opts: dict, batch: list, args, rng: dict, step: int) -> dict:
    """n_critic discriminator updates, one per real batch in `batch`, and one generator update, each
    on latent vectors from the training prior."""
    G, D = nets["G"], nets["D"]
    if args.optimizer == "sgd":
        for opt in opts.values():
            opt.param_groups[0]["momentum"] = sgd_momentum(step, args.steps)
    if args.goodfellow_code:  # pylearn2's ExponentialDecay: lr / 1.000004 per step, at least 1e-6
        for opt, lr in ((opts["g"], args.lr), (opts["d"], args.lr_d)):
            opt.param_groups[0]["lr"] = max(lr / 1.000004 ** step, 1e-6)
    for real in batch:
        with torch.no_grad():
            fake = G(prior_batch(args.prior, G, D, args.batch, args, rng["z"]))
        loss_d = discriminator_loss(D(real), D(fake), args.loss)
        if args.loss == "wgan" and args.wgan_penalty == "gp":
            loss_d = loss_d + args.gp_weight * gradient_penalty(D, real, fake, rng["z"])
        opts["d"].zero_grad(set_to_none=True)
        loss_d.backward()
        opts["d"].step()
        if args.loss == "wgan" and args.wgan_penalty == "clip":
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-args.clip, args.clip)
    z = prior_batch(args.prior, G, D, args.batch, args, rng["z"])
    loss_g = generator_loss(D(G(z)), args.loss)
    opts["g"].zero_grad(set_to_none=True)
    loss_g.backward()
    opts["g"].step()
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}


def sgd_momentum(step: int, total: int) -> float:
    """0.5 rising linearly to 0.7 at 250 of 300 epochs (the paper's MNIST MLP schedule), as a share
    of --steps: a run resumed with a larger --steps follows the longer run's schedule from then on."""
    return 0.5 + 0.2 * min(1.0, step / (total * 250 / 300))


# ----------------------------------------------------------------------------- evaluation

def evaluate(nets: dict, run: common.Run, args) -> tuple[dict, np.ndarray]:
    """Metrics of eval_n samples from the sample prior, in the data's units, with the same noise each time."""
    gen = torch.Generator(run.device).manual_seed(args.seed + 10_000)
    kind = args.prior if args.sample_prior == "train" else args.sample_prior
    G, D = nets["G"], nets["D"]  # chunks of m, each from a fresh pre-sample of the chosen prior, on every device
    samples = run.from_model(common.sample_in_chunks(G, args.eval_n, args.batch, lambda i, m: (
        prior_batch(kind, G, D, m, args, gen),), grow_off_cpu=False).cpu())
    if run.ds.kind == "points":
        return metrics.point_scores(samples.numpy(), run.ds, run.reference), samples.numpy()
    result = {}
    if run.classifier is not None:
        result = metrics.class_histogram(run.classifier, metrics.to_unit_range(samples.clamp(0, 255).round()))
        result["classifier_accuracy"] = args.classifier_accuracy
    return result, (samples.clamp(0, 255).round().to(torch.uint8) if run.ds.integer else samples).numpy()


def write_pictures(run: common.Run, args, samples: np.ndarray) -> None:
    """samples.png (Fig. 2 heatmap or an image grid), mode_hist.png and curves.png, class_hist.png (Fig. 6),
    emd_curve.png, prior_map.png (Fig. 3)."""
    G, D, ds, run_dir = run.nets["G"], run.nets["D"], run.ds, run.dir
    rows = common.MetricsLog.read(os.path.join(run_dir, "metrics.jsonl"))
    shown = samples[:64] if ds.kind == "images" else samples[:, :2] if ds.shape[0] > 1 else None
    plots.write_run_pictures(run, rows, shown, f"{args.prior} prior, {args.loss}")
    if rows and "emd" in rows[0]:
        curve = {"emd": ([r["step"] for r in rows], [r["emd"] for r in rows])}
        plots.write_png(os.path.join(run_dir, "emd_curve.png"), plots.line_plot(
            curve, f"EMD, {args.prior} prior", "generator step", "EMD", hlines={"data floor": args.emd_floor}))
    if args.z_dim == 2:  # Fig. 3: the latent square coloured by the score s(z)
        axis = torch.linspace(-1, 1, 200)
        zz = torch.stack(torch.meshgrid(axis.flip(0), axis, indexing="ij")[::-1], -1).reshape(-1, 2)
        s = prior_scores(G, D, zz.to(run.device)).cpu().numpy().reshape(200, 200)
        ranks = s.argsort(None).argsort().reshape(s.shape) / (s.size - 1)
        plots.write_png(os.path.join(run_dir, "prior_map.png"),
                         plots.scalar_map(ranks, (-1, 1, -1, 1), "latent square, z in U(-1, 1)^2",
                                           colorbar="rank of s(z)"))


# ----------------------------------------------------------------------------- main

def apply_presets(args, ds) -> None:
    """The paper's settings for the data family and the loss, wherever a flag was not given."""
    args.arch = args.arch or ("mlp" if ds.kind == "points" else "gan-mlp")
    if ds.kind == "points" and args.arch != "mlp":
        raise common.UserError(f"--arch {args.arch} is for images; {args.dataset} holds points, use --arch mlp")
    if args.goodfellow_code and args.arch != "gan-mlp":
        raise common.UserError("--goodfellow-code sets up the original GAN's MLP; drop it or use --arch gan-mlp")
    common.apply_presets(args, PRESETS[args.arch])
    common.apply_presets(args, TOY_LOSS[args.loss] if args.arch == "mlp" else {})
    common.require({"--rate": (0 < args.rate <= 1, "in (0, 1]"), "--presample": (args.presample >= 1, ">= 1"),
                    "--n-critic": (args.n_critic >= 1, ">= 1"), "--clip": (args.clip > 0, "> 0"),
                    "--gp-weight": (args.gp_weight >= 0, ">= 0")})
    args.emd_n = args.emd_n or args.eval_n


def main(argv=None) -> dict:
    args = common.parse_args(build_parser(), argv)
    ds = datasets.load_dataset(args.dataset, args.data_dir, args.centers)
    apply_presets(args, ds)
    with common.Run(args, ds, ds.model_maps(identity=False)) as run:  # every data set mapped into tanh's range
        rng = run.generators()
        nets, opts = build_networks(ds, args, run.device)
        for step in run.start(nets, opts, rng):
            batch = [run.batch(rng) for _ in range(args.n_critic)]  # one per critic step
            losses = train_step(nets, opts, batch, args, rng, step)
            run.step_done(step, losses, lambda: evaluate(nets, run, args))
        samples = run.end(lambda: evaluate(nets, run, args))  # a finished run resumed (another --sample-prior): evaluated afresh
        write_pictures(run, args, samples)
        return run.finish(prior=args.prior, sample_prior=args.sample_prior, loss=args.loss)


if __name__ == "__main__":
    common.run_main(main)
