"""Reg-GAN, MDGAN and the plain GAN of the same networks on ring, grid or MNIST, N seeds, one command.

    python benchmarks/mdgan.py --steps 10000                    # 2 data sets x 3 variants x 5 seeds
    python benchmarks/mdgan.py --datasets ring --steps 5000 --tag z256 -- --z-dim 256
    python benchmarks/mdgan.py --datasets mnist --seeds 3 --steps 5000 -- --data-dir ../shared/data/mnist-5k

Every variant shares the networks, optimiser, batch and step budget (mdgan.py's presets). Runs go
to benchmarks/runs/mdgan-<data>-<variant>-<steps>[-<tag>][-x<hash of the flags after -->]-s<seed>;
finished ones are reused only for the same settings, interrupted ones resume, `--jobs` at a time.
Results: benchmarks/results/<name>.md and .json (per-seed numbers). Flags after `--` go to every
run of mdgan.py.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from runner import ROOT, common, load, mean_std, run_all, settings_suffix, write_outputs

SCRIPT = os.path.join(ROOT, "mdgan.py")
VARIANTS = ["gan", "reg", "md"]
KEYS = ("modes", "hq", "kl", "emd", "emd_floor", "wall_s", "steps_per_s")
IMAGE_KEYS = ("mode_score", "inception_score", "missing_classes", "class_kl", "missing_sigma_3.5", "missing_sigma_4",
              "missing_test_n", "classifier_accuracy", "wall_s", "steps_per_s")


def point_row(data: str, variant: str, cell: dict) -> str:
    n_modes = {"ring": 8, "grid": 25, "hd": 10}[data]
    return (f"| {data} | {variant} | {mean_std(cell['modes'], 1)} / {n_modes} | {mean_std(cell['hq'], 1)} | "
            f"{mean_std(cell['kl'], 3)} | {mean_std(cell['emd'], 3)} ({np.mean(cell['emd_floor']):.3f}) | "
            f"{np.mean(cell['wall_s']):.0f} | {' '.join(str(m) for m in cell['modes'])} | "
            f"{' '.join(f'{h:.0f}' for h in cell['hq'])} |")


def image_row(data: str, variant: str, cell: dict) -> str:
    return (f"| {data} | {variant} | {mean_std(cell['mode_score'], 2)} | {mean_std(cell['inception_score'], 2)} | "
            f"{mean_std(cell['missing_classes'], 1)} | {mean_std(cell['class_kl'], 3)} | "
            f"{mean_std(cell['missing_sigma_3.5'], 0)} | {mean_std(cell['missing_sigma_4'], 0)} | "
            f"{np.mean(cell['wall_s']):.0f} | {' '.join(f'{m:.2f}' for m in cell['mode_score'])} |")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = common.ScriptParser(prog="benchmarks/mdgan.py", description=__doc__.split("\n\n")[0], formatter_class=common.HelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid", "hd", "mnist"])
    p.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    p.add_argument("--seeds", type=common.number(int, at_least=1), default=5, help="seeds per cell (VEEGAN protocol: 5)")
    p.add_argument("--steps", type=common.number(int, at_least=1), default=10_000, help="iterations per run")
    p.add_argument("--tag", default="", help="added to the run folders' names, for runs with extra flags")
    p.add_argument("--jobs", type=common.number(int, at_least=1), default=2, help="runs at a time (one thread each)")
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"), help="where the run folders go")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where the table goes")
    p.add_argument("--name", default=None, help="file name of the table (mdgan_table, or mdgan_mnist)")
    args = p.parse_args(argv)
    if "mnist" in args.datasets and len(args.datasets) > 1:
        raise common.UserError("run mnist and the point data sets as two commands: their tables differ")
    args.name = args.name or ("mdgan_mnist" if args.datasets == ["mnist"] else "mdgan_table")
    tag = f"-{args.tag}" if args.tag else ""
    cells = [(d, v) for d in args.datasets for v in args.variants]
    runs = {cell: [os.path.join(args.runs, f"mdgan-{cell[0]}-{cell[1]}-{args.steps}{tag}{settings_suffix(extra)}-s{s}") for s in range(args.seeds)]
            for cell in cells}
    flags = ["--steps", str(args.steps), *extra]
    run_all([(SCRIPT, d, ["--dataset", data, "--variant", variant, "--seed", str(seed), *flags])
             for (data, variant), dirs in runs.items() for seed, d in enumerate(dirs)], args.jobs)
    rows, summary = [], {}
    for (data, variant), dirs in runs.items():
        finals = [load(d)[0] for d in dirs]
        image = data == "mnist"
        cell = summary.setdefault(data, {})[variant] = {k: [f[k] for f in finals] for k in (IMAGE_KEYS if image else KEYS)}
        rows.append((image_row if image else point_row)(data, variant, cell))
    flags_text = f"; flags: {' '.join(extra)}" if extra else ""
    if args.datasets == ["mnist"]:
        header = (f"{args.seeds} seeds, {args.steps} iterations each, 2,000 samples per evaluation{flags_text}.\n\n"
                  "| data | variant | MODE score | Inception score | missing classes | class KL to uniform | "
                  "third-party D, sigma 3.5 | sigma 4.0 | wall s per run | MODE score per seed |\n"
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    else:
        header = (f"{args.seeds} seeds, {args.steps} iterations each, 2,500 samples per run (VEEGAN protocol){flags_text}.\n\n"
                  "| data | variant | modes | HQ % | KL | EMD (floor) | wall s per run | modes per seed | HQ % per seed |\n"
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    write_outputs(os.path.join(args.results, args.name), header, rows, summary, args)


if __name__ == "__main__":
    common.run_main(main)
