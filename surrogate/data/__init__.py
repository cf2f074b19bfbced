"""Ground truth: the measured accuracies that models learn from and are checked against.

- :class:`GroundTruth`: the table of one profile, passed between modules.
- :class:`Store`: the SQLite file that simulations write into, cell by cell, crash-safe.
- :func:`load_analognasbench`: the published AnalogNAS-Bench table, read without running it.
- :func:`load`: a shipped data set by name, or a store by path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
    "profile_hash",
]

def load_proxy_digits() -> GroundTruth:
    """Our CPU proxy benchmark (``benchmark_data/proxy-digits.sqlite``): NB-201 and other DAG cells,
    five chips, five times up to a year. See ``benchmark_data/README.md``."""
    path = Path(__file__).resolve().parents[2] / "benchmark_data" / "proxy-digits.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"the proxy data set is not at {path}: it ships in the source tree "
                                "(benchmark_data/); rebuild it with benchmark_data/simulate_proxy.py")
    with Store(path, readonly=True) as store:
        return store.load("proxy-digits")


#: Shipped data sets: name -> loader. Add an entry to ship another one.
DATASETS: dict[str, Callable[[], GroundTruth]] = {
    "anb-cifar10": load_analognasbench,
    "proxy-digits": load_proxy_digits,
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
