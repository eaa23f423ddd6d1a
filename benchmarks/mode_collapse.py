"""Every method on the same suite: ring, grid and 1200-D, N seeds, one step budget, one table.

    python benchmarks/mode_collapse.py                  # 3 data sets x 11 methods x 5 seeds
    python benchmarks/mode_collapse.py --quick          # 2 seeds, 500 steps (200 on 1200-D)
    python benchmarks/mode_collapse.py --data mine.npy --centers mine.json   # your own mixture
    python benchmarks/mode_collapse.py --methods gan-wgan masked-wgan weighted-wgan --datasets ring

Each method runs through its own script with that paper's settings (the scripts' presets:
networks, optimiser, learning rates, batch, latent prior); the suite fixes only what must be equal
for a comparison: the data, the number of generator updates, the seeds and the evaluation (2,500
samples at the end of training, VEEGAN's protocol: nearest mode, high quality within 3 sigma; KL of
the mode histogram to the true weights; exact EMD at n = 2,000 with its data-vs-data floor). Only the
final state is evaluated: the exact EMD of a collapsed generator takes scipy's assignment solver
~8 s at n = 2,000, which at five evaluations per run would add ~50 minutes to the table. A method and the baseline of
its own paper differ in nothing but the method's idea (see each script).

The masked prior paper trains its toy nets with WGAN and 5 critic steps; its text says "the
standard GAN with the alternative loss gave similar results". Five critic updates plus the gradient
penalty make a generator step ~8x the cost of every other method's, which does not fit 150 runs in
90 minutes on 2 cores, so the suite's `gan`, `masked` and `weighted` use that standard GAN with the
script's preset for it (one D step per G step, the Table-1 networks, Adam 2e-4 for both nets). The
WGAN-loss forms (our tuned WGAN-GP preset) are the methods `gan-wgan`, `masked-wgan` and `weighted-wgan`.

Runs go to benchmarks/runs/mode_collapse/<data>-<method>-<steps>-s<seed>; finished runs are not
redone, interrupted ones resume from their checkpoint, `--jobs` at a time. Outputs:
benchmarks/results/<name>.json (every run's numbers), <name>.md (the tables) and <name>.png (the
2-D densities of seed 0 of every method, one row per 2-D data set).

More runs than one machine holds: `--shard i/N` runs every N-th run starting at the i-th and
writes <name>.shard-i-of-N.json; shards need no shared disk. `--merge FILES` builds the table from
shard files; with the run folders on a shared disk, re-running the plain command after the shards
finds every run done and writes the table at once. A SLURM job array:

    #SBATCH --array=1-10
    python benchmarks/mode_collapse.py --shard ${SLURM_ARRAY_TASK_ID}/10 --jobs ${SLURM_CPUS_PER_TASK}
    # then, once:  python benchmarks/mode_collapse.py --merge benchmarks/results/mode_collapse.shard-*-of-10.json

(Kubernetes indexed jobs: --shard $((JOB_COMPLETION_INDEX + 1))/N; GNU parallel:
parallel -S host1,host2 'cd repo && python benchmarks/mode_collapse.py --shard {}/4' ::: 1 2 3 4.)
`--compare OTHER.json` checks that two tables hold the same numbers (all but the timings). Flags
after `--` go to every run; runs with flags or evaluation sizes other than the defaults get their own
folders (a hash of those flags in the name), so no finished run is ever reused for other settings.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shlex
import sys
import time

import numpy as np

from runner import ROOT, SCRIPTS, common, plots, mean_std, run_all, settings_suffix

sys.path.insert(0, ROOT)
import data as datasets  # noqa: E402

# name: (script, flags, whose setting it is), from runner.SCRIPTS; the default suite leaves out each
# script's optional methods (the WGAN forms cost ~8x a step, see the docstring)
METHODS = {name: (f"{script}.py", list(flags), source) for script, entry in SCRIPTS.items()
           for name, (flags, source) in {**entry.methods, **entry.optional}.items()}
DEFAULT_METHODS = [name for entry in SCRIPTS.values() for name in entry.methods]
SUITE = ["ring", "grid", "hd"]
# Published numbers for these data sets. V: VEEGAN Table 1 (5 runs, 2,500 samples; modes / % HQ; its
# GAN is a plain GAN with VEEGAN's networks). M: Goerttler & Kloft's ring EMD (WGAN, r = 0.5; radius,
# sigma and n unstated, so it is not on our scale). Nobody else published numbers on these sets.
PAPER = {("ring", "gan"): "1 / 99.3 (V); EMD 0.3195 (M)", ("ring", "masked"): "EMD 0.1328 (M)",
         ("ring", "weighted"): "EMD 0.0891 (M)", ("ring", "veegan"): "8 / 52.9 (V)", ("ring", "ali"): "2.8 / 0.13 (V)",
         ("grid", "gan"): "3.3 / 0.5 (V)", ("grid", "veegan"): "24.6 / 40 (V)", ("grid", "ali"): "15.8 / 1.6 (V)",
         ("hd", "gan"): "1.6 / 2.0 (V)", ("hd", "veegan"): "5.5 / 28.29 (V)", ("hd", "ali"): "3 / 5.4 (V)",
         ("ring", "unrolled"): "7.6 / 35.6 (V)", ("grid", "unrolled"): "23.6 / 16 (V)", ("hd", "unrolled"): "0 / 0.0 (V)"}
QUALITY = ("modes", "hq", "kl", "emd", "emd_floor", "modes_calibrated", "hq_calibrated")
TIMING = ("wall_s", "steps_per_s")


def parse(argv):
    given = list(argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = common.ScriptParser(prog="benchmarks/mode_collapse.py", description=__doc__.split("\n\n")[0], epilog="Flags after -- go to every run.",
                                formatter_class=common.HelpFormatter)
    p.add_argument("--datasets", nargs="+", default=SUITE, choices=SUITE, help="the suite's data sets")
    p.add_argument("--data", default=None, help="your own points (N, D) .npy instead of the suite")
    p.add_argument("--centers", default=None, help="JSON {'centers', 'sigma', 'weights'} of --data, for mode counts")
    p.add_argument("--methods", nargs="+", default=DEFAULT_METHODS, choices=list(METHODS), help="methods to run")
    p.add_argument("--seeds", type=common.number(int, at_least=1), default=5, help="seeds per cell (VEEGAN: 5)")
    p.add_argument("--steps", type=common.number(int, at_least=1), default=2000, help="generator updates per run on 2-D data")
    p.add_argument("--hd-steps", type=common.number(int, at_least=1), default=1000, help="generator updates per run on the 1200-D set")
    p.add_argument("--quick", action="store_true", help="2 seeds, 500 steps, 200 on 1200-D")
    p.add_argument("--eval-n", type=common.number(int, at_least=2), default=2500, help="samples judged per run (VEEGAN: 2,500)")
    p.add_argument("--emd-n", type=common.number(int, at_least=2), default=2000, help="samples in the exact EMD and its floor")
    p.add_argument("--jobs", type=common.number(int, at_least=1), default=os.cpu_count(), help="runs at a time (one thread each)")
    p.add_argument("--shard", default=None, help="i/N: run only every N-th run, starting at the i-th (1-based)")
    p.add_argument("--merge", nargs="+", default=None, help="build the table from these shard JSON files")
    p.add_argument("--compare", default=None, help="a table's JSON to compare this one with (timings excluded)")
    p.add_argument("--name", default=None, help="file name of the outputs (default mode_collapse[_<data>][_quick])")
    p.add_argument("--runs", default=os.path.join(ROOT, "benchmarks", "runs", "mode_collapse"), help="run folders")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where outputs go")
    args = p.parse_args(argv)
    args.extra, args.command = extra, shlex.join(["python", "benchmarks/mode_collapse.py", *given])
    if args.quick:
        args.seeds, args.steps, args.hd_steps = 2, 500, 200
    stem = f"_{os.path.splitext(os.path.basename(args.data))[0]}" if args.data else ""
    args.name = args.name or f"mode_collapse{stem}{'_quick' if args.quick else ''}"
    if args.centers and not args.data:
        p.error("--centers describes --data; give both")
    if args.data:
        args.data = os.path.abspath(args.data)
        args.centers = os.path.abspath(args.centers) if args.centers else None
        shape = datasets.load_dataset(args.data, os.path.join(ROOT, "data")).shape  # the runs check the centres
        if len(shape) != 1:
            p.error(f"--data {args.data} holds images of shape {shape}; the suite compares methods on points, an "
                    "(N, D) array; train on images with a script's own --dataset")
    if args.compare:  # checked before the runs, not after an hour of them
        read_runs(args.compare, "--compare")
    if args.shard:
        parts = args.shard.split("/")
        if len(parts) != 2 or not all(v.isdigit() for v in parts) or not 1 <= int(parts[0]) <= int(parts[1]):
            p.error(f"--shard {args.shard}: expected i/N with 1 <= i <= N, e.g. 3/10")
        args.shard = (int(parts[0]), int(parts[1]))
    return args


def plan(args) -> list[dict]:
    """Every run of the table, in a fixed order: data set, method, seed."""
    if args.data:
        cells = [(os.path.splitext(os.path.basename(args.data))[0], args.data, args.steps)]
    else:
        cells = [(d, d, args.hd_steps if d == "hd" else args.steps) for d in args.datasets]
    changed = [f"--eval-n {args.eval_n}"] * (args.eval_n != 2500) + [f"--emd-n {args.emd_n}"] * (args.emd_n != 2000) + args.extra
    if args.data:  # a user's file: its path and content, and its centres, so that another file of the same name is run anew
        with open(args.data, "rb") as f:
            changed += [args.data, hashlib.sha1(f.read()).hexdigest(), str(args.centers)]
    suffix = settings_suffix(changed)
    runs = []
    for data, spec, steps in cells:
        for method in args.methods:
            script, flags, _ = METHODS[method]
            for seed in range(args.seeds):
                run_dir = os.path.join(args.runs, f"{data}-{method}-{steps}-s{seed}{suffix}")
                argv = ["--dataset", spec, "--seed", str(seed), "--steps", str(steps), "--eval-every", str(steps),
                        "--ckpt-every", str(max(1, steps // 5)), "--eval-n", str(args.eval_n), "--emd-n", str(args.emd_n), *flags, *args.extra]
                argv += ["--centers", args.centers] if args.centers else []
                runs.append(dict(data=data, method=method, seed=seed, steps=steps, run_dir=run_dir,
                                 command=shlex.join(["python", script, *argv]), script=os.path.join(ROOT, script), argv=argv))
    return runs


def shard(runs: list[dict], index: int, count: int) -> list[dict]:
    """Shard `index` of `count` (1-based): every count-th run from the index-th, so that every shard gets
    its share of each data set's long and short runs."""
    return runs[index - 1::count]


def record(run: dict) -> dict:
    """The numbers of one finished run, with its folder's name (which holds a hash of every setting)."""
    with open(os.path.join(run["run_dir"], "final_metrics.json")) as f:
        final = json.load(f)
    return {**{k: run[k] for k in ("data", "method", "seed", "steps", "command")},
            "run": os.path.basename(run["run_dir"]), **{k: final[k] for k in QUALITY + TIMING if k in final}}


def read_runs(path: str, flag: str) -> list[dict]:
    """The runs of a table's or a shard's JSON; a missing, malformed or foreign file is a one-line error."""
    try:
        with open(path) as f:
            runs = json.load(f)["runs"]
        if not isinstance(runs, list) or not all(isinstance(r, dict) and {"data", "method", "seed", "steps"} <= set(r)
                                                 for r in runs):
            raise TypeError
    except OSError as err:
        raise common.UserError(f"{flag} {path}: cannot read it ({err.strerror})") from None
    except ValueError:
        raise common.UserError(f"{flag} {path}: not valid JSON; give a file this benchmark wrote") from None
    except (KeyError, TypeError):
        raise common.UserError(f"{flag} {path}: not a mode_collapse table or shard (no list of runs); give a file "
                               "this benchmark wrote") from None
    return runs


def cell_text(values, digits):
    values = [v for v in values if v is not None]
    return mean_std(values, digits) if values else "–"


def tables(records: list[dict], args) -> str:
    """One Markdown table per data set, methods as rows, mean ± std over seeds."""
    out = []
    for data in dict.fromkeys(r["data"] for r in records):
        rows = [r for r in records if r["data"] == data]
        n_modes = {"ring": 8, "grid": 25, "hd": 10}.get(data)
        if args.centers:
            with open(args.centers) as f:
                n_modes = len(json.load(f)["centers"])
        counted = "modes" in rows[0]
        hd = data == "hd"
        head = ["method", "modes" + (f" / {n_modes}" if n_modes else ""), "HQ %", "KL", "EMD (floor)"]
        head += ["modes, calibrated", "HQ %, calibrated"] if hd else []
        head += ["train s per run", "steps/s", "paper", "modes per seed"]
        out += [f"\n**{data}**, {rows[0]['steps']} generator steps, {len({r['seed'] for r in rows})} seeds\n",
                "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for method in dict.fromkeys(r["method"] for r in rows):
            cell = sorted((r for r in rows if r["method"] == method), key=lambda r: r["seed"])
            col = {k: [r.get(k) for r in cell] for k in QUALITY + TIMING}
            line = [method, cell_text(col["modes"], 1) if counted else "–", cell_text(col["hq"], 1) if counted else "–",
                    cell_text(col["kl"], 3) if counted else "–",
                    f"{cell_text(col['emd'], 3)} ({np.mean(col['emd_floor']):.3f})"]
            line += [cell_text(col["modes_calibrated"], 1), cell_text(col["hq_calibrated"], 1)] if hd else []
            line += [f"{np.mean(col['wall_s']):.0f}", f"{np.mean(col['steps_per_s']):.0f}", PAPER.get((data, method), "—"),
                     " ".join(str(m) for m in col["modes"]) if counted else ""]
            out.append("| " + " | ".join(line) + " |")
    return "\n".join(out) + "\n"


def heatmaps(runs: list[dict], args, path: str) -> bool:
    """Seed 0 of every method on every 2-D data set, one row per data set, from the runs' samples.npy."""
    pictures, captions, columns = [], [], 0
    for data in dict.fromkeys(r["data"] for r in runs):
        firsts = [r for r in runs if r["data"] == data and r["seed"] == 0]
        files = [os.path.join(r["run_dir"], "samples.npy") for r in firsts]
        if not firsts or not all(os.path.isfile(f) for f in files):
            continue
        ds = datasets.load_dataset(args.data or data, os.path.join(ROOT, "data"), args.centers)
        if ds.shape != (2,):
            continue
        lo, hi = np.asarray(ds.value_range[0], float), np.asarray(ds.value_range[1], float)
        pad = 0.15 * float(np.max(hi - lo))
        extent = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
        for i, (r, f) in enumerate(zip(firsts, files)):
            pictures.append(plots.heatmap(np.load(f), extent, r["method"], ds.centers, size=220))
            captions.append(f"{data}, seed 0" if i == 0 else "")
        columns = max(columns, len(firsts))
    if pictures:
        plots.write_png(path, plots.tile(pictures, columns, captions))
    return bool(pictures)


def compare(records: list[dict], other_path: str) -> None:
    """Say whether every run's quality numbers equal those in another table's JSON (floats to 1e-12, relative)."""
    other = {(r["data"], r["method"], r["seed"], r["steps"]): r for r in read_runs(other_path, "--compare")}
    mine = {(r["data"], r["method"], r["seed"], r["steps"]): r for r in records}
    def same(a, b) -> bool:  # to 1e-12: summing 1200-D distances in another order moves the 15th digit
        return a == b or (isinstance(a, float) and isinstance(b, float) and abs(a - b) <= 1e-12 * max(1.0, abs(b)))

    differ = [k for k in mine if k in other and not all(same(mine[k].get(q), other[k].get(q)) for q in QUALITY)]
    shared = len(set(mine) & set(other))
    print(f"compared with {other_path}: {shared} runs in both, {len(differ)} differ in any of {', '.join(QUALITY)}")
    for k in differ[:10]:
        print("  differs:", k, {q: (mine[k].get(q), other[k].get(q)) for q in QUALITY if mine[k].get(q) != other[k].get(q)})
    if differ or shared != len(mine):
        raise common.UserError("the tables differ (see above)")


def write(records: list[dict], runs: list[dict], args, elapsed: float) -> None:
    name = os.path.join(args.results, args.name)
    os.makedirs(args.results, exist_ok=True)
    command = args.command
    text = tables(records, args)
    common.write_json(name + ".json", {"command": command, "this_invocation_s": round(elapsed, 1), "settings": {
        k: getattr(args, k) for k in ("datasets", "data", "methods", "seeds", "steps", "hd_steps")}, "runs": records})
    with open(name + ".md", "w") as f:
        f.write(f"`{command}`\n\nEach method with its paper's settings; the same data, step budget, seeds and "
                f"evaluation ({args.eval_n:,} samples at the end of training; HQ within 3 sigma of the nearest mode; KL "
                f"of the mode histogram to the true weights; exact EMD at n = {args.emd_n:,}, data-vs-data floor in "
                "brackets; calibrated: within the radius holding 99.9 % of a mode's own samples). Training seconds "
                f"and steps/s: one thread per run, {args.jobs} runs at a time.\n{text}")
    print(open(name + ".md").read())
    drawn = heatmaps(runs, args, name + ".png")
    print(f"wrote {name}.md, .json" + (" and .png" if drawn else ""))


def main(argv=None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    t0 = time.time()
    runs = plan(args)
    if args.merge:
        files = sorted({f for pattern in args.merge for f in glob.glob(pattern)})
        if not files:
            raise common.UserError(f"--merge {' '.join(args.merge)}: no such files")
        records = {}
        for path in files:
            for r in read_runs(path, "--merge"):
                records[(r["data"], r["method"], r["seed"], r["steps"])] = {**r, "_file": path}
        missing = [r["run_dir"] for r in runs if (r["data"], r["method"], r["seed"], r["steps"]) not in records]
        if missing:
            raise common.UserError(f"the shard files lack {len(missing)} of {len(runs)} runs (e.g. {missing[0]}); "
                                   "merge every shard's file, with the same settings as the shards")
        records = [records[(r["data"], r["method"], r["seed"], r["steps"])] for r in runs]
        for planned, got in zip(runs, records):  # same cell, other settings (--eval-n, flags after --, data)
            if got.get("command") != planned["command"] or got.get("run", os.path.basename(planned["run_dir"])) != \
                    os.path.basename(planned["run_dir"]):
                raise common.UserError(f"--merge: {got['_file']} holds {got['data']}/{got['method']}/seed {got['seed']} "
                                       f"run as `{got.get('command')}`, and these flags plan `{planned['command']}`; "
                                       "merge with the flags the shards were run with")
        records = [{k: v for k, v in r.items() if k != "_file"} for r in records]
    else:
        if args.shard:
            runs = shard(runs, *args.shard)
        # the 1200-D runs are the long ones: start them first so that no job idles at the end
        run_all([(r["script"], r["run_dir"], r["argv"]) for r in sorted(runs, key=lambda r: r["data"] != "hd")], args.jobs)
        records = [record(r) for r in runs]
        if args.shard:
            path = os.path.join(args.results, f"{args.name}.shard-{args.shard[0]}-of-{args.shard[1]}.json")
            os.makedirs(args.results, exist_ok=True)
            common.write_json(path, {"shard": list(args.shard), "runs": records})
            print(f"shard {args.shard[0]}/{args.shard[1]}: {len(records)} runs, wrote {path}; after every shard: "
                  f"python benchmarks/mode_collapse.py --merge {os.path.join(args.results, args.name)}.shard-*-of-"
                  f"{args.shard[1]}.json (with the shards' settings)")
            return
    write(records, runs, args, time.time() - t0)
    print(f"{len(records)} runs, {time.time() - t0:.0f} s")
    if args.compare:
        compare(records, args.compare)


if __name__ == "__main__":
    common.run_main(main)
