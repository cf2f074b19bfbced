"""Scores of a predictor against measured accuracies, shared by fitting, benchmarks and the validator."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["kendall", "spearman", "mae", "precision_at", "coverage", "score"]


def kendall(pred, true) -> float:
    return float(stats.kendalltau(pred, true).statistic)


def spearman(pred, true) -> float:
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
    true = np.asarray(true)
    return float(np.mean((np.asarray(lower) <= true) & (true <= np.asarray(upper))))


def score(pred, true, lower=None, upper=None) -> dict:
    """All metrics for one column (one training at one time)."""
    out = {"kendall": kendall(pred, true), "spearman": spearman(pred, true), "mae": mae(pred, true),
           "precision_at_1pct": precision_at(pred, true, 0.01)}
    if lower is not None:
        out["coverage"] = coverage(lower, upper, true)
    return out
