"""The bottom layer of the shared code: what data.py, metrics.py and common.py all need, and nothing
that knows a script, a data set or a metric.

* `UserError`: a problem the user can fix (bad flag, missing or corrupt file, diverged run); the
  scripts print it as one line and exit with status 2.
* Files written atomically (a temporary file, then a rename), so a crash never leaves half of one:
  `write_json`, `save_checkpoint`; `load_checkpoint` reads one back as tensors and plain values only
  (`torch.load(..., weights_only=True)`) and turns a missing or damaged file into a UserError.
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


def save_checkpoint(path: str, state: dict) -> None:
    """Atomic checkpoint: write a temporary file, fsync, rename. Holds only tensors and plain values."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(state, f)
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
