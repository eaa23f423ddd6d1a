"""The bottom layer of the shared code: what data.py, metrics.py and common.py all need, and nothing
that knows a script, a data set or a metric.

* `UserError`: a problem the user can fix (bad flag, missing or corrupt file, diverged run); the
  scripts print it as one line and exit with status 2.
* Files written atomically (a temporary file, then a rename), so a crash never leaves half of one:
  `write_json`, `save_checkpoint`; `load_checkpoint` reads one back as tensors and plain values only
  (`torch.load(..., weights_only=True)`) and turns a missing or damaged file into a UserError.
  A checkpoint holds CPU tensors only, so that a GPU run's checkpoint loads on a machine without one.
* `device_stream_state` / `set_device_stream_state` / `fork_rng`: the default random stream of a
  CUDA or MPS device (dropout draws from it) saved, restored and protected like the CPU's.
* `default_data_dir`: where data sets, their caches and the evaluation classifiers live.
"""
from __future__ import annotations

import json
import os

import torch


class UserError(Exception):
    """A problem the user can fix (bad flag, missing file, diverged run): printed as one line."""


def default_data_dir() -> str:
    return os.environ.get("GAN_DATA_DIR", "./data")


def write_json(path: str, obj) -> None:
    """Write JSON atomically (a temporary file of this process, then rename)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, default=float)
    os.replace(tmp, path)


def to_cpu(obj):
    """A (nested) state with every tensor on the CPU; CPU tensors are passed through, not copied."""
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def save_checkpoint(path: str, state: dict) -> None:
    """Atomic checkpoint: write a temporary file, fsync, rename. Holds only CPU tensors and plain values."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(to_cpu(state), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str) -> dict:
    if not os.path.isfile(path):
        raise UserError(f"no checkpoint at {path}; start a fresh run without --resume "
                        f"(--out {os.path.dirname(path) or '.'} --overwrite to reuse the folder)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a damaged file
        raise UserError(f"checkpoint {path} is unreadable ({type(err).__name__}); delete the run folder and start again") from None


def device_stream_state(device: torch.device) -> torch.Tensor | None:
    """The state of `device`'s default random stream (None on the CPU, whose stream is saved apart)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    if device.type == "mps":
        return torch.mps.get_rng_state()
    return None


def set_device_stream_state(device: torch.device, state: torch.Tensor) -> None:
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    elif device.type == "mps":
        torch.mps.set_rng_state(state)


def fork_rng(device: torch.device):
    """torch.random.fork_rng for the CPU stream and `device`'s default stream, CUDA or MPS alike
    (fork_rng with devices=[] alone leaves an MPS stream unprotected)."""
    device = torch.device(device)
    if device.type == "cpu":
        return torch.random.fork_rng(devices=[])
    return torch.random.fork_rng(devices=[device], device_type=device.type)
