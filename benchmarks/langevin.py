"""The Langevin discriminator against the plain one: ring and grid, no noise / SGLD / covariance-controlled.

    python benchmarks/langevin.py --steps 5000                   # 2 data sets x 3 noise arms x 5 seeds
    python benchmarks/langevin.py --seeds 3 --eps 0.02 0.05 0.1 0.2 0.5 --arms none sgld cc none+blur cc+blur
                                                                 # the step-size sweep, every arm alike
    python benchmarks/langevin.py --datasets ring --seeds 3 --tag adam -- --d-optimizer adam
    python benchmarks/langevin.py --datasets mnist --data-dir ../shared/data/mnist-5k --seeds 3 --steps 20000
                                                                 # Fig. 2: the conditional MNIST GAN, every arm

Every arm shares networks, step size, prior, batch, steps and seed; only D's injected noise (and, for
the `+blur` arms, the coarse-graining of eq. 9: instance noise of std `--blur` lowered linearly to 0
over the first half of the run) differs. Runs go to
benchmarks/runs/langevin-<data>-<arm>-<steps>[-eps<eps>][-<tag>]-s<seed>; finished ones are not
redone and interrupted ones resume, `--jobs` at a time. Results: benchmarks/results/langevin_table[-<tag>]
.md / .json (per-seed numbers) and .png (seed 0 of every arm: final level lines and the noise level
over training); with several --eps, also langevin_sweep[-<tag>].md / .json (modes and EMD against
eps). Flags after `--` go to every run.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from runner import ROOT, common, plots, load, mean_std, run_all, settings_suffix, write_outputs

SCRIPT = os.path.join(ROOT, "langevin_gan.py")
ARMS = ["none", "sgld", "cc", "none+blur", "cc+blur"]
N_MODES = {"ring": 8, "grid": 25, "hd": 10}


def arm_flags(arm: str, args) -> list[str]:
    noise, blurred = arm.split("+")[0], arm.endswith("+blur")
    flags = ["--noise", noise]
    return [*flags, "--blur", str(args.blur), "--blur-decay-steps", str(args.steps // 2)] if blurred else flags


def summarise(dirs: list[str], records: str | None) -> dict:
    finals, logs = zip(*(load(d, records) for d in dirs))
    cell = {k: [f.get(k) for f in finals] for k in ("modes", "hq", "kl", "emd", "emd_floor", "final_noise_level",
                                                    "wall_s", "steps_per_s")}
    cell["noise_level_per_eval"] = [[r["noise_level"] for r in log] for log in logs]
    cell["steps_evaluated"] = [r["step"] for r in logs[0]]
    cell["modes_per_eval"] = [[r.get("modes") for r in log] for log in logs]
    cell["emd_per_eval"] = [[r.get("emd") for r in log] for log in logs]
    return cell


def first_step_with_all_modes(cell: dict, n_modes: int) -> str:
    """Per seed, the first evaluated step at which every mode is hit ('–' if none): the paper's 'speed-up'."""
    steps = []
    for modes in cell["modes_per_eval"]:
        hit = [s for s, m in zip(cell["steps_evaluated"], modes) if m == n_modes]
        steps.append(str(hit[0]) if hit else "–")
    return " ".join(steps)


def table_row(data: str, arm: str, cell: dict) -> str:
    n_modes = N_MODES.get(data)
    modes = f"{mean_std(cell['modes'], 1)} / {n_modes}" if n_modes else "–"
    first_noise = np.mean([levels[0] for levels in cell["noise_level_per_eval"]])
    return (f"| {data} | {arm} | {modes} | {mean_std(cell['hq'], 1) if n_modes else '–'} | "
            f"{mean_std(cell['kl'], 3) if n_modes else '–'} | {mean_std(cell['emd'], 3)} "
            f"({np.mean(cell['emd_floor']):.3f}) | {first_noise:.2e} → {np.mean(cell['final_noise_level']):.2e} | "
            f"{np.mean(cell['steps_per_s']):.0f} | {' '.join(str(m) for m in cell['modes']) if n_modes else ''} | "
            f"{' '.join(f'{e:.2f}' for e in cell['emd'])} | {first_step_with_all_modes(cell, n_modes) if n_modes else ''} |")


def conditional_mnist(args, extra: list[str], records: str | None) -> None:
    """Fig. 2: the conditional GAN on MNIST (ten samples asked for each digit, judged by the MNIST
    classifier); per arm how often G draws the digit it was asked for, the classes it hits and
    their KL to uniform, and seed 0's digit grid (row k: digit k asked for)."""
    tag = f"-{args.tag}" if args.tag else ""
    runs = {arm: [os.path.join(args.runs, f"langevin-cmnist-{arm}-{args.steps}{tag}{settings_suffix(extra)}-s{seed}")
                  for seed in range(args.seeds)]
            for arm in args.arms}
    data_dir = ["--data-dir", args.data_dir] if args.data_dir else []
    run_all([(SCRIPT, d, ["--dataset", "mnist", "--conditional", *data_dir, *arm_flags(arm, args), "--seed", str(seed),
                          "--steps", str(args.steps), *extra]) for arm, dirs in runs.items() for seed, d in enumerate(dirs)],
            args.jobs, records, keep_diverged=True)
    rows, summary, pictures, captions = [], {}, [], []
    for arm, dirs in runs.items():
        finals, logs = zip(*(load(d, records) for d in dirs))
        # a diverged run counts with its last evaluation before the divergence
        last = [log[-1] if log else {} for log in logs]
        cell = summary[arm] = {k: [row.get(k) for row in last] for k in ("label_accuracy", "classes_hit", "class_kl")}
        cell["diverged_at"] = [f.get("last_step") if f.get("diverged") else None for f in finals]
        cell["wall_s"] = [f.get("wall_s") for f in finals]
        cell["class_shares"] = [row.get("class_shares") for row in last]
        cell["label_accuracy_per_eval"] = [[r["label_accuracy"] for r in log] for log in logs]
        cell["steps_evaluated"] = [r["step"] for r in logs[0]]
        cell["classifier_accuracy"] = logs[0][-1].get("classifier_accuracy", finals[0].get("classifier_accuracy"))
        diverged = sum(step is not None for step in cell["diverged_at"])
        rows.append(f"| {arm} | {mean_std(cell['label_accuracy'], 3)} | {mean_std(cell['classes_hit'], 1)} | "
                    f"{mean_std(cell['class_kl'], 3)} | {' '.join(f'{a:.2f}' for a in cell['label_accuracy'])} | "
                    f"{diverged} of {len(dirs)}{' (last evaluated: ' + ' '.join(str(s) for s in cell['diverged_at'] if s is not None) + ')' if diverged else ''} | "
                    f"{' '.join(f'{s:.2f}' for s in np.mean(cell['class_shares'], 0))} |")
        shown = next((seed for seed, d in enumerate(dirs) if os.path.isfile(os.path.join(d, "samples.png"))), None)
        for picture in ("samples.png", "class_hist.png") if shown is not None else ():  # the first seed that finished
            if os.path.isfile(os.path.join(dirs[shown], picture)):
                pictures.append(os.path.join(dirs[shown], picture))
                captions.append(f"{arm}, seed {shown} (row k: digit k asked for)" if picture == "samples.png" else "")
    header = (f"Conditional MNIST, {args.seeds} seeds, {args.steps} steps each; 2,000 samples per run, 200 asked for "
              "each digit; label accuracy: the share the MNIST classifier reads as the digit asked for (0.1 by chance); "
              f"a run that diverged counts with its last evaluation before it{'; flags: ' + ' '.join(extra) if extra else ''}.\n\n"
              "| noise | label accuracy | classes hit /10 | class KL to uniform | label accuracy per seed | diverged | "
              "mean share of each class 0-9 |\n| --- | --- | --- | --- | --- | --- | --- |")
    name = os.path.join(args.results, f"langevin_cmnist{tag}")
    write_outputs(name, header, rows, summary, args)
    if pictures:
        plots.write_png(name + ".png", plots.tile(pictures, 4, captions))
        print(f"wrote {name}.png")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = common.ScriptParser(prog="benchmarks/langevin.py", description=__doc__.split("\n\n")[0], formatter_class=common.HelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid", "hd", "star", "mnist"],
                   help="mnist: the conditional GAN of Fig. 2, alone")
    p.add_argument("--data-dir", default=None, help="mnist: its folder (default: the script's)")
    p.add_argument("--arms", "--noises", nargs="+", default=ARMS[:3], choices=ARMS,
                   help="D's noise, with or without coarse-graining (+blur)")
    p.add_argument("--eps", nargs="+", type=common.number(float, above=0), default=None,
                   help="D's step sizes (default: the script's own, 0.1); several give the sweep table")
    p.add_argument("--blur", type=common.number(float, at_least=0), default=0.2, help="starting coarse-graining lambda of the +blur arms")
    p.add_argument("--seeds", type=common.number(int, at_least=1), default=5, help="seeds per arm (VEEGAN protocol: 5)")
    p.add_argument("--steps", type=common.number(int, at_least=1), default=5000, help="generator steps per run")
    p.add_argument("--tag", default="", help="added to the run folders' and the table's names, for runs with extra flags")
    p.add_argument("--jobs", type=common.number(int, at_least=1), default=2, help="runs at a time (one thread each)")
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs"), help="where the run folders go")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where the outputs go")
    p.add_argument("--records", default=os.path.join(ROOT, "benchmarks", "records"),
                   help="where each finished run's metrics are kept, so a table outlives its run folders ('' for none)")
    p.add_argument("--snapshots", action="store_true",
                   help="the picture also shows D's level lines at a third and two thirds of the run (Fig. 1a-c)")
    args = p.parse_args(argv)
    records = args.records or None
    if args.datasets == ["mnist"]:
        return conditional_mnist(args, extra, records)
    if "mnist" in args.datasets:
        p.error("--datasets mnist is the conditional MNIST experiment: run it on its own")
    tag = f"-{args.tag}" if args.tag else ""
    blur_tag = f"-blur{args.blur:g}" if args.blur != 0.2 else ""
    eps_list = args.eps or [None]
    cells = [(d, a, e) for e in eps_list for d in args.datasets for a in args.arms]

    def run_dir(data, arm, eps, seed):
        arm_name = arm + (blur_tag if arm.endswith("+blur") else "")
        eps_name = f"-eps{eps:g}" if eps is not None else ""
        # flags after -- add a hash of them: a finished run is reused only for the same settings
        return os.path.join(args.runs, f"langevin-{data}-{arm_name}-{args.steps}{eps_name}{tag}{settings_suffix(extra)}-s{seed}")

    runs = {c: [run_dir(*c, s) for s in range(args.seeds)] for c in cells}
    run_all([(SCRIPT, d, ["--dataset", data, *arm_flags(arm, args), "--seed", str(seed), "--steps", str(args.steps),
                          *(["--lr-d", str(eps)] if eps is not None else []), *extra])
             for (data, arm, eps), dirs in runs.items() for seed, d in enumerate(dirs)], args.jobs, records)
    def key(data, arm, eps):
        return f"{data} {arm} eps {eps if eps is not None else 'default'}"

    summary = {key(*cell): summarise(dirs, records) for cell, dirs in runs.items()}
    flags_text = f"; flags: {' '.join(extra)}" if extra else ""
    blur_text = f"; +blur: lambda {args.blur:g} -> 0 over {args.steps // 2} steps" if any("+" in a for a in args.arms) else ""
    for eps in eps_list:
        rows = [table_row(data, arm, summary[key(data, arm, eps)]) for data in args.datasets for arm in args.arms]
        eps_text = f"; eps {eps:g}" if eps is not None else ""
        header = (f"{args.seeds} seeds, {args.steps} steps each, 2,500 samples per run (VEEGAN protocol)"
                  f"{eps_text}{blur_text}{flags_text}.\n\n"
                  "| data | noise | modes | HQ % | KL | EMD (floor) | mean I_t first eval → last | steps/s | modes per seed | "
                  "EMD per seed | first step with every mode, per seed |\n"
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        name = os.path.join(args.results, f"langevin_table{tag}" + (f"-eps{eps:g}" if len(eps_list) > 1 else ""))
        write_outputs(name, header, rows, {key(d, a, e): summary[key(d, a, e)] for d, a, e in cells if e == eps}, args)
        pictures, captions = [], []
        snapshots = [max(1, args.steps // 3), max(1, 2 * args.steps // 3)] if args.snapshots else []
        shown = [*(f"level_lines_{step}.png" for step in snapshots), "samples.png", "noise_level.png"]
        for (data, arm, e), dirs in runs.items():
            for picture in shown if e == eps else ():
                path = os.path.join(dirs[0], picture)
                if os.path.isfile(path):
                    pictures.append(path)
                    step = picture[len("level_lines_"):-len(".png")] if picture.startswith("level_") else args.steps
                    captions.append(f"{data} {arm} seed 0, step {step}" if picture != "noise_level.png" else "")
        plots.write_png(name + ".png", plots.tile(pictures, len(shown), captions))
        print(f"wrote {name}.png")
    if len(eps_list) > 1:  # the sweep: one row per data set and arm, one column per eps
        rows = []
        for data in args.datasets:
            for arm in args.arms:
                cols = []
                for eps in eps_list:
                    cell = summary[key(data, arm, eps)]
                    cols.append(f"{np.mean(cell['modes']):.1f} ({' '.join(str(m) for m in cell['modes'])}); "
                                f"{np.mean(cell['emd']):.2f}")
                rows.append(f"| {data} | {arm} | " + " | ".join(cols) + " |")
        header = (f"{args.seeds} seeds, {args.steps} steps each{blur_text}{flags_text}. Each cell: mean modes "
                  "(per seed); mean EMD.\n\n| data | arm | " + " | ".join(f"eps {e:g}" for e in eps_list) + " |\n"
                  "| --- | --- | " + " | ".join("---" for _ in eps_list) + " |")
        write_outputs(os.path.join(args.results, f"langevin_sweep{tag}"), header, rows, summary, args)


if __name__ == "__main__":
    common.run_main(main)
