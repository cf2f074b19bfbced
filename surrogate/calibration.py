"""Calibration arithmetic, one module shared by the ensemble (fitting its level and intervals), the
scores of :mod:`surrogate.metrics` and the validator (judging them): monotone level maps, error tables
conditional on the prediction, interval factors, z-scores, coverage, proper scores, the statistical
tests of a validation round and the adaptive-conformal update.

Pure numpy on plain arrays, so that what the ensemble learns from its out-of-fold residuals and
what the validator checks on re-measured cells are computed the same way. Unless a function says
otherwise it takes arrays of any matching shape, and NaN in ``y`` means "not measured" and is left
out. Conventions: ``z = (y - mean) / std`` (measured minus predicted, in units of the predicted std);
``bias = mean - y`` averaged (positive: the model promises more than is measured). scipy is imported
by the functions that need its distributions (Gaussian intervals, the tests of a round), not by the
module: a model applies its calibration with numpy alone.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEVELS", "BIN_QUANTILES", "fit_level_map", "apply_level_map", "error_table", "interval_factors",
           "scale_factor_table",
           "gaussian_factor", "gaussian_level", "gaussian_interval", "z_scores", "coverage", "reliability",
           "gaussian_nll", "crps_gaussian", "bias", "bias_ztest", "bias_ttest", "dispersion_test",
           "bonferroni", "aci_step", "aci_scale", "scale_interval"]

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


def error_table(pred, resid, quantiles=BIN_QUANTILES, level: float | None = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """The typical size of ``resid`` in bins of ``pred`` bounded by its ``quantiles``: ``(at, scale)``.

    ``scale`` is, per bin, the ``level`` quantile of ``|resid|`` divided by the normal's (the std of
    a Gaussian that would cover ``level`` of that bin exactly: residuals are heavier-tailed than a
    Gaussian and not alike in every bin, and coverage must hold in each), or the RMS with
    ``level=None``. ``at`` is each bin's median prediction, for interpolating at any prediction.
    """
    from statistics import NormalDist

    factor = None if level is None else NormalDist().inv_cdf(0.5 + level / 2)
    pred, resid = np.asarray(pred, dtype=float), np.asarray(resid, dtype=float)
    ok = np.isfinite(pred) & np.isfinite(resid)
    pred, resid = pred[ok], resid[ok]
    edges = np.quantile(pred, quantiles)
    which = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, len(edges) - 2)
    at, rms = np.full(len(edges) - 1, np.nan), np.full(len(edges) - 1, np.nan)
    for b in range(len(edges) - 1):
        inside = which == b
        if inside.sum() >= 2:
            r = np.abs(resid[inside])
            at[b] = np.median(pred[inside])
            rms[b] = np.sqrt(np.mean(r**2)) if factor is None else np.quantile(r, level) / factor
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
    at, rms = error_table(spread[ok], z[ok], np.linspace(0, 1, bins + 1), level=None)
    rms = np.maximum.accumulate(rms)  # more disagreement never means a tighter interval
    return at, rms / np.sqrt(np.mean(z[ok] ** 2))


#: the fewest training twins of each bucket of :func:`twins_factor_table` (powers of two)
TWINS_AT = np.array([1, 2, 4, 8, 16, 32])


def twins_factor_table(twins, z_all, z_novel, min_rows: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Per (training, time), per bucket of :data:`TWINS_AT`: the 90 % quantile of ``|z|`` of the rows
    with that many twins in training over the novel rows' (so that the interval covers 90 % of each
    bucket as of the novel rows), never rising with more twins. A bucket with fewer than
    ``min_rows`` rows takes the factor of the one below it (the first: 1). ``z_*`` are
    ``[rows, training, time]``; ``z_all`` are the rows' errors in units of a new network's std."""
    bucket = np.searchsorted(TWINS_AT, twins, side="right") - 1
    factor = np.ones(z_all.shape[1:] + (len(TWINS_AT),))
    for k in range(z_all.shape[1]):
        for j in range(z_all.shape[2]):
            ref = np.nanquantile(np.abs(z_novel[:, k, j]), 0.9)
            prev = 1.0
            for b in range(len(TWINS_AT)):
                z = np.abs(z_all[bucket == b, k, j])
                z = z[np.isfinite(z)]
                prev = factor[k, j, b] = min(prev, np.quantile(z, 0.9) / ref) if len(z) >= min_rows else prev
    return TWINS_AT.copy(), factor


def interval_factors(z, levels=LEVELS) -> np.ndarray:
    """Two-sided interval half-widths, in units of std, that cover ``levels`` of ``|z|``."""
    z = np.abs(np.asarray(z, dtype=float))
    return np.nanquantile(z[np.isfinite(z)], levels)


# ---------------------------------------------------------------------- Gaussian intervals
def gaussian_factor(level):
    """Half-width, in stds, of the central ``level`` interval of a normal: ``Phi^-1((1 + level) / 2)``."""
    from scipy import stats

    level = np.asarray(level, dtype=float)
    if np.any((level <= 0) | (level >= 1)):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return stats.norm.ppf((1.0 + level) / 2.0)


def gaussian_level(factor):
    """Inverse of :func:`gaussian_factor`: the coverage of ``mean +- factor * std`` for a normal."""
    from scipy import stats

    return 2.0 * stats.norm.cdf(np.asarray(factor, dtype=float)) - 1.0


def gaussian_interval(mean, std, level: float = 0.9):
    """``(lower, upper)`` of the central ``level`` interval of ``N(mean, std^2)``."""
    half = gaussian_factor(level) * np.asarray(std, dtype=float)
    return np.asarray(mean) - half, np.asarray(mean) + half


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
    return np.array([np.mean(z <= f) for f in np.atleast_1d(gaussian_factor(levels))])


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
    from scipy import stats

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
    from scipy import stats

    z = _finite(z)
    if z.size == 0:
        return float("nan"), float("nan")
    stat = float(np.sqrt(z.size) * z.mean())
    return stat, float(2 * stats.norm.sf(abs(stat)))


def bias_ttest(x) -> tuple[float, float]:
    """One-sample two-sided t-test of mean ``x`` = 0, the scale estimated from ``x``: ``(t, p)``.

    Valid whatever the (common) variance of ``x``, e.g. per-cell means of correlated z-scores.
    """
    from scipy import stats

    x = _finite(x)
    if x.size < 2:
        return float("nan"), float("nan")
    sd = x.std(ddof=1)
    if sd == 0:
        return (float("nan"), float("nan")) if x.mean() == 0 else (float(np.sign(x.mean()) * np.inf), 0.0)
    t = float(x.mean() / (sd / np.sqrt(x.size)))
    return t, float(2 * stats.t.sf(abs(t), x.size - 1))


def dispersion_test(z, centred: bool = True, std=None) -> tuple[float, int, float, float]:
    """Chi-square test of the spread of ``z``: ``(Q, df, p_over, p_under)``.

    ``Q`` is the sum of squared z about their mean (``df = n - 1``) or, with ``centred=False``, about
    0 (``df = n``). With ``std`` (the predicted stds behind ``z``), ``Q`` is centred instead on the
    common shift of the residuals ``z * std`` estimated by weighted least squares, so a model off by
    a constant number of points is not called over-confident when its stds differ from cell to
    cell. Either way ``Q ~ chi2(df)`` under calibration; ``p_over = P(chi2 >= Q)`` is small when
    errors exceed the stds (over-confident), ``p_under = P(chi2 <= Q)`` when they fall short
    (under-confident).
    """
    from scipy import stats

    z = np.asarray(z, dtype=float).ravel()
    w = np.ones_like(z) if std is None else 1.0 / np.asarray(std, dtype=float).ravel()
    ok = np.isfinite(z) & np.isfinite(w) & (w > 0)
    z, w = z[ok], w[ok]
    df = z.size - 1 if centred else z.size
    if df < 1:
        return float("nan"), 0, float("nan"), float("nan")
    shift = np.sum(z * w) / np.sum(w**2) if centred else 0.0  # in the units of y (of z when std is None)
    q = float(np.sum((z - shift * w) ** 2))
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
    from scipy import stats

    a = np.asarray(alpha_t, dtype=float)
    inner = np.clip(a, 1e-12, 1 - 1e-12)
    s = stats.norm.isf(inner / 2) / stats.norm.isf(target / 2)
    return np.clip(np.where(a <= 0, max_scale, np.where(a >= 1, 0.0, s)), 0.0, max_scale)


def scale_interval(mean, lower, upper, scale):
    """Stretch ``[lower, upper]`` about ``mean`` by ``scale`` on each side (keeps asymmetry)."""
    mean = np.asarray(mean, dtype=float)
    return mean - scale * (mean - np.asarray(lower)), mean + scale * (np.asarray(upper) - mean)
