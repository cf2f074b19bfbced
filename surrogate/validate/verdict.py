"""The verdict of a validation round: per (training, time) statistics and stated tests.

Tests (all under the null "the z-scores are independent across cells and N(0, 1)", which holds for
any sample chosen from the predictions alone, the over-sampled top included):

- per (training, time) column, with at least ``min_points`` measured cells:
  *bias*: ``sqrt(n) * mean z`` against N(0, 1), two-sided;
  *dispersion*: ``Q = sum ((r - b) / std)^2`` against chi2(n - 1), two-sided, where ``r`` are the
  residuals in points and ``b`` their common shift (weighted least squares): too large is
  over-confident, too small under-confident; a model off by a constant number of points keeps its
  ``Q``, however its stds vary from cell to cell.
- per training, on each cell's mean z over the times (a cell's errors at several times are
  correlated, so these means have a variance of at most 1, equal to 1 when the times agree fully):
  *pooled bias* over all measured cells and *top bias* over the predicted-top cells, each
  ``sqrt(n) * mean`` against N(0, 1), two-sided; conservative whatever the correlation.

Bonferroni over every test run in the round keeps the chance that a calibrated model is flagged at
most ``alpha`` per round. The round's verdict is the label of the most significant rejected test
(``biased``, ``over-confident``, ``under-confident``), or ``calibrated`` when none is rejected. The
bias z-tests assume unit variance, so too wide a spread also moves them: a rejected bias test in a
training found over-confident is labelled over-confident unless a t-test of the same values (scale
estimated, so blind to the spread) rejects too.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .. import calibration as cal

__all__ = ["judge", "LABELS"]

LABELS = ("calibrated", "biased", "over-confident", "under-confident")


def _num(x):
    x = float(x)
    return x if np.isfinite(x) else None


def _kendall(p, y):
    if len(p) < 3 or np.ptp(p) == 0 or np.ptp(y) == 0:
        return None
    return _num(stats.kendalltau(p, y).statistic)


def judge(pred, std, lower, upper, y, top, trainings, times, alpha: float = 0.05,
          min_points: int = 3) -> dict:
    """Statistics and verdict for arrays ``[cells, trainings, times]`` (``y`` NaN where not measured).

    Args:
        pred, std, lower, upper: the model's prediction (``lower``/``upper``: its own interval).
        y: the measured accuracy.
        top: ``[cells]`` booleans, True for cells in the predicted top of the candidates.
        trainings, times: the names of the axes.
        alpha: family-wise false-alarm rate of one round.
        min_points: fewest measured cells a column or a pooled test needs.

    Returns a JSON-ready dict: ``columns`` (one per training and time), ``trainings`` (pooled),
    ``tests`` (every test, its p-value and whether it was rejected), ``overall`` and ``verdict``,
    ``flags`` (all labels raised) and ``calibrated``.
    """
    pred, std, lower, upper, y = (np.asarray(a, dtype=float) for a in (pred, std, lower, upper, y))
    top = np.asarray(top, dtype=bool)
    z = cal.z_scores(y, pred, std)
    usable = np.isfinite(z)  # measured, with a positive predicted std
    tests = []

    def add(kind, training, t, stat, p, label, direction=None, scale_free=None):
        tests.append({"test": kind, "training": training, "t_inference": t, "stat": _num(stat), "p": _num(p),
                      "label": label, "direction": direction, "p_scale_free": scale_free})

    columns = []
    for k, tr in enumerate(trainings):
        for j, t in enumerate(times):
            ok = usable[:, k, j]
            zc, pc, yc = z[ok, k, j], pred[ok, k, j], y[ok, k, j]
            col = {
                "training": tr, "t_inference": float(t), "n": int(ok.sum()), "n_top": int((ok & top).sum()),
                "coverage": _num(cal.coverage(lower[ok, k, j], upper[ok, k, j], yc)),
                "mean_z": _num(zc.mean()) if ok.any() else None,
                "max_abs_z": _num(np.abs(zc).max()) if ok.any() else None,
                "bias": _num(cal.bias(yc, pc)),
                "bias_top": _num(cal.bias(y[ok & top, k, j], pred[ok & top, k, j])),
                "mae": _num(np.mean(np.abs(pc - yc))) if ok.any() else None,
                "kendall": _kendall(pc, yc),
                "nll": _num(cal.gaussian_nll(yc, pc, std[ok, k, j])),
                "crps": _num(cal.crps_gaussian(yc, pc, std[ok, k, j])),
            }
            columns.append(col)
            if ok.sum() >= min_points:
                stat, p = cal.bias_ztest(zc)
                add("bias", tr, float(t), stat, p, "biased", "optimistic" if stat < 0 else "pessimistic",
                    _num(cal.bias_ttest(zc)[1]))
                q, df, p_over, p_under = cal.dispersion_test(zc, std=std[ok, k, j])
                label = "over-confident" if p_over < p_under else "under-confident"
                add("dispersion", tr, float(t), q, min(1.0, 2 * min(p_over, p_under)), label)

    per_training = []
    for k, tr in enumerate(trainings):
        rows = usable[:, k, :].any(axis=1)
        count = usable[:, k, :].sum(axis=1)
        cell_z = np.where(usable[:, k, :], z[:, k, :], 0.0).sum(axis=1) / np.maximum(count, 1)
        entry = {"training": tr, "n_cells": int(rows.sum()), "n_top": int((rows & top).sum()),
                 "mean_z": _num(cell_z[rows].mean()) if rows.any() else None,
                 "mean_z_top": _num(cell_z[rows & top].mean()) if (rows & top).any() else None,
                 "bias": _num(cal.bias(y[:, k], pred[:, k])),
                 "bias_top": _num(cal.bias(y[top, k], pred[top, k])),
                 "coverage": _num(cal.coverage(lower[:, k], upper[:, k],
                                               np.where(usable[:, k], y[:, k], np.nan)))}
        per_training.append(entry)
        for kind, sel in (("pooled bias", rows), ("top bias", rows & top)):
            if sel.sum() >= min_points:
                stat, p = cal.bias_ztest(cell_z[sel])
                add(kind, tr, None, stat, p, "biased", "optimistic" if stat < 0 else "pessimistic",
                    _num(cal.bias_ttest(cell_z[sel])[1]))

    per_test = cal.bonferroni(alpha, len(tests))
    for tst in tests:
        tst["rejected"] = tst["p"] is not None and tst["p"] < per_test
    rejected = sorted((t for t in tests if t["rejected"]), key=lambda t: t["p"])
    # a mean z far from 0 is also what too wide a spread produces: where the training is over-confident
    # and the scale-free t-test of the same z sees no bias, the bias test's rejection is put down to it
    spread = {t["training"] for t in rejected if t["label"] == "over-confident"}
    for t in rejected:
        if t["label"] == "biased" and t["training"] in spread and not (
                t["p_scale_free"] is not None and t["p_scale_free"] < per_test):
            t["label"] = "over-confident"
    for col in columns:
        key = (col["training"], col["t_inference"])
        mine = [t for t in rejected if (t["training"], t["t_inference"]) == key]
        tested = any((t["training"], t["t_inference"]) == key for t in tests)
        col["flags"] = list(dict.fromkeys(t["label"] for t in mine))
        col["verdict"] = mine[0]["label"] if mine else "calibrated" if tested else "too few cells"
    for entry in per_training:
        mine = [t for t in rejected if t["training"] == entry["training"]]
        entry["flags"] = list(dict.fromkeys(t["label"] for t in mine))
        entry["verdict"] = mine[0]["label"] if mine else "calibrated"

    ok = usable
    overall = {
        "n_cells": int(ok.any(axis=(1, 2)).sum()), "n_top": int((ok.any(axis=(1, 2)) & top).sum()),
        "n_points": int(ok.sum()),
        "coverage": _num(cal.coverage(lower, upper, np.where(ok, y, np.nan))),
        "mean_z": _num(z[ok].mean()) if ok.any() else None,
        "max_abs_z": _num(np.abs(z[ok]).max()) if ok.any() else None,
        "bias": _num(cal.bias(np.where(ok, y, np.nan), pred)),
        "bias_top": _num(cal.bias(np.where(ok, y, np.nan)[top], pred[top])),
        "mae": _num(np.mean(np.abs(pred - y)[ok])) if ok.any() else None,
        "nll": _num(cal.gaussian_nll(np.where(ok, y, np.nan), pred, std)),
        "crps": _num(cal.crps_gaussian(np.where(ok, y, np.nan), pred, std)),
        "kendall": _num(np.mean([c["kendall"] for c in columns if c["kendall"] is not None]))
        if any(c["kendall"] is not None for c in columns) else None,
    }
    flags = list(dict.fromkeys(t["label"] for t in rejected))
    return {
        "verdict": rejected[0]["label"] if rejected else "calibrated" if tests else "too few cells",
        "calibrated": bool(tests) and not rejected,
        "flags": flags,
        "alpha": float(alpha), "n_tests": len(tests), "alpha_per_test": per_test,
        "overall": overall, "trainings": per_training, "columns": columns, "tests": tests,
    }
