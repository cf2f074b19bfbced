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
    ({"name": "mnist"}, "unknown dataset"),
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
