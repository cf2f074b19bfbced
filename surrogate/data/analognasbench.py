"""AnalogNAS-Bench (IBM, Apache-2.0) as a :class:`GroundTruth`, read without running its code.

The data ships in the PyPI package ``analog-nasbench`` as ``data.anb``, a pickle of
``{naslib_tuple: Architecture}``. We do not ``import analognasbench`` (its module imports
``pkg_resources``, gone from setuptools >= 81), and we do not ``pickle.load`` the file (a
pickle can run any code). A restricted unpickler admits the two record classes only, maps
them to inert stand-ins here, and refuses everything else. The converted table is cached as
a compressed ``.npz`` of plain arrays (no pickle), keyed by the source file's sha256.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import math
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..cells import Cell
from ..core import CHIPS, TRAININGS
from ..core.anb import ACCURACY_FIELDS, drift_fields
from .groundtruth import GroundTruth

__all__ = ["PROFILE", "TIMES", "load_analognasbench", "read_anb", "cache_dir", "RefusedFileError"]

NAME = "anb-cifar10"
#: Drift times of the benchmark, seconds after programming: 1 min, 1 h, 1 day, 30 days.
TIMES: tuple[int, ...] = (60, 3600, 86400, 2592000)
REPETITIONS = 25
_CACHE_VERSION = 2  # bump when the conversion below changes

#: The upstream protocol (its ``training_script.py``), as a profile.
PROFILE: dict = {
    "name": NAME,
    "source": "analog-nasbench 0.1.3",
    "dataset": "cifar10",
    "num_classes": 10,
    "space": "nb201",
    "training": {
        "epochs": 200, "optimizer": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True,
        "weight_decay": 5e-4, "schedule": "cosine",
    },
    "hwa": {"epochs": 200, "optimizer": "AnalogSGD", "lr": 0.01},
    "rpu_config": {
        "forward": {
            "w_noise_type": "ADD_NORMAL", "w_noise": 0.06, "out_noise": 0.04,
            "inp_res": 1 / 254, "out_res": 1 / 254, "out_bound": 10.0,
        },
        "pre_post": {"input_range": {"enable": True, "learn_input_range": True}},
        "remap": "LAYERWISE_SYMMETRIC",
        "clip": {"type": "LAYER_GAUSSIAN", "sigma": 2.0},
        "noise_model": {"type": "PCMLikeNoiseModel", "g_max": 25.0},
        "drift_compensation": "GlobalDriftCompensation",
        "programming": "once per model; drift re-sampled per repetition",
    },
    "chips": [CHIPS["anb-pcm"].to_dict()],
    "t_inference": list(TIMES),
    "repetitions": REPETITIONS,
    "seeds": [0],
}

_ANB_MODULE = "analognasbench.data"
_EXTRAS = {ours: field for field, ours in ACCURACY_FIELDS.items()}  # our name <- upstream field


class RefusedFileError(ValueError, pickle.UnpicklingError):
    """``data.anb`` is corrupt, truncated or holds something other than the benchmark records."""


# ---------------------------------------------------------------------- inert records
class _Record:
    """Stand-in for an upstream record: accepts plain attributes and nothing else."""

    __slots__ = ("fields",)
    _allowed: frozenset[str] = frozenset()

    def __init__(self):  # only reachable through NEWOBJ with no arguments
        self.fields = {}

    def __setstate__(self, state):
        if not isinstance(state, dict) or not set(state) <= self._allowed:
            extra = sorted(set(state) - self._allowed) if isinstance(state, dict) else type(state).__name__
            raise pickle.UnpicklingError(f"unexpected state in a {type(self).__name__} record: {extra}")
        self.fields = dict(state)

    def __getattr__(self, name):
        try:
            return object.__getattribute__(self, "fields")[name]
        except (KeyError, AttributeError):
            raise AttributeError(name) from None


class _DriftMeasurement(_Record):
    __slots__ = ()
    _allowed = frozenset({"value", "uncertainty"})


class _Architecture(_Record):
    __slots__ = ()
    _allowed = frozenset(
        {"architecture", *ACCURACY_FIELDS} | {f for tr in TRAININGS for t in TIMES for f in drift_fields(tr, t)}
    )


_ALLOWED = {(_ANB_MODULE, "Architecture"): _Architecture, (_ANB_MODULE, "DriftMeasurement"): _DriftMeasurement}


class _RestrictedUnpickler(pickle.Unpickler):
    """Admits the two AnalogNAS-Bench record classes (as inert stand-ins) and no other global.

    The real file needs no other global: its dict, tuples, ints and floats are opcodes.
    """

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"global {module}.{name} is not allowed; only {_ANB_MODULE}.Architecture and "
                f"{_ANB_MODULE}.DriftMeasurement may appear in an AnalogNAS-Bench file"
            ) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed in an AnalogNAS-Bench file")


def read_anb(path: str | os.PathLike) -> dict[tuple[int, ...], _Architecture]:
    """Read ``data.anb`` safely; raise :class:`RefusedFileError` on anything unexpected."""
    path = Path(path)
    data = path.read_bytes()
    try:
        table = _RestrictedUnpickler(io.BytesIO(data)).load()
    except Exception as err:  # noqa: BLE001  every failure means: do not trust this file
        raise RefusedFileError(f"refused {path}: not a valid AnalogNAS-Bench file ({err})") from None
    if not isinstance(table, dict) or not table:
        raise RefusedFileError(f"refused {path}: expected a non-empty dict of records, got {type(table).__name__}")
    for key, rec in table.items():
        if not (isinstance(key, tuple) and len(key) == 6 and all(type(i) is int for i in key)):
            raise RefusedFileError(f"refused {path}: key {key!r} is not a tuple of 6 op indices")
        if not isinstance(rec, _Architecture):
            raise RefusedFileError(f"refused {path}: the value for {key} is not an Architecture record")
    return table


# ---------------------------------------------------------------------- conversion
def _data_file() -> Path:
    try:
        files = importlib.metadata.files("analog-nasbench") or []
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            "AnalogNAS-Bench data not found: install it with `pip install analog-nasbench`, or pass "
            "load_analognasbench(path=...) pointing at a data.anb file"
        ) from None
    found = sorted((f for f in files if f.name == "data.anb"), key=lambda f: f.parts[0] != "analognasbench")
    for f in found:
        p = Path(f.locate())
        if p.is_file():
            return p
    raise FileNotFoundError("the installed analog-nasbench distribution lists no readable data.anb")


def _source_version() -> str:
    try:
        return importlib.metadata.version("analog-nasbench")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _float(rec: _Record, field: str, key) -> float:
    value = getattr(rec, field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RefusedFileError(f"record {key}: field {field} is {value!r}, expected a finite number")
    return float(value)


def _drift(rec: _Architecture, training: str, t: int, key) -> tuple[float, float]:
    names = drift_fields(training, t)
    for name in names:
        m = rec.fields.get(name)
        if m is not None:
            if not isinstance(m, _DriftMeasurement):
                raise RefusedFileError(f"record {key}: {name} is not a DriftMeasurement")
            return _float(m, "value", key), _float(m, "uncertainty", key)
    raise RefusedFileError(f"record {key} has no {' or '.join(names)}")


def _convert(table: dict) -> dict[str, np.ndarray]:
    """Records -> plain arrays: cell strings, (cells, trainings, times) mean/std, extras."""
    keys = sorted(table)
    cells = np.array([Cell.from_anb(k).to_str() for k in keys])
    mean = np.empty((len(keys), 2, len(TIMES)))
    std = np.empty_like(mean)
    extras = np.empty((len(keys), len(_EXTRAS)))
    for i, k in enumerate(keys):
        rec = table[k]
        for j, training in enumerate(TRAININGS):
            for m, t in enumerate(TIMES):
                mean[i, j, m], std[i, j, m] = _drift(rec, training, t, k)
        for j, field in enumerate(_EXTRAS.values()):
            extras[i, j] = _float(rec, field, k)
    return {"cells": cells, "mean": mean, "std": std, "extras": extras}


def _to_groundtruth(arrays: dict[str, np.ndarray], profile: dict) -> GroundTruth:
    cells, mean, std = arrays["cells"], arrays["mean"], arrays["std"]
    n_cells, n_train, n_times = mean.shape
    rows = pd.DataFrame(
        {
            "cell": np.repeat(cells.astype(object), n_train * n_times),
            "training": np.tile(np.repeat(np.array(TRAININGS, dtype=object), n_times), n_cells),
            "t_inference": np.tile(np.array(TIMES, dtype=float), n_cells * n_train),
            "seed": np.zeros(mean.size, dtype=np.int64),
            "accuracy": mean.reshape(-1),
            "std": std.reshape(-1),
            "n": np.full(mean.size, REPETITIONS, dtype=np.int64),
        }
    )
    extras = pd.DataFrame(arrays["extras"], columns=list(_EXTRAS))
    extras.insert(0, "seed", np.zeros(n_cells, dtype=np.int64))
    extras.insert(0, "cell", cells.astype(object))
    return GroundTruth(rows, profile, extras)


# ---------------------------------------------------------------------- cache
def cache_dir() -> Path:
    """``$SURROGATE_CACHE`` if set, else ``~/.cache/surrogate``."""
    env = os.environ.get("SURROGATE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "surrogate"


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ("cells", "mean", "std", "extras")}
    except (OSError, ValueError, KeyError, EOFError):
        return None  # absent or damaged: rebuild
    return arrays


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **arrays)
            os.replace(tmp, path)  # atomic: a reader sees the old file or the whole new one
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as err:
        warnings.warn(f"could not cache AnalogNAS-Bench in {path.parent} ({err}); it will be re-read next time",
                      stacklevel=3)


def load_analognasbench(path: str | os.PathLike | None = None, cache: bool = True) -> GroundTruth:
    """AnalogNAS-Bench: 15,625 NB-201 cells on CIFAR-10, two trainings, four drift times.

    Args:
        path: a ``data.anb`` file; by default the one installed with ``analog-nasbench``.
        cache: keep the converted table in :func:`cache_dir` (keyed by the file's sha256).

    Returns:
        A :class:`GroundTruth` of profile ``"anb-cifar10"``: 125,000 rows (cell x
        {standard, hwa} x {60 s, 1 h, 1 day, 30 days}), each a mean and std over 25
        repetitions, seed 0; extras ``digital``, ``ptq``, ``qat``, ``standard_t0`` and
        ``hwa_t0`` (undrifted accuracy after conversion and after HWA fine-tuning).
    """
    source = Path(path) if path is not None else _data_file()
    if not source.is_file():
        raise FileNotFoundError(f"no AnalogNAS-Bench file at {source}")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    profile = dict(PROFILE)
    if path is None:
        profile["source"] = f"analog-nasbench {_source_version()}"
    target = cache_dir() / f"{NAME}-{digest[:16]}-v{_CACHE_VERSION}.npz"
    arrays = _read_cache(target) if cache else None
    if arrays is None:
        arrays = _convert(read_anb(source))
        if cache:
            _write_cache(target, arrays)
    return _to_groundtruth(arrays, profile)
