"""Test helpers: every test writes its own small files in tmp_path; nothing is downloaded."""
import gzip
import os
import struct
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
torch.set_num_threads(1)  # tiny nets: one thread is fastest and keeps numbers identical across machines


def write_idx(path, array):
    """Write a uint8 array as an IDX file (gzip if the name ends in .gz)."""
    array = np.asarray(array, np.uint8)
    raw = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    with (gzip.open if path.endswith(".gz") else open)(path, "wb") as f:
        f.write(raw)


def fake_digits(n, seed=0, size=28):
    """Images of 10 classes a small CNN separates easily, even under 2-pixel shifts: classes 0-4 light
    a vertical bar, classes 5-9 a horizontal one, 5 pixels apart."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 40, (n, size, size)).astype(np.uint8)
    for i, k in enumerate(labels):
        at = 3 + 5 * (k % 5)
        if k < 5:
            images[i, 4:24, at:at + 2] = 255
        else:
            images[i, at:at + 2, 4:24] = 255
    return images, labels


@pytest.fixture
def mnist_dir(tmp_path):
    """A tiny MNIST-format data dir: <tmp>/mnist/ with 200 train and 100 test images."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for split, n, seed in (("train", 200, 0), ("t10k", 100, 1)):
        images, labels = fake_digits(n, seed)
        write_idx(str(folder / f"{split}-images-idx3-ubyte.gz"), images)
        write_idx(str(folder / f"{split}-labels-idx1-ubyte.gz"), labels)
    return tmp_path
