import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

import data
import metrics
from conftest import fake_digits


@pytest.mark.parametrize("n, seed", [(1, 0), (3, 1), (5, 2), (7, 3)])
def test_emd_equals_brute_force_over_permutations(n, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) * 2 + 1
    cost = np.linalg.norm(a[:, None] - b[None], axis=-1)
    brute = min(cost[np.arange(n), list(p)].mean() for p in itertools.permutations(range(n)))
    assert metrics.emd(a, b) == pytest.approx(brute, abs=1e-12)


def test_emd_of_translated_cloud_is_the_shift_length():
    a = np.random.default_rng(0).normal(size=(300, 3))
    shift = np.array([0.3, -0.4, 1.2])
    assert metrics.emd(a, a + shift) == pytest.approx(np.linalg.norm(shift), rel=1e-9)
    assert metrics.emd(a, a) == 0.0


def full_assignment_emd(a, b):
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    return cost[rows, cols].mean()


def emd_cases():
    rng = np.random.default_rng(7)
    angles = rng.integers(0, 8, 700) * np.pi / 4
    ring = np.c_[np.cos(angles), np.sin(angles)] + 0.01 * rng.normal(size=(700, 2))
    grid = rng.integers(0, 5, (700, 2)).astype(float)  # many equal distances
    yield "random", rng.normal(size=(601, 2)), rng.normal(size=(601, 2)) * 2 + 1  # odd n
    yield "collapsed", np.array([0.3, 0.1]) + 1e-3 * rng.normal(size=(700, 2)), ring
    yield "one point", np.zeros((700, 2)), ring
    yield "duplicated", np.repeat(ring[:14], 50, 0), ring
    yield "tied", grid, rng.integers(0, 5, (700, 2)).astype(float)
    yield "shared points", np.r_[ring[:350], rng.normal(size=(350, 2))], ring
    yield "50-D", rng.normal(size=(400, 50)), rng.normal(size=(400, 50)) + 0.3


@pytest.mark.parametrize("case", list(emd_cases()), ids=lambda c: c[0])
def test_emd_equals_the_full_assignment(case):
    _, a, b = case
    assert metrics.emd(a, b) == pytest.approx(full_assignment_emd(a, b), abs=1e-9)
    assert metrics.emd(b, a) == pytest.approx(full_assignment_emd(a, b), abs=1e-9)


def test_emd_warm_starts_from_the_half_size_problem(monkeypatch):
    sizes = []
    solve = metrics.linear_sum_assignment
    monkeypatch.setattr(metrics, "linear_sum_assignment", lambda c: sizes.append(len(c)) or solve(c))
    _, a, b = dict((c[0], c) for c in emd_cases())["collapsed"]
    assert metrics.emd(a, b) == pytest.approx(full_assignment_emd(a, b), abs=1e-9)
    assert sizes == [175, 350, 700]  # coarsest first; 175 <= 256 is solved cold
    sizes.clear()
    metrics.emd(*dict((c[0], c) for c in emd_cases())["50-D"][1:])
    assert sizes == [400]  # in 50-D a nearest neighbour is no nearer than any point: no coarsening


def test_emd_floor_is_computed_once_per_data_n_and_seed(tmp_path, monkeypatch):
    ds = data.ring()
    first = metrics.point_reference(ds, 300, 300, seed=5, cache_dir=str(tmp_path))
    gen = torch.Generator().manual_seed(5)
    real, other = ds.sample(300, gen).numpy(), ds.sample(300, gen).numpy()  # as point_reference draws them
    assert np.array_equal(first.real, real) and first.emd_floor == metrics.emd(real, other)
    monkeypatch.setattr(metrics, "emd", lambda a, b: pytest.fail("the floor was computed again"))
    again = metrics.point_reference(ds, 300, 300, seed=5, cache_dir=str(tmp_path))
    assert again.emd_floor == first.emd_floor and np.array_equal(again.real, first.real)
    calls = []
    monkeypatch.setattr(metrics, "emd", lambda a, b: calls.append(len(a)) or 0.5)
    metrics.point_reference(ds, 300, 200, seed=5, cache_dir=str(tmp_path))  # another n
    metrics.point_reference(ds, 300, 300, seed=6, cache_dir=str(tmp_path))  # another seed
    metrics.point_reference(data.grid(), 300, 300, seed=5, cache_dir=str(tmp_path))  # other data
    assert calls == [200, 300, 300]
    (tmp_path / "emd_floors.json").write_text("{not json")  # a damaged cache is recomputed, not trusted
    assert metrics.point_reference(ds, 300, 300, seed=5, cache_dir=str(tmp_path)).emd_floor == 0.5


def test_emd_rejects_unequal_sizes():
    with pytest.raises(ValueError):
        metrics.emd(np.zeros((3, 2)), np.zeros((4, 2)))


def test_mode_stats_perfect_sample():
    ds = data.ring()
    x = ds.sample(2500, torch.Generator().manual_seed(0)).numpy()
    s = metrics.mode_stats(x, ds.centers, ds.sigma, ds.weights)
    assert s["modes"] == 8 and s["hq"] > 97.5 and s["kl"] < 0.01  # P(within 3 sigma in 2-D) = 98.9 %
    assert sum(s["mode_counts"]) == pytest.approx(2500 * s["hq"] / 100)


def test_mode_stats_collapsed_and_off_mode_samples():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    x = np.array([[0.0, 0.05]] * 6 + [[10.0, 0.0]] * 2 + [[5.0, 5.0]] * 2)  # 2 off-mode points
    s = metrics.mode_stats(x, centers, sigma=0.1)
    assert s["modes"] == 2 and s["hq"] == pytest.approx(80.0)
    assert s["mode_counts"] == [6, 2, 0, 0]
    # the two far points go to their nearest mode (index 0: ties pick the first) in the KL histogram
    p = np.array([0.8, 0.2, 0.0, 0.0])
    assert s["kl"] == pytest.approx(np.sum(p[p > 0] * np.log(p[p > 0] / 0.25)))


def test_all_mass_on_one_of_k_modes_has_kl_log_k():
    centers = np.eye(5)
    s = metrics.mode_stats(np.repeat(centers[:1], 10, 0), centers, sigma=0.01)
    assert s["modes"] == 1 and s["kl"] == pytest.approx(np.log(5))


def test_classifier_trains_caches_and_judges(tmp_path, mnist_dir):
    ds = data.load_dataset("mnist", str(mnist_dir))
    classifier, accuracy = metrics.get_classifier(ds, str(tmp_path))
    assert accuracy > 0.9
    cached = list((tmp_path / "classifiers").iterdir())
    assert len(cached) == 1 and metrics.data_hash(ds.array, ds.labels) in cached[0].name
    again, accuracy2 = metrics.get_classifier(ds, str(tmp_path))  # loaded, not retrained
    assert accuracy2 == accuracy
    images, labels = fake_digits(100, seed=5)
    hist = metrics.class_histogram(again, metrics.to_unit_range(torch.as_tensor(images)[:, None]))
    assert hist["classes_hit"] == 10 and hist["class_kl"] < 0.1
    only_threes = torch.as_tensor(images[labels == 3])[:, None]
    hist = metrics.class_histogram(again, metrics.to_unit_range(only_threes))
    assert hist["class_shares"][3] > 0.9 and hist["class_kl"] > 1.5


def test_classifier_depends_on_the_data_alone(tmp_path, mnist_dir):
    """Trained twice from different caller states (seed, thread count), the classifier comes out
    bit-equal, and training it leaves the caller's random stream where it was."""
    ds = data.load_dataset("mnist", str(mnist_dir))
    weights, threads = [], torch.get_num_threads()
    for caller_seed, caller_threads in ((1, 2), (7, 1)):
        torch.manual_seed(caller_seed)
        torch.set_num_threads(caller_threads)
        state = torch.get_rng_state()
        classifier, _ = metrics.get_classifier(ds, str(tmp_path / f"cache{caller_seed}"))
        assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == caller_threads
        weights.append(classifier.state_dict())
    torch.set_num_threads(threads)
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_calibrated_radius_holds_real_data_and_the_literal_rule_does_not():
    assert metrics.calibrated_radius(1.0, 700) == pytest.approx(28.66, abs=0.01)
    assert metrics.calibrated_radius(0.01, 2) == pytest.approx(0.0372, abs=1e-4)
    gen = torch.Generator().manual_seed(0)
    hd = data.load_dataset("hd", ".")
    real_hd = metrics.mixture_stats(hd.sample(2000, gen).numpy(), hd)
    # a real 1200-D sample lies ~26 sigma from its mean: the literal 10-sigma rule rejects all of them
    assert real_hd["hq"] == 0 and real_hd["hq_calibrated"] > 99.5 and real_hd["modes_calibrated"] == 10
    ring = data.load_dataset("ring", ".")
    real_ring = metrics.mixture_stats(ring.sample(2000, gen).numpy(), ring)
    assert real_ring["hq_calibrated"] > 99.5 and 97 < real_ring["hq"] < 100 and real_ring["modes"] == 8  # 3 sigma in 2-D: 98.9 %


def test_stacked_histogram_counts_digit_triples():
    class ByMean:  # a stand-in classifier: the digit is the channel's mean value
        def predict(self, images):
            return images.mean((1, 2, 3)).round().long().numpy()
    images = torch.zeros(6, 3, 4, 4)
    for i, triple in enumerate([(1, 2, 3), (1, 2, 3), (0, 0, 7), (9, 9, 9), (9, 9, 9), (9, 9, 9)]):
        for c, d in enumerate(triple):
            images[i, c] = d
    stats = metrics.stacked_histogram(ByMean(), images)
    p = np.array([2, 1, 3]) / 6
    assert stats["modes"] == 3 and stats["kl"] == pytest.approx(float(np.sum(p * np.log(p * 1000))))


def test_ivom_finds_images_the_generator_can_make():
    torch.manual_seed(0)
    generator = torch.nn.Sequential(torch.nn.Linear(4, 12), torch.nn.Tanh(), torch.nn.Unflatten(1, (3, 2, 2)))
    with torch.no_grad():
        reachable = generator(torch.randn(5, 4) * 0.5)
    errors, best = metrics.inference_via_optimization(generator, 4, reachable, steps=300, restarts=2, lr=0.05)
    assert errors.shape == (5,) and errors.max() < 1e-3 and best.shape == (5, 3, 2, 2)
    unreachable = torch.ones(2, 3, 2, 2) * 0.999 * torch.tensor([1, -1]).view(2, 1, 1, 1)
    far, _ = metrics.inference_via_optimization(generator, 4, unreachable, steps=50, restarts=2)
    assert far.min() > errors.max()


def test_inception_and_mode_score_by_hand():
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    marginal = probs.mean(0)
    expected_kl = np.mean([np.sum(p * np.log(p / marginal)) for p in probs])
    p_train = np.array([0.75, 0.25])
    kl_train = np.sum(marginal * np.log(marginal / p_train))
    s = metrics.inception_and_mode_score(probs, np.array([0, 0, 0, 1]))
    assert s["inception_score"] == pytest.approx(np.exp(expected_kl))
    assert s["mode_score"] == pytest.approx(np.exp(expected_kl - kl_train))
    one_class = metrics.inception_and_mode_score(np.tile([[1.0, 0.0]], (5, 1)), np.array([0, 1]))
    assert one_class["inception_score"] == pytest.approx(1.0)  # no diversity ...
    assert one_class["mode_score"] == pytest.approx(0.5)  # ... and a marginal unlike the data's: exp(-log 2)


def test_third_party_discriminator_finds_the_missing_mode():
    """Real data: two clusters; the generator covers only the first. Test points of the second
    cluster must score P(real) near 1, those of the first near 1/2."""
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])

    def real(n, gen=torch.Generator().manual_seed(0)):
        return centres[torch.randint(2, (n,), generator=gen)] + 0.2 * torch.randn(n, 2, generator=gen)

    def fake(n, gen=torch.Generator().manual_seed(1)):
        return centres[0] + 0.2 * torch.randn(n, 2, generator=gen)

    covered, missing = centres[0] + 0.2 * torch.randn(100, 2), centres[1] + 0.2 * torch.randn(100, 2)
    make = lambda: torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))  # noqa: E731
    kw = dict(noise_std=0.3, steps=300, batch=64, lr=1e-2, seed=0)
    on_missing = metrics.third_party_missing_modes(make, real, fake, missing, **kw)
    on_covered = metrics.third_party_missing_modes(make, real, fake, covered, **kw)
    assert on_missing["missing"] >= 90 and on_covered["missing"] <= 10
    assert len(on_missing["curve"]) == len(metrics.THRESHOLDS) and on_missing["curve"] == sorted(on_missing["curve"], reverse=True)


def test_a_damaged_classifier_cache_is_trained_again(mnist_dir):
    ds = data.load_dataset("mnist", str(mnist_dir))
    first, accuracy = metrics.get_classifier(ds, str(mnist_dir))
    (cache,) = (mnist_dir / "classifiers").glob("*.pt")
    cache.write_bytes(b"not a checkpoint")
    again, accuracy_again = metrics.get_classifier(ds, str(mnist_dir))
    assert accuracy_again == accuracy and all(torch.equal(a, b) for a, b in zip(first.state_dict().values(),
                                                                                 again.state_dict().values()))
