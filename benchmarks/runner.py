"""What every benchmark command shares: run a list of script runs in parallel processes, skip the
finished ones (a run folder with final_metrics.json, or its record), resume the interrupted ones from
their checkpoint, and write a Markdown table with the JSON it came from."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import runpy
import shlex
import subprocess
import sys
import threading

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import common  # noqa: E402
import plots  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Script:
    """One paper's script, as the tests and benchmarks see it. `off`: the flags that switch its
    method off, leaving the plain GAN of the same networks (the cost table times every method
    against it); `methods`: its methods in the suite, {name: (flags, whose setting it is)};
    `optional`: methods the suite runs only when asked (`--methods`), timed like the others."""
    off: tuple
    methods: dict
    optional: dict = dataclasses.field(default_factory=dict)


STANDARD_GAN = ("--loss", "gan", "--n-critic", "1")
# The papers' scripts, one entry each: the tests, benchmarks/same_outputs.py, speed.py and the suite
# (mode_collapse.py) take theirs from here, so a sixth script needs one line here and its own
# tests/test_<script>.py, which defines the flags of a tiny run (TINY) and of one that diverges (DIVERGE).
SCRIPTS = {
    "masked_weighted_gan": Script(("--prior", "constant"), {
        "gan": (("--prior", "constant", *STANDARD_GAN), "traditional GAN (Goerttler & Kloft's baseline)"),
        "masked": (("--prior", "masked", *STANDARD_GAN), "Goerttler & Kloft"),
        "weighted": (("--prior", "weighted", *STANDARD_GAN), "Goerttler & Kloft")}, {
        "gan-wgan": (("--prior", "constant", "--loss", "wgan"), "Goerttler & Kloft, WGAN loss (tuned WGAN-GP)"),
        "masked-wgan": (("--prior", "masked", "--loss", "wgan"), "Goerttler & Kloft, WGAN loss (tuned WGAN-GP)"),
        "weighted-wgan": (("--prior", "weighted", "--loss", "wgan"), "Goerttler & Kloft, WGAN loss (tuned WGAN-GP)")}),
    "pgan": Script(("--loss", "lsgan"), {"pgan": (("--loss", "pgan"), "Eghbal-zadeh & Widmer"),
                                         "lsgan": (("--loss", "lsgan"), "PGAN's baseline, same networks")}),
    "mdgan": Script(("--variant", "gan"), {"reg-gan": (("--variant", "reg"), "Che et al."),
                                           "mdgan": (("--variant", "md"), "Che et al.")}),
    "langevin_gan": Script(("--noise", "none"), {"langevin": (("--noise", "cc"), "Ramakers et al.")},
                           {"langevin-sgld": (("--noise", "sgld"), "Ramakers et al., constant noise")}),
    "veegan": Script(("--method", "gan"), {"veegan": (("--method", "veegan"), "Srivastava et al."),
                                           "ali": (("--method", "ali"), "VEEGAN's ALI arm, same networks"),
                                           "unrolled": (("--method", "unrolled"), "Metz et al., VEEGAN's Unrolled GAN arm, same networks")}),
}


def _run_script(script: str, argv: list[str], log_path: str) -> None:
    """One run's process: output to its log, one thread, then the script as `python script argv`."""
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    import torch
    torch.set_num_threads(1)
    sys.argv = [script, *argv]
    sys.path.insert(0, os.path.dirname(script))
    runpy.run_path(script, run_name="__main__")


def _starter():
    """Start runs by forking a server process that has imported torch once: a run then starts in
    milliseconds, where a fresh interpreter spends 2-3 s importing torch, torch._dynamo (which every
    optimiser loads) and scipy. Each run is still its own process. Where there is no fork server
    (Windows), each run is a fresh interpreter."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["numpy", "scipy.optimize", "torch", "torch._dynamo"])
    return context


def run_all(jobs: list[tuple[str, str, list[str]]], workers: int, records: str | None = None,
            keep_diverged: bool = False) -> None:
    """Run (script, run_dir, flags) jobs that have not finished yet (see `finished`), `workers` at a
    time, one thread each (tiny networks run fastest that way, and runs do not fight over cores).
    keep_diverged: a run that stops with "training diverged" is a result, not a failure: its folder
    gets diverged.json (the message and the last step evaluated), and `load` returns that."""
    todo = [job for job in jobs if not finished(job[1], records)]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} runs already done; running {len(todo)} with {workers} jobs", flush=True)
    # one fork server per process: it pays the imports once, and later calls from the same process
    # (a test suite, a notebook) start their runs in milliseconds
    context = _starter() if todo else None
    starting = threading.Lock()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def one(job):
        script, run_dir, flags = job
        os.makedirs(run_dir, exist_ok=True)
        argv, log_path = run_argv(run_dir, flags), os.path.join(run_dir, "stdout.log")
        if context is not None:
            process = context.Process(target=_run_script, args=(script, argv, log_path))
            with starting:  # multiprocessing's start is not safe from two threads at once
                process.start()
            process.join()
            code = process.exitcode
            if code == 255 and os.path.isfile(os.path.join(run_dir, "final_metrics.json")):
                code = 0  # the fork server lost a finished run's status under load (CPython gh-140867)
        else:
            with open(log_path, "a") as log:
                code = subprocess.run([sys.executable, script, *argv], stdout=log, stderr=subprocess.STDOUT,
                                      env=env).returncode
        if code != 0 and keep_diverged and mark_diverged(run_dir):
            print(f"diverged: {run_dir}", flush=True)
            code = 0
        else:
            print(f"{'done' if code == 0 else f'FAILED ({code})'}: {run_dir}", flush=True)
        if code == 0 and records is not None:  # recorded as it finishes, whether or not a table shows it
            load(run_dir, records)
        return code

    try:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            failed = sum(code != 0 for code in pool.map(one, todo))
    except KeyboardInterrupt:  # Ctrl-C reaches the runs too: each checkpoints the step it is in
        raise common.Interrupted("the runs stopped at their last checkpoints; re-run this command to resume them") from None
    if failed:
        raise common.UserError(f"{failed} runs failed; see stdout.log in their folders, then re-run this command")


def run_argv(run_dir: str, flags: list[str]) -> list[str]:
    """A run's flags: on the CPU (the tables' numbers repeat there) unless the flags, pass-through ones
    included, name a --device, which then wins; --resume where the folder has a checkpoint, else a
    fresh run (a folder without one holds at most a run that died before its first: replaced)."""
    resume = ["--resume", run_dir] if os.path.isfile(os.path.join(run_dir, "ckpt.pt")) else ["--out", run_dir, "--overwrite"]
    return ["--device", "cpu", *flags, *resume]


def mark_diverged(run_dir: str) -> bool:
    """Write diverged.json for a run whose log ends in the harness's divergence message."""
    with open(os.path.join(run_dir, "stdout.log")) as f:
        errors = [line.strip() for line in f if line.startswith("error: training diverged")]
    if not errors:
        return False
    rows = common.MetricsLog.read(os.path.join(run_dir, "metrics.jsonl"))
    common.write_json(os.path.join(run_dir, "diverged.json"),
                      {"diverged": True, "message": errors[-1], "last_step": rows[-1]["step"] if rows else 0})
    return True


def settings_suffix(changed: list[str]) -> str:
    """Run-folder suffix for settings other than the defaults ('-x' and a hash of them; '' for none),
    so that no finished run is ever reused for other settings."""
    return "-x" + hashlib.sha1(" ".join(changed).encode()).hexdigest()[:8] if changed else ""


def record_path(records: str, run_dir: str) -> str:
    return os.path.join(records, os.path.basename(os.path.normpath(run_dir)) + ".json")


def finished(run_dir: str, records: str | None = None) -> bool:
    """A run folder with final_metrics.json, or (with `records`) the record of one."""
    return (os.path.isfile(os.path.join(run_dir, "final_metrics.json")) or os.path.isfile(os.path.join(run_dir, "diverged.json"))
            or (records is not None and os.path.isfile(record_path(records, run_dir))))


def load(run_dir: str, records: str | None = None) -> tuple[dict, list[dict]]:
    """(final_metrics.json, metrics.jsonl rows) of a finished run. With `records`, a finished folder's
    two files are also kept there as one small JSON file named after the folder, which a table
    built over several sittings commits: a run whose folder is gone (run folders are large and not
    committed) is then read back from its record instead of being trained again."""
    done = next((p for p in (os.path.join(run_dir, n) for n in ("final_metrics.json", "diverged.json")) if os.path.isfile(p)), None)
    if records is not None and done is None:
        with open(record_path(records, run_dir)) as f:
            record = json.load(f)
        return record["final"], record["rows"]
    with open(done) as f:
        final = json.load(f)
    rows = common.MetricsLog.read(os.path.join(run_dir, "metrics.jsonl"))
    if records is not None:
        os.makedirs(records, exist_ok=True)
        common.write_json(record_path(records, run_dir), {"final": final, "rows": rows})
    return final, rows


def mean_std(values, digits: int = 4) -> str:
    values = np.asarray(values, float)
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1) if len(values) > 1 else 0:.{digits}f}"


def write_outputs(name: str, header: str, rows: list[str], summary: dict, args) -> None:
    """name.json (command, arguments, per-seed results) and name.md (the command, then the table)."""
    os.makedirs(os.path.dirname(name), exist_ok=True)
    command = shlex.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])  # quoted: "--arms 'masked at generation'"
    common.write_json(name + ".json", {"command": f"python {command}", "args": vars(args), "results": summary})
    with open(name + ".md", "w") as f:
        f.write(f"`python {command}`\n\n{header}\n" + "\n".join(rows) + "\n")
    print(open(name + ".md").read())
    print(f"wrote {name}.md and .json")


if __name__ == "__main__":
    import argparse
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="It is imported by benchmarks/*.py, not run "
                            "on its own: run one of those (each has --help).").parse_args()
