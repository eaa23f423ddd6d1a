"""Probabilistic GAN (PGAN): a Gaussian mixture fitted to the discriminator's bottleneck.

Eghbal-zadeh & Widmer, "Probabilistic Generative Adversarial Networks", 2017 (arXiv 1708.01886).
D is an encoder h(x) to a small bottleneck plus a diagonal GMM fitted to the embeddings of the
*real* samples only; its likelihood L(h), "the probability of being an embedding of a real image",
enters least squares losses "similar to LSGAN". Each D minibatch is one round of the paper's EM
view: fit the GMM to the real embeddings (E), then update the encoder with the fit held constant (M).
Equations 1-7 are blank in every available copy and no code was published; from the text:

    (5) L_D = 1/2 E_x[(L(h(x)) - 1)^2] + 1/2 E_z[L(h(G(z)))^2]                          [R]
    (6) L_G = 1/2 E_z[(L(h(G(z))) - 1)^2]                                              [R]
    (7) L(h) = sum_k pi_k N(h; mu_k, Sigma_k),  Sigma_k diagonal                         [V]

Choices ([V] paper, [R] reconstruction, [I] ours; evidence in docs/pgan.md):
* L is eq. 7's density itself [V]; it can exceed 1. `--peak-normalised` (ours) divides it by its
  peak (for K > 1 the mean-shift fixed point); in our runs that reading does not train.
* The GMM is fitted under no_grad: K = 1 in closed form, K > 1 by `--em-iters` log-space EM
  iterations warm-started from the last batch, variances floored at `--var-floor`. The G step
  refits it on its own pass's real embeddings [I].
* BN after every encoder layer [V]; real and fake pass the encoder as one batch, since apart each
  would be standardised alike and L could not tell them apart [I]. Layer -> BN -> LReLU, as
  Lasagne's batch_norm orders it [V] (`--layer-order act-bn` for the other).
* LReLU slope 0.6 on images, 0.2 on points [I]: the MNIST tables name none, and on MNIST the
  slope decides whether PGAN trains.
* `--generator-loss log` (ours): -log L(h(G(z))) for eq. 6. `--loss lsgan`: the LSGAN baseline,
  the same encoder and a linear unit on the bottleneck (no logits: its scores are unbounded).
* Networks: appendix A.1's [V] (`image_networks`), with 4x4 stride-2 kernels, PyTorch's init
  (`--init`) and no BN before G's sigmoid (`--output-bn`) [I]; z ~ N(0, I_100), Adam lr 1e-4 [V],
  beta1 0.5, batch 64 [I]. Points [I]: 2 x 128 MLPs, z ~ N(0, I_2), Adam 1e-3, batch 500, no BN
  (`--encoder-bn`). `--dataset star`: section 4.2's five rotated Gaussians (their sizes ours).
* An epoch is one pass over the images (`--epoch-steps`, 300 for mixtures); every statistic the
  paper plots per epoch is logged per epoch. `--freeze-generator` keeps G at its initialisation,
  BN statistics included (Fig. 2 right, 6); `--freeze-epochs K` frees it after K epochs (Fig. 5),
  `--freeze-after K` fixes it after K; a frozen G's gradient is logged, not applied. One D step
  (E and M), then `--g-steps` G steps (1 [I]).

Run:
    python pgan.py                          # the 2-D star of 5 rotated Gaussians, 3,000 steps (< 1 min CPU)
    python pgan.py --loss lsgan             # the LSGAN baseline, same networks
    python pgan.py --dataset mnist --data-dir ../shared/data/mnist-5k --steps 620   # Fig. 2, 10 epochs
    python benchmarks/pgan.py readings -- --data-dir ../shared/data/mnist-5k   # the readings, 5 seeds each
    python benchmarks/pgan.py table | toy | curves | gradients | probe   # ring/grid table; Fig. 4, 2, 5, 6
Report: docs/pgan.md (the verdict per setting, every table and picture and the command behind it).
"""
from __future__ import annotations

import argparse
import copy
import math
import os

import numpy as np
import torch
import torch.nn as nn

import common
import data as datasets
import metrics
import plots

PRESETS = {
    "points": dict(z_dim=2, batch=500, lr=1e-3, lrelu_slope=0.2),  # the authors' follow-up toy [I]
    "images": dict(z_dim=100, batch=64, lr=1e-4, lrelu_slope=0.6),  # lr 1e-4 [V]; the rest [I]
}


def build_parser() -> argparse.ArgumentParser:
    p = common.script_parser(__file__, __doc__)
    common.add_common_args(p, dataset="star", steps=3000, batch=None, evaluations="one epoch, --epoch-steps")
    g = p.add_argument_group("method")
    g.add_argument("--loss", default="pgan", choices=["pgan", "lsgan"], help="GMM likelihood (PGAN) or the LSGAN baseline")
    g.add_argument("--bottleneck", type=common.number(int, at_least=1), default=1, help="dimension of the embedding h (paper 1)")
    g.add_argument("--components", type=common.number(int, at_least=1), default=1, help="Gaussians K in the GMM (paper 1)")
    g.add_argument("--em-iters", type=common.number(int, at_least=1), default=5, help="warm-started EM iterations per batch when K > 1")
    g.add_argument("--var-floor", type=common.number(float, above=0), default=1e-4, help="lower bound of every fitted variance")
    g.add_argument("--generator-loss", default="ls", choices=["ls", "log"], help="G's loss: eq. 6 (ls) or -log L(h(G(z))) (ours)")
    g.add_argument("--lrelu-slope", type=common.number(float, at_least=0), default=None, help="negative slope of every LReLU (the MNIST table gives none)")
    g.add_argument("--g-steps", type=common.number(int, at_least=1), default=1, help="generator steps per iteration")
    g = p.add_argument_group("training")
    g.add_argument("--z-dim", type=common.number(int, at_least=1), default=None, help="latent dimension")
    g.add_argument("--lr", type=common.number(float, above=0), default=None, help="Adam learning rate (paper 1e-4 on images)")
    g.add_argument("--beta1", type=common.number(float, at_least=0, below=1), default=0.5, help="Adam's beta1 for both networks (Lasagne's default 0.9)")
    g.add_argument("--epoch-steps", type=common.number(int, at_least=1), default=None, help="steps per epoch, one evaluation each (images: one pass; points: 300)")
    g.add_argument("--freeze-generator", action="store_true", help="never update G (paper Fig. 2 right, Fig. 6)")
    g.add_argument("--freeze-epochs", type=common.number(int, at_least=0), default=0, help="update G only after this many epochs (Fig. 5: 10)")
    g.add_argument("--freeze-after", type=common.number(int, at_least=0), default=0, help="update G only in its first this many epochs (0: always; Fig. 6, ours)")
    g = p.add_argument_group("evaluation")
    g.add_argument("--eval-n", type=common.number(int, at_least=2), default=None, help="samples per evaluation (2,500 points, else 2,000)")
    g.add_argument("--hist-bins", type=common.number(int, at_least=1), default=40, help="bins of the real/fake bottleneck histograms")
    g = p.add_argument_group("readings the reports reject", "kept to reproduce a negative result of docs/pgan.md")
    g.add_argument("--peak-normalised", action="store_true", help="L = density / its peak (a reading of ours; it does not train)")
    g.add_argument("--layer-order", default="bn-act", choices=["bn-act", "act-bn"], help="'Layer (LReLu) + BN': BN then LReLU, or LReLU then BN")
    g.add_argument("--init", default="torch", choices=["torch", "glorot", "normal"], help="PyTorch's, Lasagne's Glorot, or N(0, 0.02) weights")
    g.add_argument("--encoder-bn", action="store_true", help="points: the appendix's 'Dense (LReLu) + BN' encoder rows")
    g.add_argument("--output-bn", action="store_true", help="the appendix's BN before G's sigmoid (literal form)")
    common.preset_help(p, PRESETS)
    return p


# ----------------------------------------------------------------------------- networks

def row(layer: nn.Module, width: int, args, norm=nn.BatchNorm1d) -> list[nn.Module]:
    """One row "Layer (..., LReLu) + BN" of the appendix's tables: Lasagne's batch_norm(layer) moves the
    layer's nonlinearity behind its BN, layer -> BN -> LReLU (`--layer-order bn-act`); `act-bn` swaps them."""
    act = nn.LeakyReLU(args.lrelu_slope)
    return [layer, norm(width), act] if args.layer_order == "bn-act" else [layer, act, norm(width)]


def image_networks(z: int, c: int, size: int, args) -> tuple[nn.Module, nn.Module]:
    """Appendix A.1, sigmoid output. MNIST (28x28): G z -> dense 1024 -> dense 128*7*7 -> deconv 64 ->
    deconv c; encoder conv 64 -> conv 128 -> dense 1024 -> dense bottleneck. 32x32 colour: the DCGAN-
    style pair, G z as 1x1 -> deconv 256 -> 128 -> 64 -> c; encoder conv 64 (no BN) -> 128 -> 256 -> 1
    (no BN), then the same dense head; its convolutions get N(0, 0.02) weights whatever `--init` says."""
    act, row2 = nn.LeakyReLU(args.lrelu_slope), lambda layer, width: row(layer, width, args, nn.BatchNorm2d)
    deconv, conv = (lambda a, b: nn.ConvTranspose2d(a, b, 4, 2, 1)), (lambda a, b: nn.Conv2d(a, b, 4, 2, 1))
    if size == 28:  # layers made in order, G before the encoder: the order PyTorch draws initial weights in
        g_head = [*row(nn.Linear(z, 1024), 1024, args), *row(nn.Linear(1024, 6272), 6272, args), nn.Unflatten(1, (128, 7, 7))]
    else:
        g_head = [nn.Unflatten(1, (z, 1, 1)), *row2(nn.ConvTranspose2d(z, 256, 4, 1, 0), 256), *row2(deconv(256, 128), 128)]
    generator = nn.Sequential(*g_head, *row2(deconv(128, 64), 64), deconv(64, c),
                              *([nn.BatchNorm2d(c)] if args.output_bn else []), nn.Sigmoid())
    if size == 28:
        e_head = [*row2(conv(c, 64), 64), *row2(conv(64, 128), 128)]
    else:
        e_head = [conv(c, 64), act, *row2(conv(64, 128), 128), *row2(conv(128, 256), 256), conv(256, 1), act]
    encoder = nn.Sequential(*e_head, nn.Flatten(), *row(nn.Linear(6272 if size == 28 else 4, 1024), 1024, args),
                            *row(nn.Linear(1024, args.bottleneck), args.bottleneck, args))
    return generator, encoder


def initialise(net: nn.Module, scheme: str, fixed: tuple = ()) -> None:
    """`--init`: PyTorch's default (torch), Lasagne's default Glorot-uniform weights with zero biases
    (glorot), or N(0, 0.02) weights with zero biases (normal); layer types in `fixed` get N(0, 0.02)."""
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) and (scheme != "torch" or isinstance(m, fixed)):
            if isinstance(m, fixed) or scheme == "normal":
                nn.init.normal_(m.weight, 0.0, 0.02)
            else:
                nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def build_networks(ds: datasets.Dataset, args, device) -> tuple[dict, dict]:
    """G and the encoder (G first: its initial weights come first), then the GMM (pgan) or the LSGAN
    unit on the bottleneck; Adam for G and for D (the encoder, and LSGAN's unit)."""
    if ds.kind == "points":
        nets, widths = {"G": common.mlp([args.z_dim, 128, 128, ds.shape[0]])}, [ds.shape[0], 128, 128, args.bottleneck]
        nets["encoder"] = (nn.Sequential(*[m for a, b in zip(widths, widths[1:]) for m in row(nn.Linear(a, b), b, args)])
                           if args.encoder_bn else common.mlp(widths, lambda: nn.LeakyReLU(args.lrelu_slope)))
    elif ds.shape[1:] in ((28, 28), (32, 32)):
        nets = dict(zip(("G", "encoder"), image_networks(args.z_dim, ds.shape[0], ds.shape[1], args)))
    else:
        raise common.UserError(f"pgan.py has the paper's networks for 28x28 and 32x32 images, not {ds.shape}")
    for net in nets.values():  # the 32x32 pair's convolutions: N(0, 0.02) whatever --init says
        initialise(net, args.init, (nn.Conv2d, nn.ConvTranspose2d) if ds.shape[1:] == (32, 32) else ())
    if args.loss == "pgan":
        nets["gmm"] = DiagonalGMM(args.components, args.bottleneck, args.var_floor, args.em_iters)
    else:
        nets["head"] = nn.Linear(args.bottleneck, 1)
    nets = {k: net.to(device) for k, net in nets.items()}
    d_params = [p for k in ("encoder", "head") if k in nets for p in nets[k].parameters()]  # the GMM has none
    return nets, {"G": torch.optim.Adam(nets["G"].parameters(), args.lr, betas=(args.beta1, 0.999)),
                  "D": torch.optim.Adam(d_params, args.lr, betas=(args.beta1, 0.999))}


# ----------------------------------------------------------------------------- the GMM on the bottleneck (the paper's idea)

class DiagonalGMM(nn.Module):
    """K Gaussians with diagonal covariances, *fitted* to real embeddings, never trained: the
    parameters are buffers, so no gradient can reach them and checkpoints carry them."""

    def __init__(self, components: int, dim: int, var_floor: float = 1e-4, em_iters: int = 5):
        super().__init__()
        self.var_floor, self.em_iters = var_floor, em_iters
        self.register_buffer("log_weights", torch.full((components,), -math.log(components)))
        self.register_buffer("means", torch.zeros(components, dim))
        self.register_buffer("variances", torch.ones(components, dim))
        self.register_buffer("fitted", torch.tensor(False))

    def component_log_density(self, h: torch.Tensor) -> torch.Tensor:
        """log N(h; mu_k, diag(sigma_k^2)) for every row of h and every k: (n, K)."""
        diff = h[:, None, :] - self.means
        return -0.5 * (diff ** 2 / self.variances + torch.log(2 * math.pi * self.variances)).sum(-1)

    def log_density(self, h: torch.Tensor) -> torch.Tensor:
        """log sum_k pi_k N(h; mu_k, Sigma_k) (eq. 7)."""
        return (self.component_log_density(h) + self.log_weights).logsumexp(1)

    @torch.no_grad()
    def fit(self, h: torch.Tensor) -> None:
        """The E step of the paper's EM view: maximum likelihood on the real embeddings h (n, d)."""
        h = h.detach().float()
        if len(self.means) == 1:  # closed form
            self.means.copy_(h.mean(0, keepdim=True))
            self.variances.copy_(h.var(0, unbiased=False, keepdim=True).clamp_min(self.var_floor))
        elif not self.fitted:  # spread the means over the sorted first coordinate, shared variance
            order = h[:, 0].argsort()
            self.means.copy_(h[order[((torch.arange(len(self.means)) + 0.5) * len(h) / len(self.means)).long()]])
            self.variances.copy_(h.var(0, unbiased=False).clamp_min(self.var_floor).expand_as(self.variances))
        for _ in range(self.em_iters if len(self.means) > 1 else 0):  # K > 1: EM, warm-started from the last fit
            log_r = self.component_log_density(h) + self.log_weights
            r = (log_r - log_r.logsumexp(1, keepdim=True)).exp()  # responsibilities (n, K)
            nk = r.sum(0) + 1e-10
            self.log_weights.copy_((nk / len(h)).log())
            self.means.copy_(r.T @ h / nk[:, None])
            self.variances.copy_((r.T @ h ** 2 / nk[:, None] - self.means ** 2).clamp_min(self.var_floor))
        self.fitted.fill_(True)

    @torch.no_grad()
    def log_peak(self, iterations: int = 30) -> torch.Tensor:
        """log max_h of the mixture density. K = 1: -1/2 sum_d log(2 pi sigma_d^2). K > 1: the GMM
        mean-shift fixed point h <- (sum_k r_k Lambda_k)^-1 sum_k r_k Lambda_k mu_k from every mean."""
        if len(self.means) == 1:
            return -0.5 * torch.log(2 * math.pi * self.variances).sum()
        h, precision = self.means.clone(), 1 / self.variances
        for _ in range(iterations):
            log_r = self.component_log_density(h) + self.log_weights
            r = (log_r - log_r.logsumexp(1, keepdim=True)).exp()[:, :, None] * precision  # (starts, K, d)
            h = (r * self.means).sum(1) / r.sum(1)
        return torch.maximum(self.log_density(h).max(), self.log_density(self.means).max())

    def log_likelihood(self, h: torch.Tensor, peak_normalised: bool = False) -> torch.Tensor:
        """log L(h): eq. 7's log density, or (`peak_normalised`) that minus the log of its peak, L in (0, 1];
        not clamped: where the peak search falls short L exceeds 1 a little and keeps its gradient."""
        log_p = self.log_density(h)
        return log_p - self.log_peak() if peak_normalised else log_p


def scores(nets: dict, h_real: torch.Tensor, h_fake: torch.Tensor, peak_normalised: bool = False):
    """PGAN: fit the GMM to h_real (E step), then L(h) of both with the fitted parameters as
    constants. LSGAN: the linear unit D(x) on the bottleneck."""
    if "gmm" in nets:
        nets["gmm"].fit(h_real)
        return nets["gmm"].log_likelihood(h_real, peak_normalised).exp(), nets["gmm"].log_likelihood(h_fake, peak_normalised).exp()
    return nets["head"](h_real).squeeze(1), nets["head"](h_fake).squeeze(1)


# ----------------------------------------------------------------------------- losses

def discriminator_loss(score_real: torch.Tensor, score_fake: torch.Tensor) -> torch.Tensor:
    """Eq. (5), reconstructed: L_D = 1/2 E_x[(L(h(x)) - 1)^2] + 1/2 E_z[L(h(G(z)))^2]
    (LSGAN: D(x) in place of L(h(x)))."""
    return 0.5 * ((score_real - 1) ** 2).mean() + 0.5 * (score_fake ** 2).mean()


def generator_loss(score_fake: torch.Tensor) -> torch.Tensor:
    """Eq. (6), reconstructed: L_G = 1/2 E_z[(L(h(G(z))) - 1)^2]."""
    return 0.5 * ((score_fake - 1) ** 2).mean()


def generator_log_loss(log_likelihood_fake: torch.Tensor) -> torch.Tensor:
    """`--generator-loss log` (ours, not the paper's): -E_z[log L(h(G(z)))], for one Gaussian
    1/2 E_z[sum_d (h_d - mu_d)^2 / sigma_d^2]. Its gradient does not vanish where L underflows."""
    return -log_likelihood_fake.mean()


# ----------------------------------------------------------------------------- one training step

def embed_pair(encoder: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """h(x), h(G(z)) from one pass of the concatenated batch: BatchNorm sees both with one set of statistics."""
    h = encoder(torch.cat([real, fake]))
    return h[:len(real)], h[len(real):]


def gradient_stats(params, who: str) -> dict:
    """grad_<who>_mean, _var and _norm over all the gradients of `params` (the paper's Fig. 5)."""
    g = torch.cat([p.grad.flatten() for p in params if p.grad is not None])
    return {f"grad_{who}_mean": g.mean(), f"grad_{who}_var": g.var(), f"grad_{who}_norm": g.norm()}


def generator_updated(args, step: int) -> bool:
    """False while G is frozen: --freeze-generator, the first --freeze-epochs, after --freeze-after."""
    return (not args.freeze_generator and step > args.freeze_epochs * args.epoch_steps
            and not 0 < args.freeze_after * args.epoch_steps < step)


def train_step(nets: dict, opts: dict, batch: torch.Tensor, args, rng: dict, step: int) -> dict:
    """One D step (E: fit the GMM; M: update the encoder), then `--g-steps` G steps, the first on the D
    step's samples; a frozen G gets one gradient, for the statistics, not applied."""
    G, encoder, z_gen, update_generator = nets["G"], nets["encoder"], rng["z"], generator_updated(args, step)

    def generate(n: int) -> torch.Tensor:
        z = torch.randn(n, args.z_dim, generator=z_gen, device=batch.device)
        if update_generator:
            return G(z)
        # frozen: BN updates copies of its running statistics, so G stays as built (Lasagne updates them in G's step only)
        return torch.func.functional_call(G, {**dict(G.named_parameters()), **{k: b.clone() for k, b in G.named_buffers()}}, (z,))

    fake = generate(len(batch))
    score_real, score_fake = scores(nets, *embed_pair(encoder, batch, fake.detach()), args.peak_normalised)
    loss_d = discriminator_loss(score_real, score_fake)
    opts["D"].zero_grad(set_to_none=True)
    loss_d.backward()
    grad_d = gradient_stats(opts["D"].param_groups[0]["params"], "d")
    opts["D"].step()
    for i in range(args.g_steps if update_generator else 1):
        h_real, h_fake = embed_pair(encoder, batch, fake if i == 0 else generate(len(batch)))
        if args.generator_loss == "log":
            nets["gmm"].fit(h_real)
            loss_g = generator_log_loss(nets["gmm"].log_likelihood(h_fake, args.peak_normalised))
        else:
            loss_g = generator_loss(scores(nets, h_real, h_fake, args.peak_normalised)[1])  # GMM refit on the new encoder
        opts["G"].zero_grad(set_to_none=True)
        loss_g.backward()
        grad_g = gradient_stats(G.parameters(), "g")
        if update_generator:
            opts["G"].step()
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "score_real": score_real.detach().mean(),  # logged as train_*
            "score_fake": score_fake.detach().mean(), **grad_d, **grad_g}


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def discriminator_view(nets: dict, real: torch.Tensor, x: torch.Tensor, args) -> tuple[torch.Tensor, ...]:
    """Eval-mode embeddings and `scores` of the real set and of x (PGAN: a copy of the GMM, refitted
    on the real embeddings, so that training's warm start is kept): h_real, score_real, h, score."""
    encoder = nets["encoder"].eval()
    h_real, h = (torch.cat([encoder(t[i:i + 1000]) for i in range(0, len(t), 1000)]) for t in (real, x))
    score_real, score = scores({**nets, "gmm": copy.deepcopy(nets["gmm"])} if "gmm" in nets else nets, h_real, h, args.peak_normalised)
    encoder.train()
    return h_real, score_real, h, score


def embedding_histogram(h_real: torch.Tensor, h_fake: torch.Tensor, bins: int) -> dict:
    """Histograms of real and fake bottleneck activations on shared bins (a d > 1 bottleneck is
    projected on the line through the two means) and their overlap sum_b min(p_real, p_fake)."""
    a, b = h_real.cpu().double(), h_fake.cpu().double()  # MPS has no float64
    if a.shape[1] > 1:
        direction = a.mean(0) - b.mean(0)
        a, b = (t @ (direction / direction.norm().clamp_min(1e-12)) for t in (a, b))
    a, b = a.flatten().numpy(), b.flatten().numpy()
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-6, bins + 1)
    p_real, p_fake = np.histogram(a, edges)[0] / len(a), np.histogram(b, edges)[0] / len(b)
    return {"hist_edges": edges.tolist(), "hist_real": p_real.tolist(), "hist_fake": p_fake.tolist(),
            "overlap": float(np.minimum(p_real, p_fake).sum())}


def evaluate(nets: dict, run: common.Run, args) -> tuple[dict, np.ndarray]:
    """Scores of held-out reals and eval_n samples (same noise each time), bottleneck histograms, the data's numbers."""
    ds, device, to_model = run.ds, run.device, run.to_model
    gen = torch.Generator(device).manual_seed(args.seed + 10_000)
    fake = common.sample_in_chunks(nets["G"], args.eval_n, args.batch, lambda i, m: (torch.randn(m, args.z_dim, generator=gen, device=device),))
    real = (to_model(torch.as_tensor(run.reference.real)) if ds.kind == "points"
            else to_model(ds.test_images[:args.eval_n].float())).to(device)
    h_real, s_real, h_fake, s_fake = discriminator_view(nets, real, fake, args)
    result = {"score_real": float(s_real.mean()), "score_fake": float(s_fake.mean()),
              **embedding_histogram(h_real, h_fake, args.hist_bins)}
    samples = run.from_model(fake.cpu())
    if ds.kind == "points":
        return {**result, **metrics.point_scores(samples.numpy(), ds, run.reference)}, samples.numpy()
    images = samples.clamp(*ds.value_range)
    if run.classifier is not None:
        result.update(metrics.class_histogram(run.classifier, metrics.to_unit_range(images)))
    return result, (images.round().to(torch.uint8) if ds.integer else images).numpy()


def write_snapshot(path: str, samples: np.ndarray, ds, args, step: int, size: int = 240) -> None:
    """The samples of one evaluation: their density (points) or (size // 60)^2 images shown twice as large."""
    if ds.kind == "points" and samples.shape[1] < 2:  # 1-D points have no plane to draw
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    side = max(1, size // 60)
    picture = plots.samples_picture(ds, samples[:, :2] if ds.kind == "points" else samples[:side * side],
                                    f"{args.loss}, {args.dataset}, step {step}", nrow=side, size=size)
    plots.write_png(path, picture if ds.kind == "points" else picture.repeat(2, 0).repeat(2, 1))


def write_landscape(nets, run: common.Run, args, samples: np.ndarray, res: int = 160) -> None:
    """Fig. 4: the discriminator's score over the plane (PGAN: L(h(x)); LSGAN: D(x) clipped to
    [0, 1]), real points white, generated points red; the values go to landscape.npy."""
    extent, real = plots.plot_extent(run.ds), run.reference.real
    plane = torch.as_tensor(plots.plane_grid(extent, res)).to(run.device)
    values = discriminator_view(nets, torch.as_tensor(real, dtype=torch.float32).to(run.device), plane, args)[3]
    values = values.clamp(0, 1).reshape(res, res).cpu().numpy()
    np.save(os.path.join(run.dir, "landscape.npy"), values)
    plots.write_png(os.path.join(run.dir, "landscape.png"), plots.scalar_map(
        values, extent, f"{args.loss}: D over the plane", marks=real[:500], marks2=samples[:500],
        colorbar="L(h(x))" if args.loss == "pgan" else "D(x), clipped", legend=[((255, 255, 255), "real"), ((230, 30, 30), "generated")]))


def write_pictures(run: common.Run, args, samples: np.ndarray) -> None:
    """samples.png, landscape.png (Fig. 4, 2-D points), likelihood.png (scores per epoch above the
    samples of four epochs), hist.png (bottleneck histograms of real and fake at those epochs),
    gradients.png (mean, variance, norm of G's and D's gradients per epoch), class_hist.png."""
    nets, ds, rows = run.nets, run.ds, common.MetricsLog.read(os.path.join(run.dir, "metrics.jsonl"))
    picture = lambda name, pixels: plots.write_png(os.path.join(run.dir, name), pixels)  # noqa: E731
    write_snapshot(os.path.join(run.dir, "samples.png"), samples, ds, args, args.steps, size=480)
    if ds.kind == "points" and ds.shape == (2,):
        write_landscape(nets, run, args, samples)
    plots.write_run_pictures(run, rows, None, args.loss)  # mode_hist.png, curves.png, class_hist.png
    if not rows:
        return
    epochs, name = [r["epoch"] for r in rows], "likelihood L(h)" if args.loss == "pgan" else "D(x)"
    picked = [rows[i] for i in sorted({int(i) for i in np.linspace(0, len(rows) - 1, min(4, len(rows)))})]
    plot = plots.line_plot({who: (epochs, [r[f"score_{who}"] for r in rows]) for who in ("real", "fake")},
                           f"{args.loss} on {args.dataset}: {name}", "epoch", name, size=(720, 400))
    shots = [(path, f"epoch {r['epoch']:g}") for r in picked
             if os.path.isfile(path := os.path.join(run.dir, "snapshots", f"step-{r['step']:07d}.png"))]
    if shots:  # the curve above the samples of the chosen epochs
        plot = plots.tile([plot, plots.tile([p for p, _ in shots], len(shots), [c for _, c in shots])], 1)
    picture("likelihood.png", plot)
    mid = lambda edges: list((np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2)  # noqa: E731
    picture("hist.png", plots.tile([plots.line_plot(
        {who: (mid(r["hist_edges"]), r[f"hist_{who}"]) for who in ("real", "fake")},
        f"epoch {r['epoch']:g}, overlap {r['overlap']:.2f}", "h", "share", size=(480, 320)) for r in picked], len(picked)))
    log10 = lambda v: math.log10(max(v, 1e-30))  # noqa: E731  (variance and norm on a log scale)
    picture("gradients.png", plots.tile([plots.line_plot(
        {who: (epochs, [f(r[f"train_grad_{who.lower()}_{stat}"]) for r in rows]) for who in ("G", "D")},
        f"{args.loss}: gradient {stat}", "epoch", label, size=(480, 320))
        for stat, f, label in (("mean", float, "mean"), ("var", log10, "log10 var"), ("norm", log10, "log10 norm"))], 3))


# ----------------------------------------------------------------------------- main

def apply_presets(args, ds) -> None:
    """The paper's settings for the data family, wherever a flag was not given; epochs and cadences."""
    common.apply_presets(args, PRESETS[ds.kind])
    args.eval_n = args.eval_n or (2500 if ds.kind == "points" else 2000)
    args.epoch_steps = args.epoch_steps or (300 if ds.kind == "points" else max(1, ds.size // max(1, args.batch)))
    common.require({**{f"--{name.replace('_', '-')}": (getattr(args, name) >= low, f">= {low}") for name, low in (
        ("bottleneck", 1), ("components", 1), ("epoch_steps", 1), ("g_steps", 1), ("freeze_epochs", 0),
        ("freeze_after", 0), ("em_iters", 1), ("hist_bins", 1))}, "--var-floor": (args.var_floor > 0, "> 0"),
        "--generator-loss log": (args.generator_loss == "ls" or args.loss == "pgan", "used with --loss pgan (it needs the GMM)")})
    args.eval_every = args.epoch_steps if args.eval_every is None else args.eval_every
    if args.ckpt_every is None:  # at epoch ends
        args.ckpt_every = args.eval_every * max(1, args.steps // 10 // max(1, args.eval_every))
    if ds.kind == "images" and ds.test_images is None:  # a user's images: held-out reals drawn from the set
        ds.test_images = ds.sample(args.eval_n, torch.Generator().manual_seed(args.seed + 20_000))


def model_units(ds: datasets.Dataset) -> tuple:
    """The data's map into the model's units: images into [0, 1], where G's sigmoid output lives
    (the affine map into [-1, 1], then (x + 1) / 2); points as every script maps them."""
    center, scale, to_model, from_model = ds.model_maps()
    if ds.kind != "images":
        return center, scale, to_model, from_model
    print("images: x_model = (affine map + 1) / 2, into the sigmoid's [0, 1]")
    return center, scale, (lambda x: (to_model(x) + 1) / 2), (lambda y: from_model(2 * y - 1))


def main(argv=None) -> dict:
    args = common.parse_args(build_parser(), argv)
    ds = datasets.load_dataset(args.dataset, args.data_dir, args.centers)
    apply_presets(args, ds)
    with common.Run(args, ds, model_units(ds)) as run:
        rng = run.generators()
        nets, opts = build_networks(ds, args, run.device)
        for step in run.start(nets, opts, rng):
            losses = train_step(nets, opts, run.batch(rng), args, rng, step)
            evaluated = run.step_done(step, losses, lambda: evaluate(nets, run, args), row=lambda: {
                "epoch": round(step / args.epoch_steps, 3), "generator_updated": generator_updated(args, step)})
            if evaluated:
                write_snapshot(os.path.join(run.dir, "snapshots", f"step-{step:07d}.png"), evaluated[1], ds, args, step)
        samples = run.end(lambda: evaluate(nets, run, args))
        write_pictures(run, args, samples)
        return run.finish(loss=args.loss, dataset=args.dataset)


if __name__ == "__main__":
    common.run_main(main)
