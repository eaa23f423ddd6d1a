import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import data
import mdgan
import metrics
from conftest import DEVICE

TINY = ["--steps", "6", "--batch", "32", "--eval-n", "64", "--eval-every", "3", "--z-dim", "8", "--device", DEVICE]
DIVERGE = ["--lr", "1e30"]  # blows the losses up within a few steps
OUTPUTS = []


def run(tmp_path, *extra, name="run"):
    out = str(tmp_path / name)
    return out, mdgan.main([*TINY, "--out", out, *extra])


@pytest.mark.parametrize("variant", ["reg", "md", "gan"])
def test_each_variant_has_its_networks_and_one_adam_each(variant):
    args = mdgan.build_parser().parse_args(["--variant", variant])
    mdgan.apply_presets(args, data.grid())
    nets, opts = mdgan.build_networks(data.grid(), args, DEVICE)
    assert set(nets) == {"G", "D", *(["E"] if variant != "gan" else []), *(["D2"] if variant == "md" else [])}
    assert set(opts) == set(nets) and all(opts[k].param_groups[0]["params"] == list(nets[k].parameters()) for k in nets)


def test_mnist_scores_and_third_party_missing_modes(tmp_path, shared_mnist_dir):
    out, final = run(tmp_path, "--dataset", "mnist", "--data-dir", str(shared_mnist_dir), "--variant", "md",
                     "--tpd-steps", "5", "--noise-std", "0.5", "3.5")
    for key in ("mode_score", "inception_score", "missing_classes", "class_kl", "classifier_accuracy"):
        assert key in final
    ds = data.load_dataset("mnist", str(shared_mnist_dir))
    classifier, _ = metrics.get_classifier(ds, str(shared_mnist_dir))
    unit = metrics.to_unit_range(torch.as_tensor(np.load(os.path.join(out, "samples.npy"))).float())
    scores = metrics.inception_and_mode_score(classifier.probabilities(unit), ds.labels)
    # the evaluation scores the images before they are rounded to the stored uint8
    assert (final["inception_score"], final["mode_score"]) == pytest.approx((scores["inception_score"], scores["mode_score"]), rel=1e-3)
    at = metrics.THRESHOLDS.tolist().index(0.95)  # the count is the curve's value at the threshold
    assert final["missing_sigma_0.5"] == final["missing_curve_sigma_0.5"][at] and final["missing_test_n"] == 100
    assert len(final["missing_curve_sigma_3.5"]) == 50
    for name in ("class_hist.png", "scores.png", "reconstructions.png", "missing_modes.png"):
        assert os.path.isfile(os.path.join(out, name)), name
    assert np.load(os.path.join(out, "samples.npy")).dtype == np.uint8


def test_celeba_like_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"{i:06d}.jpg" for i in range(1, 13)]
    for name in names:
        Image.fromarray(rng.integers(0, 256, (218, 178, 3)).astype(np.uint8)).save(folder / name)
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text(
        "".join(f"{n} {2 if i >= 9 else 0}\n" for i, n in enumerate(names)))
    out, final = run(tmp_path, "--dataset", "celeba", "--data-dir", str(tmp_path), "--batch", "4", "--eval-n", "8",
                     "--steps", "2", "--eval-every", "2", "--tpd-steps", "2", "--noise-std", "3.5")
    assert np.load(os.path.join(out, "samples.npy")).shape == (8, 3, 64, 64)
    assert final["missing_test_n"] == 3 and 0 <= final["missing_sigma_3.5"] <= 3
    assert json.load(open(os.path.join(out, "args.json")))["arch"] == "dcgan"


def test_objectives_match_hand_computed_values():
    d_fake, d_rec = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.0])
    x, rec = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    sig = lambda t: 1 / (1 + np.exp(-np.asarray(t)))  # noqa: E731
    adv = -np.mean(np.log(sig([1.0, -2.0])))
    d = ((1 + 4) + 9) / 2  # the default d: squared Euclidean distance, batch mean
    log_d = np.mean(np.log(sig([0.5, 0.0])))
    t_g = mdgan.regularized_generator_loss(d_fake, x, rec, d_rec, 0.2, 0.4).item()
    assert t_g == pytest.approx(adv + 0.2 * d - 0.4 * log_d, rel=1e-6)
    assert mdgan.encoder_loss(x, rec, d_rec, 0.2, 0.4).item() == pytest.approx(0.2 * d - 0.4 * log_d, rel=1e-6)
    assert mdgan.manifold_loss(x, rec, d_rec, 0.2).item() == pytest.approx(0.2 * d - log_d, rel=1e-6)
    assert mdgan.distance(x, rec, "mean").item() == pytest.approx((5 / 2 + 9 / 2) / 2)  # --distance mean
    assert mdgan.build_parser().parse_args([]).distance == "sum"
    d_real = torch.tensor([2.0, 0.3])
    expected = -np.mean(np.log(sig([2.0, 0.3]))) - np.mean(np.log(1 - sig([1.0, -2.0])))
    assert mdgan.discriminator_loss(d_real, d_fake).item() == pytest.approx(expected, rel=1e-6)


def test_literal_sign_flips_exactly_the_log_d_term():
    torch.manual_seed(0)
    d_fake, d_rec, x, rec = torch.randn(5), torch.randn(5), torch.randn(5, 3), torch.randn(5, 3)
    intended = mdgan.regularized_generator_loss(d_fake, x, rec, d_rec, 0.2, 0.4)
    literal = mdgan.regularized_generator_loss(d_fake, x, rec, d_rec, 0.2, 0.4, literal=True)
    minus_log_d = F.softplus(-d_rec).mean()
    assert (intended - literal).item() == pytest.approx(2 * 0.4 * minus_log_d.item(), rel=1e-6)
    m_intended, m_literal = mdgan.manifold_loss(x, rec, d_rec, 0.2), mdgan.manifold_loss(x, rec, d_rec, 0.2, True)
    assert (m_intended - m_literal).item() == pytest.approx(2 * minus_log_d.item(), rel=1e-6)


def test_lambda_zero_is_the_plain_gan(tmp_path):
    torch.manual_seed(1)
    d_fake, d_rec, x, rec = torch.randn(4), torch.randn(4), torch.randn(4, 2), torch.randn(4, 2)
    assert mdgan.regularized_generator_loss(d_fake, x, rec, d_rec, 0, 0).item() == \
        mdgan.generator_adversarial(d_fake).item()
    gan_out, gan = run(tmp_path, "--variant", "gan", name="gan")
    reg_out, reg = run(tmp_path, "--variant", "reg", "--lambda1", "0", "--lambda2", "0", name="reg")
    assert np.array_equal(np.load(os.path.join(gan_out, "samples.npy")), np.load(os.path.join(reg_out, "samples.npy")))
    assert gan["emd"] == reg["emd"]


def test_same_seed_same_numbers_and_resume(tmp_path):
    out_a, a = run(tmp_path, "--variant", "md", name="a")
    _, b = run(tmp_path, "--variant", "md", name="b")
    assert {k: v for k, v in a.items() if k not in ("wall_s", "steps_per_s")} == \
        {k: v for k, v in b.items() if k not in ("wall_s", "steps_per_s")}
    out_c = str(tmp_path / "c")
    mdgan.main([*TINY, "--variant", "md", "--out", out_c, "--steps", "3"])
    mdgan.main(["--resume", out_c, "--steps", "6"])
    assert np.array_equal(np.load(os.path.join(out_a, "samples.npy")), np.load(os.path.join(out_c, "samples.npy")))


def test_a_stacked_image_set_trains_without_class_scores(tmp_path, shared_mnist_dir):
    """Only VEEGAN's protocol judges stacked MNIST channel by channel; here it is a 3-channel image set."""
    out, final = run(tmp_path, "--dataset", "stacked-mnist", "--data-dir", str(shared_mnist_dir))
    assert np.load(os.path.join(out, "samples.npy")).shape[1:] == (3, 28, 28) and "classes_hit" not in final
    assert os.path.isfile(os.path.join(out, "reconstructions.png"))


