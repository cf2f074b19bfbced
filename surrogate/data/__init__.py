"""Ground truth: the measured accuracies that models learn from and are checked against.

- :class:`GroundTruth`: the table of one profile, passed between modules.
- :class:`Store`: the SQLite file that simulations write into, cell by cell, crash-safe.
- :func:`load_analognasbench`: the published AnalogNAS-Bench table, read without running it.
- :func:`load`: a shipped data set by name, or a store by path.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from .analognasbench import RefusedFileError, load_analognasbench
from .groundtruth import TRAININGS, GroundTruth, Targets, profile_hash
from .store import SCHEMA_VERSION, Store, StoreError

__all__ = [
    "DATASETS",
    "GroundTruth",
    "RefusedFileError",
    "SCHEMA_VERSION",
    "Store",
    "StoreError",
    "TRAININGS",
    "Targets",
    "load",
    "load_analognasbench",
    "load_proxy",
    "profile_hash",
    "shipped_store",
]

def shipped_store(filename: str, folder: str | os.PathLike | None = None) -> Path:
    """The path of a store shipped inside the package, checked against ``shipped/checksums.json``.

    The shipped ground truth is what every shipped model and finding rests on: a file that was
    replaced, truncated or altered is refused by name rather than read.
    """
    folder = Path(os.fspath(resources.files("surrogate.data") / "shipped")) if folder is None else Path(folder)
    sums = json.loads((folder / "checksums.json").read_text(encoding="utf-8"))
    if filename not in sums:
        raise ValueError(f"no shipped store {filename!r}; shipped: {', '.join(sorted(sums))}")
    path = folder / filename
    if not path.is_file():
        raise FileNotFoundError(f"the shipped store {filename} is missing from {path.parent}: reinstall surrogate")
    data = path.read_bytes()
    want = sums[filename]
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != want["bytes"] or digest != want["sha256"]:
        raise ValueError(f"the shipped store {path} has {len(data):,} bytes and SHA-256 {digest[:16]}..., expected "
                         f"{want['bytes']:,} bytes and {want['sha256'][:16]}...: it was altered; refusing it")
    return path


def load_proxy(name: str = "proxy-digits") -> GroundTruth:
    """One of our CPU proxy benchmarks, shipped inside the package (``proxy-digits``: digits;
    ``proxy-mnist``: MNIST at 12x12, issue 18): NB-201 and other DAG cells, five chips, five times up
    to a year; see ``benchmark_data/README.md``."""
    with Store(shipped_store(f"{name}.sqlite"), readonly=True) as store:
        return store.load(name)


def load_proxy_digits() -> GroundTruth:
    """:func:`load_proxy` of ``proxy-digits``, our first proxy."""
    return load_proxy("proxy-digits")


def load_proxy_mnist() -> GroundTruth:
    """:func:`load_proxy` of ``proxy-mnist``, the proxy chosen by the v2 pilot (issue 18)."""
    return load_proxy("proxy-mnist")


#: Shipped data sets: name -> loader. Add an entry to ship another one.
DATASETS: dict[str, Callable[[], GroundTruth]] = {
    "anb-cifar10": load_analognasbench,
    "proxy-digits": load_proxy_digits,
    "proxy-mnist": load_proxy_mnist,
}


def load(name_or_path: str | os.PathLike) -> GroundTruth:
    """A shipped data set by name (see :data:`DATASETS`), or the single profile of a store file."""
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        return DATASETS[name_or_path]()
    if isinstance(name_or_path, (str, os.PathLike)) and Path(name_or_path).is_file():
        with Store(name_or_path) as store:
            return store.load()
    raise ValueError(
        f"{os.fspath(name_or_path)!r} is neither a shipped data set nor an existing store file; "
        f"shipped: {', '.join(sorted(DATASETS))}"
    )
