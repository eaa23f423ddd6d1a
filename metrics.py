"""Evaluations the papers report.

* `emd`: exact earth mover's distance (W1) between two equal-size point clouds. With uniform
  weights the optimal transport plan is a permutation (Birkhoff-von Neumann), so W1 is the mean
  matched distance of `scipy.optimize.linear_sum_assignment` on the full Euclidean cost matrix,
  warm-started from the half-size problem (see `emd`). EMD depends on n; `emd_floor` is the
  data-vs-data value at the same n, to be printed beside it (at radius 1 and n = 500 it is ~0.10,
  above the masked/weighted paper's best 0.0891), cached per data set, n and seed.
* `mode_stats`: the VEEGAN/PacGAN protocol: each sample's nearest mode; high quality if within
  3 sigma of it; modes captured = modes that are the nearest mode of >= 1 high-quality sample;
  per-mode counts; KL(p_gen || p_true) of the nearest-mode histogram of all samples (finite when
  modes are missed, large when mass is spread unevenly).
* `Classifier`: a small CNN for the MNIST family, trained by our own code on first use on the data
  set's training split, cached under the data dir keyed by a hash of that data, its test accuracy
  printed with every result; `class_histogram` and its KL to uniform (paper Fig. 6).
* `inception_and_mode_score` (Che et al. eqs. 5, 6) with that classifier in place of Inception.
* `third_party_missing_modes` (Che et al. Table 3): a fresh discriminator D* trained on noisy real
  vs generated samples; real test samples it scores above a threshold count as missing modes.
* `stacked_histogram` and `inference_via_optimization` for VEEGAN's Stacked MNIST and CIFAR-10.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import chi2

from base import UserError, default_data_dir, fork_rng, load_checkpoint, save_checkpoint, write_json


def emd(a: np.ndarray, b: np.ndarray) -> float:
    """Exact W1 = (1/n) min_sigma sum_i ||a_i - b_sigma(i)|| between two clouds of n points each.

    With uniform weights an optimal transport plan is a permutation (Birkhoff-von Neumann), found by
    scipy's `linear_sum_assignment` (LSA). LSA alone takes 5-13 s at n = 2,000 when one cloud sits
    inside the other (a collapsed generator; `benchmarks/speed.py --emd`), so it is given a warm start: the duals (u, v) of the
    same problem at half the size, where each cloud's points are merged in nearby pairs, moved to
    the children to first order (u_child = u_parent + e . (a_child - A_parent), e the unit vector
    along the parent's matched pair, as the W1 potentials' gradient is), recursively. Why the answer
    stays exact: LSA solves the *full* n x n problem with costs C_ij - u_i - v_j, and subtracting a
    constant from every row and every column changes every permutation's cost by the same amount, so
    the optimum is the same permutation whatever (u, v) are; the warm start changes only the time.
    The value is then the mean of the matched distances, computed from the points themselves.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"emd needs two (n, d) arrays of equal shape, got {a.shape} and {b.shape}")
    if len(a) == 0:
        return 0.0
    sigma = _optimal_matching(a, b)[0]
    return float(np.linalg.norm(a - b[sigma], axis=1).mean())


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix: scipy's cdist in low dimensions, the BLAS form |a|^2 + |b|^2 - 2ab
    in high ones (20x faster at 1,200-D; its rounding, ~1e-12 relative, only steers the solver)."""
    if a.shape[1] <= 32:
        return cdist(a, b)
    square = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(square, 0.0))


def _nearest_neighbour_distance(x: np.ndarray, sample: np.ndarray) -> float:
    """Median distance from the points `sample` of x to their nearest other point of x."""
    dist = _distances(x[sample], x)
    dist[np.arange(len(sample)), sample] = np.inf
    return float(np.median(dist.min(1)))


def _pairs(x: np.ndarray) -> np.ndarray:
    """Greedy pairing of a cloud: points in order of their nearest-neighbour distance, each with its
    nearest unpaired neighbour; pairs (m, 2), with one (i, i) for an odd n."""
    dist = _distances(x, x)
    np.fill_diagonal(dist, np.inf)
    free, pairs = np.ones(len(x), bool), []
    for i in np.argsort(dist.min(1), kind="stable"):
        if free[i]:
            free[i] = False
            j = int(np.where(free, dist[i], np.inf).argmin()) if free.any() else i
            free[j] = False
            pairs.append((i, j))
    return np.array(pairs)


def _column_potentials(cost: np.ndarray, sigma: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact duals of an optimal matching sigma (row i -> column sigma_i): the largest v <= v_start with
    v_j <= v_sigma(i) + C_ij - C_i,sigma(i) for all i, j (Bellman-Ford over the columns whose value
    changed last round), and u_i = C_i,sigma(i) - v_sigma(i)."""
    n = len(cost)
    matched = cost[np.arange(n), sigma]
    slack = cost - matched[:, None]
    v, tol = v.copy(), 1e-13 * max(1.0, float(np.abs(cost).max()))
    row_of = np.empty(n, int)
    row_of[sigma] = np.arange(n)
    changed = np.arange(n)
    for _ in range(4 * n):  # a path has < n edges; the factor covers rounding
        rows = row_of[changed]
        candidate = (v[sigma[rows]][:, None] + slack[rows]).min(0)
        better = candidate < v - tol
        if not better.any():
            break
        v[better] = candidate[better]
        changed = np.flatnonzero(better)
    return matched - v[sigma], v


def _optimal_matching(a: np.ndarray, b: np.ndarray, top: bool = True):
    """(sigma, u, v): an optimal assignment of rows a to columns b and, below the top level, its duals."""
    n = len(a)
    cost = _distances(a, b)
    u = v = None
    if n > 256:
        sample = np.random.default_rng(0).choice(n, 256, replace=False)
        near_a, near_b = _nearest_neighbour_distance(a, sample), _nearest_neighbour_distance(b, sample)
        # coarsening helps only where pairs are local: not in high dimensions, where a nearest
        # neighbour is nearly as far away as any point
        if max(near_a, near_b) < 0.25 * float(np.median(cost[sample][:, sample])):
            pairs_a, pairs_b = _pairs(a), _pairs(b)
            parent_a, parent_b = a[pairs_a].mean(1), b[pairs_b].mean(1)
            sigma_c, u_c, v_c = _optimal_matching(parent_a, parent_b, top=False)
            direction = parent_a - parent_b[sigma_c]
            direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-300)
            direction_b = np.empty_like(direction)
            direction_b[sigma_c] = direction
            u, v = np.empty(n), np.empty(n)
            for child in (0, 1):  # for a pair (i, i) both writes agree
                ia, ib = pairs_a[:, child], pairs_b[:, child]
                u[ia] = u_c + ((a[ia] - parent_a) * direction).sum(1)
                v[ib] = v_c - ((b[ib] - parent_b) * direction_b).sum(1)
            # LSA augments row by row; it is fastest with the more tightly packed cloud as the columns
            if near_a < near_b:
                sigma_t = linear_sum_assignment((cost - u[:, None] - v).T)[1]
                sigma = np.empty(n, int)
                sigma[sigma_t] = np.arange(n)
            else:
                sigma = linear_sum_assignment(cost - u[:, None] - v)[1]
    if u is None:
        sigma = linear_sum_assignment(cost)[1]
        v = cost.min(0)
    if top:
        return sigma, None, None
    return (sigma, *_column_potentials(cost, sigma, v))


def mode_stats(points: np.ndarray, centers: np.ndarray, sigma: float, weights: np.ndarray | None = None,
               hq_sigmas: float = 3.0, hq_radius: float | None = None) -> dict:
    """Modes captured, high-quality share (%), per-mode counts of HQ samples, KL to the true weights.

    High quality: within `hq_radius` of the nearest centre, by default hq_sigmas * sigma (VEEGAN:
    3 sigma in 2-D, 10 sigma in 1200-D)."""
    centers = np.asarray(centers, np.float64)
    weights = np.full(len(centers), 1 / len(centers)) if weights is None else np.asarray(weights, np.float64)
    dist = cdist(np.asarray(points, np.float64), centers)
    nearest = dist.argmin(1)
    high_quality = dist[np.arange(len(points)), nearest] <= (hq_sigmas * sigma if hq_radius is None else hq_radius)
    counts = np.bincount(nearest[high_quality], minlength=len(centers))
    p = np.bincount(nearest, minlength=len(centers)) / len(points)
    kl = float(np.sum(p[p > 0] * np.log(p[p > 0] / weights[p > 0])))
    return {"modes": int((counts > 0).sum()), "hq": float(100 * high_quality.mean()), "kl": kl,
            "mode_counts": counts.tolist()}


def calibrated_radius(sigma: float, noise_dims: int, quantile: float = 0.999) -> float:
    """The radius that holds `quantile` of a mode's own samples: sigma * sqrt(chi2_quantile(noise_dims)).

    VEEGAN's 10-sigma rule in 1200-D fails even for real data (a real sample lies ~sqrt(700) = 26.5
    sigma from its centre); this radius (28.7 sigma there, 3.7 sigma in 2-D) is what real data passes."""
    return float(sigma * np.sqrt(chi2.ppf(quantile, noise_dims)))


def mixture_stats(points: np.ndarray, ds) -> dict:
    """The protocol's numbers (modes, hq, kl, mode_counts) and the calibrated ones (modes_calibrated,
    hq_calibrated) of a data set with known centres."""
    literal = mode_stats(points, ds.centers, ds.sigma, ds.weights, hq_sigmas=ds.hq_sigmas)
    radius = calibrated_radius(ds.sigma, ds.noise_dims or ds.centers.shape[1])
    calibrated = mode_stats(points, ds.centers, ds.sigma, ds.weights, hq_radius=radius)
    return {**literal, "modes_calibrated": calibrated["modes"], "hq_calibrated": calibrated["hq"]}


@dataclasses.dataclass
class PointReference:
    """Real samples every evaluation of a point data set is compared with, and the EMD's floor."""
    real: np.ndarray
    emd_n: int
    emd_floor: float


def point_reference(ds, n: int, emd_n: int, seed: int, cache_dir: str | None = None) -> PointReference:
    """n real samples drawn with `seed`, and the data-vs-data EMD of emd_n of them against a second
    draw: the floor printed beside every EMD (EMD depends on n). With `cache_dir` (the scripts pass
    the data dir, where the project keeps its caches, never the user's run folders) the floor is kept
    in cache_dir/emd_floors.json, keyed by a hash of the two draws themselves, so runs on the same
    data, n and seed compute it once."""
    gen = torch.Generator().manual_seed(seed)
    real, other = (ds.sample(n, gen).numpy() for _ in range(2))
    emd_n = min(emd_n, n)
    a, b = real[:emd_n], other[:emd_n]
    key = hashlib.sha1(np.ascontiguousarray(a).tobytes() + np.ascontiguousarray(b).tobytes()).hexdigest()
    path = os.path.join(cache_dir, "emd_floors.json") if cache_dir else None
    cache = {}
    if path and os.path.isfile(path):
        try:
            with open(path) as f:
                cache = json.load(f)
        except (OSError, ValueError):  # damaged or being replaced: recompute
            cache = {}
    ours = isinstance(cache, dict) and all(isinstance(v, float) for v in cache.values())
    cache = cache if ours else {}  # a file of that name that is not our cache is left as it is
    if key not in cache:
        cache[key] = emd(a, b)
        if path and ours:
            try:
                os.makedirs(cache_dir, exist_ok=True)
                write_json(path, cache)
            except OSError:  # a read-only place: the floor is only recomputed next time
                pass
    return PointReference(real, emd_n, float(cache[key]))


def point_scores(samples: np.ndarray, ds, ref: PointReference) -> dict:
    """EMD of the first emd_n samples (with its floor) and, for mixtures, `mixture_stats`."""
    result = {"emd": emd(samples[:ref.emd_n], ref.real[:ref.emd_n]), "emd_floor": ref.emd_floor, "emd_n": ref.emd_n}
    if ds.centers is not None and ds.component_maps is None:  # isotropic modes can be counted
        result.update(mixture_stats(samples, ds))
    return result


# ----------------------------------------------------------------------------- MNIST-family classifier

class Classifier(nn.Module):
    """Two 3x3 convs (32, 64), max-pool, dropout, dense 128, dropout, 10 logits; inputs in [-1, 1]."""

    def __init__(self, channels: int = 1, classes: int = 10, size: int = 28):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(0.25), nn.Flatten(), nn.Linear(64 * ((size - 4) // 2) ** 2, 128), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(128, classes))

    def forward(self, x):
        return self.net(x)

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor, batch: int = 1000) -> np.ndarray:
        """p(y|x) for each image, (N, classes)."""
        self.eval()
        device = next(self.parameters()).device
        return torch.cat([self(images[i:i + batch].to(device)).softmax(1).cpu()
                          for i in range(0, len(images), batch)]).double().numpy()

    def predict(self, images: torch.Tensor, batch: int = 1000) -> np.ndarray:
        return self.probabilities(images, batch).argmax(1)


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return images.float() / 127.5 - 1


def data_hash(images: torch.Tensor, labels: np.ndarray) -> str:
    h = hashlib.sha1(images.numpy().tobytes())
    h.update(np.asarray(labels, np.int64).tobytes())
    return h.hexdigest()[:16]


CLASSIFIER_RECIPE = 2  # in the cache key: a classifier cached by an earlier recipe is not reused


def get_classifier(dataset, data_dir: str, device: torch.device | str = "cpu", seed: int = 0) -> tuple[Classifier, float]:
    """The data set's evaluation classifier and its test accuracy: loaded from the cache under
    `data_dir/classifiers/` (keyed by a hash of the training data and the recipe) or trained now and cached.

    Training: Adam 1e-3, batch 128, random shifts of up to 2 pixels, epochs so that ~40,000 images
    are seen, 3 to 10 (3 on full MNIST, 10 on the 4,000 digits of mnist-5k). Its initial weights,
    dropout masks and batches come from `seed` alone and the CPU trains it on one thread, whatever
    `device` the run is on (the classifier is handed over on `device`), so that it depends on the data
    only: not on the run that first needs it, its seed, its threads or its device. A cache made by a
    GPU run therefore holds the classifier a CPU run would have trained (a few minutes at most)."""
    key = data_hash(dataset.array, dataset.labels)
    # the data dir may be read-only (a shared copy): then the cache lives under $GAN_DATA_DIR or ./data
    paths = [os.path.join(d, "classifiers", f"{dataset.name}-{key}-r{CLASSIFIER_RECIPE}.pt")
             for d in dict.fromkeys([data_dir, default_data_dir()])]
    with torch.random.fork_rng(devices=[]):  # trained on the CPU: only its stream is drawn from
        torch.manual_seed(seed)  # initial weights and dropout; the caller's streams are unaffected
        classifier = Classifier(dataset.shape[0], int(dataset.labels.max()) + 1, dataset.shape[1])
        for path in paths:
            if os.path.isfile(path):
                try:
                    state = load_checkpoint(path)
                    classifier.load_state_dict(state["model"])
                    return classifier.to(device), float(state["test_accuracy"])
                except (UserError, KeyError, RuntimeError, ValueError):  # damaged: trained again and replaced
                    print(f"note: the classifier cache {path} is damaged; it is trained again", flush=True)
                    torch.manual_seed(seed)  # the same initial weights as a first training
                    classifier = Classifier(dataset.shape[0], int(dataset.labels.max()) + 1, dataset.shape[1])
        print(f"training the {dataset.name} evaluation classifier on {len(dataset.array)} images (cached afterwards)",
              flush=True)
        gen, threads = torch.Generator().manual_seed(seed), torch.get_num_threads()
        opt = torch.optim.Adam(classifier.parameters(), 1e-3)
        x, y = to_unit_range(dataset.array), torch.as_tensor(dataset.labels)
        epochs = min(10, max(3, -(-40000 // len(x))))
        torch.set_num_threads(1)  # float sums in one order whatever the caller's thread count
        try:
            for _ in range(epochs):
                classifier.train()
                order = torch.randperm(len(x), generator=gen)
                for i in range(0, len(x), 128):
                    idx = order[i:i + 128]
                    shift = torch.randint(-2, 3, (2,), generator=gen).tolist()
                    batch = torch.roll(x[idx], shifts=shift, dims=(2, 3))
                    loss = F.cross_entropy(classifier(batch), y[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
        finally:
            torch.set_num_threads(threads)
    accuracy = float((classifier.predict(to_unit_range(dataset.test_images)) == dataset.test_labels).mean())
    state = {"model": {k: v.cpu() for k, v in classifier.state_dict().items()}, "test_accuracy": accuracy,
             "data_hash": key, "recipe": CLASSIFIER_RECIPE}
    for path in paths:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            save_checkpoint(path, state)
            break
        except OSError:
            continue
    else:
        print(f"note: no writable place for the classifier cache ({', '.join(paths)}); it is retrained next time")
    return classifier.to(device), accuracy


def class_histogram(classifier: Classifier, images: torch.Tensor, classes: int = 10) -> dict:
    """Share of each predicted class among `images` ([-1, 1] floats) and its KL to uniform."""
    counts = np.bincount(classifier.predict(images), minlength=classes)
    p = counts / counts.sum()
    kl = float(np.sum(p[p > 0] * np.log(p[p > 0] * classes)))
    return {"class_shares": p.tolist(), "class_kl": kl, "classes_hit": int((counts > 0).sum())}


def inception_and_mode_score(probs: np.ndarray, train_labels: np.ndarray) -> dict:
    """Che et al. eq. 5, Inception score = exp(E_x KL(p(y|x) || p*(y))), and eq. 6, MODE score =
    exp(E_x KL(p(y|x) || p*(y)) - KL(p*(y) || p_train(y))); p*(y) the class marginal of the generated
    samples, p_train(y) that of the training labels. `probs` (N, classes) from `Classifier.probabilities`."""
    probs = np.clip(np.asarray(probs, np.float64), 1e-12, 1)
    marginal = probs.mean(0)
    p_train = np.bincount(np.asarray(train_labels), minlength=probs.shape[1]) / len(train_labels)
    expected_kl = float(np.mean(np.sum(probs * (np.log(probs) - np.log(marginal)), 1)))
    kl_to_train = float(np.sum(marginal * (np.log(marginal) - np.log(np.clip(p_train, 1e-12, 1)))))
    return {"inception_score": float(np.exp(expected_kl)), "mode_score": float(np.exp(expected_kl - kl_to_train)),
            "marginal_kl_to_train": kl_to_train}


THRESHOLDS = np.round(np.arange(0.50, 1.0, 0.01), 2)


def third_party_missing_modes(make_discriminator, sample_real, sample_fake, test: torch.Tensor, noise_std: float,
                              steps: int = 2000, batch: int = 64, lr: float = 2e-4, threshold: float = 0.95,
                              seed: int = 0, device: torch.device | str = "cpu") -> dict:
    """Che et al.'s missing-mode count: train a fresh D* (a logit; sigma of it = P(real)) on real vs
    generated samples, both with zero-mean Gaussian noise of std `noise_std` added to its inputs so it
    cannot separate them perfectly; then score the real test samples. D*(t) ~ p_d / (p_d + p_g) is
    close to 1 where the generator puts no mass: those t lie on missing modes.

    `sample_real(n)` / `sample_fake(n)` return n samples in the model's units (images in
    [-1, 1]); `test` is in the same units. Choices the paper leaves open [I]: Adam(lr, beta1 0.5),
    `steps` updates of `batch` real + `batch` fake, and the test samples scored with noise of the same
    std (fixed seed), so D* is applied to the distribution it was trained on. Returns the count above
    `threshold` and the count at every threshold in THRESHOLDS."""
    with fork_rng(device):  # the caller's streams, the device's default one too, are unaffected
        torch.manual_seed(seed)  # D*'s initialisation
        judge = make_discriminator().to(device)
    gen = torch.Generator(device).manual_seed(seed)
    opt = torch.optim.Adam(judge.parameters(), lr, betas=(0.5, 0.999))
    judge.train()
    for _ in range(steps):
        real, fake = sample_real(batch).to(device), sample_fake(batch).to(device)
        x = torch.cat([real, fake])
        x = x + noise_std * torch.randn(x.shape, generator=gen, device=device)
        logits = judge(x).flatten()
        loss = F.softplus(-logits[:batch]).mean() + F.softplus(logits[batch:]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    judge.eval()
    with torch.no_grad():
        p_real = []
        for i in range(0, len(test), 500):
            t = test[i:i + 500].to(device)
            p_real.append(torch.sigmoid(judge(t + noise_std * torch.randn(t.shape, generator=gen, device=device)).flatten()))
        p_real = torch.cat(p_real).cpu().numpy()
    return {"missing": int((p_real > threshold).sum()), "threshold": threshold, "test_n": len(p_real),
            "noise_std": noise_std, "steps": steps, "mean_p_real": float(p_real.mean()),
            "curve": [int((p_real > t).sum()) for t in THRESHOLDS]}


def stacked_histogram(classifier: Classifier, images: torch.Tensor) -> dict:
    """Stacked MNIST: each channel of `images` ([-1, 1], (N, 3, H, W)) classified on its own; mode =
    100*d0 + 10*d1 + d2; modes hit and KL(p_gen || uniform over 1,000) (VEEGAN/PacGAN protocol)."""
    digits = [classifier.predict(images[:, c:c + 1]) for c in range(images.shape[1])]
    modes = sum(d * 10 ** (len(digits) - 1 - c) for c, d in enumerate(digits))
    counts = np.bincount(modes, minlength=10 ** len(digits))
    p = counts / counts.sum()
    kl = float(np.sum(p[p > 0] * np.log(p[p > 0] * len(counts))))
    return {"modes": int((counts > 0).sum()), "kl": kl}


def inference_via_optimization(generator: nn.Module, z_dim: int, images: torch.Tensor, steps: int = 200,
                               restarts: int = 3, lr: float = 0.01, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """IvOM (Metz et al. 2017): per image x ([-1, 1]), min_z ||G(z) - x||^2 over G's whole input by
    Adam from `restarts` random N(0, I) starts; returns each image's best mean squared error in
    [0, 1] pixel units and the best G(z).

    Metz et al. give no optimiser settings; ours (Adam lr 0.01, 200 steps, 3 restarts, all images
    and restarts optimised as one batch) are stated wherever the number is reported."""
    device = next(generator.parameters()).device
    gen = torch.Generator(device).manual_seed(seed)
    target = images.to(device).repeat(restarts, *[1] * (images.dim() - 1))
    z = torch.randn(len(target), z_dim, generator=gen, device=device).requires_grad_(True)
    opt = torch.optim.Adam([z], lr)
    was_training = generator.training
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    try:
        for _ in range(steps):
            loss = ((generator(z) - target) ** 2).flatten(1).mean(1)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
        with torch.no_grad():
            fitted = generator(z)
            mse = (((fitted - target) / 2) ** 2).flatten(1).mean(1).view(restarts, len(images))  # [0, 1] units
    finally:
        for p in generator.parameters():
            p.requires_grad_(True)
        generator.train(was_training)
    best = mse.argmin(0)
    fitted = fitted.view(restarts, len(images), *images.shape[1:])[best, torch.arange(len(images), device=device)]
    return mse.min(0).values.cpu().numpy(), fitted.cpu().numpy()
