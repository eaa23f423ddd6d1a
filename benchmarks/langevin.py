"""The Langevin discriminator against the plain one: ring and grid, no noise / SGLD / covariance-controlled.

    python benchmarks/langevin.py --steps 5000                   # 2 data sets x 3 noise arms x 5 seeds
    python benchmarks/langevin.py --datasets ring --seeds 2 --tag wgan -- --loss wgan

Every arm shares networks, step size, prior, batch, steps and seed; only D's injected noise
differs. Runs go to benchmarks/runs/langevin-<data>-<noise>-<steps>[-<tag>]-s<seed>; finished ones
are not redone and interrupted ones resume, `--jobs` at a time. Results:
benchmarks/results/langevin_table[-<tag>].md / .json (per-seed numbers) and .png (the noise level
over training of seed 0 of every arm, and its final level lines). Flags after `--` go to every run.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from runner import ROOT, common, load, mean_std, run_all, write_outputs

SCRIPT = os.path.join(ROOT, "langevin_gan.py")
NOISES = ["none", "sgld", "cc"]


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid", "hd", "star"])
    p.add_argument("--noises", nargs="+", default=NOISES, choices=NOISES)
    p.add_argument("--seeds", type=int, default=5, help="seeds per arm (VEEGAN protocol: 5)")
    p.add_argument("--steps", type=int, default=5000, help="generator steps per run")
    p.add_argument("--tag", default="", help="added to the run folders' and the table's names, for runs with extra flags")
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"), help="where the run folders go")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where the outputs go")
    args = p.parse_args(argv)
    tag = f"-{args.tag}" if args.tag else ""
    arms = [(d, n) for d in args.datasets for n in args.noises]
    runs = {a: [os.path.join(args.runs, f"langevin-{a[0]}-{a[1]}-{args.steps}{tag}-s{s}") for s in range(args.seeds)]
            for a in arms}
    run_all([(SCRIPT, d, ["--dataset", data, "--noise", noise, "--seed", str(seed), "--steps", str(args.steps), *extra])
             for (data, noise), dirs in runs.items() for seed, d in enumerate(dirs)], args.jobs)
    rows, summary = [], {}
    for (data, noise), dirs in runs.items():
        finals, logs = zip(*(load(d) for d in dirs))
        cell = summary.setdefault(data, {})[noise] = {
            k: [f.get(k) for f in finals] for k in ("modes", "hq", "kl", "emd", "emd_floor", "final_noise_level",
                                                     "wall_s", "steps_per_s")}
        cell["noise_level_per_eval"] = [[r["noise_level"] for r in log] for log in logs]
        n_modes = {"ring": 8, "grid": 25, "hd": 10}.get(data)
        modes = f"{mean_std(cell['modes'], 1)} / {n_modes}" if n_modes else "–"
        first_noise = np.mean([levels[0] for levels in cell["noise_level_per_eval"]])
        rows.append(f"| {data} | {noise} | {modes} | {mean_std(cell['hq'], 1) if n_modes else '–'} | "
                    f"{mean_std(cell['kl'], 3) if n_modes else '–'} | {mean_std(cell['emd'], 3)} "
                    f"({np.mean(cell['emd_floor']):.3f}) | {first_noise:.2e} → {np.mean(cell['final_noise_level']):.2e} | "
                    f"{np.mean(cell['steps_per_s']):.0f} | {' '.join(str(m) for m in cell['modes']) if n_modes else ''} | "
                    f"{' '.join(f'{e:.2f}' for e in cell['emd'])} |")
    flags_text = f"; flags: {' '.join(extra)}" if extra else ""
    header = (f"{args.seeds} seeds, {args.steps} steps each, 2,500 samples per run (VEEGAN protocol){flags_text}.\n\n"
              "| data | noise | modes | HQ % | KL | EMD (floor) | mean I_t first eval → last | steps/s | modes per seed | "
              "EMD per seed |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    name = os.path.join(args.results, f"langevin_table{tag}")
    write_outputs(name, header, rows, summary, args)
    pictures, captions = [], []
    for (data, noise), dirs in runs.items():
        for picture in ("samples.png", "noise_level.png"):
            path = os.path.join(dirs[0], picture)
            if os.path.isfile(path):
                pictures.append(path)
                captions.append(f"{data} {noise} seed 0" if picture == "samples.png" else "")
    common.tile_png(name + ".png", pictures, 2, captions)
    print(f"wrote {name}.png")


if __name__ == "__main__":
    common.run_main(main)
