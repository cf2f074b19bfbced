"""Calibration arithmetic shared by the ensemble (fitting its level and intervals) and the validator
(judging them): monotone level maps, error tables conditional on the prediction, interval factors.

Pure numpy on plain arrays, so that what the ensemble learns from its out-of-fold residuals and
what the validator checks on re-measured cells are computed the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEVELS", "BIN_QUANTILES", "fit_level_map", "apply_level_map", "error_table", "interval_factors",
           "scale_factor_table"]

#: Interval levels whose factor is stored; others are interpolated.
LEVELS = np.round(np.arange(0.50, 0.995, 0.01), 2)
#: Quantiles of the predicted accuracy that bound the bins of :func:`error_table`: deciles, with the
#: top decile split again, since a search lives at the top of the ranking.
BIN_QUANTILES = np.array([0, .1, .2, .3, .4, .5, .6, .7, .8, .9, .97, 1.0])


def fit_level_map(pred, true, bins: int = 20) -> np.ndarray:
    """A strictly increasing map from predicted to expected measured accuracy, ``[2, knots + 2]``.

    The pairs, sorted by prediction, are cut into ``bins`` groups of equal size; isotonic regression
    (scikit-learn's, weighted by group size) of the groups' mean measurement on their mean
    prediction gives the knots. Between knots the map is linear; beyond them it continues with the
    slope of a least-squares line through the outer quarter of the pairs, clipped to [0.1, 1]: never
    flat, so the map keeps the order of the predictions, and never steeper than the identity. The
    top quarter follows that line rather than the isotonic knots: the few cells predicted highest
    are the noisiest measure of where the top lies, so they must not bend it. The map is what
    removes the winner's curse: the measured mean of cells predicted at a level, the top included,
    is what the map returns there. Stored as rows ``x`` and ``y`` of knots; the first and last
    columns hold the lower and upper tail slopes (in both rows).
    """
    from sklearn.isotonic import IsotonicRegression

    pred, true = np.asarray(pred, dtype=float), np.asarray(true, dtype=float)
    ok = np.isfinite(pred) & np.isfinite(true)
    pred, true = pred[ok], true[ok]
    if len(pred) < 4:
        raise ValueError(f"a level map needs at least 4 (prediction, measurement) pairs, got {len(pred)}")
    order = np.argsort(pred, kind="stable")
    xs, ys = pred[order], true[order]
    groups = np.array_split(np.arange(len(xs)), min(bins, len(xs) // 2))
    kx = np.array([xs[g].mean() for g in groups])
    size = np.array([len(g) for g in groups], dtype=float)
    ky = IsotonicRegression().fit(kx, [ys[g].mean() for g in groups], sample_weight=size).predict(kx)
    keep = np.concatenate([[True], np.diff(kx) > 1e-9])  # strictly increasing x
    kx, ky = kx[keep], ky[keep]
    tail = max(4, len(xs) // 4)
    slopes = [_slope(xs[:tail], ys[:tail]), _slope(xs[-tail:], ys[-tail:])]
    # the top quarter follows its least-squares line: the few cells predicted highest are the
    # noisiest measure of where the top lies, and a line through a quarter of them is not bent by them
    top = kx >= xs[-tail]
    if top.sum() >= 2:
        line = np.polyval([slopes[1], _intercept(xs[-tail:], ys[-tail:], slopes[1])], kx[top])
        ky[top] = line + (ky[~top][-1] - line[0] if (~top).any() and line[0] < ky[~top][-1] else 0.0)
    ky = np.maximum.accumulate(ky) + np.arange(len(ky)) * 1e-6  # strictly increasing: ties broken in order
    return np.stack([np.concatenate([[slopes[0]], kx, [slopes[1]]]),
                     np.concatenate([[slopes[0]], ky, [slopes[1]]])])


def _slope(x, y) -> float:
    """Huber regression slope (a failed training run that scores chance among the best cells must
    not tilt the line), clipped to [0.1, 1]."""
    from sklearn.linear_model import HuberRegressor

    if np.ptp(x) <= 0:
        return 1.0
    fit = HuberRegressor(alpha=0.0).fit((x - x.mean())[:, None], y)
    return float(np.clip(fit.coef_[0], 0.1, 1.0))


def _intercept(x, y, slope) -> float:
    """The robust intercept of a line of given slope: the median offset."""
    return float(np.median(y - slope * x))


def apply_level_map(x, level_map) -> np.ndarray:
    """Evaluate a map from :func:`fit_level_map` at ``x`` (any shape)."""
    x = np.asarray(x, dtype=float)
    kx, ky = level_map[0, 1:-1], level_map[1, 1:-1]
    lo, hi = level_map[1, 0], level_map[1, -1]
    out = np.interp(x, kx, ky)
    out = np.where(x < kx[0], ky[0] + lo * (x - kx[0]), out)
    return np.where(x > kx[-1], ky[-1] + hi * (x - kx[-1]), out)


def error_table(pred, resid, quantiles=BIN_QUANTILES) -> tuple[np.ndarray, np.ndarray]:
    """RMS of ``resid`` in bins of ``pred`` bounded by its ``quantiles``: ``(at, rms)``, one per bin.

    ``at`` is each bin's median prediction, for interpolating the error at any predicted value.
    """
    pred, resid = np.asarray(pred, dtype=float), np.asarray(resid, dtype=float)
    ok = np.isfinite(pred) & np.isfinite(resid)
    pred, resid = pred[ok], resid[ok]
    edges = np.quantile(pred, quantiles)
    which = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, len(edges) - 2)
    at, rms = np.full(len(edges) - 1, np.nan), np.full(len(edges) - 1, np.nan)
    for b in range(len(edges) - 1):
        inside = which == b
        if inside.sum() >= 2:
            at[b], rms[b] = np.median(pred[inside]), np.sqrt(np.mean(resid[inside] ** 2))
    keep = np.isfinite(at)
    if not keep.any():
        raise ValueError("too few residuals to tabulate the error")
    # empty bins (ties in pred) borrow their neighbours through interpolation
    idx = np.arange(len(at))
    at = np.interp(idx, idx[keep], at[keep])
    rms = np.interp(idx, idx[keep], rms[keep])
    return np.maximum.accumulate(at), rms


def scale_factor_table(spread, z, bins: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """How the size of standardised residuals ``z`` grows with a cell-specific ``spread``.

    Returns ``(at, factor)`` per quantile bin of ``spread``: the RMS of ``z`` there, normalised to
    an RMS of 1 overall, so multiplying the error table's std by it keeps the average calibration
    and moves width to the cells whose members disagree.
    """
    spread, z = np.asarray(spread, dtype=float), np.asarray(z, dtype=float)
    ok = np.isfinite(spread) & np.isfinite(z)
    at, rms = error_table(spread[ok], z[ok], np.linspace(0, 1, bins + 1))
    rms = np.maximum.accumulate(rms)  # more disagreement never means a tighter interval
    return at, rms / np.sqrt(np.mean(z[ok] ** 2))


def interval_factors(z, levels=LEVELS) -> np.ndarray:
    """Two-sided interval half-widths, in units of std, that cover ``levels`` of ``|z|``."""
    z = np.abs(np.asarray(z, dtype=float))
    return np.nanquantile(z[np.isfinite(z)], levels)
