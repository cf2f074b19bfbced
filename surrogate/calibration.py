"""Calibration arithmetic: does a predicted mean and std describe what was measured?

Pure numpy functions, shared by the ensemble (interval factors, error tables), the scores of
:mod:`surrogate.metrics` and the validator (z-scores, tests, online recalibration). Every
function takes arrays of any matching shape unless it says otherwise; NaN in ``y`` means "not
measured" and is left out. Accuracies are in percent, but nothing here depends on the unit.

Conventions: ``z = (y - mean) / std`` (measured minus predicted, in units of the predicted
std); ``bias = mean - y`` averaged (positive: the model promises more than is measured).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "interval_factor", "level_of_factor", "gaussian_interval", "z_scores", "coverage", "reliability",
    "gaussian_nll", "crps_gaussian", "bias", "bias_ztest", "bias_ttest", "dispersion_test", "bonferroni",
    "empirical_factors", "factor_at", "binned_rms", "aci_step", "aci_scale", "scale_interval",
]


# ---------------------------------------------------------------------- interval factors
def interval_factor(level):
    """Half-width, in stds, of the central ``level`` interval of a normal: ``Phi^-1((1 + level) / 2)``."""
    level = np.asarray(level, dtype=float)
    if np.any((level <= 0) | (level >= 1)):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return stats.norm.ppf((1.0 + level) / 2.0)


def level_of_factor(factor):
    """Inverse of :func:`interval_factor`: the coverage of ``mean +- factor * std`` for a normal."""
    return 2.0 * stats.norm.cdf(np.asarray(factor, dtype=float)) - 1.0


def gaussian_interval(mean, std, level: float = 0.9):
    """``(lower, upper)`` of the central ``level`` interval of ``N(mean, std^2)``."""
    half = interval_factor(level) * np.asarray(std, dtype=float)
    return np.asarray(mean) - half, np.asarray(mean) + half


def empirical_factors(abs_z, levels, axis: int = 0):
    """Quantiles of ``|z|`` at ``levels`` along ``axis`` (NaN ignored): the interval factor that
    covered each level of held-out residuals, without assuming a normal shape."""
    return np.nanquantile(np.asarray(abs_z, dtype=float), np.asarray(levels, dtype=float), axis=axis)


def factor_at(level: float, levels, factors):
    """The factor for one ``level``, linearly interpolated in a 1-D ``(levels, factors)`` table."""
    return float(np.interp(level, np.asarray(levels, dtype=float), np.asarray(factors, dtype=float)))


def binned_rms(pred, y, bins: int = 8):
    """RMS of ``y - pred`` in ``bins`` equal-count bins of ``pred`` (1-D; NaN in ``y`` left out).

    Returns ``(at, rms)``: each bin's median prediction and RMS error, ``bins`` long (the last bin
    repeated when there are fewer than ``2 * bins`` points), or ``None`` with fewer than 2 points.
    Read a std for a new prediction ``p`` with ``np.interp(p, at, rms)``.
    """
    pred, y = np.asarray(pred, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(y) & np.isfinite(pred)
    if ok.sum() < 2:
        return None
    p, r2 = pred[ok], (y[ok] - pred[ok]) ** 2
    groups = np.array_split(np.argsort(p, kind="stable"), min(bins, ok.sum() // 2))
    groups += [groups[-1]] * (bins - len(groups))
    return (np.array([np.median(p[g]) for g in groups]), np.array([np.sqrt(r2[g].mean()) for g in groups]))


# ---------------------------------------------------------------------- per-point scores
def z_scores(y, mean, std):
    """``(y - mean) / std``; NaN where ``y`` is missing or ``std`` is not a positive number."""
    y, mean, std = (np.asarray(a, dtype=float) for a in (y, mean, std))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, (y - mean) / std, np.nan)


def coverage(lower, upper, y) -> float:
    """Share of measured ``y`` inside ``[lower, upper]`` (NaN ``y`` left out; NaN if none)."""
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    if not ok.any():
        return float("nan")
    inside = (np.asarray(lower, dtype=float) <= y) & (y <= np.asarray(upper, dtype=float))
    return float(np.mean(inside[ok]))


def reliability(y, mean, std, levels) -> np.ndarray:
    """Observed coverage of the central Gaussian interval at each of ``levels`` (the reliability
    diagram's curve; the diagonal is perfect calibration)."""
    z = np.abs(z_scores(y, mean, std))
    z = z[np.isfinite(z)]
    if z.size == 0:
        return np.full(len(np.atleast_1d(levels)), np.nan)
    return np.array([np.mean(z <= f) for f in np.atleast_1d(interval_factor(levels))])


def gaussian_nll(y, mean, std) -> float:
    """Mean negative log-likelihood of ``y`` under ``N(mean, std^2)`` (points with std > 0)."""
    z = z_scores(y, mean, std)
    ok = np.isfinite(z)
    if not ok.any():
        return float("nan")
    s = np.broadcast_to(np.asarray(std, dtype=float), z.shape)[ok]
    return float(np.mean(0.5 * np.log(2 * np.pi * s**2) + 0.5 * z[ok] ** 2))


def crps_gaussian(y, mean, std) -> float:
    """Mean continuous ranked probability score of ``N(mean, std^2)`` at ``y``, closed form:
    ``std * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))``. Same unit as ``y``; lower is better."""
    z = z_scores(y, mean, std)
    ok = np.isfinite(z)
    if not ok.any():
        return float("nan")
    s, z = np.broadcast_to(np.asarray(std, dtype=float), z.shape)[ok], z[ok]
    return float(np.mean(s * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))))


def bias(y, mean) -> float:
    """Mean of ``mean - y`` over measured points: positive when predictions are too high."""
    d = np.asarray(mean, dtype=float) - np.asarray(y, dtype=float)
    d = d[np.isfinite(d)]
    return float(d.mean()) if d.size else float("nan")


# ---------------------------------------------------------------------- tests
def _finite(z) -> np.ndarray:
    z = np.asarray(z, dtype=float).ravel()
    return z[np.isfinite(z)]


def bias_ztest(z) -> tuple[float, float]:
    """Is the mean of ``z`` zero, given that each ``z`` has unit variance? ``(sqrt(n) mean z, p)``.

    Two-sided; exact when the z are independent ``N(0, 1)`` (the calibrated null). A too-large
    spread also inflates it: read it beside :func:`dispersion_test`.
    """
    z = _finite(z)
    if z.size == 0:
        return float("nan"), float("nan")
    stat = float(np.sqrt(z.size) * z.mean())
    return stat, float(2 * stats.norm.sf(abs(stat)))


def bias_ttest(x) -> tuple[float, float]:
    """One-sample two-sided t-test of mean ``x`` = 0, the scale estimated from ``x``: ``(t, p)``.

    Valid whatever the (common) variance of ``x``, e.g. per-cell means of correlated z-scores.
    """
    x = _finite(x)
    if x.size < 2:
        return float("nan"), float("nan")
    sd = x.std(ddof=1)
    if sd == 0:
        return (float("nan"), float("nan")) if x.mean() == 0 else (float(np.sign(x.mean()) * np.inf), 0.0)
    t = float(x.mean() / (sd / np.sqrt(x.size)))
    return t, float(2 * stats.t.sf(abs(t), x.size - 1))


def dispersion_test(z, centred: bool = True) -> tuple[float, int, float, float]:
    """Chi-square test of the spread of ``z``: ``(Q, df, p_over, p_under)``.

    ``Q`` is the sum of squared z about their mean (``df = n - 1``; a constant shift does not
    change it) or, with ``centred=False``, about 0 (``df = n``). Under calibration ``Q ~ chi2(df)``;
    ``p_over = P(chi2 >= Q)`` is small when errors exceed the stds (over-confident), ``p_under =
    P(chi2 <= Q)`` when they fall short (under-confident).
    """
    z = _finite(z)
    df = z.size - 1 if centred else z.size
    if df < 1:
        return float("nan"), 0, float("nan"), float("nan")
    q = float(np.sum((z - z.mean()) ** 2) if centred else np.sum(z**2))
    return q, int(df), float(stats.chi2.sf(q, df)), float(stats.chi2.cdf(q, df))


def bonferroni(alpha: float, n_tests: int) -> float:
    """Per-test level that keeps the chance of any false rejection among ``n_tests`` at most ``alpha``."""
    return float(alpha) / max(int(n_tests), 1)


# ---------------------------------------------------------------------- online recalibration
def aci_step(alpha_t, misses, target: float, gamma: float):
    """Adaptive-conformal-inference update (Gibbs and Candes 2021) after a batch of points.

    ``alpha_t`` is the miscoverage level in force (any shape), ``misses`` a 0/1 array of shape
    ``(n_points, *alpha_t.shape)`` saying which points fell outside the interval served at
    ``alpha_t`` (NaN: no point), ``target`` the wanted miscoverage (``1 - level``). Each point moves
    ``alpha_t`` by ``gamma * (target - miss)``: a miss widens the next intervals, a hit narrows them,
    and the long-run miscoverage tends to ``target`` whatever the shift of the data.
    """
    misses = np.asarray(misses, dtype=float)
    n = np.sum(np.isfinite(misses), axis=0)
    return np.asarray(alpha_t, dtype=float) + gamma * (target * n - np.nansum(misses, axis=0))


def aci_scale(alpha_t, target: float, max_scale: float = 10.0):
    """Width multiplier that turns the ``1 - target`` interval into the ``1 - alpha_t`` one, for a
    normal: ``factor(1 - alpha_t) / factor(1 - target)``; ``alpha_t <= 0`` gives ``max_scale``,
    ``alpha_t >= 1`` gives 0 (an empty interval, as ACI prescribes)."""
    a = np.asarray(alpha_t, dtype=float)
    inner = np.clip(a, 1e-12, 1 - 1e-12)
    s = stats.norm.isf(inner / 2) / stats.norm.isf(target / 2)
    return np.clip(np.where(a <= 0, max_scale, np.where(a >= 1, 0.0, s)), 0.0, max_scale)


def scale_interval(mean, lower, upper, scale):
    """Stretch ``[lower, upper]`` about ``mean`` by ``scale`` on each side (keeps asymmetry)."""
    mean = np.asarray(mean, dtype=float)
    return mean - scale * (mean - np.asarray(lower)), mean + scale * (np.asarray(upper) - mean)
