"""Mode-regularized GAN (Reg-GAN) and manifold-diffusion training (MDGAN).

Che, Li, Jacob, Bengio & Li, "Mode Regularized Generative Adversarial Networks", ICLR 2017
(arXiv 1612.02136). An encoder E: x -> z is trained with the generator G so that G(E(x)) stays
close to x and looks real: every data point then has a code whose image lies near it, which gives
G a gradient towards modes it would otherwise miss.

`--variant reg` (eqs. 3, 4), D the unchanged GAN discriminator:

    T_G = -E_z[log D(G(z))] + E_x[lambda1 d(x, G(E(x))) - lambda2 log D(G(E(x)))]
    T_E =                     E_x[lambda1 d(x, G(E(x))) - lambda2 log D(G(E(x)))]

`--variant md`, two discriminators, one manifold step and one diffusion step per iteration:

    manifold:  D1 separates x from G(E(x));  G, E minimise lambda1 d(x, G(E(x))) - log D1(G(E(x)))
    diffusion: D2 separates G(E(x)) ("real") from G(z);  G maximises log D2(G(z))

`--variant gan` is the plain GAN of the same G and D (Reg-GAN with lambda1 = lambda2 = 0).

Deviations and choices ([V] read in the paper's slides, [R] recalled, [I] ours):
* Sign of the mode regulariser. The slides and both public ports (wiseodd, kozistr) write
  +lambda2 log D(G(E(x))); minimising that pushes reconstructions towards what D calls fake, against
  the paper's stated aim ("move G(E(x)) towards a nearby mode"). We minimise -lambda2 log D
  (softplus(-logit)); `--literal-sign` runs the printed +lambda2 log D, and in MDGAN's manifold step
  +log D1, flipping exactly that one term.
* d is the squared Euclidean distance ||x - G(E(x))||^2, summed over coordinates, as wiseodd's
  PyTorch and TensorFlow ports compute it (`torch.sum((X - G_sample_reg)**2, 1)`) [I]; kozistr's
  port sums in its first versions and averages since 2018. `--distance mean` averages over the
  coordinates instead, which divides lambda1 by their number (784 on MNIST): there the autoencoder
  then never learns and neither variant beats the plain GAN (docs/mdgan.md). -log D(G(z)) is the
  non-saturating generator loss [I, as the ports]. The gradient of T_G with respect to E equals
  that of T_E (T_G's first term does not involve E), so one backward pass updates G and E together.
* lambda1 0.2, lambda2 0.4: the paper's MNIST values [R, kozistr's port V]. MDGAN's manifold weight is
  `--lambda1` [I]. An MDGAN iteration updates G twice (manifold, then diffusion) and counts as one step.
* Networks. Points [I]: the VEEGAN protocol's MLPs (those its plain GAN uses), G and E two hidden
  layers of 128 ReLU with linear outputs, D one hidden layer of 128 ReLU; Adam lr 1e-3, beta1 0.5,
  batch 500; data in its own units; but z ~ N(0, I_2), not 256-D. The paper's latent is far smaller
  than its data (100 or 200 for 64x64x3 faces), so E compresses; from 2-D points into 256 dimensions
  E's codes lie on a 2-D sheet that prior samples almost never visit, and G(E(x)) says less about
  G(z) (docs/mdgan.md: `--z-dim 256` beside the default).
  MNIST [I]: MLPs, G 100 -> 800 -> 800 -> 784 (ReLU, tanh output), E and D 784 -> 256 -> 256
  (LeakyReLU 0.2) -> 100 / 1, Adam 2e-4, beta1 0.5, batch 64. The paper trained GAN and Reg-GAN
  over a grid modelled on EBGAN's (layers, widths, dropout, optimiser, learning rate), whose values
  are not in any available copy: this is one point of EBGAN's grid, not the paper's setting.
  Faces [V dims, I rest]: DCGAN (5x5, stride 2) for 64x64, dim(z) 100 (`--z-dim 200` for the
  paper's second column), E a DCGAN encoder, Adam 2e-4, beta1 0.5, batch 64.
* Evaluation. Mixtures: the VEEGAN protocol (2,500 samples; modes, high quality within 3 sigma, KL)
  and the EMD with its data-vs-data floor. Labelled images: Inception and MODE scores (eqs. 5, 6)
  and the class histogram with the MNIST classifier. Images with a test split: the third-party-D
  missing-mode count (Table 3) at each `--noise-std` (inputs in [-1, 1]; threshold 0.95 and the
  count over thresholds, since the paper gives none).

Run:
    python mdgan.py                                        # ring, Reg-GAN, 5,000 iterations (< 2 min on CPU)
    python mdgan.py --dataset grid --variant md
    python mdgan.py --dataset mnist --data-dir ../shared/data/mnist-5k --variant reg --steps 3000
    python mdgan.py --dataset celeba --variant md --z-dim 200 --steps 100000  # GPU; Table 3
    python benchmarks/mdgan.py --steps 10000               # ring and grid, 3 variants x 5 seeds
Report: docs/mdgan.md (the verdict per setting, every table and the command behind it).
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

PRESETS = {
    "points": dict(z_dim=2, batch=500, lr=1e-3),  # VEEGAN protocol's networks and optimiser, z 2 [I]
    "images, mlp": dict(z_dim=100, batch=64, lr=2e-4),  # MNIST: one point of the EBGAN grid [I]
    "images, dcgan": dict(z_dim=100, batch=64, lr=2e-4),  # CelebA: dim(z) 100 / 200 [V], the rest DCGAN's [I]
}
BETA1 = 0.5


def build_parser() -> argparse.ArgumentParser:
    p = common.script_parser(__file__, __doc__)
    common.add_common_args(p, dataset="ring", steps=5000, batch=None)
    g = p.add_argument_group("method")
    g.add_argument("--variant", default="reg", choices=["reg", "md", "gan"],
                   help="Reg-GAN, manifold-diffusion MDGAN, or the plain GAN of the same networks")
    g.add_argument("--lambda1", type=common.number(float, at_least=0), default=0.2, help="geometric regulariser d(x, G(E(x))) (paper 0.2)")
    g.add_argument("--lambda2", type=common.number(float, at_least=0), default=0.4, help="mode regulariser -log D(G(E(x))) (paper 0.4)")
    g = p.add_argument_group("training")
    g.add_argument("--arch", default="auto", choices=["auto", "mlp", "dcgan"], help="auto: MLPs for points and 28x28, else DCGAN")
    g.add_argument("--z-dim", type=common.number(int, at_least=1), default=None, help="latent dimension (paper 100 and 200)")
    g.add_argument("--lr", type=common.number(float, above=0), default=None, help="Adam learning rate of every network")
    g = p.add_argument_group("evaluation")
    g.add_argument("--eval-n", type=common.number(int, at_least=2), default=None, help="samples per evaluation (2,500 points, else 2,000)")
    g.add_argument("--noise-std", type=common.number(float, at_least=0), nargs="+", default=[3.5, 4.0], help="input noise of the third-party D (paper 3.5, 4.0)")
    g.add_argument("--tpd-steps", type=common.number(int, at_least=0), default=2000, help="updates of the third-party D after training (images; 0 = off)")
    g.add_argument("--tpd-threshold", type=common.number(float, above=0, below=1), default=0.95, help="D*(t) above this marks test sample t as on a missing mode")
    g = p.add_argument_group("readings the reports reject", "kept to reproduce a negative result of docs/mdgan.md")
    g.add_argument("--literal-sign", action="store_true", help="the printed +lambda2 log D (and +log D1 in MDGAN)")
    g.add_argument("--distance", default="sum", choices=["sum", "mean"],
                   help="d(x, G(E(x))): squared error summed (wiseodd's ports) or averaged over coordinates")
    common.preset_help(p, PRESETS)
    return p


# ----------------------------------------------------------------------------- networks

def image_mlp(sizes, out_activation=None) -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), common.mlp(sizes, lambda: nn.LeakyReLU(0.2), out_activation))


def network_makers(ds: datasets.Dataset, args) -> tuple:
    """(make_G, make_E, make_D): fresh networks of the data set's architecture."""
    z = args.z_dim
    if ds.kind == "points":
        x = ds.shape[0]
        return (lambda: common.mlp([z, 128, 128, x]), lambda: common.mlp([x, 128, 128, z]),
                lambda: common.mlp([x, 128, 1]))
    if args.arch == "mlp":
        x = int(np.prod(ds.shape))
        return (lambda: nn.Sequential(common.mlp([z, 800, 800, x], out_activation=nn.Tanh), nn.Unflatten(1, ds.shape)),
                lambda: image_mlp([x, 256, 256, z]), lambda: image_mlp([x, 256, 256, 1]))
    c, size = ds.shape[0], common.dcgan_size(ds.shape)
    dcgan = lambda net: net.apply(common.dcgan_init)  # noqa: E731
    return (lambda: dcgan(common.dcgan_generator(z, c, size)),
            lambda: dcgan(common.dcgan_discriminator(c, size, outputs=z)),
            lambda: dcgan(common.dcgan_discriminator(c, size)))


def build_networks(ds: datasets.Dataset, args, device) -> tuple[dict, dict]:
    """G, D (D1 for MDGAN), then E and D2 where the variant has them: built in this order so that
    every variant starts from the same G and D for the same seed; one Adam per network."""
    make_g, make_e, make_d = network_makers(ds, args)
    nets = {"G": make_g(), "D": make_d()}
    if args.variant != "gan":
        nets["E"] = make_e()
    if args.variant == "md":
        nets["D2"] = make_d()
    nets = {k: net.to(device) for k, net in nets.items()}
    return nets, {k: torch.optim.Adam(net.parameters(), args.lr, betas=(BETA1, 0.999)) for k, net in nets.items()}


# ----------------------------------------------------------------------------- losses (the paper's idea: the regularisers)

def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """max E[log D(x)] + E[log(1 - D(G(z)))], as a loss on logits: softplus(-real) + softplus(fake)."""
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def generator_adversarial(d_fake: torch.Tensor) -> torch.Tensor:
    """-E_z[log D(G(z))] (non-saturating) = softplus(-logit)."""
    return F.softplus(-d_fake).mean()


def distance(x: torch.Tensor, reconstruction: torch.Tensor, reduce: str = "sum") -> torch.Tensor:
    """d(x, G(E(x))) = ||x - G(E(x))||^2 summed (or averaged) over coordinates, averaged over the batch."""
    squared = ((x - reconstruction) ** 2).flatten(1)
    return (squared.mean(1) if reduce == "mean" else squared.sum(1)).mean()


def log_d_term(d_reconstruction: torch.Tensor, literal: bool) -> torch.Tensor:
    """The mode regulariser's term: -E_x[log D(G(E(x)))] (intended), or +E_x[log D(G(E(x)))] (printed)."""
    minus_log_d = F.softplus(-d_reconstruction).mean()
    return -minus_log_d if literal else minus_log_d


def encoder_loss(x, reconstruction, d_reconstruction, lambda1: float, lambda2: float, literal: bool = False,
                 reduce: str = "sum") -> torch.Tensor:
    """T_E = E_x[lambda1 d(x, G(E(x))) - lambda2 log D(G(E(x)))] (eq. 4, intended sign)."""
    return lambda1 * distance(x, reconstruction, reduce) + lambda2 * log_d_term(d_reconstruction, literal)


def regularized_generator_loss(d_fake, x, reconstruction, d_reconstruction, lambda1: float, lambda2: float,
                               literal: bool = False, reduce: str = "sum") -> torch.Tensor:
    """T_G = -E_z[log D(G(z))] + E_x[lambda1 d(x, G(E(x))) - lambda2 log D(G(E(x)))] (eq. 3, intended sign)."""
    return generator_adversarial(d_fake) + encoder_loss(x, reconstruction, d_reconstruction, lambda1, lambda2,
                                                        literal, reduce)


def manifold_loss(x, reconstruction, d1_reconstruction, lam: float, literal: bool = False,
                  reduce: str = "sum") -> torch.Tensor:
    """MDGAN's manifold step for G and E: lambda d(x, G(E(x))) - log D1(G(E(x)))."""
    return lam * distance(x, reconstruction, reduce) + log_d_term(d1_reconstruction, literal)


# ----------------------------------------------------------------------------- one training step

def update(optimizers, loss: torch.Tensor) -> None:
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    for opt in optimizers:
        opt.step()


def train_step(nets: dict, opts: dict, batch: torch.Tensor, args, rng: dict, step: int) -> dict:
    """One iteration: a D step then a G (and E) step on the same x and z; MDGAN does its manifold
    step (D1, then G and E) and its diffusion step (D2, then G)."""
    G, D, E, real = nets["G"], nets["D"], nets.get("E"), batch
    z = torch.randn(len(real), args.z_dim, generator=rng["z"], device=real.device)
    if args.variant in ("gan", "reg"):
        fake = G(z)
        update([opts["D"]], loss_d := discriminator_loss(D(real), D(fake.detach())))
        if args.variant == "gan":
            update([opts["G"]], loss_g := generator_adversarial(D(fake)))
            return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
        reconstruction = G(E(real))
        loss_g = regularized_generator_loss(D(fake), real, reconstruction, D(reconstruction), args.lambda1,
                                            args.lambda2, args.literal_sign, args.distance)
        update([opts["G"], opts["E"]], loss_g)  # d T_G / d E = d T_E / d E
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "recon": distance(real, reconstruction, args.distance).detach()}
    reconstruction = G(E(real))  # manifold step: D1 (= nets["D"]) separates x from G(E(x))
    update([opts["D"]], loss_d1 := discriminator_loss(D(real), D(reconstruction.detach())))
    update([opts["G"], opts["E"]], loss_m := manifold_loss(real, reconstruction, D(reconstruction), args.lambda1,
                                                            args.literal_sign, args.distance))
    with torch.no_grad():  # diffusion step: D2 separates the current G(E(x)) ("real") from G(z)
        on_manifold = G(E(real))
    fake = G(z)  # after the manifold update, so D2 and G see the current generator
    update([opts["D2"]], loss_d2 := discriminator_loss(nets["D2"](on_manifold), nets["D2"](fake.detach())))
    update([opts["G"]], loss_g := generator_adversarial(nets["D2"](fake)))
    return {"loss_d": loss_d1.detach(), "loss_g": loss_m.detach(), "loss_d2": loss_d2.detach(),
            "loss_g2": loss_g.detach(), "recon": distance(real, on_manifold, args.distance)}


# ----------------------------------------------------------------------------- evaluation

def sample_generator(G, n: int, args, gen: torch.Generator) -> torch.Tensor:
    return common.sample_in_chunks(G, n, args.batch, lambda i, m: (torch.randn(m, args.z_dim, generator=gen, device=gen.device),))


def evaluate(nets: dict, run: common.Run, args) -> tuple[dict, np.ndarray]:
    """The protocol's numbers on eval_n samples, in the data's units, from the same noise every time."""
    ds, reference, classifier = run.ds, run.reference, run.classifier
    gen = torch.Generator(run.device).manual_seed(args.seed + 10_000)
    samples = run.from_model(sample_generator(nets["G"], args.eval_n, args, gen).cpu())
    if ds.kind == "points":
        return metrics.point_scores(samples.numpy(), ds, reference), samples.numpy()
    lo, hi = ds.value_range
    images = samples.clamp(lo, hi)
    result = {}
    if classifier is not None:
        unit = metrics.to_unit_range(images)
        result = metrics.class_histogram(classifier, unit)
        result.update(metrics.inception_and_mode_score(classifier.probabilities(unit), ds.labels))
        result.update(missing_classes=10 - result["classes_hit"], classifier_accuracy=args.classifier_accuracy)
    return result, (images.round().to(torch.uint8) if ds.integer else images).numpy()


def missing_modes(nets, ds, args, to_model, device) -> dict:
    """Table 3: a third-party D* per --noise-std (a fresh D of the model's architecture, batches of
    --batch real and --batch generated images), trained on real training vs generated images and
    applied to the real test images; writes missing_modes.png (the count over thresholds)."""
    data_gen, fake_gen = torch.Generator().manual_seed(args.seed + 30_000), torch.Generator(device).manual_seed(args.seed + 40_000)
    test = to_model(ds.test_images.float())
    make_d = network_makers(ds, args)[2]
    out, curves = {}, {}
    for sigma in args.noise_std:
        r = metrics.third_party_missing_modes(
            make_d, lambda n: to_model(ds.sample(n, data_gen)),
            lambda n: sample_generator(nets["G"], n, args, fake_gen), test, sigma, args.tpd_steps, batch=args.batch,
            threshold=args.tpd_threshold, seed=args.seed, device=device)
        out[f"missing_sigma_{sigma:g}"] = r["missing"]
        out[f"missing_curve_sigma_{sigma:g}"] = r["curve"]
        curves[f"sigma {sigma:g}"] = (metrics.THRESHOLDS.tolist(), r["curve"])
        print(f"third-party D, sigma {sigma:g}: {r['missing']} of {r['test_n']} test images above "
              f"{args.tpd_threshold:g} (mean P(real) {r['mean_p_real']:.3f})")
    plots.write_png(os.path.join(args.out, "missing_modes.png"), plots.line_plot(curves,
                         f"{args.variant}: test images with D*(t) > threshold", "threshold", "count"))
    return {**out, "missing_threshold": args.tpd_threshold, "missing_test_n": len(test), "tpd_steps": args.tpd_steps}


def write_pictures(run: common.Run, args, samples: np.ndarray) -> None:
    """samples.png; mixtures: mode_hist.png and curves.png; images: class_hist.png, scores.png and
    reconstructions.png (real images above G(E(x)))."""
    nets, ds, run_dir = run.nets, run.ds, run.dir
    rows = common.MetricsLog.read(os.path.join(run_dir, "metrics.jsonl"))
    shown = samples[:64] if ds.kind == "images" else samples[:, :2] if samples.shape[1] >= 2 else None
    plots.write_run_pictures(run, rows, shown, args.variant)
    if rows and "mode_score" in rows[-1]:
        steps = [r["step"] for r in rows]
        plots.write_png(os.path.join(run_dir, "scores.png"), plots.line_plot(
            {"MODE score": (steps, [r["mode_score"] for r in rows]), "Inception score": (steps, [r["inception_score"] for r in rows])},
            f"{args.variant} on {args.dataset}", "step", "score"))
    if "E" in nets and ds.kind == "images":
        held_out = (ds.test_images[:16] if ds.test_images is not None  # a user's images have no test split
                    else ds.sample(16, torch.Generator().manual_seed(args.seed)))
        real = run.to_model(held_out.float()).to(run.device)
        with torch.no_grad():
            nets["G"].eval(), nets["E"].eval()
            rec = nets["G"](nets["E"](real))
        plots.write_png(os.path.join(run_dir, "reconstructions.png"),
                         plots.image_grid(torch.cat([real, rec]).cpu().numpy(), nrow=16))


# ----------------------------------------------------------------------------- main

def apply_presets(args, ds) -> None:
    """The paper's settings for the data family, wherever a flag was not given."""
    if args.arch == "auto":
        args.arch = "mlp" if ds.kind == "points" or ds.shape[1:] == (28, 28) else "dcgan"
    common.apply_presets(args, PRESETS["points" if ds.kind == "points" else f"images, {args.arch}"])
    args.eval_n = args.eval_n or (2500 if ds.kind == "points" else 2000)
    common.require({"--tpd-steps": (args.tpd_steps >= 0, ">= 0"), "--lambda1": (args.lambda1 >= 0, ">= 0"),
                    "--lambda2": (args.lambda2 >= 0, ">= 0"), "--noise-std": (min(args.noise_std) >= 0, ">= 0")})


def main(argv=None) -> dict:
    args = common.parse_args(build_parser(), argv)
    ds = datasets.load_dataset(args.dataset, args.data_dir, args.centers)
    apply_presets(args, ds)
    with common.Run(args, ds, ds.model_maps()) as run:
        rng = run.generators()
        nets, opts = build_networks(ds, args, run.device)
        for step in run.start(nets, opts, rng):
            losses = train_step(nets, opts, run.batch(rng), args, rng, step)
            run.step_done(step, losses, lambda: evaluate(nets, run, args))
        samples = run.end(lambda: evaluate(nets, run, args))
        write_pictures(run, args, samples)
        extra = {}
        if ds.kind == "images" and ds.test_images is not None and args.tpd_steps > 0:
            extra = missing_modes(nets, ds, args, run.to_model, run.device)  # with the count over thresholds
        return run.finish(**extra, variant=args.variant, dataset=args.dataset)


if __name__ == "__main__":
    common.run_main(main)
