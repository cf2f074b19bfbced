"""Oracles: where a validation round gets the measured accuracy of the cells it sampled.

An oracle must reproduce the model's profile exactly (same recipe, same hash): numbers from
another recipe say nothing about this model's calibration. ``check(model)`` refuses any other
with a ``ValueError`` before anything is measured.

- :class:`TableOracle`: a ground-truth table that already holds the profile (AnalogNAS-Bench for
  ``anb-cifar10``); it stands in for re-simulation.
- :class:`SimulateOracle`: re-simulates the cells with the model's own profile
  (:func:`surrogate.simulate.run`: in this process, local worker processes, or a Dask cluster; on
  the CPU or a GPU). A table's profile that is no recipe (AnalogNAS-Bench's) is re-simulated with
  the built-in recipe that :data:`REPRODUCTIONS` links to it, whose differences from upstream are
  listed there and in every report. ``overrides`` alters the recipe for a smoke check of the path
  (the report says it is one).
- :class:`SyntheticOracle`: draws ``y ~ N(mean, std^2)`` from a reference model's own predictions
  (shifted or scaled on demand): a model that is calibrated by construction, for measuring the
  false-alarm rate and power of the verdict.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..cells import Cell
from ..core import TRAININGS, chip_hash, get_profile
from ..data import GroundTruth

__all__ = ["Measured", "Oracle", "TableOracle", "SimulateOracle", "SyntheticOracle", "get_oracle",
           "Reproduction", "REPRODUCTIONS", "SMOKE", "apply_overrides"]


@dataclass(frozen=True)
class Reproduction:
    """A built-in simulation recipe that re-simulates a table whose own profile is no recipe.

    ``recipe_hash`` pins the recipe as it was compared with upstream: if the recipe changes, the link
    is refused until it is checked again. ``differences`` are what is known to differ from upstream.
    """

    recipe: str
    recipe_hash: str
    source: str
    differences: tuple[str, ...]


#: Table profile hash -> the recipe that re-simulates it. AnalogNAS-Bench 0.1.3 (``anb-cifar10``, as
#: :func:`surrogate.data.load_analognasbench` reads it) against IBM's ``analognasbench/training_script.py``.
#: The same: NB-201 network C=16 N=5, batch 256, 200 epochs SGD (lr 0.1, momentum 0.9, nesterov, wd 5e-4,
#: cosine), random crop and flip in training, 200 epochs AnalogSGD (lr 0.01, momentum 0.9, nesterov,
#: wd 5e-4), ADD_NORMAL 0.06, output noise 0.04, 8-bit DAC/ADC, out_bound 10, learned input ranges,
#: LAYERWISE_SYMMETRIC remap, LAYER_GAUSSIAN clip 2, PCMLikeNoiseModel(g_max=25),
#: GlobalDriftCompensation, programmed once and drifted 25 times at 60 s, 1 h, 1 d, 30 d.
REPRODUCTIONS: dict[str, Reproduction] = {
    "476e01890d6c280f": Reproduction(
        recipe="anb-cifar10", recipe_hash="33d02e17b1152a4f",
        source="IBM/analog-nas analognasbench/training_script.py",
        differences=(
            "upstream scores every accuracy on randomly cropped and flipped test images (one transform "
            "serves both loaders); we score the plain test set",
            "upstream's HWA cosine scheduler is attached to the digital optimiser, so AnalogSGD runs at a "
            "constant lr 0.01; ours follows a cosine schedule (stepped per batch, upstream's digital one "
            "per epoch)",
            "inputs normalised with mean = std = 0.5 upstream, with the CIFAR-10 channel statistics here",
            "upstream maps weights with weight_scaling_omega 1.0 and learns input ranges with decay 0.01, "
            "init_from_data 50, input_min_percentage 0.995; we keep aihwkit 1.1's defaults (0.0, 0.001, "
            "100, 0.95)",
            "upstream: InferenceRPUConfig tiles on CUDA, its aihwkit of 2024; here TorchInferenceRPUConfig "
            "(pure PyTorch), aihwkit 1.1.0",
            "upstream trained each cell once (seed 42 + rank); a validation round trains it anew with seed "
            "10,000 + the round's seed",
        )),
}

#: What ``--smoke`` changes in a recipe: one epoch of each training on 16x16 images, a network of
#: width 4 and one cell per stage, 2 repetitions. It checks that the path runs, in seconds per cell.
SMOKE: dict = {"train.epochs": 1, "hwa.epochs": 1, "network.width": 4, "network.depth": 1, "repetitions": 2,
               "dataset.input_size": 16}

_OVERRIDABLE = {"train", "hwa", "network", "dataset", "repetitions", "t_inference", "reprogram"}


def apply_overrides(profile, overrides: Mapping) -> dict:
    """The recipe dict of ``profile`` with ``overrides`` (``{"train.epochs": 1, ...}``) applied, renamed
    ``NAME+overrides``. Its hash differs, so its rows never pass for the recipe's."""
    d = get_profile(profile).to_dict()
    for key, value in overrides.items():
        section, _, field = str(key).partition(".")
        whole = section in ("repetitions", "t_inference", "reprogram")
        if section not in _OVERRIDABLE or whole != (not field):
            raise ValueError(f"cannot override {key!r}: give train.X, hwa.X, network.X or dataset.X, or "
                             "repetitions, t_inference, reprogram")
        if field:
            if section == "dataset" and field == "name":
                raise ValueError("the data set's name cannot be overridden (it is what the recipe is about)")
            d[section][field] = value
        else:
            d[section] = value
    d["name"] = f"{d['name']}+overrides"
    d["description"] = f"{d['name']}: {dict(overrides)}"
    return get_profile(d).to_dict()


class Measured(NamedTuple):
    """What an oracle returns: the measured cells (``None`` if none) and why others failed."""

    ground_truth: GroundTruth | None
    failed: dict  # NB-201 string -> reason


def _describe_profile(profile: dict, phash: str) -> str:
    return f"{profile.get('name')!r} [{phash}]"


def _model_profile(model) -> tuple[dict, str]:
    try:
        return dict(model.profile_), str(model.profile_hash_)
    except AttributeError:
        raise ValueError("the model is not fitted (no profile_ / profile_hash_): fit or load it") from None


class Oracle:
    """What a validation round needs from an oracle (subclass and fill the four methods)."""

    kind = "oracle"

    def check(self, model) -> None:
        """Raise ``ValueError`` unless this oracle measures exactly ``model``'s profile."""
        raise NotImplementedError

    def times(self, model) -> np.ndarray:
        """The drift times (seconds > 0) it measures for ``model``'s profile."""
        raise NotImplementedError

    def can_measure(self, cells: Sequence[Cell]) -> np.ndarray:
        """A boolean mask of the cells it can measure (all, unless it is a finite table)."""
        return np.ones(len(cells), dtype=bool)

    def measure(self, cells: Sequence[Cell], seed: int, profile: dict) -> Measured:
        """Measure ``cells`` under ``profile`` (already checked) with ``seed``."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"kind": self.kind}


class TableOracle(Oracle):
    """A ground-truth table that holds the model's profile (looked up, never re-run).

    Args:
        ground_truth: a :class:`~surrogate.data.GroundTruth`.
    """

    kind = "table"

    def __init__(self, ground_truth: GroundTruth):
        if not isinstance(ground_truth, GroundTruth):
            raise ValueError(f"TableOracle takes a GroundTruth, got {type(ground_truth).__name__}")
        self.ground_truth = ground_truth
        self._keys = frozenset(ground_truth.cell_keys)

    @classmethod
    def for_model(cls, model, source=None) -> TableOracle:
        """The table for ``model``: a shipped data set named like its profile (``source=None``),
        a store file (its rows of the model's profile hash), or a ``GroundTruth``."""
        from ..data import DATASETS, Store

        profile, phash = _model_profile(model)
        if isinstance(source, GroundTruth):
            oracle = cls(source)
        elif source is None:
            name = profile.get("name")
            if name not in DATASETS:
                raise ValueError(
                    f"no shipped table holds the model's profile {_describe_profile(profile, phash)} "
                    f"(shipped: {', '.join(sorted(DATASETS))}); give a store file that does, or use the "
                    "simulate oracle")
            oracle = cls(DATASETS[name]())
        elif isinstance(source, (str, os.PathLike)) and Path(source).is_file():
            with Store(source) as store:
                try:
                    oracle = cls(store.load(phash))
                except ValueError as err:
                    raise ValueError(f"the store {os.fspath(source)} cannot stand in for the model's profile "
                                     f"{_describe_profile(profile, phash)}: {err}") from None
        else:
            raise ValueError(f"a table is a shipped data set (None), a store file or a GroundTruth, "
                             f"got {source!r}")
        oracle.check(model)
        return oracle

    def check(self, model) -> None:
        profile, phash = _model_profile(model)
        gt = self.ground_truth
        if gt.profile_hash != phash:
            raise ValueError(
                f"the table holds profile {_describe_profile(gt.profile, gt.profile_hash)} but the model was "
                f"fitted on {_describe_profile(profile, phash)}: another recipe's numbers cannot validate it")
        chip = getattr(model, "chip_", None)
        if isinstance(chip, Mapping):
            if chip.get("name") not in gt.chips or chip_hash(gt.chip_spec(chip["name"])) != chip_hash(chip):
                raise ValueError(f"the table has no rows on the model's chip {chip.get('name')!r} "
                                 f"(its chips: {gt.chips}): it cannot validate the model")

    def times(self, model) -> np.ndarray:
        t = self.ground_truth.times
        return t[t > 0]

    def can_measure(self, cells):
        return np.array([c.to_str() in self._keys for c in cells], dtype=bool)

    def measure(self, cells, seed, profile) -> Measured:
        ok = self.can_measure(cells)
        present = [c for c, o in zip(cells, ok) if o]
        failed = {c.to_str(): "not in the table" for c, o in zip(cells, ok) if not o}
        return Measured(self.ground_truth.subset(present) if present else None, failed)

    def describe(self) -> dict:
        gt = self.ground_truth
        return {"kind": self.kind, "profile": gt.profile_name, "profile_hash": gt.profile_hash,
                "cells": len(self._keys)}


class SimulateOracle(Oracle):
    """Re-simulate cells with the model's own profile.

    Args:
        profile: the recipe to run; ``None`` takes the model's, or the recipe that
            :data:`REPRODUCTIONS` links to a table profile. Either way it must be the model's profile or
            that linked recipe.
        workers: local worker processes (1: in this process).
        scheduler: a Dask scheduler address (``"tcp://host:8786"``), a ``distributed.Client``, or a
            Dask cluster such as :func:`~surrogate.simulate.slurm_cluster`'s.
        data_root: the CIFAR-10 folder for profiles that need it (python or binary batches).
        device: where each cell trains: ``"cpu"`` (deterministic), ``"cuda"`` or ``"auto"``.
        overrides: ``{"train.epochs": 1, ...}`` alters the recipe (see :data:`SMOKE`): a smoke check
            of the path, whose numbers are not the model's profile (the report says so).
        progress: show a progress bar.

    Each round simulates with its own seed (see :class:`~surrogate.validate.Validator`), so a
    re-measured cell is a new, independent training run of it.
    """

    kind = "simulate"

    def __init__(self, profile=None, *, workers: int = 1, scheduler=None, data_root=None, device: str = "cpu",
                 overrides: Mapping | None = None, progress: bool = False):
        self.profile = profile
        self.workers = workers
        self.scheduler = scheduler
        self.data_root = data_root
        self.device = device
        self.overrides = overrides
        self.progress = progress

    def _recipe(self, model):
        profile, phash = _model_profile(model)
        link = REPRODUCTIONS.get(phash)
        source = profile if self.profile is None else self.profile
        try:
            prof = get_profile(source)
        except ValueError as err:
            if self.profile is not None or link is None:
                what = "the model's profile" if self.profile is None else f"the profile {self.profile!r}"
                raise ValueError(
                    f"{what} is not a simulation recipe, so no simulator can reproduce the model's profile "
                    f"{_describe_profile(profile, phash)} ({err}); validate it with a table that holds it"
                ) from None
            prof = get_profile(link.recipe)
        if prof.hash == phash:
            return prof, None
        if link is not None and prof.name == link.recipe:
            if prof.hash != link.recipe_hash:
                raise ValueError(
                    f"the recipe {prof.name!r} is now [{prof.hash}], but it was checked against the source "
                    f"of the model's profile {_describe_profile(profile, phash)} as [{link.recipe_hash}]: "
                    "compare "
                    f"it with {link.source} again and update surrogate.validate.oracles.REPRODUCTIONS")
            return prof, link
        raise ValueError(
            f"the simulation profile {prof.name!r} [{prof.hash}] is not the model's profile "
            f"{_describe_profile(profile, phash)}: its numbers cannot validate the model")

    def _run_profile(self, model):
        prof, link = self._recipe(model)
        if self.overrides:
            prof = get_profile(apply_overrides(prof, self.overrides))
        return prof, link

    def check(self, model) -> None:
        prof, _ = self._run_profile(model)
        self._checked = _Profiled(model.profile_)
        from .wrappers import unwrap

        chip = getattr(unwrap(model), "chip_", None)
        names = [c.name for c in prof.chips]
        # only the model's chip is simulated (each chip has its own seeds, so nothing else changes)
        self._chips = [chip["name"]] if isinstance(chip, Mapping) and chip.get("name") in names else None
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be a positive integer, got {self.workers!r}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {self.device!r}")
        if prof["dataset"]["name"] == "cifar10":
            from ..simulate.datasets import CIFAR10_ENV, find_cifar10

            root = self.data_root if self.data_root is not None else os.environ.get(CIFAR10_ENV)
            try:
                find_cifar10(root)
            except FileNotFoundError as err:
                raise ValueError(f"profile {prof.name!r} trains on CIFAR-10: {err}; or validate with a table "
                                 "that holds the profile") from None

    def times(self, model) -> np.ndarray:
        t = np.asarray(self._run_profile(model)[0]["t_inference"], dtype=float)
        return np.sort(t[t > 0])

    def measure(self, cells, seed, profile) -> Measured:
        from ..data import Store
        from ..simulate import run

        prof, _ = self._run_profile(_Profiled(profile))
        with tempfile.TemporaryDirectory(prefix="surrogate-validate-") as tmp:
            path = Path(tmp) / "measured.sqlite"
            summary = run(prof, list(cells), seed, path, workers=self.workers, scheduler=self.scheduler,
                          data_root=self.data_root, chips=getattr(self, "_chips", None), device=self.device,
                          progress=self.progress)
            gt = None
            if summary.written:
                with Store(path) as store:
                    gt = store.load(prof.hash)
        return Measured(gt, dict(summary.failed))

    def describe(self) -> dict:
        where = (f"dask {self.scheduler}" if isinstance(self.scheduler, str)
                 else f"dask {type(self.scheduler).__name__}" if hasattr(self.scheduler, "job_script")
                 else "dask client" if self.scheduler is not None else f"{self.workers} local worker(s)")
        out = {"kind": self.kind, "where": f"{where}, device {self.device}", "device": self.device}
        model = getattr(self, "_checked", None)
        if model is not None:
            prof, link = self._run_profile(model)
            out.update(profile=prof.name, profile_hash=prof.hash)
            if link is not None:
                out.update(reproduces=model.profile_hash_, recipe_source=link.source,
                           differences=list(link.differences))
        if self.overrides:
            out.update(derived=True, overrides=dict(self.overrides))
        return out


class _Profiled:
    """A stand-in model that only carries a profile (what ``measure`` is given)."""

    def __init__(self, profile: dict):
        from ..data import profile_hash

        self.profile_, self.profile_hash_ = dict(profile), profile_hash(profile)


class SyntheticOracle(Oracle):
    """Draws ``y ~ N(mean + shift, (scale * std)^2)`` from ``truth``'s own predictions.

    A model validated against the oracle of itself is calibrated by construction (its z-scores are
    exactly ``N(0, 1)``), so this oracle measures the verdict's false-alarm rate; ``Perturbed``
    versions of ``truth`` measure its power. ``corr`` correlates the draws of one cell across its
    (training, time) columns: ``None`` (independent), a number (the same correlation between every
    pair), or a matrix over the columns in ``(training, time)`` order, e.g. the correlation of real
    residuals (a cell a model gets wrong at one time, it gets wrong at the others).
    """

    kind = "synthetic"

    def __init__(self, truth, *, shift: float = 0.0, scale: float = 1.0, corr=None, level: float = 0.9):
        self.truth = truth
        self.shift = shift
        self.scale = scale
        self.corr = corr
        self.level = level

    def check(self, model) -> None:
        _, phash = _model_profile(model)
        _, truth_hash = _model_profile(self.truth)
        if phash != truth_hash:
            raise ValueError(f"the synthetic oracle draws from a model of profile [{truth_hash}], "
                             f"the model validated has [{phash}]")

    def times(self, model) -> np.ndarray:
        return np.asarray(self.truth.times_, dtype=float)

    def _chol(self, m: int) -> np.ndarray:
        if self.corr is None:
            return np.eye(m)
        c = np.asarray(self.corr, dtype=float)
        if c.ndim == 0:
            c = np.full((m, m), float(c))
            np.fill_diagonal(c, 1.0)
        if c.shape != (m, m):
            raise ValueError(f"corr must be a number or a {m}x{m} matrix over (training, time) columns, "
                             f"got shape {c.shape}")
        return np.linalg.cholesky(c + 1e-12 * np.eye(m))

    def draw(self, mean: np.ndarray, std: np.ndarray, seed: int) -> np.ndarray:
        """Draws for arrays ``[cells, trainings, times]`` (the arithmetic of :meth:`measure`)."""
        n, k, t = mean.shape
        e = np.random.default_rng(seed).standard_normal((n, k * t)) @ self._chol(k * t).T
        return mean + self.shift + self.scale * std * e.reshape(n, k, t)

    def measure(self, cells, seed, profile) -> Measured:
        times = self.times(None)
        preds = [self.truth.predict(list(cells), times, training=tr) for tr in TRAININGS]
        mean = np.stack([np.atleast_2d(p.accuracy) for p in preds], axis=1)
        std = np.stack([np.atleast_2d(p.std) for p in preds], axis=1)
        y = np.clip(self.draw(mean, std, seed), 0.0, 100.0)  # an accuracy, as any oracle measures it
        n = len(cells)
        chip = getattr(self.truth, "chip_", None)
        frame = pd.DataFrame({
            "cell": np.repeat([c.to_str() for c in cells], len(TRAININGS) * len(times)),
            "training": np.tile(np.repeat(TRAININGS, len(times)), n),
            "t_inference": np.tile(times, n * len(TRAININGS)),
            "seed": seed, "accuracy": y.ravel(), "std": np.nan, "n": 1})
        if isinstance(chip, Mapping):
            frame["chip"] = chip["name"]
        return Measured(GroundTruth(frame, self.truth.profile_), {})

    def describe(self) -> dict:
        return {"kind": self.kind, "shift": self.shift, "scale": self.scale,
                "corr": None if self.corr is None else np.asarray(self.corr).tolist()}


def get_oracle(oracle, model, **options) -> Oracle:
    """An :class:`Oracle` from itself or a name: ``"table"`` (``source=`` a store or GroundTruth,
    else the shipped data set of the model's profile) or ``"simulate"`` (``workers``,
    ``scheduler``, ``data_root``, ``progress``). Checked against ``model``."""
    if isinstance(oracle, Oracle):
        oracle.check(model)
        return oracle
    if oracle == "table":
        return TableOracle.for_model(model, options.pop("source", None))
    if oracle == "simulate":
        out = SimulateOracle(**options)
        out.check(model)
        return out
    raise ValueError(f"oracle must be 'table', 'simulate' or an Oracle, got {oracle!r}")
