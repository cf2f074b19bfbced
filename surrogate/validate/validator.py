"""`Validator`: one calibration round: sample cells, predict, measure through an oracle, judge."""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..cells import as_cell
from ..core import TRAININGS, check_level
from ..data import GroundTruth
from .oracles import Measured, Oracle, get_oracle
from .provenance import TrainingCellsWarning, fitted_cells, model_identity, training_cells
from .report import ValidationReport, round_summary
from .sampling import scheduled_sample
from .verdict import CLIP, judge
from .wrappers import unwrap

__all__ = ["Validator", "SEED_OFFSET", "MIN_CELLS", "training_cells", "clone", "chip_name"]

#: A round with seed ``S`` measures with seed ``SEED_OFFSET + S``: training runs use small seeds,
#: so a re-measured cell is a new run (a new row in the store), never a copy of its training label.
SEED_OFFSET = 10_000

RECORD_FORMAT = "surrogate-validation-round"
#: Fewest cells a round may measure: every test needs at least three (``judge``'s ``min_points``).
MIN_CELLS = 3


def clone(model):
    """An unfitted, quiet copy of ``model``'s estimator with the same settings (scikit-learn's ``clone``)."""
    from sklearn.base import clone as sklearn_clone

    copy = sklearn_clone(unwrap(model))
    if "progress" in copy.get_params():
        copy.set_params(progress=False)
    return copy


def _jsonable(a) -> list:
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a), a, None).tolist()


def chip_name(model) -> str | None:
    """The name of the chip ``model`` was fitted on (``None`` for a model that records none)."""
    chip = getattr(unwrap(model), "chip_", None)
    return chip.get("name") if isinstance(chip, Mapping) else None


def _measured_array(gt: GroundTruth | None, cells, times, chip: str | None = None) -> np.ndarray:
    """``[cells, trainings, times]`` accuracies from ``gt`` on ``chip`` (seeds pooled), NaN where absent."""
    out = np.full((len(cells), len(TRAININGS), len(times)), np.nan)
    if gt is None or (chip is not None and chip not in gt.chips):
        return out
    index = {c.to_str(): i for i, c in enumerate(cells)}
    for k, tr in enumerate(TRAININGS):
        if tr not in gt.trainings:
            continue
        tg = gt.targets(tr, chip=chip)
        rows = [index.get(c.to_str()) for c in tg.cells]
        for j, t in enumerate(times):
            hit = np.flatnonzero(np.isclose(tg.times, t, rtol=1e-9, atol=0))
            if hit.size:
                for r, i in enumerate(rows):
                    if i is not None:
                        out[i, k, j] = tg.mean[r, hit[0]]
    return out


@contextlib.contextmanager
def _opened(store):
    from ..data import Store

    if store is None:
        yield None
    elif isinstance(store, (str, os.PathLike)):
        with Store(store) as db:
            yield db
    else:
        yield store


def _rounds_of(store, phash: str) -> list[dict]:
    """The store's earlier rounds of this profile, smoke checks (altered recipes) left out."""
    return [r for r in store.rounds() if r.get("model", {}).get("profile_hash") == phash
            and not r.get("oracle", {}).get("derived")]


def _merge(ground_truths: Sequence[GroundTruth]) -> GroundTruth:
    """One GroundTruth of several of the same profile; a (cell, training, time, seed) row kept once."""
    first = ground_truths[0]
    rows = pd.concat([g.to_frame() for g in ground_truths], ignore_index=True)
    rows = rows.drop_duplicates(["cell", "chip", "training", "t_inference", "seed"], keep="first")
    extras = pd.concat([g.extras_frame() for g in ground_truths], ignore_index=True)
    extras = extras.drop_duplicates(["cell", "seed"], keep="first")
    return GroundTruth(rows, first.profile, extras)


class Validator:
    """Measures a sample of cells through an oracle and judges the model's calibration on them.

    Args:
        model: a fitted model (``Surrogate``, or a wrapper such as ``Perturbed``), or a shipped model's
            name or a saved model's directory (loaded with :func:`surrogate.load`).
        oracle: ``"table"``, ``"simulate"`` or an :class:`~surrogate.validate.Oracle`; it must hold or
            reproduce the model's profile (checked; a ``ValueError`` otherwise).
        sample: how many cells to sample (named ``cells`` come on top); with them at least
            :data:`MIN_CELLS`, or no test could run (a ``ValueError``).
        seed: the round's number in its series (see ``series``); the oracle measures with seed
            ``SEED_OFFSET + seed``.
        series: seeds the order in which the rounds of a series draw cells: rounds ``seed = 0, 1, 2...``
            of one series take disjoint cells from every stratum until it is exhausted
            (:func:`~surrogate.validate.scheduled_sample`; the report says when).
        candidates: the cells to sample from (a search's candidates); default the NB-201 space.
            Degenerate cells (no input-output path: predicted at chance with zero spread) are left out.
        cells: cells to measure whatever the sample (e.g. what a search just proposed).
        exclude: cells never sampled; ``"training"`` (default) leaves out the cells the model records
            as fitted or recalibrated on (:func:`training_cells`), whose errors are in-sample. A model
            without such a record gets a :class:`TrainingCellsWarning`, and the report says so.
        top_fraction, top_share: the predicted top ``top_fraction`` of the candidates gets
            ``top_share`` of the sample (see :func:`~surrogate.validate.stratified_sample`).
        rank_training: the training whose predicted accuracy (mean over the times) ranks candidates.
        level: coverage of the intervals judged.
        alpha: the chance, per round, that a calibrated model is flagged (Bonferroni over the tests).
        clip: the robust tests' clip in standard deviations (:func:`~surrogate.validate.judge`);
            ``None``: the plain Gaussian tests.
        store: a ``Store`` or its path: every re-measured row is written there (``source="validation"``,
            with the measurement's seed) and the round's record too (``Store.write_round``); earlier
            rounds of the profile make the history, and the cells they measured are sampled last.
        refit: refit a copy of the model on the enlarged ground truth (``report.model``).
        ground_truth: the model's training ground truth, for ``refit`` (else the store's rows).
        history: summaries of earlier rounds (when there is no store), oldest first.
        recalibrate: a :class:`~surrogate.validate.Recalibrated` wrapping this model: the round's
            measurements steer it, and the record gets the coverage of the intervals it served
            (``coverage_recalibrated``) beside the model's own.
    """

    def __init__(self, model, oracle="table", sample: int = 8, seed: int = 0, *, series: int = 0,
                 candidates=None, cells=None, exclude="training", top_fraction: float = 0.01,
                 top_share: float = 0.5, rank_training: str = "hwa", level: float = 0.9, alpha: float = 0.05,
                 clip: float | None = CLIP, store=None, refit: bool = False,
                 ground_truth: GroundTruth | None = None, history=None,
                 recalibrate=None):
        self.model = model
        self.oracle = oracle
        self.sample = sample
        self.seed = seed
        self.series = series
        self.candidates = candidates
        self.cells = cells
        self.exclude = exclude
        self.top_fraction = top_fraction
        self.top_share = top_share
        self.rank_training = rank_training
        self.level = level
        self.alpha = alpha
        self.clip = clip
        self.store = store
        self.refit = refit
        self.ground_truth = ground_truth
        self.history = history
        self.recalibrate = recalibrate

    # ------------------------------------------------------------------ steps
    def _check(self):
        for name in ("seed", "series"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if isinstance(self.sample, bool) or not isinstance(self.sample, (int, np.integer)) or self.sample < 0:
            raise ValueError(f"sample must be a non-negative integer (cells per round), got {self.sample!r}")
        named = len({as_cell(c) for c in (self.cells or [])})
        if self.sample + named < MIN_CELLS:
            raise ValueError(f"a round needs at least {MIN_CELLS} cells, or no test can run (each needs "
                             f"{MIN_CELLS} measured cells); got sample={self.sample!r}"
                             + (f" and {named} named cell(s)" if named else "")
                             + f": sample {MIN_CELLS} or more (8 or more for useful power)")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        check_level(self.level)
        if self.clip is not None and (isinstance(self.clip, bool) or not isinstance(self.clip, (int, float))
                                      or not self.clip > 0):
            raise ValueError(f"clip must be a positive number of standard deviations or None, "
                             f"got {self.clip!r}")
        if self.rank_training not in TRAININGS:
            raise ValueError(f"rank_training must be one of {TRAININGS}, got {self.rank_training!r}")
        if self.refit and self.ground_truth is None and self.store is None:
            raise ValueError("refit=True needs the training ground truth: pass ground_truth= or a store "
                             "that holds it")
        if self.store is not None and not isinstance(self.store, (str, os.PathLike)) \
                and not hasattr(self.store, "write_round"):
            raise ValueError("this store cannot keep validation rounds (it has no write_round); "
                             "upgrade surrogate")

    def _resolve_model(self):
        """The model object and the directory it was given as (``None`` for an object)."""
        if isinstance(self.model, (str, os.PathLike)):
            from ..api import SHIPPED, load

            key = os.fspath(self.model)
            return load(key), SHIPPED.get(key, key)
        return self.model, None

    def _candidates(self, model, oracle: Oracle):
        from .. import nb201

        pool = nb201.all_cells() if self.candidates is None else [as_cell(c) for c in self.candidates]
        pool = list(dict.fromkeys(c for c in pool if not c.is_degenerate))
        exclusion = {"requested": self.exclude if isinstance(self.exclude, str) or self.exclude is None
                     else "given cells"}
        if isinstance(self.exclude, str) and self.exclude == "training":
            excluded, info = fitted_cells(model)
            exclusion.update(known=info["known"], records=info["records"])
            if excluded is None:
                exclusion["problem"] = info["problem"]
                warnings.warn(f"the training cells of {model!r} are unknown ({info['problem']}): this round "
                              "may sample cells the model was fitted on, whose errors are in-sample; give "
                              "exclude=[...] (the training cells), or record them: model.metrics_"
                              "['train_cells'] = surrogate.validate.cell_record(cells, 'how')",
                              TrainingCellsWarning, stacklevel=3)
                excluded = []
        elif self.exclude is None:
            excluded = []
            exclusion["known"] = None
        else:
            excluded = [as_cell(c) for c in self.exclude]
            exclusion["known"] = True
        drop = set(excluded)
        before = len(pool)
        pool = [c for c in pool if c not in drop]
        exclusion["n_excluded"] = before - len(pool)
        if pool:
            pool = [c for c, ok in zip(pool, oracle.can_measure(pool)) if ok]
        if not pool:
            raise ValueError("no candidate cell is left to sample: every one is degenerate, excluded, "
                             "or unknown to the oracle")
        return pool, exclusion

    def _predict(self, model, cells, times):
        preds = [model.predict(cells, times, training=tr, level=self.level) for tr in TRAININGS]
        return {name: np.stack([np.asarray(getattr(p, name), dtype=float).reshape(len(cells), len(times))
                                for p in preds], axis=1) for name in ("accuracy", "std", "lower", "upper")}

    # ------------------------------------------------------------------ the round
    def run(self) -> ValidationReport:
        """Sample, predict, measure, judge; store what was measured; returns the report."""
        self._check()
        model, given_path = self._resolve_model()
        oracle = get_oracle(self.oracle, model)
        profile, phash = dict(model.profile_), str(model.profile_hash_)
        times = np.asarray(oracle.times(model), dtype=float)

        pool, exclusion = self._candidates(model, oracle)
        with _opened(self.store) as store:
            earlier = [] if store is None else _rounds_of(store, phash)
        seen = {c for r in earlier for c in r.get("cells", [])}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="t_inference outside the fitted range")
            warnings.filterwarnings("ignore", message=".* outside the fitted domain of ")  # the pool, not asked cells
            score = np.asarray(model.predict(pool, times, training=self.rank_training).accuracy)
        score = score.reshape(len(pool), len(times)).mean(axis=1)
        measured_before = [i for i, c in enumerate(pool) if c.to_str() in seen] if seen else []
        if self.sample:
            idx, is_top, threshold, sampling = scheduled_sample(
                score, int(self.sample), int(self.seed), int(self.series), measured=measured_before,
                top_fraction=self.top_fraction, top_share=self.top_share)
        else:  # named cells only: the top is still what the candidates' ranking says
            n_top = max(1, int(np.ceil(self.top_fraction * len(score))))
            idx, is_top = np.array([], dtype=int), np.array([], dtype=bool)
            threshold = float(np.sort(score)[::-1][n_top - 1])
            sampling = {"pool": len(pool), "top_pool": n_top, "reused": 0, "exhausted": False}
        sampling.update(series=int(self.series), round=int(self.seed), history_cells=len(seen))
        cells = [pool[i] for i in idx]
        named = [as_cell(c) for c in (self.cells or [])]
        named = [c for c in dict.fromkeys(named) if c not in set(cells)]
        cells += named
        P = self._predict(model, cells, times)
        k_rank = TRAININGS.index(self.rank_training)
        top = np.concatenate([is_top, P["accuracy"][len(idx):, k_rank].mean(axis=1) >= threshold])
        top &= ~np.array([c.is_degenerate for c in cells])

        measure_seed = SEED_OFFSET + int(self.seed)
        t0 = time.perf_counter()
        measured = oracle.measure(cells, measure_seed, profile)
        seconds = time.perf_counter() - t0
        if not isinstance(measured, Measured):
            measured = Measured(*measured)
        chip = chip_name(model)
        Y = _measured_array(measured.ground_truth, cells, times, chip)
        verdict = judge(P["accuracy"], P["std"], P["lower"], P["upper"], Y, top, TRAININGS, times,
                        alpha=self.alpha, clip=self.clip)
        identity = model_identity(model, given_path)
        description = oracle.describe()
        record = {
            "format": RECORD_FORMAT, "format_version": 2,
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "model": {"profile": profile.get("name"), "profile_hash": phash, "chip": chip,
                      "ground_truth_hash": getattr(unwrap(model), "ground_truth_hash_", None),
                      "n_cells": getattr(unwrap(model), "n_cells_", None), **identity},
            "oracle": description, "seed": int(self.seed), "measure_seed": measure_seed,
            "sample": int(self.sample), "n_candidates": len(pool), "top_fraction": self.top_fraction,
            "top_share": self.top_share, "rank_training": self.rank_training, "level": self.level,
            "exclusion": exclusion, "sampling": sampling,
            "measure_seconds": seconds, "seconds_per_cell": seconds / max(len(cells), 1),
            "trainings": list(TRAININGS), "times": times.tolist(),
            "cells": [c.to_str() for c in cells], "top": top.tolist(),
            "named": [False] * len(idx) + [True] * len(named), "failed": measured.failed,
            "pred": _jsonable(P["accuracy"]), "std": _jsonable(P["std"]), "lower": _jsonable(P["lower"]),
            "upper": _jsonable(P["upper"]), "measured": _jsonable(Y), "verdict": verdict,
        }
        if self.recalibrate is not None:
            miss = self.recalibrate.update(P["accuracy"], P["lower"], P["upper"], Y, times)
            record["coverage_recalibrated"] = None if np.isnan(miss).all() else float(1 - np.nanmean(miss))
            record["coverage_recalibrated_by_training"] = {
                tr: None if np.isnan(miss[:, k]).all() else float(1 - np.nanmean(miss[:, k]))
                for k, tr in enumerate(TRAININGS)}

        with _opened(self.store) as store:
            if store is not None:
                history = [round_summary(r) for r in _rounds_of(store, phash)]
                self._write_rows(store, measured.ground_truth)
                store.write_round(record)
            else:
                history = list(self.history or [])
            refitted = self._refit(model, store, measured.ground_truth, phash) if self.refit else None
        return ValidationReport(record, history + [round_summary(record)], refitted)

    def _write_rows(self, store, gt: GroundTruth | None) -> None:
        if gt is None:
            return
        frame = gt.to_frame()
        extras = gt.extras_frame().set_index(["cell", "seed"])
        for (cell, seed), rows in frame.groupby(["cell", "seed"], sort=False):
            values = [(r.chip, r.training, float(r.t_inference), float(r.accuracy), float(r.std), int(r.n))
                      for r in rows.itertuples()]
            more = {}
            if (cell, seed) in extras.index:
                more = {k: float(v) for k, v in extras.loc[(cell, seed)].items() if pd.notna(v)}
            store.write_cell(gt.profile, cell, int(seed), values, more, source="validation")

    def _refit(self, model, store, measured: GroundTruth | None, phash: str):
        if measured is not None and measured.profile_hash != phash:
            raise ValueError(
                f"the oracle measured with recipe {measured.profile_name!r} [{measured.profile_hash}], which "
                f"re-simulates the model's profile [{phash}] but is not it: refitting on both would mix two "
                "recipes; fit a model on the re-simulated store instead")
        parts = [] if self.ground_truth is None else [self.ground_truth]
        if store is not None:
            with contextlib.suppress(ValueError):  # the store may not hold the profile yet
                parts.append(store.load(phash))
        if measured is not None:
            parts.append(measured)
        if any(p.profile_hash != phash for p in parts):
            raise ValueError("the ground truth given for refit is of another profile than the model's")
        merged = _merge(parts)
        chip = chip_name(model)
        if chip is not None and len(merged.chips) > 1:
            merged = merged.for_chip(chip)  # a model is fitted on one chip
        return clone(model).fit(merged)
