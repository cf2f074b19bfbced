"""The validator's feedback: a model recalibrated on cells that were measured after it was fitted.

A :class:`~surrogate.models.Surrogate` learns its level maps, error tables and interval factors from
out-of-fold predictions of single cross-fitted members. Its predictions for new cells come from the
mean of all members, whose errors are smaller and whose top is less noisy, so what it learnt is off
for new cells (the shipped model's HWA intervals too wide and its predicted top too low, as the
validator found). :func:`recalibrate_on` relearns the three from held-out measurements, the members
untouched:

1. the level: per (training, fitted time), a monotone correction of the predicted accuracy, the
   Huber-weighted shift of the measurements in bins of the prediction (the estimate the verdict's
   robust tests use), composed into the level maps;
2. the spread: for a model calibrated with novelty, first how the error shrinks with a cell's twins
   in training (:func:`~surrogate.calibration.twins_factor_table`, on the measured cells); then per
   bin, the error table is scaled so that the clipped squared z of the measurements has its Gaussian
   mean (what the robust dispersion test checks);
3. the intervals: the interval factors are the quantiles of ``|z|`` of the measurements.

The cells used are recorded in ``metrics_["recalibration_cells"]``, so a validation round never
samples them again (:func:`~surrogate.validate.training_cells`). :func:`save_new` writes the result
as a new model directory, never over an existing one.
"""

from __future__ import annotations

import copy
import datetime as _dt
import os
import warnings
from pathlib import Path

import numpy as np

from .. import calibration as cal
from ..data import GroundTruth
from ..models._targets import TRAININGS, targets
from .provenance import _from_dict, cell_record, model_identity
from .verdict import CLIP, _huber_shift, clip_scale
from .wrappers import unwrap

__all__ = ["recalibrate_on", "save_new", "BINS"]

#: Quantiles of the prediction that bound the bins: deciles, then the top decile cut at 95, 98 and
#: 99 %, since a search (and the validator's over-sampled top) lives there.
BINS = np.array([0, .1, .2, .3, .4, .5, .6, .7, .8, .9, .95, .98, .99, 1.0])


def _predict(model, cells, times):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        preds = [model.predict(cells, times, training=tr) for tr in TRAININGS]
    return (np.stack([np.asarray(p.accuracy, dtype=float) for p in preds], 1),
            np.stack([np.asarray(p.std, dtype=float) for p in preds], 1))


def _bins(p, bins):
    edges = np.quantile(p, bins)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    return which, len(edges) - 1


def _inverse(level_map, y):
    """``x`` with ``apply_level_map(x, level_map) == y`` (the maps are strictly increasing)."""
    kx, ky = level_map[0, 1:-1], level_map[1, 1:-1]
    lo, hi = level_map[1, 0], level_map[1, -1]
    y = np.asarray(y, dtype=float)
    out = np.interp(y, ky, kx)
    out = np.where(y < ky[0], kx[0] + (y - ky[0]) / lo, out)
    return np.where(y > ky[-1], kx[-1] + (y - ky[-1]) / hi, out)


def _compose(level_map, at, shift):
    """The level map followed by ``p -> p + interp(p, at, shift)`` (constant shift beyond ``at``)."""
    kx = level_map[0, 1:-1]
    xs = np.unique(np.concatenate([kx, _inverse(level_map, at)]))
    p = cal.apply_level_map(xs, level_map)
    ys = p + np.interp(p, at, shift)
    ys = np.maximum.accumulate(ys) + np.arange(len(ys)) * 1e-6  # strictly increasing
    return np.stack([np.concatenate([[level_map[0, 0]], xs, [level_map[0, -1]]]),
                     np.concatenate([[level_map[1, 0]], ys, [level_map[1, -1]]])])


def _monotone_shift(at, shift, weight):
    """Shifts whose corrected levels ``at + shift`` rise with ``at`` (isotonic, weighted by bin size)."""
    from sklearn.isotonic import IsotonicRegression

    level = IsotonicRegression().fit(at, at + shift, sample_weight=weight).predict(at)
    return level - at


def recalibrate_on(model, measured: GroundTruth, *, how: str, bins=BINS, clip: float = CLIP):
    """A copy of ``model`` whose level, error tables and interval factors are relearnt on ``measured``.

    Args:
        model: a fitted :class:`~surrogate.models.Surrogate` (single-chip; its members are kept).
        measured: measurements of cells the model was not fitted on, of its profile and chip.
        how: what these cells are (recorded with them in ``metrics_["recalibration_cells"]``).
        bins: quantiles of the prediction bounding the bins (see :data:`BINS`).
        clip: the clip of the robust statistics, in standard deviations.
    """
    base = unwrap(model)
    if getattr(base, "calibrator_", None) is None:
        raise ValueError("recalibrate_on needs a fitted Surrogate (it has no calibrator_)")
    old = base.calibrator_
    if getattr(base, "chip_aware_", False):
        raise ValueError("recalibrate_on handles single-chip models; this one is chip-aware")
    if not isinstance(measured, GroundTruth) or measured.profile_hash != base.profile_hash_:
        raise ValueError("the measurements must be a GroundTruth of the model's own profile "
                         f"[{base.profile_hash_}], got "
                         f"{getattr(measured, 'profile_hash', type(measured).__name__)}")
    from .provenance import training_cells

    fitted = set(training_cells(base) or [])
    live = [c for c in measured.cells if not c.is_degenerate]
    if fitted & set(live):
        raise ValueError(f"{len(fitted & set(live))} of the measured cells are cells the model was fitted or "
                         "recalibrated on: their errors are in-sample")
    cells, times, Y = targets(measured.subset(live))
    if not np.allclose(times, old.times_):
        raise ValueError(f"the measurements are at {times.tolist()} s, the model is fitted at "
                         f"{old.times_.tolist()} s")
    if len(cells) < 20 * (len(bins) - 1):
        raise ValueError(f"{len(cells)} measured cells are too few to relearn {len(bins) - 1} bins; give at "
                         f"least {20 * (len(bins) - 1)}")
    cal_new = copy.deepcopy(old)  # the copy's own tables, filled in below; the members stay shared

    # 1. the level
    P, S = _predict(base, cells, times)
    for k in range(len(TRAININGS)):
        for j in range(len(times)):
            p, s, y = P[:, k, j], S[:, k, j], Y[:, k, j]
            ok = np.isfinite(y) & (s > 0)
            which, nb = _bins(p[ok], bins)
            at = np.array([np.median(p[ok][which == b]) for b in range(nb)])
            shift = np.array([_huber_shift((y - p)[ok][which == b], 1 / s[ok][which == b], clip)
                              for b in range(nb)])
            size = np.bincount(which, minlength=nb).astype(float)
            at = np.maximum.accumulate(at) + np.arange(nb) * 1e-6
            cal_new.level_maps_[k][j] = _compose(old.level_maps_[k][j], at, _monotone_shift(at, shift, size))

    # 2a. how the error shrinks with a cell's twins in training, relearnt on the measured cells (a model
    # calibrated with novelty: out of fold, a member's rows are not spread over twins as new cells are)
    if getattr(old, "twins_factor_", None) is not None:
        twins = base._is_fitted([c.simplified().to_str() for c in cells])
        P, S = _predict(base.with_calibrator(cal_new), cells, times)
        z = (Y - P) / S * old.twins_scale(twins)  # in units of a new network's std
        if (twins == 0).sum() >= 20 * (len(bins) - 1):
            cal_new.twins_at_, cal_new.twins_factor_ = cal.twins_factor_table(
                twins, z, np.where((twins == 0)[:, None, None], z, np.nan))

    # 2b. the spread, at the new level (a fresh copy each time: a model keeps the answers it gave)
    P, S = _predict(base.with_calibrator(cal_new), cells, times)
    n_bins = len(bins) - 1
    error_at = np.zeros((len(TRAININGS), len(times), n_bins))
    error = np.zeros_like(error_at)
    for k in range(len(TRAININGS)):
        for j in range(len(times)):
            p, s, y = P[:, k, j], S[:, k, j], Y[:, k, j]
            ok = np.isfinite(y) & (s > 0)
            which, nb = _bins(p[ok], bins)
            at = np.maximum.accumulate(np.array([np.median(p[ok][which == b]) for b in range(nb)]))
            at = at + np.arange(nb) * 1e-6
            factor = np.array([clip_scale(((y - p) / s)[ok][which == b], clip) for b in range(nb)])
            error_at[k, j] = at
            error[k, j] = factor * np.interp(at, old.error_at_[k, j], old.error_[k, j])
    cal_new.error_at_, cal_new.error_ = error_at, error

    # 3. the intervals
    P, S = _predict(base.with_calibrator(cal_new), cells, times)
    z = (Y - P) / S
    cal_new.z_ = np.array([[cal.interval_factors(z[:, k, j]) for j in range(len(times))]
                           for k in range(len(TRAININGS))]).transpose(2, 0, 1)
    new = base.with_calibrator(cal_new)
    earlier = base.metrics_.get("recalibration_cells")
    before = _from_dict(earlier) if isinstance(earlier, dict) else []
    note = how if not before else f"{earlier.get('how')}; then {how}"
    new.metrics_["recalibration_cells"] = cell_record(before + list(cells), note)  # every one stays in-sample
    from ..models.domain import Domain

    new.domain_ = Domain.fit(list(fitted) + list(cells))  # what the model has now been calibrated on
    new.metrics_["recalibrated"] = {
        "date": _dt.date.today().isoformat(), "from": model_identity(base), "n_cells": len(cells),
        "how": how, "bins": [float(b) for b in bins], "clip": float(clip),
        "what": "level maps composed with a per-bin Huber shift, error tables scaled per bin to the clipped "
                "Gaussian second moment, interval factors from the quantiles of |z| "
                "(surrogate.validate.feedback)",
        **({"previous": base.metrics_["recalibrated"]} if "recalibrated" in base.metrics_ else {})}
    return new


def save_new(model, out, precompute=None) -> Path:
    """``model.save(out)``, refusing a directory that exists and is not empty (never over an old model).

    Without ``precompute``, the cells of the cache the model was loaded with are precomputed again (the
    members are the same, so the cache holds their outputs for the same cells, listed in the manifest).
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{os.fspath(out)} exists and is not empty: the feedback is written as a new model "
                         "directory, never over an old one")
    cache = vars(unwrap(model)).get("_cache_file")
    if precompute is None and cache is not None and Path(cache).is_file():
        from ..cells import Cell

        with np.load(cache, allow_pickle=False) as saved:
            precompute = [Cell.from_dag_str(str(key)) for key in saved["cells"]]
    return model.save(out, precompute=precompute)
