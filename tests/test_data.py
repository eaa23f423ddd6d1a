import gzip
import os

import numpy as np
import pytest
import torch

import data
from common import UserError
from conftest import fake_digits, write_cifar, write_idx


def test_ring_has_eight_distinct_modes_at_radius_one():
    ds = data.ring()
    assert ds.centers.shape == (8, 2) and ds.sigma == 0.01
    np.testing.assert_allclose(np.linalg.norm(ds.centers, axis=1), 1.0)
    gaps = np.linalg.norm(ds.centers[:, None] - ds.centers[None], axis=-1) + np.eye(8)
    assert gaps.min() > 0.7  # 2 sin(pi/8) = 0.765: no two modes coincide (the linspace-endpoint bug)
    x = ds.sample(4000, torch.Generator().manual_seed(0)).numpy()
    nearest = np.linalg.norm(x[:, None] - ds.centers[None], axis=-1).argmin(1)
    assert len(set(nearest)) == 8
    assert np.linalg.norm(x - ds.centers[nearest], axis=1).max() < 6 * ds.sigma


def test_grid_has_25_modes_on_the_protocol_lattice():
    ds = data.grid()
    assert ds.centers.shape == (25, 2) and ds.sigma == 0.05
    assert sorted(set(ds.centers[:, 0])) == [-4, -2, 0, 2, 4]


def test_mixture_sampling_is_repeatable():
    a = data.ring().sample(10, torch.Generator().manual_seed(3))
    b = data.ring().sample(10, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["x.gz", "x"])
def test_read_idx_round_trip(tmp_path, name):
    images, _ = fake_digits(5)
    write_idx(str(tmp_path / name), images)
    np.testing.assert_array_equal(data.read_idx(str(tmp_path / name)), images)


def test_read_idx_rejects_bad_magic(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\x00\x00\x0d\x03" + b"\x00" * 20)  # float32 type code, not uint8
    with pytest.raises(UserError, match="magic"):
        data.read_idx(str(path))


def test_read_idx_rejects_truncated_payload(tmp_path):
    images, _ = fake_digits(5)
    path = str(tmp_path / "t")
    write_idx(path, images)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 10)
    with pytest.raises(UserError, match="truncated"):
        data.read_idx(path)


def test_read_idx_rejects_truncated_gzip(tmp_path):
    images, _ = fake_digits(50)
    path = str(tmp_path / "t.gz")
    write_idx(path, images)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(UserError, match="damaged"):
        data.read_idx(path)


def test_download_checks_md5_and_leaves_nothing_behind(tmp_path):
    source = tmp_path / "mirror"
    source.mkdir()
    (source / "f.gz").write_bytes(b"payload")
    mirror = source.as_uri() + "/"
    dest = tmp_path / "dest"
    with pytest.raises(UserError, match="MD5"):
        data.download("f.gz", str(dest), [mirror], md5="0" * 32)
    assert os.listdir(dest) == []  # no partial or wrong file that could pass for the real one
    good = data.md5sum(str(source / "f.gz"))
    assert data.download("f.gz", str(dest), ["file:///nonexistent/", mirror], md5=good) == str(dest / "f.gz")
    assert (dest / "f.gz").read_bytes() == b"payload"


def test_offline_error_names_files_folder_and_urls(tmp_path):
    with pytest.raises(UserError) as err:
        data.download("train-images-idx3-ubyte.gz", str(tmp_path / "m"), ["file:///nonexistent/"], None)
    text = str(err.value)
    assert "train-images-idx3-ubyte.gz" in text and str(tmp_path / "m") in text and "file:///nonexistent/" in text


def test_load_mnist_from_folder(mnist_dir):
    ds = data.load_dataset("mnist", str(mnist_dir))
    assert ds.kind == "images" and ds.array.shape == (200, 1, 28, 28) and ds.test_images.shape == (100, 1, 28, 28)
    assert ds.integer and ds.affine() == (0.5 * 255, 0.5 * 255)


def test_load_mnist_from_data_dir_itself(mnist_dir):
    assert data.load_dataset("mnist", str(mnist_dir / "mnist")).array.shape[0] == 200


def test_mismatched_image_and_label_counts(mnist_dir):
    write_idx(str(mnist_dir / "mnist" / "train-labels-idx1-ubyte.gz"), np.zeros(7, np.uint8))
    with pytest.raises(UserError, match="disagree"):
        data.load_dataset("mnist", str(mnist_dir))


def test_user_points_and_images(tmp_path):
    np.save(tmp_path / "p.npy", np.random.default_rng(0).normal(5, 3, (100, 2)))
    ds = data.load_dataset(str(tmp_path / "p.npy"), str(tmp_path))
    assert ds.kind == "points" and ds.shape == (2,)
    center, scale = ds.affine()
    model = (ds.array.numpy() - center) / scale
    assert np.abs(model).max() <= 0.9 + 1e-6
    np.save(tmp_path / "i.npy", np.zeros((4, 3, 8, 8), np.uint8))
    assert data.load_dataset(str(tmp_path / "i.npy"), str(tmp_path)).shape == (3, 8, 8)


@pytest.mark.parametrize("array, message", [
    (np.zeros((0, 2)), "empty"),
    (np.zeros(10), "shape"),
    (np.zeros((2, 2, 2, 2, 2)), "shape"),
    (np.zeros((3, 5, 8, 8)), "C = 1 or 3"),
    (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
    (np.array([[0.0, np.inf], [1.0, 2.0]]), "NaN or inf"),
])
def test_user_npy_bad_input(tmp_path, array, message):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(UserError, match=message):
        data.load_dataset(str(tmp_path / "x.npy"), str(tmp_path))


def test_corrupt_and_missing_npy(tmp_path):
    (tmp_path / "c.npy").write_bytes(b"not numpy")
    with pytest.raises(UserError, match="not a readable"):
        data.load_dataset(str(tmp_path / "c.npy"), str(tmp_path))
    with pytest.raises(UserError, match="not found"):
        data.load_dataset(str(tmp_path / "missing.npy"), str(tmp_path))


def test_unknown_dataset():
    with pytest.raises(UserError, match="unknown data set"):
        data.load_dataset("cifar-1000", ".")


def test_centers_json(tmp_path):
    (tmp_path / "c.json").write_text('{"centers": [[0, 0], [1, 1]], "sigma": 0.1}')
    centers, sigma, weights = data.read_centers(str(tmp_path / "c.json"), 2)
    assert centers.shape == (2, 2) and sigma == 0.1 and weights.tolist() == [0.5, 0.5]
    with pytest.raises(UserError, match="3-D"):
        data.read_centers(str(tmp_path / "c.json"), 3)


@pytest.mark.parametrize("spec, message", [
    ('{"centers": [[0, 0], [1, 1]], "sigma": 0.1, "weights": [1, 2, 3]}', "2 non-negative numbers"),
    ('{"centers": [[0, 0], [1, 1]], "sigma": 0.1, "weights": [0, 0]}', "not all 0"),
    ('{"centers": [[0, 0], [1, 1]], "sigma": 0.1, "weights": [1, -1]}', "non-negative"),
    ('{"centers": [[0, 0], [1, 1]], "sigma": -0.1}', "sigma must be a positive"),
    ('{"centers": [[0, 0], [1, 1]], "sigma": 0}', "sigma must be a positive"),
    ('{"centers": [], "sigma": 0.1}', "centres have shape"),
    ('{"centers": [[0, 0]], "sigma": 0.1, "weights": "abc"}', "weights must be"),
])
def test_centers_json_that_cannot_describe_the_mixture_is_refused(tmp_path, spec, message):
    (tmp_path / "c.json").write_text(spec)
    with pytest.raises(UserError, match=message):
        data.read_centers(str(tmp_path / "c.json"), 2)


def test_centers_beside_a_built_in_mixture_is_refused(tmp_path):
    (tmp_path / "c.json").write_text('{"centers": [[0, 0]], "sigma": 0.1}')
    with pytest.raises(UserError, match="built-in mixtures know their modes"):
        data.load_dataset("ring", ".", str(tmp_path / "c.json"))


def test_read_idx_rejects_a_file_cut_inside_its_header(tmp_path):
    (tmp_path / "cut-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + b"\x00" * 6)  # 10 bytes: dims need 12
    with pytest.raises(UserError, match="truncated inside its header"):
        data.read_idx(str(tmp_path / "cut-idx3-ubyte"))


def test_a_pickled_npy_is_refused_for_safety_with_how_to_save_it(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="Python objects.*unpickling can run code.*numpy.save"):
        data.load_dataset(str(tmp_path / "objects.npy"), ".")


def test_offline_mnist_names_every_missing_file_and_where_they_go(tmp_path, monkeypatch):
    monkeypatch.setitem(data.MIRRORS, "mnist", ["file:///nonexistent/"])
    with pytest.raises(UserError) as err:
        data.load_idx_dataset("mnist", str(tmp_path))
    text = str(err.value)
    assert all(f in text for pair in data.IDX_FILES.values() for f in pair) and str(tmp_path / "mnist") in text


def test_a_data_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(UserError, match="--data-dir .* is a file"):
        data.load_dataset("mnist", str(tmp_path / "afile"))


def test_hd_is_pacgans_1200d_set():
    ds = data.hd()
    x = ds.sample(3000, torch.Generator().manual_seed(0)).numpy()
    k = ds.centers.shape[0]
    assert x.shape == (3000, 1200) and k == 10
    offsets = x[:, 700:]  # the 500 constant coordinates carry only the mode's offset c_k
    assert (offsets == offsets[:, :1]).all() and set(np.round(offsets[:, 0], 4)) == set(data.HD_OFFSETS)
    noise = x[:, :700] - offsets[:, :1]
    assert abs(noise.std() - 1) < 0.01 and abs(noise.mean()) < 0.01


def test_stacked_mnist_labels_match_channels(mnist_dir):
    digits = data.load_idx_dataset("mnist", str(mnist_dir))
    ds = data.stacked_mnist(digits, n=500, seed=0)
    assert ds.shape == (3, 28, 28) and len(ds.labels) == 500 and ds.labels.max() < 1000
    index = ds.stack_index[7]
    want = 100 * digits.labels[index[0]] + 10 * digits.labels[index[1]] + digits.labels[index[2]]
    assert ds.labels[7] == want
    batch = ds.sample(4, torch.Generator().manual_seed(0))
    assert batch.shape == (4, 3, 28, 28)


def test_cifar_batches_are_checked_before_unpickling(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    monkeypatch.setattr(data, "CIFAR_MD5", write_cifar(str(folder)))
    ds = data.load_dataset("cifar10", str(tmp_path))
    assert ds.shape == (3, 32, 32) and len(ds.array) == 60 and len(ds.test_images) == 12
    monkeypatch.setattr(data, "CIFAR_MD5", {**data.CIFAR_MD5, "test_batch": "0" * 32})
    with pytest.raises(UserError, match="official MD5"):
        data.load_dataset("cifar10", str(tmp_path))


def test_cifar_unpickler_refuses_code(tmp_path, monkeypatch):
    import hashlib
    import pickle
    folder = tmp_path / "cifar-10-batches-py"
    md5 = write_cifar(str(folder))
    evil = folder / "test_batch"
    evil.write_bytes(pickle.dumps({b"data": os.system}))  # a global that is not a numpy array
    md5["test_batch"] = hashlib.md5(evil.read_bytes()).hexdigest()
    monkeypatch.setattr(data, "CIFAR_MD5", md5)
    with pytest.raises(UserError, match="not a CIFAR-10 python batch"):
        data.load_dataset("cifar10", str(tmp_path))


def test_missing_cifar_offline_names_the_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CIFAR_URLS", ["http://127.0.0.1:9/"])
    with pytest.raises(UserError, match="cifar-10-python.tar.gz"):
        data.load_dataset("cifar10", str(tmp_path))


def test_image_folder_crop_resize_split_and_cache(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(10):  # a bright square in the centre of a dark 100x80 picture
        pixels = np.zeros((100, 80, 3), np.uint8)
        pixels[30:70, 20:60] = 200 + i
        Image.fromarray(pixels).save(folder / f"{i:02d}.png")
    ds = data.load_dataset(str(folder), str(tmp_path))
    assert ds.shape == (3, 64, 64) and len(ds.array) == 9 and len(ds.test_images) == 1  # last 10 % held out
    assert ds.test_images[0, 0, 32, 32] == 209  # sorted names: the last file is the test image
    assert ds.array[0, :, 32, 32].tolist() == [200] * 3 and ds.array[0, 0, 0, 0] == 0  # 80x80 centre crop
    assert any(f.startswith(".cache-") for f in os.listdir(folder))
    (folder / "00.png").write_bytes(b"not an image")
    with pytest.raises(UserError, match="cannot decode image"):
        data.load_dataset(str(folder), str(tmp_path))


def test_celeba_missing_and_pillow_missing(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="img_align_celeba"):
        data.load_dataset("celeba", str(tmp_path))
    import builtins
    real_import = builtins.__import__

    def no_pillow(name, *a, **k):
        if name.startswith("PIL"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pillow)
    with pytest.raises(UserError, match="pip install pillow"):
        data.decode_images([str(tmp_path / "x.jpg")], 64, None)


def test_star_is_five_rotated_gaussians_with_one_mean():
    ds = data.load_dataset("star", ".")
    assert ds.kind == "points" and np.allclose(ds.centers, 0) and ds.component_maps.shape == (5, 2, 2)
    x = ds.sample(200_000, torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(x.mean(0), 0, atol=0.01)
    np.testing.assert_allclose(np.cov(x.T), 0.505 * np.eye(2), atol=0.01)  # mean of R diag(1, 0.01) R^T
    far = x[np.linalg.norm(x, axis=1) > 2]  # far out, every point lies on one of the 10 rays at angles pi*k/5
    offset = np.mod(np.arctan2(far[:, 1], far[:, 0]), np.pi / 5)
    assert len(far) > 1000 and (np.minimum(offset, np.pi / 5 - offset) < 0.15).mean() > 0.99


def test_user_arrays_beyond_float32_of_foreign_byte_order_or_of_wide_integer_images(tmp_path):
    np.save(tmp_path / "big.npy", np.full((10, 2), 1e39))
    with pytest.raises(UserError, match="beyond what float32"):
        data.load_npy(str(tmp_path / "big.npy"))
    points = np.random.default_rng(0).normal(size=(50, 2))
    np.save(tmp_path / "be.npy", points.astype(">f4"))  # big-endian: read as the same numbers
    assert torch.equal(data.load_npy(str(tmp_path / "be.npy")).array, torch.as_tensor(points.astype(np.float32)))
    np.save(tmp_path / "u16.npy", np.full((5, 28, 28), 300, np.uint16))
    with pytest.raises(UserError, match="uint8 in"):
        data.load_npy(str(tmp_path / "u16.npy"))


def test_an_image_folder_too_small_to_split_is_refused(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    (tmp_path / "one").mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "one" / "a.png")
    with pytest.raises(UserError, match="at least 2 training images"):
        data.load_dataset(str(tmp_path / "one"), str(tmp_path))


def test_an_npz_of_one_array_is_that_array_and_one_of_several_names_them(tmp_path):
    points = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    np.savez(tmp_path / "one.npz", points)
    np.testing.assert_array_equal(data.load_dataset(str(tmp_path / "one.npz"), str(tmp_path)).array, points)
    np.savez(tmp_path / "two.npz", x=points, labels=np.zeros(50))
    with pytest.raises(data.UserError, match=r"2 arrays \(x, labels\)"):
        data.load_dataset(str(tmp_path / "two.npz"), str(tmp_path))
