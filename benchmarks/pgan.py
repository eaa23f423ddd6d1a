"""PGAN against LSGAN with the same networks: the paper's figures and our mode table, one command each.

    python benchmarks/pgan.py table --steps 5000     # ring and grid x PGAN, LSGAN x 5 seeds (VEEGAN protocol)
    python benchmarks/pgan.py toy                    # Fig. 4: the 2-D star, 5 seeds, EMD and landscapes side by side
    python benchmarks/pgan.py curves -- --data-dir ../shared/data/mnist-5k      # Fig. 2: G trained / G frozen
    python benchmarks/pgan.py gradients --freeze-epochs 5 -- --data-dir ../shared/data/mnist-5k   # Fig. 5
    python benchmarks/pgan.py probe -- --data-dir ../shared/data/mnist-5k       # Fig. 6: G fixed

Every pair of arms shares networks, optimiser, batch, steps and seed; only the discriminator's score
differs (GMM likelihood or LSGAN's linear unit). Runs go to benchmarks/runs/pgan-<experiment>-...;
finished ones are not redone and interrupted ones resume, `--jobs` at a time. Results:
benchmarks/results/pgan_<experiment>.md, .json and, for the figures, .png. Flags after `--` go to
every run of pgan.py.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from runner import ROOT, common, load, mean_std, run_all, write_outputs

SCRIPT = os.path.join(ROOT, "pgan.py")
LOSSES = ["pgan", "lsgan"]
DEFAULT_STEPS = {"table": 5000, "toy": 5000, "curves": 620, "gradients": 744, "probe": 310}


def per_epoch(rows: list[dict], keys) -> dict:
    return {k: [r.get(k) for r in rows] for k in ("epoch", *keys)}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("experiment", choices=list(DEFAULT_STEPS), help="which table or figure")
    p.add_argument("--dataset", default=None, help="curves / gradients / probe: data set (default mnist)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per arm (table, toy: 5; figures: 1)")
    p.add_argument("--steps", type=int, default=None, help="steps per run (table, toy 5,000; MNIST figures 10-12 "
                                                            "epochs of mnist-5k)")
    p.add_argument("--freeze-epochs", type=int, default=5, help="gradients: epochs with G frozen before release")
    p.add_argument("--tag", default="", help="added to the run folders' names, for runs with extra flags")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"), help="where the run folders go")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where the outputs go")
    args = p.parse_args(argv)
    exp = args.experiment
    args.steps = args.steps or DEFAULT_STEPS[exp]
    args.seeds = args.seeds or (5 if exp in ("table", "toy") else 1)
    datasets = {"table": ["ring", "grid"], "toy": ["star"]}.get(exp, [args.dataset or "mnist"])
    arm_flags = {"curves": {"trained": [], "frozen": ["--freeze-generator"]},
                 "gradients": {"released": ["--freeze-epochs", str(args.freeze_epochs)]},
                 "probe": {"frozen": ["--freeze-generator"]}}.get(exp, {"": []})
    losses = ["pgan"] if exp == "curves" else LOSSES
    tag = f"-{args.tag}" if args.tag else ""
    arms = [(d, loss, arm) for d in datasets for loss in losses for arm in arm_flags]
    runs = {a: [os.path.join(args.runs, f"pgan-{exp}-{a[0]}-{a[1]}{'-' + a[2] if a[2] else ''}-{args.steps}{tag}-s{s}")
                for s in range(args.seeds)] for a in arms}
    run_all([(SCRIPT, d, ["--dataset", data, "--loss", loss, "--seed", str(seed), "--steps", str(args.steps),
                          *arm_flags[arm], *extra])
             for (data, loss, arm), dirs in runs.items() for seed, d in enumerate(dirs)], args.jobs)

    name = os.path.join(args.results, f"pgan_{exp}{tag}")
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
    else:
        header = (f"{args.steps} steps, seed 0{flags_text}. Scores are PGAN's L(h) or LSGAN's D(x) on held-out real and "
                  "2,000 generated samples, first epoch → last.\n\n"
                  "| data | arm | score of real | score of generated | overlap (last) | G grad norm first / last | "
                  "D grad norm first / last | classes hit (last) | wall s |\n"
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    write_outputs(name, header, rows, summary, args)
    pictures = {"toy": ["landscape.png"], "curves": ["likelihood.png", "hist.png"], "gradients": ["gradients.png"],
                "probe": ["hist.png"]}.get(exp)
    if pictures:  # seed 0 of every arm, one row per arm (the toy: side by side)
        cells = [(" ".join(x for x in a[1:] if x) if i == 0 else "", os.path.join(dirs[0], pic))
                 for a, dirs in runs.items() for i, pic in enumerate(pictures)]
        common.tile_png(name + ".png", [path for _, path in cells], 2 if exp in ("toy", "curves") else 1,
                        [c for c, _ in cells])
        print(f"wrote {name}.png")


if __name__ == "__main__":
    common.run_main(main)
