"""Shared plumbing for the five mode-collapse GAN scripts: the run harness, one layer above data.py,
metrics.py and plots.py (which base.py sits under).

Only what two or more scripts need lives here: network blocks, device and seeding, the common
command-line flags and the paper presets, the run folder and its files, the run loop's bookkeeping
(progress line, periodic evaluation and checkpoint, final files) and chunked sampling. Pictures are
in plots.py. A method's own idea always stays in its script. `UserError`, `write_json` and the
checkpoint functions are base.py's, named here too so that a script needs only this module.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import random
import signal
import sys
import threading
import time

import numpy as np
import torch
import torch.nn as nn

import metrics
from base import (UserError, default_data_dir, device_stream_state, load_checkpoint, save_checkpoint,  # noqa: F401
                  set_device_stream_state, write_json)  # (UserError, the JSON and checkpoint functions: re-exported)


class Diverged(UserError):
    """Training diverged, found by code that has no run at hand (a method's own step): the run it
    happens in adds how to go on."""


class Interrupted(UserError):
    """Ctrl-C during a run: its last checkpoint is intact."""


def run_main(main, argv=None) -> None:
    """Run a script's `main`, turning a UserError into one line on stderr and exit status 2 (130 for
    an interrupt)."""
    try:
        main(argv)
    except Interrupted as err:
        print(f"interrupted: {err}", file=sys.stderr)
        sys.exit(130)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # before a run folder existed
        print("interrupted before training started; nothing was written", file=sys.stderr)
        sys.exit(130)


# ----------------------------------------------------------------------------- networks

def mlp(sizes, activation=nn.ReLU, out_activation=None) -> nn.Sequential:
    """Fully connected net: Linear layers of `sizes`, `activation` between them, optional output one."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    if out_activation is not None:
        layers.append(out_activation())
    return nn.Sequential(*layers)


def dcgan_size(shape: tuple) -> int:
    """The side of (C, H, W) images the DCGAN blocks take: square, 28x28 or a power of two >= 32."""
    c, h, w = shape
    if h != w or not (h == 28 or (h >= 32 and h & (h - 1) == 0)):
        raise UserError(f"the DCGAN networks take square 28x28 or power-of-two (32, 64, ...) images, not {h}x{w}; "
                        "resize the images, or use the script's MLP (--arch mlp) where it has one")
    return h


def dcgan_generator(z_dim: int, channels: int, size: int, width: int = 64) -> nn.Sequential:
    """DCGAN generator (Radford et al. 2016): project, then 5x5 stride-2 transposed convs, BN+ReLU, tanh.

    `size` must be 28 (two up-sampling stages from 7x7) or a power of two >= 32 (from 4x4)."""
    start, stages = (7, 2) if size == 28 else (4, int(math.log2(size)) - 2)
    if start * 2 ** stages != size:
        raise UserError(f"DCGAN needs 28x28 or power-of-two images, got {size}x{size}")
    ch = width * 2 ** (stages - 1)
    layers = [nn.Linear(z_dim, ch * start * start), nn.Unflatten(1, (ch, start, start)), nn.BatchNorm2d(ch), nn.ReLU()]
    for i in range(stages):
        out = channels if i == stages - 1 else ch // 2
        layers.append(nn.ConvTranspose2d(ch, out, 5, 2, padding=2, output_padding=1))
        layers += [nn.Tanh()] if i == stages - 1 else [nn.BatchNorm2d(out), nn.ReLU()]
        ch = out
    return nn.Sequential(*layers)


def dcgan_discriminator(channels: int, size: int, width: int = 64, outputs: int = 1) -> nn.Sequential:
    """DCGAN discriminator: 5x5 stride-2 convs with LeakyReLU(0.2) (BN after the first), one logit
    (or `outputs` linear features, e.g. an encoder's code)."""
    stages = 2 if size == 28 else int(math.log2(size)) - 2
    layers, ch = [], channels
    for i in range(stages):
        out = width * 2 ** i
        layers.append(nn.Conv2d(ch, out, 5, 2, padding=2))
        layers += ([nn.BatchNorm2d(out)] if i > 0 else []) + [nn.LeakyReLU(0.2)]
        ch, size = out, (size + 1) // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(ch * size * size, outputs))


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights for conv/linear layers, N(1, 0.02) for BN scales (Radford et al.)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# ----------------------------------------------------------------------------- device, seeds, flags

def get_device(preference: str = "auto") -> torch.device:
    """`auto` picks CUDA, then Apple MPS, then CPU; an explicit choice that is unavailable is an error."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda requested but CUDA is not available; use --device cpu")
    if preference == "mps" and not has_mps:
        raise UserError("--device mps requested but MPS is not available; use --device cpu")
    return torch.device(preference)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, numpy and torch; on CPU the same seed then gives the same numbers. On CUDA,
    `deterministic` also asks for deterministic kernels (an op that has none raises) and turns
    TF32 off in convolutions and matrix products, so that a run repeats there too, at some cost
    in speed; without it a CUDA run repeats only to within float rounding."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read by cuBLAS at its first call
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    if deterministic:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False


def number(kind: type, at_least=None, above=None, at_most=None, below=None):
    """An argparse type: an int or a finite float within the bounds given, so that a flag's bad value
    (0 where 0 means nothing, -1, nan, inf, a word) is refused when the flags are read."""
    bounds = [(at_least, lambda v, b: v >= b, ">="), (above, lambda v, b: v > b, ">"),
              (at_most, lambda v, b: v <= b, "<="), (below, lambda v, b: v < b, "<")]

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        for bound, holds, sign in bounds:
            if bound is not None and not holds(value, bound):
                raise argparse.ArgumentTypeError(f"{text} must be {' and '.join(f'{s} {b}' for b, _, s in bounds if b is not None)}")
        return value
    parse.__name__ = kind.__name__
    parse.bounds = dict(at_least=at_least, above=above, at_most=at_most, below=below)  # for the tests
    return parse


class ScriptParser(argparse.ArgumentParser):
    """An argument error is one line that says what to do, not the usage block."""

    def error(self, message: str):
        self.exit(2, f"error: {message}; see python {self.prog} --help\n")


def add_common_args(parser: argparse.ArgumentParser, dataset: str, steps: int, batch: int | None,
                    evaluations: int | str = 10, emd_n: int | None = 1000) -> None:
    """The flags every script shares, with the script's own defaults. evaluations: how many a run
    makes when --eval-every is not given (Run sets it to steps / evaluations), or the rule, in words,
    by which the script sets it itself; emd_n None: as many as --eval-n."""
    g = parser.add_argument_group("common")
    g.add_argument("--dataset", default=dataset, help="ring | grid | hd | star | mnist | fashion-mnist | stacked-mnist | cifar10 | celeba | PATH.npy | FOLDER of images (default %(default)s)")
    g.add_argument("--steps", type=number(int, at_least=1), default=steps, help="generator updates (default %(default)s)")
    g.add_argument("--batch", type=number(int, at_least=2), default=batch, help="minibatch size m, the paper's")
    g.add_argument("--seed", type=number(int, at_least=0, below=2 ** 32), default=0, help="random seed; same seed, same numbers on CPU")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to train: auto picks CUDA, then MPS, then the CPU (args.json records the one used)")
    g.add_argument("--deterministic", action="store_true", help="CUDA: deterministic kernels and no TF32, so that "
                   "a GPU run repeats (slower); the CPU always repeats")
    g.add_argument("--threads", type=number(int, at_least=1), default=None,
                   help="CPU threads for PyTorch (default: all cores); 1 when several runs share a machine")
    g.add_argument("--out", default=None, help="run folder (default runs/<script>-<dataset>-s<seed>-<time>); "
                   "one that already holds a run is refused")
    g.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    g.add_argument("--data-dir", default=default_data_dir(), help="where data sets live ($GAN_DATA_DIR, else ./data)")
    g.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in RUN_DIR from its ckpt.pt")
    g.add_argument("--eval-every", type=number(int, at_least=1), default=None, help="evaluate every N steps (default: "
                   + (f"steps/{evaluations})" if isinstance(evaluations, int) else f"{evaluations})"))
    parser.set_defaults(evaluations=evaluations if isinstance(evaluations, int) else None)
    g.add_argument("--ckpt-every", type=number(int, at_least=1), default=None, help="checkpoint every N steps (default: steps/10)")
    g.add_argument("--emd-n", type=number(int, at_least=2), default=emd_n, help="samples for the EMD and its data floor"
                   + ("" if emd_n else " (default eval-n)"))
    g.add_argument("--centers", default=None, help="JSON with 'centers' and 'sigma' of a user .npy mixture")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the docstring's layout and shows every flag's default (preset flags show theirs per family)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False or action.default == argparse.SUPPRESS \
                or action.option_strings == ["-h", "--help"]:
            return text
        return f"{text} (default: %(default)s)"


def script_parser(path: str, doc: str) -> argparse.ArgumentParser:
    """A script's parser (`path` its __file__): its docstring's first paragraph above the flags, the
    docstring's "Run:" section (its commands) below them. The script's name is stored with every
    run (args.json), so that a folder is resumed only by the script that wrote it."""
    script = os.path.splitext(os.path.basename(path))[0]
    run = doc[doc.index("\nRun"):].strip() if "\nRun" in doc else ""
    parser = ScriptParser(prog=f"{script}.py", description=doc.split("\n\n")[0], epilog=run,
                          formatter_class=HelpFormatter)
    parser.set_defaults(script=script)
    parser.resumable = set()  # a script's own flags that --resume may change as well (common.RESUMABLE)
    return parser


def require(rules: dict) -> None:
    """{flag: (holds, what it must be)}: a UserError naming every flag whose rule fails."""
    bad = [f"{flag} must be {must}" for flag, (holds, must) in rules.items() if not holds]
    if bad:
        raise UserError("; ".join(bad))


def apply_presets(args, preset: dict) -> None:
    """Set every flag left at None to the value `preset` gives it (the paper's, for the data family)."""
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def preset_help(parser: argparse.ArgumentParser, presets: dict) -> None:
    """Append to each flag's help the value it takes per family ({family: {dest: value}}), so that
    --help shows what a run will use instead of None."""
    def text(v):
        if isinstance(v, float) and v and abs(v) < 1e-2:  # 2e-4, not 0.0002
            mantissa, exponent = f"{v:e}".split("e")
            return f"{float(mantissa):g}e{int(exponent)}"
        return f"{v:g}" if isinstance(v, float) else str(v)

    for action in parser._actions:
        values = [f"{family} {text(preset[action.dest])}" for family, preset in presets.items() if action.dest in preset]
        if values and action.help:
            action.help += f" [default: {'; '.join(values)}]"


# what --resume may change: the run's length, where and how fast it runs, and how often it reports
RESUMABLE = {"steps", "device", "device_used", "deterministic", "threads", "data_dir", "eval_every", "ckpt_every",
             "resume", "out", "overwrite", "flags_given"}


# flags that say which run it is, not how it trains: not named when a run diverges
NOT_TRAINING = {"dataset", "seed", "eval_n", "emd_n", "centers", "sample_prior", "script"}


def parse_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse flags; with --resume, the stored args.json become the defaults so explicit flags still win.
    `args.flags_given` lists the training flags set away from their defaults (kept over resumes), for
    the divergence advice."""
    defaults = {a.dest: a.default for a in parser._actions if a.option_strings}
    args = parser.parse_args(argv)
    stored = {}
    if args.resume:
        stored_path = os.path.join(args.resume, "args.json")
        if not os.path.isfile(stored_path):
            raise UserError(f"--resume {args.resume}: no args.json there; pass the run folder a script printed")
        try:
            with open(stored_path) as f:
                stored = json.load(f)
        except (OSError, ValueError):
            raise UserError(f"--resume {args.resume}: its args.json is unreadable; start a fresh run") from None
        if not isinstance(stored, dict):
            raise UserError(f"--resume {args.resume}: its args.json is not a run's settings; start a fresh run")
        mine, theirs = parser.get_default("script"), stored.get("script")
        if theirs and theirs != mine:
            raise UserError(f"--resume {args.resume}: that folder holds a {theirs}.py run, not a {mine}.py one; "
                            f"resume it with python {theirs}.py --resume {args.resume}")
        for action in parser._actions:  # a hand-edited args.json is held to the flags' own rules
            if action.dest not in stored or not action.option_strings or action.dest in ("resume", "out"):
                continue
            value = stored[action.dest]
            values = value if isinstance(value, list) and action.nargs in ("+", "*") else [value]
            if value is None:
                ok = action.default is None  # None only where the flag's own default is "not given"
            else:
                try:
                    ok = all(not hasattr(action.type, "bounds") or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                                                   and action.type(str(v)) == v) for v in values)
                    ok = ok and all(not action.choices or v in action.choices for v in values)
                except argparse.ArgumentTypeError:
                    ok = False
            if not ok:
                raise UserError(f"--resume {args.resume}: its args.json has {action.option_strings[0]} {value!r}, which "
                                "that flag does not take; restore the file or start a fresh run")
        parser.set_defaults(**{k: v for k, v in stored.items() if k not in ("resume", "out", "overwrite") and not k.startswith("_")})
        args = parser.parse_args(argv)
        args.out = args.resume
        allowed = RESUMABLE | getattr(parser, "resumable", set())
        changed = [k for k, v in stored.items() if k not in allowed and hasattr(args, k) and getattr(args, k) != v]
        if changed:
            flags = ", ".join(f"--{k.replace('_', '-')} {getattr(args, k)} (the run's: {stored[k]})" for k in changed)
            raise UserError(f"--resume {args.resume} continues that run with its own settings, and {flags} would change "
                            "it; start a new run with --out instead")
    quiet = RESUMABLE | getattr(parser, "resumable", set()) | NOT_TRAINING
    args.flags_given = stored["flags_given"] if isinstance(stored.get("flags_given"), list) else [
        a.option_strings[0] for a in parser._actions if a.option_strings and a.dest not in quiet
        and not isinstance(a, argparse._HelpAction) and getattr(args, a.dest, None) != defaults[a.dest]]
    if args.threads is not None:
        if args.threads < 1:
            raise UserError(f"--threads {args.threads}: need at least 1")
        torch.set_num_threads(args.threads)
    return args


# ----------------------------------------------------------------------------- run folder, checkpoints

class MetricsLog:
    """metrics.jsonl: one JSON object per evaluation. On resume, rows after the checkpoint are dropped."""

    def __init__(self, run_dir: str, resume_step: int | None = None):
        self.path = os.path.join(run_dir, "metrics.jsonl")
        rows = self.read(self.path) if resume_step is not None else []
        self.rewrite([row for row in rows if row.get("step", 0) <= resume_step])

    def rewrite(self, rows: list[dict]) -> None:
        with open(self.path + ".tmp", "w") as f:
            for row in rows:
                f.write(json.dumps(row, default=float) + "\n")
        os.replace(self.path + ".tmp", self.path)

    @staticmethod
    def read(path: str) -> list[dict]:
        if not os.path.isfile(path):
            return []
        with open(path) as f:
            try:
                rows = [json.loads(line) for line in f if line.strip()]
            except ValueError as err:
                raise UserError(f"{path} is damaged ({err.msg} in one of its rows); restore it, or start a fresh run "
                                "(--overwrite)") from None
        if not all(isinstance(row, dict) for row in rows):
            raise UserError(f"{path} is damaged (a row that is not a JSON object); restore it, or start a fresh run "
                            "(--overwrite)")
        return rows

    def append(self, row: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row, default=float) + "\n")


def rng_state(*generators: torch.Generator, device: torch.device | str = "cpu") -> dict:
    """Every random stream a training step touches, as tensors (weights_only-loadable): the CPU's
    default stream, the generators, the device's default stream (dropout on CUDA or MPS draws from it),
    and which device type each belongs to."""
    device_stream = device_stream_state(device)
    return {"torch": torch.get_rng_state(), "generators": [g.get_state() for g in generators],
            "generator_devices": [g.device.type for g in generators], "device": torch.device(device).type,
            **({"device_stream": device_stream} if device_stream is not None else {})}


def set_rng_state(state: dict, *generators: torch.Generator, device: torch.device | str = "cpu") -> list[int]:
    """Restore what `rng_state` saved. A stream saved on another device type (a CUDA run resumed on
    the CPU) cannot be carried over: those generators keep their fresh seeds, and their indices are
    returned, so that the caller can say the run goes on without repeating an uninterrupted one."""
    torch.set_rng_state(state["torch"])
    kinds = state.get("generator_devices", [g.device.type for g in generators])  # older checkpoints: same device
    for g, s, kind in zip(generators, state["generators"], kinds):
        if kind == g.device.type:
            g.set_state(s)
    if "device_stream" in state and state.get("device") == torch.device(device).type:
        set_device_stream_state(device, state["device_stream"])
    return [i for i, (g, kind) in enumerate(zip(generators, kinds)) if kind != g.device.type]


EXPLODED = 1e10  # a mean loss this large has left every regime the papers train in


def check_finite(step: int, advice: str, **losses: float) -> None:
    """Stop a diverged run (a non-finite or exploded mean loss) with a message that says how to go on."""
    bad = {k: v for k, v in losses.items() if not math.isfinite(v) or abs(v) > EXPLODED}
    if bad:
        raise UserError(f"training diverged at step {step} ({', '.join(f'{k} {v:.3g}' for k, v in bad.items())}); {advice}")


def all_finite(obj) -> bool:
    """Whether every float tensor in a (nested) state dict is finite."""
    if isinstance(obj, torch.Tensor):
        return not obj.is_floating_point() or bool(torch.isfinite(obj).all())
    if isinstance(obj, dict):
        return all(all_finite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(all_finite(v) for v in obj)
    return True


class Progress:
    """One progress line every `every` steps: step, mean losses, steps/s, ETA and the share of the
    wall time spent evaluating (time `evaluating()` blocks); between them, a short line (step, rate,
    ETA) whenever `quiet_s` seconds pass without one, so that a slow run (a huge --batch) is never
    silent. Divergence is checked at the fixed cadence only, so where a run stops does not depend on
    the machine's speed.

    Losses are summed as detached tensors and read back only when printing, so the training loop
    does not force a host-device sync every step."""

    def __init__(self, total: int, start: int = 0, every: int = 100, advice=lambda: "lower the learning rate",
                 quiet_s: float = 30.0):
        self.total, self.step, self.every, self.advice, self.quiet_s = total, start, max(1, every), advice, quiet_s
        self.sums: dict[str, torch.Tensor] = {}
        self.count, self.t0, self.s0 = 0, time.time(), start
        self.last_line = self.t0
        self.window_sums: dict[str, torch.Tensor] = {}  # since the last metrics row
        self.window_count = 0
        self.eval_s = self.last_eval_s = 0.0

    @contextlib.contextmanager
    def evaluating(self):
        """Time an evaluation: `last_eval_s` for its metrics row, `eval_s` summed for the final one."""
        t = time.time()
        try:
            yield
        finally:
            self.last_eval_s = time.time() - t
            self.eval_s += self.last_eval_s

    def update(self, step: int, **losses: torch.Tensor) -> None:
        self.step = step
        for k, v in losses.items():  # in place: a step's bookkeeping stays a few microseconds
            if k in self.sums:
                self.sums[k].add_(v.detach())
            else:
                self.sums[k] = v.detach().clone()
            if k in self.window_sums:
                self.window_sums[k].add_(v.detach())
            else:
                self.window_sums[k] = v.detach().clone()
        self.count += 1
        self.window_count += 1
        if step % self.every == 0 or step == self.total:
            means = {k: float(v) / self.count for k, v in self.sums.items()}
            check_finite(step, self.advice(), **means)
            elapsed = max(time.time() - self.t0, 1e-9)
            rate = (step - self.s0) / elapsed
            eta = (self.total - step) / max(rate, 1e-9)
            text = " ".join(f"{k} {v:+.4f}" for k, v in means.items())
            print(f"step {step:>7d}/{self.total} | {text} | {rate:6.1f} steps/s | ETA {format_seconds(eta)} | "
                  f"eval {100 * self.eval_s / elapsed:.0f} %", flush=True)
            self.sums, self.count, self.last_line = {}, 0, time.time()
        elif time.time() - self.last_line >= self.quiet_s:
            rate = (step - self.s0) / max(time.time() - self.t0, 1e-9)
            print(f"step {step:>7d}/{self.total} | {rate:6.2f} steps/s | ETA "
                  f"{format_seconds((self.total - step) / max(rate, 1e-9))}", flush=True)
            self.last_line = time.time()

    def sums_state(self) -> dict:
        """The loss sums since the last progress line and since the last metrics row, for a checkpoint."""
        return {"sums": dict(self.sums), "count": self.count, "window_sums": dict(self.window_sums),
                "window_count": self.window_count}

    def load_sums(self, state: dict, device: torch.device) -> None:
        self.sums = {k: v.to(device) for k, v in state["sums"].items()}
        self.window_sums = {k: v.to(device) for k, v in state["window_sums"].items()}
        self.count, self.window_count = int(state["count"]), int(state["window_count"])

    def check_window(self, step: int) -> None:
        """Stop with the advice if a loss since the last metrics row is not finite."""
        check_finite(step, self.advice(), **{k: float(v) / max(self.window_count, 1) for k, v in self.window_sums.items()})

    def window_means(self) -> dict[str, float]:
        """Mean of each loss since the previous call (or the start), for the metrics row; resets."""
        means = {f"train_{k}": float(v) / self.window_count for k, v in self.window_sums.items()}
        self.window_sums, self.window_count = {}, 0
        return means

    def rate(self) -> float:
        return (self.step - self.s0) / max(time.time() - self.t0, 1e-9)


def take_lock(path: str) -> str:
    """The run folder's lock file, holding this process's id: a second process on the same folder
    (two --resume at once) is refused while the first is alive; a lock left by a dead one is taken."""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    pid = int(f.read().strip() or 0)
                if pid and pid != os.getpid():
                    os.kill(pid, 0)  # raises if that process is gone
                    raise UserError(f"{os.path.dirname(path)} is in use by another run (process {pid}); wait for it "
                                    "to end, or choose another --out")
            except (ProcessLookupError, ValueError):
                pass
            except PermissionError:  # alive, another user's
                raise UserError(f"{os.path.dirname(path)} is in use by another user's run; choose another --out") from None
            with contextlib.suppress(OSError):
                os.remove(path)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return path
    raise UserError(f"cannot take the lock {path}; remove it if no run is using the folder")


RUN_FILES = ("ckpt.pt", "args.json", "metrics.jsonl", "final_metrics.json", "samples.npy")
RUNNER_FILES = ("stdout.log", ".lock")  # what may be in a fresh run's folder already: a benchmark's log, a stale lock


class Run:
    """The plumbing every script's `main` shares, so that `main` shows only what its method adds:

        with common.Run(args, ds, ds.model_maps()) as run:         # device, seeds, units, run folder
            rng = run.generators()                                 # {"data": CPU stream, "z": device stream}
            nets, opts = build_networks(ds, args, run.device)      # the script's own networks
            for step in run.start(nets, opts, rng):                # EMD reference, classifier, resume, args.json
                losses = train_step(nets, opts, run.batch(rng), args, rng, step)
                run.step_done(step, losses, lambda: evaluate(nets, run, args))   # log, evaluate, checkpoint
            samples = run.end(lambda: evaluate(nets, run, args))   # samples.npy
            write_pictures(run, args, samples)
            return run.finish(variant=args.variant)                # final_metrics.json

    `units` is (centre, scale, to_model, from_model), the map between the data's units and the
    model's (`Dataset.model_maps`; a script that trains elsewhere, e.g. in [0, 1], passes its own
    maps). Inside the `with` block an interrupt or a `Diverged` from the method's code leaves with a
    message that names the run folder and how to go on.

    What a script may read: `dir`, `device`, `ds`, `to_model` / `from_model`, `nets` and `opts`
    (after `start`), `reference` and `real_stats` (points: the real samples the EMD is taken against,
    and their own mode counts), `classifier` (labelled 28x28 images).
    Random streams: "data" (CPU, seed) draws real batches, "z" (the device, seed + 1) the noise,
    each further name the next seed; evaluation draws from its own fixed generator. The checkpoint
    holds every network, every optimiser (as opt_<key>), the step and all streams."""

    def __init__(self, args, ds, units: tuple):
        self.args, self.ds = args, ds
        require({"--batch": (args.batch >= 2, ">= 2"), "--steps": (args.steps >= 1, ">= 1"),
                 "--eval-n": (getattr(args, "eval_n", 2) >= 2, ">= 2"),
                 "--emd-n": ((getattr(args, "emd_n", None) or 2) >= 2, ">= 2"),
                 "--z-dim": ((getattr(args, "z_dim", None) or 1) >= 1, ">= 1"),
                 "--eval-every": (args.eval_every is None or args.eval_every >= 1, ">= 1"),
                 "--ckpt-every": (args.ckpt_every is None or args.ckpt_every >= 1, ">= 1"),
                 **{f"--{k.replace('_', '-')}": (v > 0, "> 0") for k, v in vars(args).items()
                    if (k == "lr" or k.startswith("lr_")) and v is not None}})  # every learning rate
        if ds.size is not None and ds.size < args.batch:  # a minibatch would repeat samples of a tiny set
            raise UserError(f"--batch {args.batch} is more than the {ds.size} samples of {args.dataset}; give --batch "
                            f"{ds.size} or less, or more data")
        args.eval_every = max(1, args.steps // args.evaluations) if args.eval_every is None else args.eval_every
        args.ckpt_every = max(1, args.steps // 10) if args.ckpt_every is None else args.ckpt_every
        self.device = get_device(args.device)
        args.device_used = str(self.device)  # "auto" says nothing about where a run trained
        seed_everything(args.seed, args.deterministic)
        center, scale, self.to_model, self.from_model = units
        args.affine_center, args.affine_scale = np.asarray(center).tolist(), scale
        print(ds.description)
        if not (scale == 1.0 and not np.any(center)):
            c = np.round(np.atleast_1d(center), 4)
            shown = f"(x - {np.round(center, 4).tolist()}) / {scale:.4g}"
            if c.size > 16:  # a 1200-D centre is summarised; args.json keeps all of it
                shown = f"(x - c) / {scale:.4g}, c " + (f"= {c[0]:g} in all {c.size} coordinates" if np.all(c == c[0])
                                                        else f"in [{c.min():g}, {c.max():g}] over {c.size} coordinates")
            print("affine map: x_model = " + shown)
        if args.out is None:
            name = os.path.splitext(os.path.basename(str(args.dataset).rstrip("/\\")))[0]
            args.out = os.path.join("runs", f"{args.script}-{name}-s{args.seed}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
                                    f"-{os.getpid()}")  # two runs started in the same second get two folders
        if not str(args.out).strip() or (os.path.exists(args.out) and not os.path.isdir(args.out)):
            raise UserError(f"--out {args.out!r} is not a folder; name a new or a run folder")
        held = [f for f in RUN_FILES if os.path.exists(os.path.join(args.out, f))]
        if held and not args.resume and not args.overwrite:
            raise UserError(f"--out {args.out} already holds a run ({', '.join(held)}); continue it with --resume "
                            f"{args.out}, choose another --out, or replace it with --overwrite")
        foreign = [] if args.resume or held or not os.path.isdir(args.out) else sorted(
            f for f in os.listdir(args.out) if f not in RUNNER_FILES)
        if foreign:  # a run's pictures would replace a user's files of the same names
            raise UserError(f"--out {args.out} holds files that are not a run's ({', '.join(foreign[:3])}"
                            f"{', ...' if len(foreign) > 3 else ''}); name a new or an empty folder")
        self.replaced = [] if args.resume else held  # removed by start, once the new run is set up
        try:
            os.makedirs(args.out, exist_ok=True)
        except OSError as err:
            raise UserError(f"--out {args.out}: cannot make the folder ({err.strerror}); choose another") from None
        print(f"run folder: {args.out}")
        self.dir = args.out
        try:
            self.lock = take_lock(os.path.join(args.out, ".lock"))
        except OSError as err:  # a folder that exists but takes no files: /proc, /sys, read-only
            raise UserError(f"--out {args.out}: cannot write there ({err.strerror}); choose another") from None
        self.last_good = None  # the step of the checkpoint on disk (set again by start)
        self.reference = self.classifier = self.result = self.samples = self.real_stats = None
        self.nets = self.opts = None

    def __enter__(self) -> "Run":
        # Ctrl-C and SIGTERM (what a scheduler sends before it preempts a job): inside the training
        # loop the run finishes its step, checkpoints it and stops, so nothing trained is lost and
        # the resumed run equals an uninterrupted one; a second signal, or one outside the loop, stops at once
        self.in_loop, self.stop_signal, self.stopped_at = False, None, None
        self._handlers = ({sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
                          if threading.current_thread() is threading.main_thread() else {})
        return self

    def _on_signal(self, signum, frame) -> None:
        if self.in_loop and self.stop_signal is None:
            self.stop_signal = signal.Signals(signum).name
            return
        raise KeyboardInterrupt

    def __exit__(self, kind, error, traceback) -> None:
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)
        with contextlib.suppress(OSError):
            os.remove(self.lock)
        if kind is KeyboardInterrupt:
            if self.last_good is None:
                raise Interrupted(f"before the first checkpoint, so there is nothing to resume; start again "
                                  f"(--overwrite to reuse {self.dir})") from None
            saved = "was saved" if self.stopped_at == self.last_good else "is intact"
            raise Interrupted(f"the last checkpoint (step {self.last_good}) {saved}; continue with --resume {self.dir}") from None
        if isinstance(error, Diverged):
            raise UserError(f"{error}; {self.divergence_advice()}") from None

    def generators(self, *names: str) -> dict:
        """{"data": CPU generator (seed), "z": device generator (seed + 1), name_i: seed + 1 + i}."""
        gens = {"data": torch.Generator().manual_seed(self.args.seed)}
        for i, name in enumerate(("z", *names), start=1):
            gens[name] = torch.Generator(self.device).manual_seed(self.args.seed + i)
        return gens

    def start(self, nets: dict, opts: dict, rng: dict) -> range:
        """Fix the evaluation's references (points: real samples and the EMD floor; labelled 28x28
        images: the classifier), resume from ckpt.pt with --resume, write args.json; the steps left."""
        args, ds = self.args, self.ds
        if ds.kind == "points":
            writable = not os.path.exists(args.data_dir) or os.access(args.data_dir, os.W_OK)
            cache = args.data_dir if writable else default_data_dir()  # a read-only shared copy: ours
            self.reference = metrics.point_reference(ds, args.eval_n, args.emd_n, args.seed + 20_000, cache)
            args.emd_n, args.emd_floor = self.reference.emd_n, self.reference.emd_floor
            print(f"EMD floor (data vs data, n = {args.emd_n}): {args.emd_floor:.4f}")
            if ds.centers is not None:
                self.real_stats = metrics.mixture_stats(self.reference.real, ds)
                print(f"real data: {self.real_stats['modes']} modes, high quality {self.real_stats['hq']:.2f} % by the "
                      f"protocol's {ds.hq_sigmas:g}-sigma rule, {self.real_stats['hq_calibrated']:.2f} % calibrated")
        if ds.kind == "images" and ds.labels is not None and ds.shape == (1, 28, 28):
            self.classifier, args.classifier_accuracy = metrics.get_classifier(ds, args.data_dir, self.device)
            print(f"evaluation classifier: test accuracy {100 * args.classifier_accuracy:.2f} % per image")
        self.nets, self.opts = nets, opts
        self.state = {**nets, **{f"opt_{k}": opt for k, opt in opts.items()}}
        self.rng, self.ckpt_path, self.start_step = list(rng.values()), os.path.join(self.dir, "ckpt.pt"), 0
        self.last_good, self.wall_before = None, 0.0  # earlier segments' wall time, from the checkpoint
        progress_sums = None
        if args.resume:
            checkpoint = load_checkpoint(self.ckpt_path)
            self.load(checkpoint)
            MetricsLog.read(os.path.join(self.dir, "metrics.jsonl"))  # damaged: refused before anything is written
            self.start_step = self.last_good = checkpoint["step"]
            if args.steps < self.start_step:
                raise UserError(f"--steps {args.steps} is below the checkpoint's step {self.start_step} in {self.dir}; "
                                f"give --steps {self.start_step} or more")
            self.wall_before = float(checkpoint.get("wall_s", 0.0))
            progress_sums = checkpoint.get("progress")
            print(f"resumed at step {self.start_step}")
        self.progress = Progress(args.steps, self.start_step, every=max(1, args.steps // 20), advice=self.divergence_advice)
        if progress_sums:  # a checkpoint between two metrics rows: their loss means go on
            try:
                self.progress.load_sums(progress_sums, self.device)
            except (KeyError, TypeError, AttributeError, ValueError):
                raise UserError(f"checkpoint {self.ckpt_path} holds damaged loss sums; start a fresh run "
                                f"(--out {self.dir} --overwrite)") from None
        for f in self.replaced:  # --overwrite: the old run goes only now that the new one is set up
            os.remove(os.path.join(self.dir, f))
        write_json(os.path.join(self.dir, "args.json"), vars(args))
        self.log = MetricsLog(self.dir, resume_step=self.start_step if args.resume else None)
        self.t0 = time.time()
        self.in_loop = True
        return range(self.start_step + 1, args.steps + 1)

    def load(self, checkpoint: dict) -> None:
        """Networks, optimisers and random streams from a checkpoint; a damaged or foreign one is a
        one-line error that names the file."""
        damaged = f"checkpoint {self.ckpt_path}"
        missing = [k for k, m in self.state.items() if m is not None and k not in checkpoint]
        missing += [k for k in ("step", "rng") if k not in checkpoint]
        if missing or not isinstance(checkpoint.get("step"), int) or not isinstance(checkpoint.get("rng"), dict):
            raise UserError(f"{damaged} lacks {', '.join(missing) or 'a valid step'}; it is not this run's. Start a "
                            f"fresh run (--out {self.dir} --overwrite)")
        if not all_finite({k: v for k, v in checkpoint.items() if k != "progress"}):  # a loss sum: the run's own check
            raise UserError(f"{damaged} holds non-finite weights; start a fresh run (--out {self.dir} --overwrite)")
        try:
            for key, module in self.state.items():
                if module is not None:
                    module.load_state_dict(checkpoint[key])
            moved = set_rng_state(checkpoint["rng"], *self.rng, device=self.device)
        except (RuntimeError, ValueError, KeyError, TypeError) as err:  # sizes or streams not this run's
            reason = str(err).strip().splitlines()[0][:160]
            raise UserError(f"{damaged} does not fit this run ({type(err).__name__}: {reason}); start a fresh run "
                            f"(--out {self.dir} --overwrite)") from None
        if moved:
            print(f"note: the checkpoint's random streams were drawn on {checkpoint['rng'].get('device')}, and this "
                  f"run is on {self.device.type}: those streams start afresh, so the run goes on but does not "
                  "repeat an uninterrupted one")

    def batch(self, rng: dict, n: int | None = None) -> torch.Tensor:
        """n (default --batch) real samples in model units on the device (drawn on the CPU, from the
        CPU stream, so that the data a run sees is the same on every device)."""
        x = self.to_model(self.ds.sample(n or self.args.batch, rng["data"]))
        if self.device.type == "cuda":  # pinned: the copy does not stall the host
            return x.pin_memory().to(self.device, non_blocking=True)
        return x.to(self.device)

    def step_done(self, step: int, losses: dict, evaluate, row=None) -> tuple | None:
        """Progress line; every eval_every steps evaluate() -> (result, samples), logged with the
        mean losses since the last row and the dict row() returns; every ckpt_every steps the
        checkpoint. Returns (result, samples) when it evaluated."""
        self.progress.update(step, **losses)
        evaluated = None
        if step % self.args.eval_every == 0 or step == self.args.steps:
            self.progress.check_window(step)  # a diverged run stops here, before its samples are judged
            with self.progress.evaluating():
                self.result, self.samples = evaluated = evaluate()
            self.log.append({"step": step, "time": round(time.time() - self.t0, 2),
                             "eval_s": round(self.progress.last_eval_s, 3), **(row() if row else {}),
                             **self.progress.window_means(),
                             **self.result})
            scalars = " ".join(f"{k} {v:.4g}" for k, v in self.result.items() if isinstance(v, (int, float)))
            print("  eval " + (scalars or "(no scalar metric for this data set during training)"), flush=True)
        if step % self.args.ckpt_every == 0 or step == self.args.steps or self.stop_signal:
            self.checkpoint(step)
        if self.stop_signal:
            self.stopped_at = step
            print(f"{self.stop_signal}: stopped after step {step}", flush=True)
            raise KeyboardInterrupt
        return evaluated

    def checkpoint(self, step: int) -> None:
        """ckpt.pt at the end of `step`: networks and optimisers, every random stream, the loss sums
        since the last progress line and metrics row, the wall time; refused if a weight is not finite."""
        state = {k: m.state_dict() for k, m in self.state.items() if m is not None}  # None: nets a variant lacks
        if not all_finite(state):
            raise UserError(f"training diverged by step {step} (non-finite weights); {self.divergence_advice()}")
        save_checkpoint(self.ckpt_path, {**state, "step": step, "rng": rng_state(*self.rng, device=self.device),
                                         "progress": self.progress.sums_state(),
                                         "wall_s": self.wall_before + time.time() - self.t0})
        self.last_good = step

    def divergence_advice(self) -> str:
        """What a diverged run can do: resume the last checkpoint (always finite), or start again,
        with a lower learning rate or without the training flags this run set away from their defaults
        (a tiny --presample, a huge penalty weight or noise level can diverge as a high rate does)."""
        given = getattr(self.args, "flags_given", [])
        change = "a lower learning rate (see --help for the rate flags)" + (
            f" or the defaults of the flags this run set ({', '.join(given)})" if given else "")
        if self.last_good is None:
            return f"no checkpoint was written yet: start again with {change} (--overwrite to reuse {self.dir})"
        if given:  # a run-changing flag cannot be undone on --resume
            return (f"the last checkpoint ({self.ckpt_path}, step {self.last_good}) is finite: resume it with "
                    f"--resume {self.dir} and a lower learning rate, or start again with {change}")
        return (f"the last checkpoint ({self.ckpt_path}, step {self.last_good}) is finite: resume it with "
                f"--resume {self.dir} and {change}")

    def end(self, evaluate) -> np.ndarray:
        """The last evaluation; writes samples.npy. A finished run that is resumed is evaluated
        afresh from its final checkpoint, and its last metrics row with it: this re-scores a run
        after a change to the evaluation, with the numbers a run from scratch would give."""
        self.in_loop = False
        if self.stop_signal:  # came after the last step: its checkpoint is the final one
            raise KeyboardInterrupt
        if self.start_step >= self.args.steps:
            with self.progress.evaluating():
                self.result, self.samples = evaluate()
            rows = MetricsLog.read(self.log.path)
            if rows and rows[-1].get("step") == self.args.steps:
                self.log.rewrite(rows[:-1] + [{**rows[-1], **self.result}])
        np.save(os.path.join(self.dir, "samples.npy"), self.samples)
        return self.samples

    def finish(self, **extra) -> dict:
        """final_metrics.json: the last evaluation's scalars, the timings, the seed and `extra`."""
        final = {k: v for k, v in self.result.items() if not isinstance(v, list)}
        final.update(step=self.args.steps, steps_per_s=round(self.progress.rate(), 2),
                     wall_s=round(self.wall_before + time.time() - self.t0, 1), eval_s=round(self.progress.eval_s, 1),
                     seed=self.args.seed, device=str(self.device), **extra)
        path = os.path.join(self.dir, "final_metrics.json")
        if self.start_step >= self.args.steps and os.path.isfile(path):  # re-scored: the timings stay the training's
            try:
                with open(path) as f:
                    trained = json.load(f)
            except ValueError:
                trained = None
            if not isinstance(trained, dict):  # damaged: its timings are lost, the new scores are written
                print(f"note: {path} was damaged; it is written afresh without the training's timings")
                trained = {}
            for k in ("steps_per_s", "wall_s", "eval_s"):  # a timing the training did not record stays unrecorded
                if k in trained:
                    final[k] = trained[k]
                else:
                    del final[k]
        write_json(path, final)
        print("final " + json.dumps(final))
        print(f"wrote {self.dir}")
        return final


def format_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


# ----------------------------------------------------------------------------- shared by every script's evaluation

GPU_CHUNK = 4096  # rows per generator pass on an accelerator, where a CPU-sized --batch wastes launches


@torch.no_grad()
def sample_in_chunks(G: nn.Module, n: int, chunk: int, make_input, grow_off_cpu: bool = True) -> torch.Tensor:
    """torch.cat of G(*make_input(first_row, m)) over chunks of m <= chunk rows, with G in eval mode
    (batch norm's running statistics, no dropout) and handed back in the mode it came in. Off the
    CPU a chunk is at least GPU_CHUNK rows (grow_off_cpu=False where the chunk size is part of the
    method); on the CPU it is `chunk`, so that CPU numbers never change with the device code."""
    if grow_off_cpu and next(G.parameters()).device.type != "cpu":
        chunk = max(chunk, GPU_CHUNK)
    was_training = G.training
    G.eval()
    out = torch.cat([G(*make_input(i, min(chunk, n - i))) for i in range(0, n, chunk)])
    G.train(was_training)
    return out
