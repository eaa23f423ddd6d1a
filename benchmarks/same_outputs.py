"""Check that a refactoring leaves every script's outputs bit for bit where they were.

    python benchmarks/same_outputs.py save /tmp/before              # with the old code checked out
    python benchmarks/same_outputs.py save /tmp/after --root .      # with the new code
    python benchmarks/same_outputs.py compare /tmp/before /tmp/after

Each of the five scripts runs a short fixed-seed run on the ring, on a user .npy mixture (written
here, with its centres file) and on MNIST (`--data-dir`, default ../shared/data/mnist-5k; skipped
when absent). `compare` asks samples.npy to be byte-equal and final_metrics.json and every
metrics.jsonl row to be equal in every key but the timings (wall_s, steps_per_s, eval_s, time);
keys a file or a row gains are listed, not counted as a difference, and a key k of the old row may appear
as train_k (a training mean, as the shared run loop names it).
One thread per run, `--jobs` runs at a time.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from runner import ROOT as HERE, SCRIPTS, common
TIMINGS = {"wall_s", "steps_per_s", "eval_s", "time"}
CASES = {"ring": ["--dataset", "ring", "--steps", "200"],
         "npy": ["--steps", "200"],
         "mnist": ["--dataset", "mnist", "--steps", "20", "--batch", "16", "--eval-n", "64"]}


def write_user_mixture() -> list[str]:
    """The same path for every saved folder, since the path is stored as the run's data set."""
    folder = os.path.join(tempfile.gettempdir(), "same_outputs_data")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    centers = np.array([[-4.0, 0.0], [4.0, 1.0], [0.0, 5.0]])
    np.save(os.path.join(folder, "mix.npy"), (centers[rng.integers(0, 3, 3000)] + rng.normal(0, 0.3, (3000, 2))).astype(np.float32))
    with open(os.path.join(folder, "mix.json"), "w") as f:
        json.dump({"centers": centers.tolist(), "sigma": 0.3}, f)
    return ["--dataset", os.path.join(folder, "mix.npy"), "--centers", os.path.join(folder, "mix.json")]


def save(out: str, root: str, data_dir: str, jobs: int, scripts: list[str]) -> None:
    os.makedirs(out, exist_ok=True)
    cases = dict(CASES, npy=CASES["npy"] + write_user_mixture())
    if not os.path.isdir(data_dir):
        print(f"no MNIST at {data_dir}: MNIST cases skipped")
        cases.pop("mnist")
    else:
        cases["mnist"] = cases["mnist"] + ["--data-dir", data_dir]
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def one(job):
        script, case = job
        run_dir = os.path.join(out, f"{script}-{case}")
        cmd = [sys.executable, os.path.join(root, f"{script}.py"), *cases[case], "--seed", "3", "--out", run_dir]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        print(f"{'ok ' if done.returncode == 0 else 'FAILED'} {script} {case}" + ("" if done.returncode == 0 else "\n" + done.stderr[-2000:]), flush=True)
        return done.returncode

    with ThreadPoolExecutor(jobs) as pool:
        codes = list(pool.map(one, [(s, c) for s in scripts for c in cases]))
    sys.exit(max(codes))


def strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in TIMINGS}


def compare(a: str, b: str) -> None:
    bad = 0
    for name in sorted(os.listdir(b)):
        if not os.path.isdir(os.path.join(b, name)):
            continue
        pa, pb = os.path.join(a, name), os.path.join(b, name)
        problems, notes = [], []
        if not os.path.isdir(pb):
            problems.append("missing")
        else:
            with open(os.path.join(pa, "samples.npy"), "rb") as f, open(os.path.join(pb, "samples.npy"), "rb") as g:
                if f.read() != g.read():
                    problems.append("samples.npy differs")
            for file in ("final_metrics.json",):
                with open(os.path.join(pa, file)) as f, open(os.path.join(pb, file)) as g:
                    fa, fb = strip(json.load(f)), strip(json.load(g))
                changed = [k for k in sorted(fa) if fa[k] != fb.get(k)]  # a key the new file adds is a note
                if changed:
                    problems.append(f"{file}: " + ", ".join(changed))
                if set(fb) - set(fa):
                    notes.append(f"{file} adds " + ", ".join(sorted(set(fb) - set(fa))))
            with open(os.path.join(pa, "metrics.jsonl")) as f, open(os.path.join(pb, "metrics.jsonl")) as g:
                ra, rb = [strip(json.loads(l)) for l in f], [strip(json.loads(l)) for l in g]
            added = sorted({k for row in rb for k in row} - {k for row in ra for k in row})
            # a training mean that moved under the shared loop's train_ prefix counts as the same value
            if len(ra) != len(rb) or any({k: r.get(k, r.get(f"train_{k}")) for k in a_row} != a_row for a_row, r in zip(ra, rb)):
                problems.append("metrics.jsonl rows differ")
            elif added:
                notes.append("metrics.jsonl rows add " + ", ".join(added))
        bad += bool(problems)
        print(f"{name}: {'identical' if not problems else '; '.join(problems)}" + "".join(f" ({n})" for n in notes))
    sys.exit(1 if bad else 0)


def main(argv=None) -> None:
    p = common.ScriptParser(prog="benchmarks/same_outputs.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save", help="run every script and case into a folder")
    s.add_argument("out")
    s.add_argument("--root", default=HERE, help="the checkout whose scripts run")
    s.add_argument("--data-dir", default=os.path.join(HERE, "..", "shared", "data", "mnist-5k"))
    s.add_argument("--jobs", type=common.number(int, at_least=1), default=2)
    s.add_argument("--scripts", nargs="+", default=list(SCRIPTS), choices=list(SCRIPTS))
    c = sub.add_parser("compare", help="compare two saved folders")
    c.add_argument("a")
    c.add_argument("b")
    args = p.parse_args(argv)
    if args.command == "save":
        save(args.out, os.path.abspath(args.root), os.path.abspath(args.data_dir), args.jobs, args.scripts)
    else:
        compare(args.a, args.b)


if __name__ == "__main__":
    main()
