"""Every data set the five papers use, plus the user's own `.npy`.

* Synthetic mixtures, sampled on the fly from a `torch.Generator`, with their centres, sigma and
  weights exposed so `metrics.py` can judge samples. The protocol of VEEGAN and PacGAN:
  `ring` = 8 modes at radius 1, angles 2*pi*k/8 (never `linspace` with its endpoint, which gives 7
  distinct modes), sigma 0.01; `grid` = 25 modes at {-4, -2, 0, 2, 4}^2, sigma 0.05.
* `PATH.npy` (or an `.npz` of one array): points (N, D), or images (N, H, W) / (N, C, H, W), uint8
  or float. Anything else, NaN, inf or an empty array is refused with a one-line error. Optional `--centers PATH.json`
  ({"centers": [[...], ...], "sigma": s, "weights": [...]}) lets the mode statistics judge it.
* `star`: PGAN's 2-D toy, five Gaussians with mean 0 and rotated covariances (no modes to count:
  judged by the EMD alone).
* `hd`: VEEGAN's 1200-D set as PacGAN's code builds it: 10 modes, each sample (n, 0) + c_k * 1 with
  n ~ N(0, I_700) in the first 700 coordinates, zeros in the other 500, and the offset c_k added to
  all 1,200 coordinates.
* `stacked-mnist`: three MNIST digits drawn independently (with replacement) as the three channels
  of one image, 1,000 classes 100*d0 + 10*d1 + d2; a fixed training set of 128,000 such triples
  (PacGAN's config), stored as indices into the digits.
* `cifar10`: the official python batches. Every batch file's MD5 is checked *before* it is unpickled
  (a pickle can run code), and the unpickler accepts only numpy arrays, lists and dicts.
* `celeba` / an image folder: every .jpg/.png/.jpeg under it, a centred square crop (108 pixels for
  CelebA's aligned 178x218 faces, as DCGAN-tensorflow crops them; the shorter side for any other
  folder) resized to 64x64, decoded once with Pillow (imported only here) and cached as a .npy next
  to the images. CelebA's `list_eval_partition.txt`, when present, gives the official test split;
  otherwise the last 10 % of the sorted file names are the test split.
* MNIST and Fashion-MNIST from the official IDX files (gzip or raw), looked up in
  `<data-dir>/<name>/`, then `<data-dir>/` itself (so `--data-dir shared/data/mnist-5k` works), then,
  for Fashion-MNIST, Debian's `/usr/share/datasets/fashion-mnist/`. Missing files are downloaded from
  a list of mirrors with an MD5 check and an atomic write; offline, the error names the files, the
  folder and the URLs. Local files are checked by structure (magic number, sizes), not by MD5, so
  that subsets in the official format (such as mnist-5k) load too.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.request
import zlib

import numpy as np
import torch

from base import UserError

IDX_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}

MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
MD5 = {  # of the .gz files, as published by the data sets' authors (and checked by torchvision)
    "mnist": {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
              "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
              "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
              "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    "fashion-mnist": {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                      "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                      "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                      "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
}
SYSTEM_DIRS = {"fashion-mnist": ["/usr/share/datasets/fashion-mnist"]}  # apt-get install dataset-fashion-mnist


@dataclasses.dataclass
class Dataset:
    """A data set as the scripts see it.

    kind: "points" or "images". `sample(n, generator)` returns n training samples (float32, the
    data's own units). For mixtures `centers`, `sigma`, `weights` describe the truth; for images
    `labels`, `test_images`, `test_labels` are kept for the evaluation classifier."""
    name: str
    kind: str
    shape: tuple
    description: str
    array: torch.Tensor | None = None  # finite data (points or images), data units
    labels: np.ndarray | None = None
    test_images: torch.Tensor | None = None
    test_labels: np.ndarray | None = None
    centers: np.ndarray | None = None
    sigma: float | None = None
    weights: np.ndarray | None = None
    noise_dims: int | None = None  # mixtures: Gaussian noise only in the first noise_dims coordinates
    component_maps: np.ndarray | None = None  # mixtures (K, D, D): component k adds sigma * A_k @ noise
    hq_sigmas: float = 3.0  # mixtures: the protocol's high-quality radius in units of sigma
    stack_index: torch.Tensor | None = None  # (N, k): sample i stacks array[stack_index[i]] as k channels
    digits: "Dataset | None" = None  # stacked MNIST: the MNIST set whose classifier judges each channel
    value_range: tuple | None = None  # (lo, hi) of the raw data, used for the affine map into [-1, 1]
    integer: bool = False  # uint8 data: generated samples are written back as uint8

    @property
    def size(self) -> int | None:
        """How many samples the set holds (None for a mixture, which is sampled afresh)."""
        return len(self.stack_index) if self.stack_index is not None else None if self.array is None else len(self.array)

    def affine(self) -> tuple[np.ndarray, float]:
        """(centre, scale) of the map x -> (x - centre) / scale into a tanh generator's range.

        Points: per-dimension centre, one scale for all dimensions (so distances keep their
        shape), data filling [-0.9, 0.9] to stay off tanh's saturation. Images: one centre and
        scale, data filling [-1, 1] exactly (uint8 -> x / 127.5 - 1, the usual DCGAN map)."""
        lo, hi = np.asarray(self.value_range[0], np.float64), np.asarray(self.value_range[1], np.float64)
        margin = 0.9 if self.kind == "points" else 1.0
        return (lo + hi) / 2, max(float(np.max(hi - lo)) / 2 / margin, 1e-12)

    def model_maps(self, identity: bool | None = None):
        """(centre, scale, to_model, from_model): the `affine()` map as two functions on tensors,
        or the identity (centre 0, scale 1) for data a script trains in its own units. By default
        built-in mixtures keep their units and everything else (a user's points, images) is mapped."""
        identity = self.kind == "points" and self.array is None if identity is None else identity
        center, scale = (np.zeros(self.shape), 1.0) if identity else self.affine()
        c_t = torch.as_tensor(center, dtype=torch.float32).reshape((1, -1) if self.kind == "points" else ())
        return center, scale, (lambda x: (x - c_t) / scale), (lambda y: y * scale + c_t)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if self.stack_index is not None:
            rows = self.stack_index[torch.randint(len(self.stack_index), (n,), generator=generator)]
            return self.array[rows].flatten(1, 2).float()
        if self.array is not None:
            idx = torch.randint(len(self.array), (n,), generator=generator)
            return self.array[idx].float()
        k = torch.multinomial(torch.as_tensor(self.weights, dtype=torch.float32), n, replacement=True,
                              generator=generator)
        dim = self.centers.shape[1]
        noise = torch.randn(n, self.noise_dims or dim, generator=generator)
        if self.component_maps is not None:
            noise = torch.einsum("nij,nj->ni", torch.as_tensor(self.component_maps, dtype=torch.float32)[k], noise)
        if self.noise_dims:
            noise = torch.cat([noise, torch.zeros(n, dim - self.noise_dims)], 1)
        return torch.as_tensor(self.centers, dtype=torch.float32)[k] + self.sigma * noise


def mixture(name: str, centers: np.ndarray, sigma: float, weights=None) -> Dataset:
    centers = np.asarray(centers, np.float64)
    weights = np.full(len(centers), 1 / len(centers)) if weights is None else np.asarray(weights, np.float64)
    desc = f"{name}: {len(centers)} Gaussian modes in {centers.shape[1]}-D, sigma {sigma:g}"
    lo, hi = centers.min(0) - 4 * sigma, centers.max(0) + 4 * sigma
    return Dataset(name, "points", (centers.shape[1],), desc, centers=centers, sigma=float(sigma),
                   weights=weights / weights.sum(), value_range=(lo.tolist(), hi.tolist()))


def ring(modes: int = 8, radius: float = 1.0, sigma: float = 0.01) -> Dataset:
    """8 modes at radius 1, angles 2*pi*k/8, sigma 0.01 (VEEGAN / PacGAN protocol)."""
    angles = 2 * np.pi * np.arange(modes) / modes
    ds = mixture("ring", radius * np.stack([np.cos(angles), np.sin(angles)], 1), sigma)
    ds.description = f"ring: {modes} modes at radius {radius:g}, angles 2*pi*k/{modes}, sigma {sigma:g}"
    return ds


def grid(side: int = 5, spacing: float = 2.0, sigma: float = 0.05) -> Dataset:
    """25 modes at {-4, -2, 0, 2, 4}^2, sigma 0.05 (VEEGAN / PacGAN protocol)."""
    axis = spacing * (np.arange(side) - (side - 1) / 2)
    ds = mixture("grid", np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2), sigma)
    ds.description = f"grid: {side * side} modes at {{{', '.join(f'{a:g}' for a in axis)}}}^2, sigma {sigma:g}"
    return ds


def star(components: int = 5, major: float = 1.0, minor: float = 0.1) -> Dataset:
    """PGAN's 2-D toy (its section 4.2): a GMM whose components share the mean 0 and differ only in
    the rotation of their covariance; here standard deviations `major` and `minor` along axes
    rotated by pi*k/components (the paper gives no numbers), a star of 2*components rays."""
    angles = np.pi * np.arange(components) / components
    rotations = np.stack([np.stack([np.cos(angles), -np.sin(angles)], 1),
                          np.stack([np.sin(angles), np.cos(angles)], 1)], 1)  # (K, 2, 2)
    ds = mixture("star", np.zeros((components, 2)), 1.0)
    ds.component_maps = rotations * np.array([major, minor])  # R_k diag(major, minor)
    ds.value_range = ([-3 * major] * 2, [3 * major] * 2)
    ds.description = (f"star: {components} Gaussians with mean 0, standard deviations {major:g} and {minor:g} "
                      f"along axes rotated by pi*k/{components}")
    return ds


HD_OFFSETS = (-1.0, -0.5, 0.0, 0.5, -2.0, -2.5, 10.0, 0.25, -13.0, -5.5)  # PacGAN pacgan/datasets.py


def hd(dim: int = 1200, noise_dims: int = 700) -> Dataset:
    """VEEGAN's 10 modes of 700-D unit Gaussians embedded in 1200-D, built as PacGAN's code builds it."""
    ds = mixture("hd", np.asarray(HD_OFFSETS)[:, None] * np.ones((1, dim)), 1.0)
    ds.noise_dims, ds.hq_sigmas = noise_dims, 10.0  # VEEGAN: high quality within 10 sigma in 1200-D
    ds.description = (f"hd: 10 modes c*1 in {dim}-D, c in {list(HD_OFFSETS)}, unit noise in the first "
                      f"{noise_dims} coordinates, zeros in the other {dim - noise_dims}")
    return ds


def stacked_mnist(digits: Dataset, n: int = 128_000, seed: int = 0) -> Dataset:
    """Three independent digits per image as its channels; label 100*d0 + 10*d1 + d2 (1,000 modes).

    The n triples are drawn once, uniformly with replacement, from the digits' training split (its
    test split stays unseen for the per-channel classifier's accuracy)."""
    gen = torch.Generator().manual_seed(seed)
    index = torch.randint(len(digits.array), (n, 3), generator=gen)
    labels = torch.as_tensor(digits.labels)[index]
    desc = f"stacked-mnist: {n} triples of {len(digits.array)} {digits.name} digits as RGB 3x28x28, 1,000 modes"
    return Dataset("stacked-mnist", "images", (3, *digits.shape[1:]), desc, array=digits.array,
                   labels=(labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2]).numpy(), stack_index=index,
                   value_range=(0.0, 255.0), integer=True, digits=digits)


# ----------------------------------------------------------------------------- CIFAR-10

CIFAR_URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
CIFAR_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_MD5 = {  # as published with the data set (and checked by torchvision)
    "data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e"}


class _ArrayUnpickler(pickle.Unpickler):
    """Refuses every global but numpy's array reconstruction (and the codec protocol 2 uses for bytes),
    so a batch file cannot run code."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels) of one python batch, after its MD5 matched."""
    name = os.path.basename(path)
    if md5sum(path) != CIFAR_MD5[name]:
        raise UserError(f"{path} does not have the official MD5 {CIFAR_MD5[name]}; delete the "
                        f"{CIFAR_FOLDER} folder so the archive is downloaded and checked again")
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
        images = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], np.int64)
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError, TypeError) as err:
        raise UserError(f"{path} is not a CIFAR-10 python batch ({err}); delete it") from None
    if len(images) != len(labels):
        raise UserError(f"{path} holds {len(images)} images but {len(labels)} labels; delete it")
    return images, labels


def load_cifar10(data_dir: str) -> Dataset:
    """CIFAR-10 from `<data-dir>/cifar-10-batches-py/` or `<data-dir>/cifar10/...`; downloaded if absent."""
    candidates = [os.path.join(data_dir, CIFAR_FOLDER), os.path.join(data_dir, "cifar10", CIFAR_FOLDER)]
    folder = next((c for c in candidates if all(os.path.isfile(os.path.join(c, f)) for f in CIFAR_MD5)), None)
    if folder is None:
        target = os.path.join(data_dir, "cifar10")
        archive = download("cifar-10-python.tar.gz", target, CIFAR_URLS, CIFAR_ARCHIVE_MD5)
        with tarfile.open(archive, "r:gz") as tar:  # only the six batch files, never paths outside target
            members = [m for m in tar.getmembers() if m.isfile() and m.name in {f"{CIFAR_FOLDER}/{f}" for f in CIFAR_MD5}]
            tar.extractall(target, members=members, filter="data")
        folder = candidates[1]
    train = [read_cifar_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
    test_images, test_labels = read_cifar_batch(os.path.join(folder, "test_batch"))
    images = np.concatenate([t[0] for t in train])
    return Dataset("cifar10", "images", (3, 32, 32), f"cifar10: {len(images)} train / {len(test_images)} test "
                   f"images 3x32x32 from {folder}", array=torch.as_tensor(images),
                   labels=np.concatenate([t[1] for t in train]), test_images=torch.as_tensor(test_images),
                   test_labels=test_labels, value_range=(0.0, 255.0), integer=True)


# ----------------------------------------------------------------------------- CelebA / image folders

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CELEBA_CROP = 108  # DCGAN-tensorflow's centre crop of the aligned 178x218 faces


def find_celeba_folder(data_dir: str) -> str:
    for folder in (os.path.join(data_dir, "celeba", "img_align_celeba"), os.path.join(data_dir, "img_align_celeba"),
                   os.path.join(data_dir, "celeba")):
        if os.path.isdir(folder) and any(f.lower().endswith(IMAGE_SUFFIXES) for f in os.listdir(folder)):
            return folder
    raise UserError(f"CelebA not found under {data_dir}: put the aligned images (img_align_celeba/*.jpg, from "
                    "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) in "
                    f"{os.path.join(data_dir, 'celeba', 'img_align_celeba')}, with list_eval_partition.txt beside them")


def decode_images(paths: list[str], size: int, crop: int | None) -> np.ndarray:
    """uint8 (N, 3, size, size): centred square crop (`crop` pixels, or the shorter side), then resize."""
    try:
        from PIL import Image
    except ImportError:
        raise UserError("reading an image folder needs Pillow: pip install pillow") from None
    out = np.empty((len(paths), 3, size, size), np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
                w, h = im.size
                side = min(w, h, crop or min(w, h))
                left, top = (w - side) // 2, (h - side) // 2
                im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
                out[i] = np.asarray(im).transpose(2, 0, 1)
        except OSError as err:
            raise UserError(f"cannot decode image {path} ({err}); remove it from the folder") from None
    return out


def load_image_folder(folder: str, size: int = 64, crop: int | None = None, name: str | None = None) -> Dataset:
    """Every image under `folder` as a 3 x size x size data set, cached as `.<name>-<size>.npy` there."""
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise UserError(f"no .jpg/.png images in {folder}")
    listing = hashlib.sha1("\n".join(f"{f} {os.path.getsize(os.path.join(folder, f))}" for f in files).encode())
    cache = os.path.join(folder, f".cache-{listing.hexdigest()[:12]}-{size}-{crop or 0}.npy")  # redone if files change
    if os.path.isfile(cache):
        images = np.load(cache)
    else:
        print(f"decoding {len(files)} images from {folder} (cached afterwards)", flush=True)
        images = decode_images([os.path.join(folder, f) for f in files], size, crop)
        try:
            tmp = cache + ".tmp.npy"
            np.save(tmp, images)
            os.replace(tmp, cache)
        except OSError:
            print(f"note: {folder} is read-only; the images are decoded again next time")
    test = np.zeros(len(files), bool)
    partition = os.path.join(os.path.dirname(folder.rstrip(os.sep)), "list_eval_partition.txt")
    partition = partition if os.path.isfile(partition) else os.path.join(folder, "list_eval_partition.txt")
    if os.path.isfile(partition):  # CelebA: "<file> 0|1|2", 2 = test
        with open(partition) as f:
            split = dict(line.split() for line in f if line.strip())
        test = np.array([split.get(f) == "2" for f in files])
    if not test.any():
        test[int(0.9 * len(files)):] = True
    if (~test).sum() < 2 or not test.any():
        raise UserError(f"{folder} has {len(files)} images, {int((~test).sum())} of them for training; a folder needs "
                        "at least 2 training images and 1 test image (3 or more images without a partition file)")
    images = torch.as_tensor(images)
    name = name or os.path.basename(folder.rstrip(os.sep))
    return Dataset(name, "images", (3, size, size), f"{name}: {int((~test).sum())} train / {int(test.sum())} test "
                   f"images 3x{size}x{size} from {folder}", array=images[torch.as_tensor(~test)],
                   test_images=images[torch.as_tensor(test)], value_range=(0.0, 255.0), integer=True)


# ----------------------------------------------------------------------------- user .npy

def load_npy(path: str, centers_path: str | None = None) -> Dataset:
    if not os.path.isfile(path):
        raise UserError(f"data set file {path} not found; pass an existing .npy file or a built-in data set name")
    try:
        x = np.load(path, allow_pickle=False)
    except ValueError as err:
        with open(path, "rb") as f:
            is_npy = f.read(6) == b"\x93NUMPY"
        if is_npy and "pickle" in str(err):
            raise UserError(f"{path} holds Python objects, which are not loaded (unpickling can run code); save a "
                            "plain numeric array: numpy.save(path, numpy.asarray(data, dtype=numpy.float32))") from None
        raise UserError(f"{path} is not a readable .npy array ({err}); save it with numpy.save") from None
    except Exception as err:
        raise UserError(f"{path} is not a readable .npy array ({type(err).__name__}); save it with numpy.save") from None
    if not isinstance(x, np.ndarray):  # an .npz archive loads as a mapping of arrays: one of them is the data
        with x as archive:
            names = list(archive.files)
            if len(names) != 1:
                raise UserError(f"{path} is an .npz archive of {len(names)} arrays ({', '.join(names[:5]) or 'none'}); "
                                "save the one you mean alone, numpy.save(path.npy, array) or numpy.savez(path, array)")
            x = archive[names[0]]
    if x.size == 0:
        raise UserError(f"{path} is empty (shape {x.shape}); it needs at least one sample")
    if not x.dtype.isnative:  # big-endian on a little-endian machine, or the other way round
        x = x.astype(x.dtype.newbyteorder("="))
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
        raise UserError(f"{path} has dtype {x.dtype}; use uint8 or float")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise UserError(f"{path} contains NaN or inf; clean those rows before training")
    if np.abs(x).max() > np.finfo(np.float32).max / 1e3:  # trained in float32: such values overflow it
        raise UserError(f"{path} holds values up to {np.abs(x).max():.3g}, beyond what float32 training can hold; "
                        "rescale the data (e.g. to unit variance) first")
    if x.ndim in (3, 4) and x.dtype != np.uint8 and np.issubdtype(x.dtype, np.integer) and (x.min() < 0 or x.max() > 255):
        raise UserError(f"{path} holds {x.dtype} images with values in [{x.min()}, {x.max()}]; images are uint8 in "
                        "[0, 255] or floats")
    name = os.path.splitext(os.path.basename(path))[0]
    if x.ndim == 2:
        if x.shape[0] < 2:
            raise UserError(f"{path} holds {x.shape[0]} point; at least 2 are needed")
        ds = Dataset(name, "points", (x.shape[1],), f"{name}: {x.shape[0]} points in {x.shape[1]}-D from {path}",
                     array=torch.as_tensor(x, dtype=torch.float32), value_range=(x.min(0).tolist(), x.max(0).tolist()))
        if centers_path:
            ds.centers, ds.sigma, ds.weights = read_centers(centers_path, x.shape[1])
        return ds
    if x.ndim in (3, 4):
        images = x[:, None] if x.ndim == 3 else x
        if images.shape[1] not in (1, 3):
            raise UserError(f"{path} has shape {x.shape}; images must be (N, H, W) or (N, C, H, W) with C = 1 or 3")
        lo, hi = (0.0, 255.0) if x.dtype == np.uint8 else (float(x.min()), float(x.max()))
        return Dataset(name, "images", images.shape[1:], f"{name}: {len(x)} images {images.shape[1:]} from {path}",
                       array=torch.as_tensor(images), value_range=(lo, hi), integer=x.dtype == np.uint8)
    raise UserError(f"{path} has shape {x.shape}; expected points (N, D) or images (N, H, W) / (N, C, H, W)")


def read_centers(path: str, dim: int):
    """Mode centres for a user's mixture: JSON {"centers": [[...]], "sigma": s, "weights": [...] (optional)}."""
    try:
        with open(path) as f:
            spec = json.load(f)
        centers = np.asarray(spec["centers"], np.float64)
        sigma = float(spec["sigma"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"--centers {path}: expected JSON with 'centers' and 'sigma' ({err})") from None
    if centers.ndim != 2 or centers.shape[1] != dim or len(centers) == 0:
        raise UserError(f"--centers {path}: centres have shape {centers.shape}, the data is {dim}-D")
    if not (np.isfinite(sigma) and sigma > 0):
        raise UserError(f"--centers {path}: sigma must be a positive number, not {sigma}")
    try:
        weights = np.asarray(spec.get("weights", np.ones(len(centers))), np.float64)
    except (ValueError, TypeError) as err:
        raise UserError(f"--centers {path}: weights must be a list of numbers ({err})") from None
    if weights.shape != (len(centers),) or not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise UserError(f"--centers {path}: weights must be {len(centers)} non-negative numbers, one per centre, "
                        f"not all 0 (got {weights.tolist()})")
    if not np.isfinite(centers).all():
        raise UserError(f"--centers {path}: centres must be finite numbers")
    return centers, sigma, weights / weights.sum()


# ----------------------------------------------------------------------------- IDX (MNIST family)

def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (gzip or raw) of unsigned bytes, checking magic number and sizes."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(f"{path} is damaged ({err}); delete it so it is downloaded again") from None
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise UserError(f"{path} is not an unsigned-byte IDX file (bad magic number {raw[:4].hex()}); delete it")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise UserError(f"{path} is truncated inside its header ({len(raw)} bytes); delete it so it is downloaded again")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(raw) != expected:
        raise UserError(f"{path} is truncated or padded ({len(raw)} bytes, header says {expected}); delete it")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def md5sum(path: str) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(filename: str, folder: str, mirrors: list[str], md5: str | None) -> str:
    """Fetch `filename` from the first mirror that serves it with the right MD5; write atomically."""
    os.makedirs(folder, exist_ok=True)
    dest = os.path.join(folder, filename)
    errors = []
    for mirror in mirrors:
        url = mirror + filename
        tmp = dest + ".part"
        try:
            print(f"downloading {url}", flush=True)
            request = urllib.request.Request(url, headers={"User-Agent": "mode-collapse-gans"})
            with urllib.request.urlopen(request, timeout=30) as response, open(tmp, "wb") as f:
                while block := response.read(1 << 20):
                    f.write(block)
            got = md5sum(tmp)
            if md5 is not None and got != md5:
                errors.append(f"{url}: MD5 {got} != {md5}")
                os.remove(tmp)
                continue
            os.replace(tmp, dest)
            return dest
        except (urllib.error.URLError, OSError, ValueError) as err:
            errors.append(f"{url}: {getattr(err, 'reason', err)}")
            if os.path.exists(tmp):
                os.remove(tmp)
    raise UserError(f"could not download {filename} into {folder} ({'; '.join(errors)}); "
                    f"offline, copy the file there by hand from one of: {', '.join(mirrors)}")


def find_idx_folder(name: str, data_dir: str) -> str | None:
    """The first folder holding all four IDX files (gzip or raw) of `name`."""
    for folder in [os.path.join(data_dir, name), data_dir] + SYSTEM_DIRS.get(name, []):
        if all(os.path.isfile(os.path.join(folder, f)) or os.path.isfile(os.path.join(folder, f[:-3]))
               for pair in IDX_FILES.values() for f in pair):
            return folder
    return None


def load_idx_dataset(name: str, data_dir: str, download_missing: bool = True) -> Dataset:
    folder = find_idx_folder(name, data_dir)
    if folder is None:
        folder = os.path.join(data_dir, name)
        if not download_missing:
            raise UserError(f"{name} not found under {data_dir}; put the four IDX files in {folder}")
        missing = [f for pair in IDX_FILES.values() for f in pair if not os.path.isfile(os.path.join(folder, f))]
        try:
            for f in missing:
                download(f, folder, MIRRORS[name], MD5[name][f])
        except UserError as err:
            still = [f for f in missing if not os.path.isfile(os.path.join(folder, f))]
            raise UserError(f"{err}. {name} needs {len(still)} more file(s) in {folder} (or point --data-dir or "
                            f"$GAN_DATA_DIR at a folder that holds them): {', '.join(still)}") from None

    def read(f):
        path = os.path.join(folder, f)
        return read_idx(path if os.path.isfile(path) else path[:-3])

    parts = {}
    for split, (img_file, lab_file) in IDX_FILES.items():
        images, labels = read(img_file), read(lab_file)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise UserError(f"{name} {split} files in {folder} disagree: images {images.shape}, labels {labels.shape}")
        parts[split] = (torch.as_tensor(images.copy())[:, None], labels.astype(np.int64))
    (x, y), (xt, yt) = parts["train"], parts["test"]
    desc = f"{name}: {len(x)} train / {len(xt)} test images 1x{x.shape[2]}x{x.shape[3]} from {folder}"
    return Dataset(name, "images", tuple(x.shape[1:]), desc, array=x, labels=y, test_images=xt, test_labels=yt,
                   value_range=(0.0, 255.0), integer=True)


def load_dataset(spec: str, data_dir: str, centers: str | None = None) -> Dataset:
    """`spec` is a built-in name or a path to a .npy file (`centers`: the JSON of its mixture)."""
    if os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise UserError(f"--data-dir {data_dir} is a file; give the folder that holds (or will hold) the data sets")
    if centers and not str(spec).endswith((".npy", ".npz")):
        raise UserError(f"--centers describes a user's .npy mixture; {spec} is not one (built-in mixtures know their modes)")
    if spec == "ring":
        return ring()
    if spec == "grid":
        return grid()
    if spec == "hd":
        return hd()
    if spec == "star":
        return star()
    if spec in ("mnist", "fashion-mnist"):
        return load_idx_dataset(spec, data_dir)
    if spec == "stacked-mnist":
        return stacked_mnist(load_idx_dataset("mnist", data_dir))
    if spec == "cifar10":
        return load_cifar10(data_dir)
    if spec == "celeba":
        return load_image_folder(find_celeba_folder(data_dir), 64, CELEBA_CROP, "celeba")
    if spec.endswith((".npy", ".npz")):
        return load_npy(spec, centers)
    if os.path.isdir(spec):
        return load_image_folder(spec)
    raise UserError(f"unknown data set '{spec}'; use ring, grid, hd, star, mnist, fashion-mnist, stacked-mnist, "
                    "cifar10, celeba, a path to a .npy file or a folder of images")
