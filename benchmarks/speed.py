"""Steps/s of every method's training step, and its cost as a multiple of the plain GAN step of the same networks.

    python benchmarks/speed.py                           # ring and 1200-D, CPU, one thread: 13 min
    python benchmarks/speed.py --device cuda             # the same on a GPU
    python benchmarks/speed.py --datasets mnist --data-dir ../shared/data/mnist-5k --steps 100
    python benchmarks/speed.py --emd                     # the exact EMD, full assignment against ours: 1 min
    python benchmarks/speed.py --eval-share              # each script's default run: wall time, share evaluating

Each script runs at its paper's batch size for the data set, once for --steps generator updates and
once for a fifth of that, with checkpoint and a small evaluation (200 samples) only at the end;
steps/s is the difference in steps over the difference in training time, so start-up, warm-up and
the evaluation cancel.
`--emd` times `metrics.emd` against scipy's assignment on the full cost matrix (the solver it
replaced) on the samples evaluations meet, n = 2,000 each, and checks that both give the same value.
`--eval-share` runs the default command of each script (`--code DIR`: the scripts of another
checkout, e.g. a `git worktree` of an older commit) and times its evaluations and EMD floor from
outside, by wrapping `evaluate` and `metrics.point_reference`, so old code is timed the same way.
Every method is timed in the same invocation as the plain GAN of its own script (same networks,
batch and data; only the method's idea switched off), one run at a time, and its cost is the ratio
of the two step times. Output: benchmarks/results/speed[-<device>].md and .json.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from runner import ROOT, SCRIPTS, common

sys.path.insert(0, ROOT)
import data as datasets  # noqa: E402
import metrics  # noqa: E402

def effective(flags) -> dict:
    """--flag value pairs as argparse reads them: the last value of a flag wins."""
    return dict(zip(flags[::2], flags[1::2]))


def groups() -> list[tuple[str, tuple[str, list[str]], list[tuple[str, list[str]]]]]:
    """(script, (plain GAN's name, its flags), [(method, flags)]) for every script of runner.SCRIPTS:
    each method is timed against its own flags with the method switched off (Script.off), named
    after the method it then equals ('gan' if none)."""
    out = []
    for script, entry in SCRIPTS.items():
        methods = {**entry.methods, **entry.optional}
        by_plain: dict = {}
        for name, (flags, _) in methods.items():
            plain = effective([*flags, *entry.off])
            if plain != effective(flags):
                by_plain.setdefault(tuple(plain.items()), []).append((name, list(flags)))
        for plain, timed in by_plain.items():
            plain_name = next((n for n, (f, _) in methods.items() if effective(f) == dict(plain)), "gan")
            out.append((f"{script}.py", (plain_name, [v for pair in plain for v in pair]), timed))
    return out


def train_seconds(script: str, flags: list[str], steps: int, args, env) -> float:
    """Training time (final_metrics wall_s) of one run of `steps` generator updates."""
    with tempfile.TemporaryDirectory() as out:
        # a small evaluation: the exact EMD's cost depends on the samples, so it would not cancel
        cmd = [sys.executable, os.path.join(ROOT, script), *flags, "--steps", str(steps), "--eval-every", str(steps),
               "--ckpt-every", str(steps), "--eval-n", "200", "--emd-n", "200", "--seed", "0", "--device", args.device,
               "--out", out]
        cmd += ["--data-dir", args.data_dir] if args.data_dir else []
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise common.UserError(f"{' '.join(cmd[1:])} failed: {done.stdout[-300:]}{done.stderr[-500:]}")
        with open(os.path.join(out, "final_metrics.json")) as f:
            return json.load(f)["wall_s"]


def steps_per_second(script, flags, data, args, env) -> float:
    long = args.hd_steps if data == "hd" else args.steps
    long = max(5, long // 5) if "wgan" in flags else long  # 5 critic steps per generator step
    short = max(1, long // 5)
    seconds = train_seconds(script, flags, long, args, env) - train_seconds(script, flags, short, args, env)
    return (long - short) / max(seconds, 1e-3)


def emd_cases(n: int, seed: int = 0) -> dict:
    """Generated-looking samples against real ones, n each: what an evaluation meets."""
    gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    ring = datasets.ring().sample(n, gen).numpy().astype(np.float64)
    angle = rng.uniform(0, np.pi, n)
    arc = np.c_[np.cos(angle), np.sin(angle)] * (1 + 0.02 * rng.normal(size=(n, 1)))
    hd = datasets.hd()
    return {"spread (ring, 10x its noise)": (ring + 0.09 * rng.normal(size=ring.shape), ring),
            "arc (half the ring)": (arc, ring),
            "collapsed (one spot, sd 1e-3)": (np.array([0.3, 0.1]) + 1e-3 * rng.normal(size=(n, 2)), ring),
            "duplicates (20 points x n/20)": (np.repeat(ring[:20], n // 20, 0), ring),
            "1200-D (two draws of hd)": (hd.sample(n, gen).numpy().astype(np.float64),
                                          hd.sample(n, gen).numpy().astype(np.float64))}


def full_assignment_emd(a: np.ndarray, b: np.ndarray) -> float:
    """The solver metrics.emd replaced: scipy's assignment on the full cdist matrix."""
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def time_emd(args) -> None:
    rows, results = [], []
    for name, (a, b) in emd_cases(args.emd_n).items():
        t = time.perf_counter()
        old = full_assignment_emd(a, b)
        t_old = time.perf_counter() - t
        t = time.perf_counter()
        new = metrics.emd(a, b)
        t_new = time.perf_counter() - t
        results.append(dict(case=name, n=len(a), old_s=t_old, new_s=t_new, old=old, new=new))
        rows.append(f"| {name} | {t_old:.2f} | {t_new:.2f} | {old:.12f} | {new:.12f} | {abs(old - new):.1e} |")
        print(rows[-1], flush=True)
    name = os.path.join(args.results, "speed_emd")
    os.makedirs(args.results, exist_ok=True)
    common.write_json(name + ".json", {"command": args.command, "threads": args.threads, "results": results})
    with open(name + ".md", "w") as f:
        f.write(f"`{args.command}`\n\nn = {args.emd_n} per cloud, {args.threads} thread(s); seconds of one call.\n\n"
                "| case | full assignment s | metrics.emd s | full assignment | metrics.emd | difference |\n"
                "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n")
    print(f"wrote {name}.md and .json")


# Runs one script's main() with some of its functions timed:
#   python -c WRAPPER CODE_DIR MODULE OUT.json '{"key": "module.function"}' ARGS...
# ("script" names the script itself); OUT.json gets each key's seconds and calls, and the wall time.
WRAPPER = """
import importlib, json, sys, time
code, name, out, targets = sys.argv[1:5]
sys.path.insert(0, code)
script = importlib.import_module(name)
spent = {}
def timed(fn, key):
    spent[key], spent[key + "_calls"] = 0.0, 0
    def inner(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            spent[key] += time.perf_counter() - t
            spent[key + "_calls"] += 1
    return inner
for key, target in json.loads(targets).items():
    module, *path = target.split(".")
    owner = script if module == "script" else importlib.import_module(module)
    for attr in path[:-1]:
        owner = getattr(owner, attr)
    setattr(owner, path[-1], timed(getattr(owner, path[-1]), key))
t = time.perf_counter()
script.main(sys.argv[5:])
spent["wall_s"] = time.perf_counter() - t  # final_metrics' wall_s is rounded to 0.1 s
json.dump(spent, open(out, "w"))
"""


def time_harness(args, env) -> None:
    """Per step, the time a bare loop needs (train_step and drawing its real batch) against the time
    the script takes around it, for each script's plain GAN on --datasets' first set: the
    difference of a long and a short run (evaluation only at their ends), so start-up and the
    final evaluation cancel."""
    rows, results, data = [], [], args.datasets[0]
    for script, entry in SCRIPTS.items():
        if f"{script}.py" not in args.scripts:
            continue
        runs = []
        for steps in (args.steps, max(1, args.steps // 5)):
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "spent.json")
                targets = json.dumps({"train_step_s": "script.train_step", "batch_s": "common.Run.batch"})
                done = subprocess.run([sys.executable, "-c", WRAPPER, os.path.abspath(args.code), script, out, targets,
                                       "--dataset", data, *entry.off, "--steps", str(steps), "--eval-every", str(steps),
                                       "--ckpt-every", str(steps), "--eval-n", "200", "--emd-n", "200",
                                       "--device", args.device, "--out", os.path.join(tmp, "run")],
                                      env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    raise common.UserError(f"{script} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
                runs.append(json.load(open(out)))
        n = args.steps - max(1, args.steps // 5)
        per_step = {k: 1000 * (runs[0][k] - runs[1][k]) / n for k in ("wall_s", "train_step_s", "batch_s")}
        bare = per_step["train_step_s"] + per_step["batch_s"]
        overhead = per_step["wall_s"] / bare - 1
        results.append(dict(script=script, data=data, flags=list(entry.off), ms_per_step=per_step["wall_s"],
                            train_step_ms=per_step["train_step_s"], batch_ms=per_step["batch_s"], overhead=overhead))
        rows.append(f"| {script} | {' '.join(entry.off)} | {per_step['train_step_s']:.3f} | {per_step['batch_s']:.3f} | "
                    f"{per_step['wall_s']:.3f} | {100 * overhead:.1f} % |")
        print(rows[-1], flush=True)
    name = os.path.join(args.results, "speed_harness" + (f"-{args.label}" if args.label else ""))
    os.makedirs(args.results, exist_ok=True)
    common.write_json(name + ".json", {"command": args.command, "threads": args.threads, "steps": args.steps,
                                       "results": results})
    with open(name + ".md", "w") as f:
        code = "this checkout" if os.path.samefile(args.code, ROOT) else os.path.abspath(args.code)
        f.write(f"`{args.command}`\n\nEach script's plain GAN on {data}, {args.threads} thread(s), scripts from {code}; "
                f"ms per step from a {args.steps}- and a {max(1, args.steps // 5)}-step run. Bare loop = train_step + "
                "drawing its real batch; the harness is the rest of the step's wall time.\n\n"
                "| script | flags | train_step ms | batch ms | ms per step in the script | harness overhead |\n"
                "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n")
    print(f"wrote {name}.md and .json")


def time_evaluation_share(args, env) -> None:
    rows, results = [], []
    for script in args.scripts:
        with tempfile.TemporaryDirectory() as tmp:  # a fresh parent folder: the floor is not cached yet
            out = os.path.join(tmp, "spent.json")
            flags = ["--steps", str(args.eval_steps)] if args.eval_steps else []
            targets = json.dumps({"evaluate_s": "script.evaluate", "floor_s": "metrics.point_reference"})
            done = subprocess.run([sys.executable, "-c", WRAPPER, os.path.abspath(args.code), script[:-3], out, targets,
                                   *flags, "--device", args.device, "--out", os.path.join(tmp, "run")],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise common.UserError(f"{script} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
            spent = json.load(open(out))
        spent["evaluations"] = spent.pop("evaluate_s_calls")
        spent.pop("floor_s_calls")
        share = (spent["evaluate_s"] + spent["floor_s"]) / spent["wall_s"]
        results.append(dict(script=script, **spent, share=share))
        rows.append(f"| {script} | {spent['wall_s']:.1f} | {spent['evaluations']} | {spent['evaluate_s']:.1f} | "
                    f"{spent['floor_s']:.2f} | {100 * share:.1f} % |")
        print(rows[-1], flush=True)
    name = os.path.join(args.results, "speed_eval" + (f"-{args.label}" if args.label else ""))
    os.makedirs(args.results, exist_ok=True)
    common.write_json(name + ".json", {"command": args.command, "threads": args.threads, "results": results})
    with open(name + ".md", "w") as f:
        code = "this checkout" if os.path.samefile(args.code, ROOT) else os.path.abspath(args.code)
        steps = f" with --steps {args.eval_steps}" if args.eval_steps else ""
        f.write(f"`{args.command}`\n\nEach script's default run{steps}, {args.threads} thread(s), scripts from "
                f"{code}.\n\n| script | wall s | evaluations | evaluating s | "
                "EMD floor s | share of the wall time |\n| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n")
    print(f"wrote {name}.md and .json")


def parse(argv):
    p = common.ScriptParser(prog="benchmarks/speed.py", description=__doc__.split("\n\n")[0], formatter_class=common.HelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["ring", "hd"], help="data sets (any --dataset of the scripts)")
    p.add_argument("--scripts", nargs="+", default=sorted({g[0] for g in groups()}), help="scripts to time")
    p.add_argument("--steps", type=common.number(int, at_least=1), default=1000, help="generator updates of the long run (the short: a fifth; "
                   "WGAN with 5 critic steps: a fifth of both)")
    p.add_argument("--hd-steps", type=common.number(int, at_least=1), default=200, help="the same on the 1200-D set")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"], help="where the runs train")
    p.add_argument("--threads", type=common.number(int, at_least=1), default=1, help="CPU threads per run (the suite runs one thread per run)")
    p.add_argument("--data-dir", default=None, help="where image data sets live")
    p.add_argument("--emd", action="store_true", help="time the exact EMD instead of the training steps")
    p.add_argument("--emd-n", type=common.number(int, at_least=2), default=2000, help="--emd: points per cloud")
    p.add_argument("--eval-share", action="store_true", help="time each script's default run and its evaluations")
    p.add_argument("--harness", action="store_true", help="per step, the harness's time against a bare train_step loop")
    p.add_argument("--code", default=ROOT, help="--eval-share, --harness: the folder with the scripts to time (default this one)")
    p.add_argument("--eval-steps", type=common.number(int, at_least=1), default=None, help="--eval-share: --steps of each run (default its own)")
    p.add_argument("--label", default="", help="added to the output's name, e.g. before")
    p.add_argument("--results", default=os.path.join(ROOT, "benchmarks", "results"), help="where outputs go")
    args = p.parse_args(argv)
    args.command = shlex.join(["python", "benchmarks/speed.py", *argv])
    return args


def main(argv=None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.emd:
        torch.set_num_threads(args.threads)
        return time_emd(args)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    if args.eval_share:
        return time_evaluation_share(args, env)
    if args.harness:
        return time_harness(args, env)
    rows, results, started = [], [], time.perf_counter()
    for data in args.datasets:
        for script, (plain_name, plain_flags), methods in (g for g in groups() if g[0] in args.scripts):
            base = ["--dataset", data]
            plain = steps_per_second(script, base + plain_flags, data, args, env)
            results.append(dict(data=data, script=script, method=f"{plain_name} (plain)", steps_per_s=plain, cost=1.0))
            rows.append(f"| {data} | {script} | {plain_name} (plain) | {plain:.1f} | 1.00 |")
            print(rows[-1], flush=True)
            for method, flags in methods:
                rate = steps_per_second(script, base + flags, data, args, env)
                results.append(dict(data=data, script=script, method=method, steps_per_s=rate, cost=plain / rate))
                rows.append(f"| {data} | {script} | {method} | {rate:.1f} | {plain / rate:.2f} |")
                print(rows[-1], flush=True)
    suffix = "" if args.device == "cpu" else f"-{args.device}"
    name = os.path.join(args.results, f"speed{suffix}" + (f"-{args.label}" if args.label else ""))
    command = args.command
    os.makedirs(args.results, exist_ok=True)
    common.write_json(name + ".json", {"command": command, "device": args.device, "threads": args.threads,
                                       "wall_s": round(time.perf_counter() - started, 1), "results": results})
    with open(name + ".md", "w") as f:
        f.write(f"`{command}`\n\nDevice {args.device}, {args.threads} thread(s), each script at its paper's batch size; "
                "cost = step time / the plain GAN step of the same script's networks.\n\n"
                "| data | script | method | steps/s | cost (x plain) |\n| --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n")
    print(f"wrote {name}.md and .json")


if __name__ == "__main__":
    common.run_main(main)
