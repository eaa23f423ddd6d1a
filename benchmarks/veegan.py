"""VEEGAN's Table 1 from one command: ring, grid and 1200-D, VEEGAN, ALI, the plain GAN and the
Unrolled GAN, N seeds.

    python benchmarks/veegan.py --steps 10000             # 3 data sets x 4 methods x 5 seeds
    python benchmarks/veegan.py --datasets ring --seeds 2 -- --recon-weight 0
    python benchmarks/veegan.py --datasets ring --steps 100000 --extend 20000   # continue the 20,000 runs

Every method shares the networks, optimiser, batch and step budget (veegan.py's presets). Runs go
to benchmarks/runs/veegan-<data>-<method>-<steps>[-x<hash of the flags after -->]-s<seed>; finished
ones are not redone and interrupted ones resume, `--jobs` at a time; each finished run is also kept
in benchmarks/records/ (its final metrics and metrics log, a few hundred kB at most), so a table
whose run folders are gone is re-tabulated from its records. `--extend N` starts each run
from the final checkpoint of the same run at N iterations: the checkpoint holds the random streams
and evaluation draws from its own, so the continuation gives the numbers of a run trained from
scratch (tests/test_benchmark.py checks this). Flags after `--` go to every run of veegan.py.
Results: benchmarks/results/veegan_table.md and .json (per-seed numbers), and
veegan_table_<data>_{modes,hq}.png (modes and HQ % over training, mean +- std over seeds; the
paper's, dashed).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys

import numpy as np

from runner import ROOT, common, plots, load, mean_std, run_all, settings_suffix, write_outputs

SCRIPT = os.path.join(ROOT, "veegan.py")
METHODS = ["veegan", "ali", "gan", "unrolled"]
# VEEGAN Table 1 (5 runs, 2,500 samples): (modes, % high quality) [V, akashgit/VEEGAN tab.png]
PAPER = {("ring", "gan"): (1, 99.3), ("ring", "ali"): (2.8, 0.13), ("ring", "veegan"): (8, 52.9),
         ("grid", "gan"): (3.3, 0.5), ("grid", "ali"): (15.8, 1.6), ("grid", "veegan"): (24.6, 40),
         ("hd", "gan"): (1.6, 2.0), ("hd", "ali"): (3, 5.4), ("hd", "veegan"): (5.5, 28.29),
         ("ring", "unrolled"): (7.6, 35.6), ("grid", "unrolled"): (23.6, 16), ("hd", "unrolled"): (0, 0.0)}
KEYS = ("modes", "hq", "modes_calibrated", "hq_calibrated", "kl", "emd", "emd_floor", "real_hq", "wall_s", "steps_per_s")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = common.ScriptParser(prog="benchmarks/veegan.py", description=__doc__.split("\n\n")[0], formatter_class=common.HelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["ring", "grid", "hd"], choices=["ring", "grid", "hd"])
    p.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    p.add_argument("--seeds", type=common.number(int, at_least=1), default=5, help="seeds per cell (paper 5)")
    p.add_argument("--first-seed", type=common.number(int, at_least=0), default=0, help="seeds are first-seed .. first-seed + seeds - 1 (to split a table)")
    p.add_argument("--steps", type=common.number(int, at_least=1), default=10_000, help="iterations per run (the notebook: 100,000)")
    p.add_argument("--extend", type=common.number(int, at_least=1), metavar="N", help="start each run from its finished N-iteration run")
    p.add_argument("--jobs", type=common.number(int, at_least=1), default=2, help="runs at a time (one thread each)")
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"), help="where the run folders go")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where the table goes")
    p.add_argument("--name", default="veegan_table", help="file name of the table")
    p.add_argument("--records", default=os.path.join(ROOT, "benchmarks", "records"),
                   help="where each finished run is also kept as one small JSON file (committed, so that a "
                        "long table is built over several sittings even where run folders are lost); '' for none")
    args = p.parse_args(argv)
    records = args.records or None
    cells = [(d, m) for d in args.datasets for m in args.methods]
    if args.extend is not None and not 0 < args.extend < args.steps:
        raise common.UserError(f"--extend {args.extend}: give an iteration count between 0 and --steps {args.steps}")
    folder = os.path.join(args.runs, "veegan-{}-{}-{}" + settings_suffix(extra) + "-s{}")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    runs = {cell: [folder.format(*cell, args.steps, s) for s in seeds] for cell in cells}
    if args.extend:
        for cell, dirs in runs.items():
            for seed, run_dir in zip(seeds, dirs):
                continue_from(folder.format(*cell, args.extend, seed), run_dir)
    flags = ["--steps", str(args.steps), *extra]
    run_all([(SCRIPT, d, ["--dataset", data, "--method", method, "--seed", str(seed), *flags])
             for (data, method), dirs in runs.items() for seed, d in zip(seeds, dirs)], args.jobs, records)
    rows, summary, curves = [], {}, {}
    for (data, method), dirs in runs.items():
        finals, logs = zip(*(load(d, records) for d in dirs))
        curves.setdefault(data, {})[method] = logs
        cell = summary.setdefault(data, {})[method] = {k: [f[k] for f in finals] for k in KEYS}
        paper = PAPER.get((data, method))
        n_modes = {"ring": 8, "grid": 25, "hd": 10}[data]
        rows.append(f"| {data} | {method} | {mean_std(cell['modes'], 1)} / {n_modes} | {mean_std(cell['hq'], 1)} | "
                    f"{mean_std(cell['modes_calibrated'], 1)} | {mean_std(cell['hq_calibrated'], 1)} | "
                    f"{mean_std(cell['kl'], 3)} | {mean_std(cell['emd'], 3)} ({np.mean(cell['emd_floor']):.3f}) | "
                    f"{f'{paper[0]} / {paper[1]}' if paper else '—'} | {np.mean(cell['real_hq']):.1f} | "
                    f"{np.mean(cell['wall_s']):.0f} | {' '.join(str(m) for m in cell['modes'])} |")
    which = f" ({seeds[0]}-{seeds[-1]})" if args.first_seed else ""
    header = (f"{args.seeds} seeds{which}, {args.steps} iterations each, 2,500 samples per run (VEEGAN protocol).\n\n"
              "| data | method | modes | HQ % | modes (calibrated) | HQ % (calibrated) | KL | EMD (floor) | "
              "paper modes / HQ % | real data HQ % | wall s per run | modes per seed |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    write_outputs(os.path.join(args.results, args.name), header, rows, summary, args)
    for data, logs in curves.items():
        for key, what, paper_index in (("modes", "modes captured", 0), ("hq", "high-quality share (%)", 1)):
            plots.write_png(os.path.join(args.results, f"{args.name}_{data}_{key}.png"), plots.line_plot({m: curve(runs_logs, key) for m, runs_logs in logs.items()},
                                 f"{data}: {what} over training ({args.seeds} seeds)", "iteration", key,
                                 {f"paper {m}": PAPER[(data, m)][paper_index] for m in logs}))
        write_loss_curves(os.path.join(args.results, f"{args.name}_{data}_losses.png"), logs, seeds)


def write_loss_curves(path: str, logs: dict, seeds) -> None:
    """Per method, the autoencoder term (VEEGAN) and D's loss over training, one line per seed (the
    means since the previous evaluation that every metrics row carries); runs logged before the rows
    carried them are left out."""
    panels = []
    for method, runs_logs in logs.items():
        for key, what in (("train_recon", "autoencoder term 1/2 |z - F(G(z))|^2"), ("train_loss_d", "D's loss (chance: 1.39)")):
            if key == "train_recon" and method != "veegan":
                continue
            series = {f"seed {seed}": ([r["step"] for r in rows if key in r], [r[key] for r in rows if key in r])
                      for seed, rows in zip(seeds, runs_logs) if any(key in r for r in rows)}
            if series:
                panels.append(plots.line_plot(series, f"{method}: {what}", "iteration", key.removeprefix("train_"),
                                               size=(560, 360)))
    if panels:
        plots.write_png(path, plots.tile(panels, 3))
        print(f"wrote {path}")


def continue_from(shorter: str, run_dir: str) -> None:
    """Seed a new run folder with the checkpoint, metrics log and arguments of a finished shorter run
    (skipped when the new run has a checkpoint of its own); the runner then resumes it."""
    if os.path.isfile(os.path.join(run_dir, "ckpt.pt")):
        return
    if not os.path.isfile(os.path.join(shorter, "final_metrics.json")):
        raise common.UserError(f"--extend: {shorter} is not a finished run folder (its checkpoint is needed); run the "
                               "shorter table first, with --records '' where only its record is left")
    os.makedirs(run_dir, exist_ok=True)
    for name in ("metrics.jsonl", "args.json"):
        shutil.copyfile(os.path.join(shorter, name), os.path.join(run_dir, name))
    # last and atomic, since the runner resumes any folder holding ckpt.pt; loading checks it is readable
    common.save_checkpoint(os.path.join(run_dir, "ckpt.pt"), common.load_checkpoint(os.path.join(shorter, "ckpt.pt")))
    with open(os.path.join(run_dir, "stdout.log"), "a") as log:
        log.write(f"(continued from {shorter})\n")


def curve(logs: list[list[dict]], key: str) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(steps, mean, std) of `key` over seeds, at the evaluation steps every seed has (runs continued
    from shorter ones keep their own evaluation spacing)."""
    by_step = [{row["step"]: row[key] for row in rows} for rows in logs]
    steps = sorted(set.intersection(*(set(run) for run in by_step)))
    values = np.array([[run[step] for step in steps] for run in by_step])
    return steps, values.mean(0), values.std(0)


if __name__ == "__main__":
    common.run_main(main)
