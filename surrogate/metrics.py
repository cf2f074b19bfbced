"""Scores of a predictor against measured accuracies, shared by fitting, benchmarks and the validator."""

from __future__ import annotations

import numpy as np

from . import calibration

__all__ = ["kendall", "spearman", "mae", "precision_at", "coverage", "score", "score_table"]


def kendall(pred, true) -> float:
    from scipy import stats  # here, not at import: predicting needs no scipy

    return float(stats.kendalltau(pred, true).statistic)


def spearman(pred, true) -> float:
    from scipy import stats

    return float(stats.spearmanr(pred, true).statistic)


def mae(pred, true) -> float:
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(true))))


def precision_at(pred, true, fraction: float = 0.01) -> float:
    """Share of the predicted top ``fraction`` that is in the true top ``fraction``."""
    k = max(1, int(round(fraction * len(true))))
    top_pred = np.argsort(-np.asarray(pred), kind="stable")[:k]
    top_true = np.argsort(-np.asarray(true), kind="stable")[:k]
    return len(np.intersect1d(top_pred, top_true)) / k


def coverage(lower, upper, true) -> float:
    """Share of ``true`` inside ``[lower, upper]``: :func:`surrogate.calibration.coverage`."""
    return calibration.coverage(lower, upper, true)


def score(pred, true, lower=None, upper=None) -> dict:
    """All metrics for one column (one training at one time)."""
    out = {"kendall": kendall(pred, true), "spearman": spearman(pred, true), "mae": mae(pred, true),
           "precision_at_1pct": precision_at(pred, true, 0.01)}
    if lower is not None:
        out["coverage"] = coverage(lower, upper, true)
    return out


def score_table(pred, true, lower=None, upper=None, names=("standard", "hwa"), times=None) -> dict:
    """:func:`score` for every ``[cells, training, time]`` column, averaged over times per training.

    Cells without a label in a column are left out of it; columns with fewer than three labels, and
    trainings with no such column, are skipped. With ``times``, ``per_time`` keeps each column.
    """
    pred, true = np.asarray(pred), np.asarray(true)
    out = {}
    for k, name in enumerate(names):
        per = {}
        for j in range(true.shape[2]):
            ok = np.isfinite(true[:, k, j])
            if ok.sum() > 2:
                bounds = () if lower is None else (np.asarray(lower)[ok, k, j], np.asarray(upper)[ok, k, j])
                per[j] = score(pred[ok, k, j], true[ok, k, j], *bounds)
        if per:
            first = next(iter(per.values()))
            out[name] = {m: float(np.mean([s[m] for s in per.values()])) for m in first}
            if times is not None:
                out[name]["per_time"] = {f"{times[j]:g}": s for j, s in per.items()}
    return out
