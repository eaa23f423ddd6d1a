"""What every benchmark command shares: run a list of script runs in parallel processes, skip the
finished ones (a run folder with final_metrics.json), resume the interrupted ones from their
checkpoint, and write a Markdown table with the JSON it came from."""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import common  # noqa: E402


def run_all(jobs: list[tuple[str, str, list[str]]], workers: int) -> None:
    """Run (script, run_dir, flags) jobs that have no final_metrics.json yet, `workers` at a time, one
    thread each (tiny networks run fastest that way, and runs do not fight over cores)."""
    todo = [job for job in jobs if not os.path.isfile(os.path.join(job[1], "final_metrics.json"))]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} runs already done; running {len(todo)} with {workers} jobs", flush=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def one(job):
        script, run_dir, flags = job
        os.makedirs(run_dir, exist_ok=True)
        resume = ["--resume", run_dir] if os.path.isfile(os.path.join(run_dir, "ckpt.pt")) else ["--out", run_dir]
        with open(os.path.join(run_dir, "stdout.log"), "a") as log:
            code = subprocess.run([sys.executable, script, *flags, *resume, "--device", "cpu"], stdout=log,
                                  stderr=subprocess.STDOUT, env=env).returncode
        print(f"{'done' if code == 0 else f'FAILED ({code})'}: {run_dir}", flush=True)
        return code

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        failed = sum(code != 0 for code in pool.map(one, todo))
    if failed:
        raise common.UserError(f"{failed} runs failed; see stdout.log in their folders, then re-run this command")


def settings_suffix(changed: list[str]) -> str:
    """Run-folder suffix for settings other than the defaults ('-x' and a hash of them; '' for none),
    so that no finished run is ever reused for other settings."""
    return "-x" + hashlib.sha1(" ".join(changed).encode()).hexdigest()[:8] if changed else ""


def load(run_dir: str) -> tuple[dict, list[dict]]:
    """(final_metrics.json, metrics.jsonl rows) of a finished run."""
    with open(os.path.join(run_dir, "final_metrics.json")) as f:
        final = json.load(f)
    return final, common.MetricsLog.read(os.path.join(run_dir, "metrics.jsonl"))


def mean_std(values, digits: int = 4) -> str:
    values = np.asarray(values, float)
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1) if len(values) > 1 else 0:.{digits}f}"


def write_outputs(name: str, header: str, rows: list[str], summary: dict, args) -> None:
    """name.json (command, arguments, per-seed results) and name.md (the command, then the table)."""
    os.makedirs(os.path.dirname(name), exist_ok=True)
    command = " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    common.write_json(name + ".json", {"command": f"python {command}", "args": vars(args), "results": summary})
    with open(name + ".md", "w") as f:
        f.write(f"`python {command}`\n\n{header}\n" + "\n".join(rows) + "\n")
    print(open(name + ".md").read())
    print(f"wrote {name}.md and .json")
