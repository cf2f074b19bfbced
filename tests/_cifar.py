"""Tiny CIFAR-10 folders in both distributions, written by the tests (no download)."""

import pickle

import numpy as np

PY_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
BIN_NAMES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def images(n, seed):
    """``n`` images whose mean colour tells the class, so one epoch learns something."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    base = (labels[:, None] * 25 + 5).astype(np.int64)
    data = np.clip(base + rng.integers(-40, 40, (n, 3072)), 0, 255).astype(np.uint8)
    return data, labels


def write_cifar10(folder, fmt, n_train=40, n_test=40, seed=0):
    """Write ``data_batch_1..5`` (``n_train`` images each) and ``test_batch`` in ``fmt`` ("python" or
    "binary"); returns the arrays written, ``[(data, labels)] * 6``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, name in enumerate(PY_NAMES if fmt == "python" else BIN_NAMES):
        data, labels = images(n_test if name.startswith("test") else n_train, seed + i)
        if fmt == "python":
            with open(folder / name, "wb") as fh:
                pickle.dump({b"batch_label": b"tiny", b"data": data, b"labels": [int(v) for v in labels]}, fh,
                            protocol=2)
        else:
            records = np.concatenate([labels.astype(np.uint8)[:, None], data], axis=1)
            (folder / name).write_bytes(records.tobytes())
        out.append((data, labels))
    return out
