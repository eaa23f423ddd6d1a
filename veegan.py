"""VEEGAN: a reconstructor network and a noise autoencoder against mode collapse.

Srivastava, Valkov, Russell, Gutmann & Sutton, "VEEGAN: Reducing Mode Collapse in GANs using
Implicit Variational Learning", NIPS 2017 (arXiv 1705.07761). Generator G: z -> x, reconstructor
F: x -> z with p_theta(z|x) = N(F(x), I), discriminator D(z, x) on joint pairs (a logit). The
generator and the reconstructor minimise the estimate of the paper's bound

    O^(omega, gamma, theta) = 1/N sum_i D_omega(z^i, x_g^i) + 1/N sum_i d(z^i, F_theta(x_g^i)),

d the l2 autoencoder loss on the noise, while D minimises the log-ratio loss

    O_LR = -E_gamma[log sigma(D(z, x))] - E_theta[log(1 - sigma(D(z, x)))]

over generator pairs (z, G(z)) and reconstructor pairs (z_g ~ p_theta(z|x), x ~ data).
Algorithm 1: one D step and one G/F step per iteration, simultaneous, on the same samples; F gets
only the autoencoder gradient.

`--method ali` is a true ALI/BiGAN arm with the same networks: the encoder F is trained
adversarially so that (F(x) + noise, x) looks like a generator pair, and there is no autoencoder.
(VEEGAN with `--recon-weight 0` is not ALI: F gets no gradient at all and stays random.)
`--method gan` is the plain GAN of the same G with a D on x alone. `--method unrolled` is the
Unrolled GAN of Metz et al. (ICLR 2017), VEEGAN's third baseline, with that same G and D: G minimises
its loss against D's parameters after K simulated steps of D's own optimiser,

    f_K(theta_G, theta_D) = f(theta_G, theta_D^K(theta_G, theta_D)),
    theta_D^{k+1} = theta_D^k + eta^k(theta_D^k, dL/dtheta_D^k)                    (eqs. 4-6)

differentiated through all K steps, while D takes one ordinary step. As in the official demo, the K
steps are Adam's (its moments and step count carried along), on the same minibatch; K = 5. f is our
GAN arm's non-saturating -log D(G(z)), so that the arms differ in the unrolling alone; the demo's G
maximises D's whole loss at theta_D^K (the minimax form, `--unrolled-minimax`).

Settings and their sources ([V] read in the official notebook / PacGAN's code, [I] ours):
* Points [V notebook]: z ~ N(0, I_254) plus one extra N(0, 1) input epsilon fed to G only and not
  reconstructed; G and F two hidden layers of 128 ReLU, linear outputs; D one hidden layer of 128
  ReLU on concat(z, x); F's output is the mean of N(F(x), I), so z_g = F(x) + N(0, I); d = half
  the squared error summed over z's dimensions (the Gaussian's negative log-likelihood), weight 1;
  Adam lr 1e-3, beta1 0.5; batch 500. The notebook trains 100,000 iterations; our default is
  shorter (below) and docs/veegan.md gives the length of every reported run. Initialisation is
  PyTorch's default (uniform, scaled by fan-in, biases too) [I]; the notebook's is TF-slim's,
  Glorot-uniform weights and zero biases (`--init glorot`; docs/veegan.md: it does not change the slow start).
* Images: DCGAN networks (5x5, stride 2), z 100 + epsilon, Adam 2e-4, beta1 0.5, batch 64 [V: PacGAN's
  stacked-MNIST DCGAN, with which PacGAN ran VEEGAN's protocol; not a configuration of VEEGAN's own];
  F a DCGAN encoder; D(z, x) = MLP(concat(conv features of x, z)) [I:
  the paper's image networks live in its appendix, which no available source reproduces].
* The plain GAN uses the standard non-saturating loss -log sigma(D(G(z))) [I]; ALI the non-saturating
  form of its adversarial game for both G and F [I, as in Dumoulin et al.'s code].
* Data: built-in mixtures are trained in the paper's units (the generator's output is linear);
  `--standardise` maps them, as a user's points always are, by the affine map printed at start
  (per-coordinate centre, one scale, so distances keep their shape); images into [-1, 1]. On the
  1200-D set standardising steadies D but every arm ends on fewer modes (docs/veegan.md), so it is off.
* Evaluation (VEEGAN protocol): 2,500 samples, nearest mode, high quality within 3 sigma (2-D) or
  10 sigma (1200-D), modes = nearest modes of >= 1 high-quality sample, averaged over 5 runs. In
  1200-D the 10-sigma rule fails even for real data (0 %), so a calibrated share (the radius that
  holds 99.9 % of a mode's own samples) is reported beside it, with real data's own scores.
  Stacked MNIST: 26,000 samples, each channel judged by the MNIST classifier, KL to uniform over
  1,000. CIFAR-10: IvOM, the mean squared error of the best G(z) for real test images.

Run:
    python veegan.py                                   # ring, VEEGAN, 8,000 iterations (~2 min on CPU)
    python veegan.py --dataset grid --method ali
    python veegan.py --method unrolled                 # the Unrolled GAN of the same networks, K = 5
    python veegan.py --dataset hd --steps 20000
    python veegan.py --dataset stacked-mnist --data-dir ../shared/data/mnist-5k --steps 2000
    python veegan.py --dataset cifar10 --steps 50000   # GPU; IvOM on 100 test images at the end
    python benchmarks/veegan.py --steps 20000          # Table 1: ring, grid, hd x 3 methods x 5 seeds
    python benchmarks/veegan.py --datasets ring --steps 100000 --extend 20000   # the notebook's length
Report: docs/veegan.md (the verdict per setting, every table and the command behind it).
"""
from __future__ import annotations

import argparse
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
    "points": dict(z_dim=254, batch=500, lr=1e-3, hidden=128),  # official notebook [V]
    "images": dict(z_dim=100, batch=64, lr=2e-4, hidden=512),  # PacGAN's stacked-MNIST DCGAN [V]; hidden [I]
}
BETA1 = 0.5  # [V] notebook and PacGAN
PLAIN = ("gan", "unrolled")  # the methods with a D on x alone and no reconstructor


def build_parser() -> argparse.ArgumentParser:
    p = common.script_parser(__file__, __doc__)
    common.add_common_args(p, dataset="ring", steps=8000, batch=None)
    g = p.add_argument_group("method")
    g.add_argument("--method", default="veegan", choices=["veegan", "ali", "gan", "unrolled"],
                   help="VEEGAN, ALI/BiGAN (adversarial encoder), the plain GAN of the same G, or the Unrolled GAN")
    g.add_argument("--unroll-steps", type=common.number(int, at_least=0), default=5, help="Unrolled GAN: simulated D steps K (Metz et al. 5)")
    g.add_argument("--unrolled-minimax", action="store_true",
                   help="Unrolled GAN: G maximises D's loss at theta_D^K, as the official demo (default: -log D(G(z)))")
    g.add_argument("--recon-weight", type=common.number(float, at_least=0), default=1.0, help="weight of the noise autoencoder term d (paper 1)")
    g.add_argument("--extra-noise", type=common.number(int, at_least=0), default=1, help="extra noise inputs of G that are not reconstructed (paper 1)")
    g = p.add_argument_group("training")
    g.add_argument("--z-dim", type=common.number(int, at_least=1), default=None, help="latent dimension")
    g.add_argument("--hidden", type=common.number(int, at_least=1), default=None, help="hidden units of the MLPs (points) / of D's head (images)")
    g.add_argument("--lr", type=common.number(float, above=0), default=None, help="Adam learning rate of every network")
    g = p.add_argument_group("evaluation")
    g.add_argument("--eval-n", type=common.number(int, at_least=2), default=None, help="samples per evaluation (2,500 points, 26,000 stacked MNIST, else 2,000)")
    g.add_argument("--ivom-n", type=common.number(int, at_least=0), default=None, help="test images for IvOM at the end (100 for cifar10, else 0)")
    g.add_argument("--ivom-steps", type=common.number(int, at_least=1), default=200, help="Adam steps on z per IvOM restart")
    g.add_argument("--ivom-restarts", type=common.number(int, at_least=1), default=3, help="random starts per test image; the best counts")
    g = p.add_argument_group("readings the reports reject", "kept to reproduce a negative result of docs/veegan.md")
    g.add_argument("--init", default="torch", choices=["torch", "glorot"],
                   help="point MLPs: PyTorch's default, or the notebook's Glorot weights and zero biases")
    g.add_argument("--standardise", action="store_true",
                   help="train a built-in mixture through the affine map user points get (default: the paper's units)")
    common.preset_help(p, PRESETS)
    return p


# ----------------------------------------------------------------------------- networks

class JointDiscriminator(nn.Module):
    """D(z, x): a logit on the pair. Points: MLP on concat(z, x); images: conv features of x, then concat z."""

    def __init__(self, x_features: nn.Module, feature_dim: int, z_dim: int, hidden: int, activation=nn.ReLU):
        super().__init__()
        self.x_features = x_features
        self.head = common.mlp([feature_dim + z_dim, hidden, 1], activation)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([z, self.x_features(x)], 1)).flatten()


def glorot_init(net: nn.Module) -> None:
    """The notebook's initialisation (TF-slim's default): Glorot-uniform weights, zero biases."""
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def build_networks(ds: datasets.Dataset, args, device) -> tuple[dict, dict]:
    """G([z, epsilon]) -> x, F(x) -> mean of p(z|x) (None for the plain GAN), D (joint, or on x for the
    GAN); Adam for D, and one Adam for G and F together (they minimise one objective)."""
    G, F_, D = (net.to(device) if net is not None else None for net in make_networks(args.method, ds, args))
    gf_params = list(G.parameters()) + (list(F_.parameters()) if F_ is not None else [])
    return {"G": G, "F": F_, "D": D}, {"gf": torch.optim.Adam(gf_params, args.lr, betas=(BETA1, 0.999)),
                                       "d": torch.optim.Adam(D.parameters(), args.lr, betas=(BETA1, 0.999))}


def make_networks(method: str, ds: datasets.Dataset, args) -> tuple[nn.Module, nn.Module | None, nn.Module]:
    g_in, h = args.z_dim + args.extra_noise, args.hidden
    if ds.kind == "points":
        d = ds.shape[0]
        G = common.mlp([g_in, h, h, d])
        F_ = common.mlp([d, h, h, args.z_dim])
        D = JointDiscriminator(nn.Identity(), d, args.z_dim, h) if method not in PLAIN else common.mlp([d, h, 1])
        for net in (G, F_, D) if args.init == "glorot" else ():
            glorot_init(net)
        return G, (None if method in PLAIN else F_), D
    c, size = ds.shape[0], common.dcgan_size(ds.shape)
    G = common.dcgan_generator(g_in, c, size)
    F_ = common.dcgan_discriminator(c, size, outputs=args.z_dim)
    if method in PLAIN:
        D = common.dcgan_discriminator(c, size)
    else:
        D = JointDiscriminator(common.dcgan_discriminator(c, size, outputs=h), h, args.z_dim, h, lambda: nn.LeakyReLU(0.2))
    for net in (G, F_, D):
        net.apply(common.dcgan_init)
    return G, (None if method in PLAIN else F_), D


def sample_noise(n: int, args, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """z ~ N(0, I_k) (reconstructed) and epsilon ~ N(0, I) (fed to G only)."""
    z = torch.randn(n, args.z_dim, generator=gen, device=gen.device)
    return z, torch.randn(n, args.extra_noise, generator=gen, device=gen.device)


def generate(G: nn.Module, z: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return G(torch.cat([z, eps], 1))


def reconstructor_sample(F_: nn.Module, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """z_g ~ p_theta(z|x) = N(F_theta(x), I)."""
    mean = F_(x)
    return mean + torch.randn(mean.shape, generator=gen, device=gen.device)


# ----------------------------------------------------------------------------- losses (the paper's idea: noise autoencoding)

def discriminator_loss(d_ones: torch.Tensor, d_zeros: torch.Tensor) -> torch.Tensor:
    """O_LR = -E_gamma[log sigma(D(z, x))] - E_theta[log(1 - sigma(D(z, x)))], the logits of what D
    labels 1 first (VEEGAN: the generator pairs; a plain GAN: real data), then of what it labels 0
    (the reconstructor pairs; generated data); softplus form: -log sigma(t) = softplus(-t)."""
    return F.softplus(-d_ones).mean() + F.softplus(d_zeros).mean()


def noise_reconstruction(z: torch.Tensor, z_reconstructed: torch.Tensor) -> torch.Tensor:
    """d(z^i, x_g^i) = -log N(z; F(G(z)), I) + const = 1/2 ||z - F_theta(G_gamma(z))||^2, summed over z's dims."""
    return 0.5 * ((z - z_reconstructed) ** 2).sum(1).mean()


def veegan_loss(d_generator_pairs: torch.Tensor, reconstruction: torch.Tensor, weight: float) -> torch.Tensor:
    """O^ = 1/N sum_i D_omega(z^i, x_g^i) + 1/N sum_i d(z^i, x_g^i): the raw logit, not a cross-entropy."""
    return d_generator_pairs.mean() + weight * reconstruction


def ali_loss(d_generator_pairs: torch.Tensor, d_reconstructor_pairs: torch.Tensor) -> torch.Tensor:
    """ALI/BiGAN with labels swapped (non-saturating): G and F make each kind of pair look like the
    other, -E[log(1 - sigma(D(z, G(z))))] - E[log sigma(D(F(x) + noise, x))]."""
    return F.softplus(d_generator_pairs).mean() + F.softplus(-d_reconstructor_pairs).mean()


def unrolled_generator_loss(D: nn.Module, opt_d: torch.optim.Adam, real: torch.Tensor, fake: torch.Tensor,
                            steps: int, minimax: bool = False) -> torch.Tensor:
    """f_K = -log sigma(D(G(z); theta_D^K)) (minimax: minus D's loss at theta_D^K, whose real-data term
    depends on G through theta_D^K), theta_D^K after K Adam steps on D's loss from theta_D and
    Adam's current state, each gradient kept in the graph (create_graph) so that G's gradient runs
    through all K steps. K = 0 is the plain GAN's loss. D's buffers are copied: the simulation leaves
    D as it was."""
    names = [name for name, _ in D.named_parameters()]
    theta = [p for _, p in D.named_parameters()]
    buffers = {name: b.clone() for name, b in D.named_buffers()}
    group = opt_d.param_groups[0]
    lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
    state = [opt_d.state.get(p, {}) for p in theta]
    m = [s["exp_avg"] if s else torch.zeros_like(p) for s, p in zip(state, theta)]
    v = [s["exp_avg_sq"] if s else torch.zeros_like(p) for s, p in zip(state, theta)]
    t = float(state[0]["step"]) if state[0] else 0.0

    def logits(params, x):
        return torch.func.functional_call(D, {**dict(zip(names, params)), **buffers}, (x,)).flatten()

    for _ in range(steps):
        grads = torch.autograd.grad(discriminator_loss(logits(theta, real), logits(theta, fake)), theta, create_graph=True)
        t += 1
        m = [beta1 * m_i + (1 - beta1) * g for m_i, g in zip(m, grads)]
        v = [beta2 * v_i + (1 - beta2) * g * g for v_i, g in zip(v, grads)]
        # torch.optim.Adam's update; the clamp keeps sqrt's derivative finite where a gradient is exactly 0
        theta = [p - lr / (1 - beta1 ** t) * m_i / (v_i.clamp_min(1e-30).sqrt() / math.sqrt(1 - beta2 ** t) + eps)
                 for p, m_i, v_i in zip(theta, m, v)]
    if minimax:
        return -discriminator_loss(logits(theta, real), logits(theta, fake))
    return F.softplus(-logits(theta, fake)).mean()


# ----------------------------------------------------------------------------- one training step

def train_step(nets: dict, opts: dict, batch: torch.Tensor, args, rng: dict, step: int) -> dict:
    """One simultaneous D and G/F update on the same samples (Algorithm 1): both gradients are taken
    at the current parameters, then both optimisers step."""
    G, F_, D, real = nets["G"], nets["F"], nets["D"], batch
    z, eps = sample_noise(len(real), args, rng["z"])
    fake = generate(G, z, eps)
    reconstruction = torch.zeros((), device=real.device)
    if args.method in PLAIN:
        d_fake, d_real = D(fake).flatten(), D(real).flatten()
        loss_d = discriminator_loss(d_real, d_fake)
        loss_gf = (F.softplus(-d_fake).mean() if args.method == "gan"
                   else unrolled_generator_loss(D, opts["d"], real, fake, args.unroll_steps, args.unrolled_minimax))
    else:
        d_generator_pairs = D(z, fake)
        with torch.set_grad_enabled(args.method == "ali"):  # VEEGAN's F gets no gradient from D's game
            z_reconstructed = reconstructor_sample(F_, real, rng["z"])
        d_reconstructor_pairs = D(z_reconstructed, real)
        loss_d = discriminator_loss(d_generator_pairs, d_reconstructor_pairs)
        if args.method == "veegan":
            reconstruction = noise_reconstruction(z, F_(fake))
            loss_gf = veegan_loss(d_generator_pairs, reconstruction, args.recon_weight)
        else:
            loss_gf = ali_loss(d_generator_pairs, d_reconstructor_pairs)
    d_params = list(D.parameters())
    gf_params = list(G.parameters()) + (list(F_.parameters()) if F_ is not None else [])
    grads_d = torch.autograd.grad(loss_d, d_params, retain_graph=True)
    grads_gf = torch.autograd.grad(loss_gf, gf_params, allow_unused=True)  # F unused when the AE weight is 0
    for params, grads in ((d_params, grads_d), (gf_params, grads_gf)):
        for p, g in zip(params, grads):
            p.grad = g
    opts["d"].step()
    opts["gf"].step()
    return {"loss_d": loss_d.detach(), "loss_g": loss_gf.detach(), "recon": reconstruction.detach()}


# ----------------------------------------------------------------------------- evaluation

def evaluate(nets: dict, run: common.Run, args) -> tuple[dict, np.ndarray]:
    """The protocol's numbers on eval_n samples, in the data's units, from the same noise every time."""
    ds, reference, classifier = run.ds, run.reference, run.classifier
    gen = torch.Generator(run.device).manual_seed(args.seed + 10_000)
    samples = run.from_model(common.sample_in_chunks(nets["G"], args.eval_n, args.batch,
                                                     lambda i, m: (torch.cat(sample_noise(m, args, gen), 1),)).cpu())
    if ds.kind == "points":
        return metrics.point_scores(samples.numpy(), ds, reference), samples.numpy()
    images = samples.clamp(0, 255).round()
    result = {}
    if ds.stack_index is not None:
        result = metrics.stacked_histogram(classifier, metrics.to_unit_range(images))
        result["classifier_accuracy"] = args.classifier_accuracy
    elif classifier is not None:
        result = metrics.class_histogram(classifier, metrics.to_unit_range(images))
        result["classifier_accuracy"] = args.classifier_accuracy
    return result, (images.to(torch.uint8) if ds.integer else samples).numpy()


def write_pictures(run: common.Run, args, samples: np.ndarray) -> None:
    """samples.png (2-D heatmap, hd projection or image grid), mode_hist.png and curves.png for
    mixtures, class_hist.png for labelled images."""
    ds, rows = run.ds, common.MetricsLog.read(os.path.join(run.dir, "metrics.jsonl"))
    if ds.kind == "images":
        shown = samples[:64]
    elif ds.noise_dims:  # hd: mean of the noisy coordinates against mean of the constant ones; modes on the diagonal
        shown = np.stack([samples[:, :ds.noise_dims].mean(1), samples[:, ds.noise_dims:].mean(1)], 1)
    else:
        shown = samples[:, :2] if samples.shape[1] >= 2 else None
    plots.write_run_pictures(run, rows, shown, args.method)


def write_ivom(G, ds, args, run_dir: str) -> dict:
    """IvOM on the first ivom_n test images, optimising G's whole input [z, epsilon]; ivom.png shows
    each image above its best reconstruction."""
    images = metrics.to_unit_range(ds.test_images[:args.ivom_n])
    errors, best = metrics.inference_via_optimization(G, args.z_dim + args.extra_noise, images, args.ivom_steps,
                                                      args.ivom_restarts, seed=args.seed)
    shown = min(16, len(images))  # first row: test images; second row: the best G(z) for each
    rows = np.concatenate([images[:shown].numpy(), best[:shown]])
    plots.write_png(os.path.join(run_dir, "ivom.png"), plots.image_grid(rows, nrow=shown))
    return {"ivom_mse": float(errors.mean()), "ivom_mse_std": float(errors.std()), "ivom_n": len(errors),
            "ivom_steps": args.ivom_steps, "ivom_restarts": args.ivom_restarts}


# ----------------------------------------------------------------------------- main

def apply_presets(args, ds) -> None:
    """The notebook's settings for points, PacGAN's DCGAN for images, wherever a flag was not given."""
    common.apply_presets(args, PRESETS[ds.kind])
    args.eval_n = args.eval_n or (2500 if ds.kind == "points" else 26_000 if args.dataset == "stacked-mnist" else 2000)
    if args.ivom_n is None:
        args.ivom_n = 100 if args.dataset == "cifar10" else 0
    common.require({"--unroll-steps": (args.unroll_steps >= 0, ">= 0"), "--extra-noise": (args.extra_noise >= 0, ">= 0"), "--recon-weight": (args.recon_weight >= 0, ">= 0"),
                    "--hidden": (args.hidden >= 1, ">= 1"), "--ivom-n": (args.ivom_n >= 0, ">= 0")})
    if args.ivom_n and (ds.kind != "images" or ds.test_images is None):
        raise common.UserError(f"--ivom-n needs an image data set with a test split (cifar10, mnist), not {args.dataset}")


def main(argv=None) -> dict:
    args = common.parse_args(build_parser(), argv)
    ds = datasets.load_dataset(args.dataset, args.data_dir, args.centers)
    apply_presets(args, ds)
    with common.Run(args, ds, ds.model_maps(identity=False if args.standardise else None)) as run:
        if ds.stack_index is not None:  # the protocol judges each channel with the MNIST classifier
            run.classifier, args.classifier_accuracy = metrics.get_classifier(ds.digits, args.data_dir, run.device)
            print(f"evaluation classifier: test accuracy {100 * args.classifier_accuracy:.2f} % per digit")
        rng = run.generators()
        nets, opts = build_networks(ds, args, run.device)
        for step in run.start(nets, opts, rng):
            losses = train_step(nets, opts, run.batch(rng), args, rng, step)
            run.step_done(step, losses, lambda: evaluate(nets, run, args))
        samples = run.end(lambda: evaluate(nets, run, args))
        write_pictures(run, args, samples)
        extra = write_ivom(nets["G"], ds, args, run.dir) if args.ivom_n else {}
        if ds.kind == "points" and ds.centers is not None:
            extra.update(real_hq=run.real_stats["hq"], real_hq_calibrated=run.real_stats["hq_calibrated"])
        return run.finish(**extra, method=args.method, dataset=args.dataset)


if __name__ == "__main__":
    common.run_main(main)
