"""Test helpers: every test writes its own small files in tmp_path; nothing is downloaded."""
import atexit
import gzip
import importlib.util
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.append(os.path.join(ROOT, "benchmarks"))  # for `import runner`; last, so its names never shadow the scripts
torch.set_num_threads(1)  # tiny nets: one thread is fastest and keeps numbers identical across machines
# the data dir's caches (EMD floors, classifiers) of runs that name none go to a temporary folder, not ./data
os.environ["GAN_DATA_DIR"] = tempfile.mkdtemp(prefix="gan-tests-data-")
atexit.register(shutil.rmtree, os.environ["GAN_DATA_DIR"], True)
import common  # noqa: E402

# where the tests train: GAN_TEST_DEVICE=cuda python -m pytest checks the CUDA path on a GPU machine
DEVICE = os.environ.get("GAN_TEST_DEVICE", "cpu")


def benchmark_module(name):
    """benchmarks/<name>.py imported in-process under its own name (the scripts' names are taken)."""
    if f"benchmark_{name}" in sys.modules:
        return sys.modules[f"benchmark_{name}"]
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[f"benchmark_{name}"] = module
    return module


def bench(capsys, name, *argv):
    """`python benchmarks/<name>.py ARGV` run in this process: (exit status, stdout, stderr). Its runs
    are still processes of their own; in-process, the interpreter is already paid for and a fork
    server started by one call serves every later one (a fresh interpreter costs 2-3 s each)."""
    module, saved = benchmark_module(name), sys.argv
    sys.argv = [os.path.join(ROOT, "benchmarks", f"{name}.py"), *argv]  # the command a table records
    try:
        common.run_main(module.main, list(argv))
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code
    finally:
        sys.argv = saved
    out = capsys.readouterr()
    return code, out.out, out.err


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


def write_mnist(root):
    """A tiny MNIST-format data dir: <root>/mnist/ with 200 train and 100 test images."""
    folder = root / "mnist"
    folder.mkdir()
    for split, n, seed in (("train", 200, 0), ("t10k", 100, 1)):
        images, labels = fake_digits(n, seed)
        write_idx(str(folder / f"{split}-images-idx3-ubyte.gz"), images)
        write_idx(str(folder / f"{split}-labels-idx1-ubyte.gz"), labels)
    return root


@pytest.fixture
def mnist_dir(tmp_path):
    """A fresh tiny MNIST data dir, for tests that change it or need an empty classifier cache."""
    return write_mnist(tmp_path)


@pytest.fixture(scope="session")
def shared_mnist_dir(tmp_path_factory):
    """One tiny MNIST data dir for every script test: the evaluation classifier is trained by the
    first test and read from the cache there by the others. Tests must not change it."""
    return write_mnist(tmp_path_factory.mktemp("shared"))


def write_cifar(folder, n=12, seed=0):
    """A tiny CIFAR-10 python-batch folder (cifar-10-batches-py) with n images per batch; returns the
    MD5 table its files have, to stand in for the official one."""
    import hashlib
    import pickle
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    md5 = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), b"labels": rng.integers(0, 10, n).tolist()}
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            pickle.dump(batch, f, protocol=2)
        md5[name] = hashlib.md5(open(path, "rb").read()).hexdigest()
    return md5
