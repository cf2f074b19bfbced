"""Oracles: where a validation round gets the measured accuracy of the cells it sampled.

An oracle must reproduce the model's profile exactly (same recipe, same hash): numbers from
another recipe say nothing about this model's calibration. ``check(model)`` refuses any other
with a ``ValueError`` before anything is measured.

- :class:`TableOracle`: a ground-truth table that already holds the profile (AnalogNAS-Bench for
  ``anb-cifar10``); it stands in for re-simulation.
- :class:`SimulateOracle`: re-simulates the cells with the model's own profile
  (:func:`surrogate.simulate.run`: in this process, local worker processes, or a Dask cluster).
- :class:`SyntheticOracle`: draws ``y ~ N(mean, std^2)`` from a reference model's own predictions
  (shifted or scaled on demand): a model that is calibrated by construction, for measuring the
  false-alarm rate and power of the verdict.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..cells import Cell
from ..core import TRAININGS, chip_hash, get_profile
from ..data import GroundTruth

__all__ = ["Measured", "Oracle", "TableOracle", "SimulateOracle", "SyntheticOracle", "get_oracle"]


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
        profile: the recipe to run; ``None`` takes the model's. Either way its hash must be the model's.
        workers: local worker processes (1: in this process).
        scheduler: a Dask scheduler address (``"tcp://host:8786"``), a ``distributed.Client``, or a
            Dask cluster such as :func:`~surrogate.simulate.slurm_cluster`'s.
        data_root: the CIFAR-10 folder for profiles that need it.
        device: where each cell trains (``"cpu"``, ``"cuda"``, ``"auto"``), see :func:`~surrogate.simulate.run`.
        progress: show a progress bar.

    Each round simulates with its own seed (see :class:`~surrogate.validate.Validator`), so a
    re-measured cell is a new, independent training run of it.
    """

    kind = "simulate"

    def __init__(self, profile=None, *, workers: int = 1, scheduler=None, data_root=None,
                 progress: bool = False, device: str = "cpu"):
        self.profile = profile
        self.workers = workers
        self.scheduler = scheduler
        self.data_root = data_root
        self.progress = progress
        self.device = device

    def _recipe(self, model):
        profile, phash = _model_profile(model)
        source = profile if self.profile is None else self.profile
        try:
            prof = get_profile(source)
        except ValueError as err:
            what = "the model's profile" if self.profile is None else f"the profile {self.profile!r}"
            raise ValueError(
                f"{what} is not a simulation recipe, so no simulator can reproduce the model's profile "
                f"{_describe_profile(profile, phash)} ({err}); validate it with a table that holds it"
            ) from None
        if prof.hash != phash:
            raise ValueError(
                f"the simulation profile {prof.name!r} [{prof.hash}] is not the model's profile "
                f"{_describe_profile(profile, phash)}: its numbers cannot validate the model")
        return prof

    def check(self, model) -> None:
        prof = self._recipe(model)
        from .wrappers import unwrap

        chip = getattr(unwrap(model), "chip_", None)
        names = [c.name for c in prof.chips]
        # only the model's chip is simulated (each chip has its own seeds, so nothing else changes)
        self._chips = [chip["name"]] if isinstance(chip, Mapping) and chip.get("name") in names else None
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be a positive integer, got {self.workers!r}")
        if prof["dataset"]["name"] == "cifar10":
            from ..simulate.datasets import CIFAR10_ENV

            root = self.data_root if self.data_root is not None else os.environ.get(CIFAR10_ENV)
            need = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
            if root is None or not all((Path(root) / f).is_file() for f in need):
                raise ValueError(
                    f"profile {prof.name!r} trains on CIFAR-10, and no CIFAR-10 folder was found "
                    f"(given: {root!r}); pass the 'cifar-10-batches-py' folder as data_root / --data-root "
                    f"or set ${CIFAR10_ENV}, or validate with a table that holds the profile")

    def times(self, model) -> np.ndarray:
        t = np.asarray(self._recipe(model)["t_inference"], dtype=float)
        return np.sort(t[t > 0])

    def measure(self, cells, seed, profile) -> Measured:
        from ..data import Store
        from ..simulate import run

        prof = get_profile(profile if self.profile is None else self.profile)
        with tempfile.TemporaryDirectory(prefix="surrogate-validate-") as tmp:
            path = Path(tmp) / "measured.sqlite"
            summary = run(prof, list(cells), seed, path, workers=self.workers, scheduler=self.scheduler,
                          data_root=self.data_root, chips=getattr(self, "_chips", None), progress=self.progress,
                          device=self.device)
            gt = None
            if summary.written:
                with Store(path) as store:
                    gt = store.load(prof.hash)
        return Measured(gt, dict(summary.failed))

    def describe(self) -> dict:
        where = (f"dask {self.scheduler}" if isinstance(self.scheduler, str)
                 else f"dask {type(self.scheduler).__name__}" if hasattr(self.scheduler, "job_script")
                 else "dask client" if self.scheduler is not None else f"{self.workers} local worker(s)")
        return {"kind": self.kind, "where": where}


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
