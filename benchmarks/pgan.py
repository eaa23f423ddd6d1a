"""PGAN against LSGAN with the same networks: the paper's figures and our mode table, one command each.

    python benchmarks/pgan.py table --steps 5000     # ring and grid x PGAN, LSGAN x 5 seeds (VEEGAN protocol)
    python benchmarks/pgan.py toy                    # Fig. 4: the 2-D star, 5 seeds, EMD and landscapes side by side
    python benchmarks/pgan.py curves -- --data-dir ../shared/data/mnist-5k      # Fig. 2: G trained / G frozen
    python benchmarks/pgan.py gradients --freeze-epochs 5 -- --data-dir ../shared/data/mnist-5k   # Fig. 5
    python benchmarks/pgan.py probe -- --data-dir ../shared/data/mnist-5k       # Fig. 6: G fixed at init / after 5 epochs
    python benchmarks/pgan.py readings --readings default slope-0.4 -- --data-dir ../shared/data/mnist-5k  # per seed

Every pair of arms shares networks, optimiser, batch, steps and seed; only the discriminator's score
differs (GMM likelihood or LSGAN's linear unit). Runs go to benchmarks/runs/pgan-<experiment>-...
(flags after `--` add a hash of them); finished ones are reused only for the same settings,
interrupted ones resume, `--jobs` at a time. Results:
benchmarks/results/pgan_<experiment>.md, .json and, for the figures, .png. Flags after `--` go to
every run of pgan.py.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from runner import ROOT, common, plots, load, mean_std, run_all, settings_suffix, write_outputs

SCRIPT = os.path.join(ROOT, "pgan.py")
LOSSES = ["pgan", "lsgan"]
DEFAULT_STEPS = {"table": 5000, "toy": 5000, "curves": 620, "gradients": 744, "probe": 620, "readings": 620}
# Readings of what the paper leaves open, for `readings`: name -> pgan.py flags (beside the defaults).
READINGS = {  # MNIST; the default's LReLU slope is 0.6
    "default": [],
    "slope-0.01": ["--lrelu-slope", "0.01"],  # Lasagne's leaky_rectify
    "slope-0.2": ["--lrelu-slope", "0.2"],  # the 32x32 table's, and DCGAN's
    "slope-0.3": ["--lrelu-slope", "0.3"],
    "slope-0.4": ["--lrelu-slope", "0.4"],
    "lasagne": ["--lrelu-slope", "0.01", "--init", "glorot"],  # Lasagne's defaults
    "s0.2-act-bn": ["--lrelu-slope", "0.2", "--layer-order", "act-bn"],
    "s0.2-glorot": ["--lrelu-slope", "0.2", "--init", "glorot"],
    "s0.2-normal": ["--lrelu-slope", "0.2", "--init", "normal"],
    "s0.2-g-steps-2": ["--lrelu-slope", "0.2", "--g-steps", "2"],
    "s0.2-beta1-0.9": ["--lrelu-slope", "0.2", "--beta1", "0.9"],
    "s0.2-batch-32": ["--lrelu-slope", "0.2", "--batch", "32"],
    "s0.2-batch-128": ["--lrelu-slope", "0.2", "--batch", "128"],
    "s0.4-act-bn": ["--lrelu-slope", "0.4", "--layer-order", "act-bn"],
    "s0.4-g-steps-2": ["--lrelu-slope", "0.4", "--g-steps", "2"],
    "s0.4-peak": ["--lrelu-slope", "0.4", "--peak-normalised"],
    "s0.4-peak-act-bn": ["--lrelu-slope", "0.4", "--peak-normalised", "--layer-order", "act-bn"],
    "act-bn": ["--layer-order", "act-bn"],
    "peak": ["--peak-normalised"],
    "peak-act-bn": ["--peak-normalised", "--layer-order", "act-bn"],
    "floor-1e-3": ["--var-floor", "1e-3"],  # the fitted variance's floor (default 1e-4): sd >= 0.03, 0.1, 0.2
    "floor-1e-2": ["--var-floor", "1e-2"],
    "floor-4e-2": ["--var-floor", "4e-2"],
}


def trains(epochs: dict) -> dict:
    """Does a PGAN run train: G's gradient > 0 in every epoch, the generated likelihood of the last
    epoch above the first's (the training pass's, the game's own, as the paper plots it per epoch;
    the evaluation's, with both networks in eval mode, is shown beside it), and >= 9 of 10 classes
    in the final samples."""
    grad, fake = epochs["grad_g_norm"], epochs["train_score_fake"]
    return {"grad_positive": min(grad) > 0, "likelihood_rises": fake[-1] > fake[0],
            "classes_9": (epochs.get("classes_hit") or [0])[-1] >= 9}


EPOCH_KEYS = ("score_fake", "train_score_fake", "grad_g_norm", "classes_hit", "class_kl")


def per_epoch(rows: list[dict], keys) -> dict:
    """Each key per evaluation row; training means are train_<key> in rows written since the
    shared run loop (runs before it wrote grad_* without the prefix)."""
    return {k: [r.get(k, r.get(f"train_{k}")) for r in rows] for k in ("epoch", *keys)}


def half_size(pixels: np.ndarray) -> np.ndarray:
    """A picture at half its width and height (2x2 means), grey where it has no colour: a tile of
    every seed's sample grid at full size runs to megabytes."""
    h, w = pixels.shape[0] // 2 * 2, pixels.shape[1] // 2 * 2
    blocks = pixels[:h, :w].astype(np.float32).reshape(h // 2, 2, w // 2, 2, -1)
    small = blocks.mean((1, 3)).round().astype(np.uint8)
    return small[..., 0] if (small == small[..., :1]).all() else small.reshape(h // 2, w // 2, *pixels.shape[2:])


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = common.ScriptParser(prog="benchmarks/pgan.py", description=__doc__.split("\n\n")[0], formatter_class=common.HelpFormatter)
    p.add_argument("experiment", choices=list(DEFAULT_STEPS), help="which table or figure")
    p.add_argument("--dataset", default=None, help="curves / gradients / probe / readings: data set (default mnist); table: one of ring, grid (default both)")
    p.add_argument("--seeds", type=common.number(int, at_least=1), default=None, help="seeds per arm (table, toy: 5; figures: 1)")
    p.add_argument("--first-seed", type=common.number(int, at_least=0), default=0, help="readings: the first seed (seeds that chose a reading are "
                   "0-4; 5-9 check it on seeds it was not chosen on)")
    p.add_argument("--steps", type=common.number(int, at_least=1), default=None, help="steps per run (table, toy 5,000; MNIST figures 10-12 "
                                                            "epochs of mnist-5k)")
    p.add_argument("--freeze-epochs", type=common.number(int, at_least=0), default=5, help="gradients: epochs with G frozen before release")
    p.add_argument("--readings", nargs="+", default=list(READINGS), choices=list(READINGS),
                   help="readings: which readings of the paper to run (PGAN, and LSGAN of the same networks)")
    p.add_argument("--losses", nargs="+", default=LOSSES, choices=LOSSES, help="which arms to run (default both)")
    p.add_argument("--tag", default="", help="added to the run folders' names, for runs with extra flags")
    p.add_argument("--jobs", type=common.number(int, at_least=1), default=2, help="runs at a time (one thread each)")
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"), help="where the run folders go")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where the outputs go")
    args = p.parse_args(argv)
    exp = args.experiment
    args.steps = args.steps or DEFAULT_STEPS[exp]
    args.seeds = args.seeds or (5 if exp in ("table", "toy", "readings") else 1)
    datasets = {"table": [args.dataset] if args.dataset else ["ring", "grid"], "toy": ["star"]}.get(exp, [args.dataset or "mnist"])
    arm_flags = {"curves": {"trained": [], "frozen": ["--freeze-generator"]},
                 "gradients": {"released": ["--freeze-epochs", str(args.freeze_epochs)]},
                 "probe": {"frozen": ["--freeze-generator"], "trained-5-then-frozen": ["--freeze-after", "5"]},
                 "readings": {r: READINGS[r] for r in args.readings}}.get(exp, {"": []})
    losses = ["pgan"] if exp == "curves" else args.losses
    if exp == "readings":  # LSGAN only where the networks differ from the default's
        arm_flags_lsgan = {r: f for r, f in arm_flags.items() if "--peak-normalised" not in f and "--var-floor" not in f}
    tag = f"-{args.tag}" if args.tag else ""
    arms = [(d, loss, arm) for d in datasets for loss in losses for arm in arm_flags
            if exp != "readings" or loss == "pgan" or arm in arm_flags_lsgan]

    def steps_of(arm: str) -> int:  # readings with another batch train for as many epochs as the default batch (64)
        flags = arm_flags[arm]
        return args.steps * 64 // int(flags[flags.index("--batch") + 1]) if "--batch" in flags else args.steps

    runs = {a: [os.path.join(args.runs, f"pgan-{exp}-{a[0]}-{a[1]}{'-' + a[2] if a[2] else ''}-{steps_of(a[2])}{tag}{settings_suffix(extra)}-s{s}")
                for s in range(args.first_seed, args.first_seed + args.seeds)] for a in arms}
    run_all([(SCRIPT, d, ["--dataset", data, "--loss", loss, "--seed", str(seed), "--steps", str(steps_of(arm)),
                          *arm_flags[arm], *extra])
             for (data, loss, arm), dirs in runs.items() for seed, d in enumerate(dirs, args.first_seed)], args.jobs)

    arms_run = "" if set(args.losses) == set(LOSSES) else "_" + "_".join(args.losses)
    seeds_run = f"_seeds{args.first_seed}-{args.first_seed + args.seeds - 1}" if args.first_seed else ""
    name = os.path.join(args.results, f"pgan_{exp}{tag}" + (f"_{args.steps}{arms_run}{seeds_run}" if exp == "readings" else ""))
    flags_text = f"; flags: {' '.join(extra)}" if extra else ""
    rows, summary = [], {}
    for (data, loss, arm), dirs in runs.items():
        finals, logs = zip(*(load(d) for d in dirs))
        label = " ".join(x for x in (loss, arm) if x)
        cell = summary.setdefault(data, {})[label] = {
            k: [f.get(k) for f in finals] for k in ("modes", "hq", "kl", "emd", "emd_floor", "score_real", "score_fake",
                                                     "overlap", "classes_hit", "wall_s", "steps_per_s")}
        if exp == "table":
            n_modes = {"ring": 8, "grid": 25}[data]
            rows.append(f"| {data} | {loss} | {mean_std(cell['modes'], 1)} / {n_modes} | {mean_std(cell['hq'], 1)} | "
                        f"{mean_std(cell['kl'], 3)} | {mean_std(cell['emd'], 3)} ({np.mean(cell['emd_floor']):.3f}) | "
                        f"{np.mean(cell['wall_s']):.0f} | {' '.join(str(m) for m in cell['modes'])} | "
                        f"{' '.join(f'{e:.2f}' for e in cell['emd'])} |")
        elif exp == "toy":
            rows.append(f"| {data} | {loss} | {mean_std(cell['emd'], 3)} | {np.mean(cell['emd_floor']):.3f} | "
                        f"{mean_std(cell['score_real'], 3)} | {mean_std(cell['score_fake'], 3)} | "
                        f"{np.mean(cell['wall_s']):.0f} | {' '.join(f'{e:.3f}' for e in cell['emd'])} |")
        elif exp == "readings":
            cell["per_seed"] = [per_epoch(r, EPOCH_KEYS) for r in logs]
            for seed, e in enumerate(cell["per_seed"], args.first_seed):
                failed = [k for k, ok in trains(e).items() if not ok]
                e["trains"] = not failed
                verdict = "" if loss != "pgan" else "no: " + ", ".join(failed) if failed else "yes"
                rows.append(f"| {arm} | {loss} | {seed} | {' '.join(f'{g:.2g}' for g in e['grad_g_norm'])} | "
                            f"{e['train_score_fake'][0]:.3g} → {e['train_score_fake'][-1]:.3g} | "
                            f"{e['score_fake'][0]:.3g} → {e['score_fake'][-1]:.3g} | {e['classes_hit'][-1]} | {verdict} |")
            if loss == "pgan":
                rows.append(f"| **{arm}** | pgan | all | {' '.join(READINGS[arm]) or '(the defaults)'} | | | | "
                            f"**{sum(e['trains'] for e in cell['per_seed'])} of {len(dirs)} train** |")
        else:
            curves = per_epoch(logs[0], ("score_real", "score_fake", "overlap", "classes_hit", "generator_updated",
                                         *(f"grad_{w}_{s}" for w in "gd" for s in ("mean", "var", "norm"))))
            cell["per_epoch"] = {k: v for k, v in curves.items() if all(x is not None for x in v)}
            e = cell["per_epoch"]
            rows.append(f"| {data} | {label} | {e['score_real'][0]:.3f} → {e['score_real'][-1]:.3f} | "
                        f"{e['score_fake'][0]:.3g} → {e['score_fake'][-1]:.3g} | {e['overlap'][-1]:.3f} | "
                        f"{e['grad_g_norm'][0]:.3g} / {e['grad_g_norm'][-1]:.3g} | "
                        f"{e['grad_d_norm'][0]:.3g} / {e['grad_d_norm'][-1]:.3g} | "
                        f"{'' if 'classes_hit' not in e else e['classes_hit'][-1]} | {np.mean(cell['wall_s']):.0f} |")
    if exp == "table":
        header = (f"{args.seeds} seeds, {args.steps} steps each, 2,500 samples per run (VEEGAN protocol){flags_text}.\n\n"
                  "| data | loss | modes | HQ % | KL | EMD (floor) | wall s per run | modes per seed | EMD per seed |\n"
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    elif exp == "toy":
        header = (f"{args.seeds} seeds, {args.steps} steps each, EMD of 1,000 samples{flags_text}.\n\n"
                  "| data | loss | EMD | floor | score of real | score of generated | wall s per run | EMD per seed |\n"
                  "| --- | --- | --- | --- | --- | --- | --- | --- |")
    elif exp == "readings":
        header = (f"{args.seeds} seeds, {args.steps} steps each (batch 32 / 128: as many epochs){flags_text}. Per "
                  "seed: G's gradient norm per epoch (training pass, epoch mean); the generated likelihood (PGAN's "
                  "L(h), LSGAN's D(x)) in the first epoch → the last, of the training pass (epoch mean) and of the "
                  "evaluation (2,000 samples, both networks in eval mode); the classes the classifier finds in the "
                  "last evaluation. PGAN trains if G's gradient is > 0 in every epoch, the training-pass likelihood "
                  "rises and >= 9 classes are hit.\n\n"
                  "| reading | loss | seed | G grad norm per epoch | generated L, training, first → last | "
                  "generated L, evaluation | classes | trains |\n| --- | --- | --- | --- | --- | --- | --- | --- |")
    else:
        header = (f"{args.steps} steps{flags_text}; the figure rows are seed 0. Scores are PGAN's L(h) or LSGAN's D(x) on held-out real and "
                  "2,000 generated samples, first epoch → last.\n\n"
                  "| data | arm | score of real | score of generated | overlap (last) | G grad norm first / last | "
                  "D grad norm first / last | classes hit (last) | wall s |\n"
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    if exp == "curves":  # per seed: the trained run against the frozen one at every epoch
        rows += ["", "Per seed (G's gradient norm per epoch, trained / frozen; frozen passes if its generated likelihood "
                 "stays < 0.01 and its G gradient is >= 10x smaller than the trained run's in every epoch):", "",
                 "| seed | G grad trained | G grad frozen | smallest ratio | generated L, trained (training pass), first → "
                 "last | frozen, largest (training pass / evaluation) | classes trained / frozen | trained trains | "
                 "frozen passes |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        data = datasets[0]
        for seed, (trained, frozen) in enumerate(zip(*(
                [per_epoch(load(d)[1], EPOCH_KEYS) for d in runs[(data, "pgan", arm)]]
                for arm in ("trained", "frozen")))):
            ratio = min(t / max(f, 1e-30) for t, f in zip(trained["grad_g_norm"], frozen["grad_g_norm"]))
            failed = [k for k, ok in trains(trained).items() if not ok]
            frozen_ok = max(frozen["score_fake"] + frozen["train_score_fake"]) < 0.01 and ratio >= 10
            summary[data].setdefault("per_seed", []).append({"trained": trained, "frozen": frozen, "ratio": ratio,
                                                             "trains": not failed, "frozen_passes": frozen_ok})
            rows.append(f"| {seed} | {' '.join(f'{g:.2g}' for g in trained['grad_g_norm'])} | "
                        f"{' '.join(f'{g:.2g}' for g in frozen['grad_g_norm'])} | {ratio:.3g} | "
                        f"{trained['train_score_fake'][0]:.3g} → {trained['train_score_fake'][-1]:.3g} | "
                        f"{max(frozen['train_score_fake']):.3g} / {max(frozen['score_fake']):.3g} | "
                        f"{trained['classes_hit'][-1]} / {frozen['classes_hit'][-1]} | "
                        f"{'no: ' + ', '.join(failed) if failed else 'yes'} | {'yes' if frozen_ok else 'no'} |")
    if exp == "readings":  # one line per reading, for the README
        rows += ["", f"Summary (per seed, seeds {args.first_seed} to {args.first_seed + args.seeds - 1}):", "",
                 "| reading | loss | flags | trains | classes in the last epoch | KL of the class histogram to uniform "
                 "| G grad norm in the last epoch |",
                 "| --- | --- | --- | --- | --- | --- | --- |"]
        for (data, loss, arm), dirs in runs.items():
            seeds = summary[data][f"{loss} {arm}"]["per_seed"]
            verdict = f"{sum(e['trains'] for e in seeds)} of {len(seeds)}" if loss == "pgan" else ""
            grads = " ".join(f"{e['grad_g_norm'][-1]:.2g}" for e in seeds)
            class_kl = " ".join(f"{e['class_kl'][-1]:.2f}" for e in seeds)
            rows.append(f"| {arm} | {loss} | {' '.join(READINGS[arm]) or '(the defaults)'} | {verdict} | "
                        f"{' '.join(str(e['classes_hit'][-1]) for e in seeds)} | {class_kl} | {grads} |")
    write_outputs(name, header, rows, summary, args)
    pictures = {"toy": ["landscape.png"], "curves": ["likelihood.png", "hist.png"], "gradients": ["gradients.png"],
                "probe": ["hist.png"], "readings": ["samples.png"], "table": ["landscape.png"]}.get(exp)
    if pictures:  # seed 0 of every arm, one row per arm (the toy, the table: side by side); readings: every seed
        shown = slice(None) if exp == "readings" else slice(1)
        cells = [(f"{' '.join(x for x in a[1:] if x)}{f' seed {seed}' if exp == 'readings' else ''}" if i == 0 else "",
                  os.path.join(d, pic))
                 for a, dirs in runs.items() for seed, d in enumerate(dirs[shown], args.first_seed) for i, pic in enumerate(pictures)]
        columns = {"toy": 2, "curves": 2, "readings": args.seeds, "table": len(cells)}.get(exp, 1)
        picture = plots.tile([path for _, path in cells], columns, [c for c, _ in cells])
        plots.write_png(name + ".png", half_size(picture) if exp == "readings" else picture)
        print(f"wrote {name}.png")


if __name__ == "__main__":
    common.run_main(main)
