"""`Calibrator`: what a `Surrogate` learns from its out-of-fold predictions, fitted, applied, saved
and loaded in one place.

From the members' OOF predictions, and nothing that saw their labels, it sets in this order: the
mix of member kinds (per training, the one that ranks the OOF predictions best), a monotone map
from the mix to the expected measurement per (training, time) (:func:`fit_level_map`: the cure for
the winner's curse at the top of the ranking), the error as a function of the calibrated prediction
and of the members' disagreement, and the interval factors. The maps that produce the residuals are
themselves cross-fitted, so the error is out-of-sample.
"""

from __future__ import annotations

import numpy as np

from ..calibration import (
    LEVELS, apply_level_map, error_table, fit_level_map, interval_factors, scale_factor_table,
    twins_factor_table,
)
from ..core import TRAININGS

__all__ = ["Calibrator", "time_weights"]


def _to_list(a) -> list:
    return np.asarray(a).tolist()


def _optional(convert):
    return lambda a: None if a is None else convert(a)


#: fields a model saved before them lacks
OPTIONAL = ("twins_at", "twins_factor")

#: The fitted state, once: attribute (with a trailing ``_``) = manifest key -> (to JSON, from JSON).
FIELDS = {
    "times": (_to_list, lambda x: np.asarray(x, dtype=float)),  # [T] the fitted times, seconds
    "weights": (lambda w: {m: v.tolist() for m, v in w.items()},  # kind -> [training] weight in the mix
                lambda w: {m: np.asarray(v) for m, v in w.items()}),
    "level_maps": (lambda maps: [[m.tolist() for m in row] for row in maps],  # [training][time] -> map
                   lambda maps: [[np.asarray(m, dtype=float) for m in row] for row in maps]),
    "error_at": (_to_list, np.asarray),  # [training, time, bins] calibrated accuracy of each error bin
    "error": (_to_list, np.asarray),  # [training, time, bins] error std there
    "spread_at": (_to_list, np.asarray),  # [training, bins] members' disagreement of each bin
    "spread_factor": (_to_list, np.asarray),  # [training, bins] how much wider the error is there
    "z": (_to_list, np.asarray),  # [levels, training, time] interval half-width, in stds
    # [buckets] the fewest training twins of each bucket, and [training, time, buckets] how much wider
    # (or narrower) than a new network's the error of a cell with that many twins in training is
    # (None: not learnt, every cell gets a new network's error)
    "twins_at": (_optional(_to_list), _optional(np.asarray)),
    "twins_factor": (_optional(_to_list), _optional(np.asarray)),
}


class Calibrator:
    """Turns the members' outputs into a calibrated prediction: mix, level, error, interval.

    Built by :meth:`fit` from out-of-fold predictions, or by :meth:`from_manifest` from a saved
    model; its fitted attributes are the keys of :data:`FIELDS`, each with a trailing ``_``.
    """

    @classmethod
    def fit(cls, times, oof: dict, Y, fold_of, live, twins=None) -> tuple[Calibrator, np.ndarray, np.ndarray]:
        """Learn from ``oof`` (kind -> ``[rows, training, time]``) against the measurements ``Y``.

        ``fold_of`` gives each row's fold, ``live`` marks the rows that are not degenerate cells. ``twins``
        (default: none) counts, per row, the twins (cells of its network) in the training of the member
        that predicted it: the error, its spread factor and the interval factors are learnt on the rows
        without one, so they are a new network's, and the other rows give :meth:`twins_scale`, how
        that error shrinks with the twins a cell has in training.
        Returns the calibrator, and the OOF predictions it calibrated out of sample with their
        std (``[rows, training, time]``, for the cross-validated scores).
        """
        self = cls()
        self.times_ = np.asarray(times, dtype=float)
        self.weights_ = _rank_weights({m: p[live] for m, p in oof.items()}, Y[live])
        mix = sum(self.weights_[m][None, :, None] * p for m, p in oof.items())
        self.level_maps_ = _level_maps(mix[live], Y[live])
        # residuals of maps fitted without the cell's fold: out-of-sample, like a new cell's
        cal = np.full_like(Y, np.nan)
        for k in range(fold_of.max() + 1):
            rest, own = live & (fold_of != k), live & (fold_of == k)
            cal[own] = _calibrate(_level_maps(mix[rest], Y[rest]), mix[own])
        resid = Y - cal
        err = _novel_only(resid, None if twins is None else np.asarray(twins) == 0)
        self.error_at_, self.error_ = _error_tables(cal[live], err[live])
        sigma = self.error(cal, self.times_)
        spread = _spread(oof)
        self.spread_at_, self.spread_factor_ = _spread_tables(spread[live], (err / sigma)[live])
        sigma = sigma * self.spread_factor(spread)
        z = err[live] / sigma[live]
        self.z_ = np.array([[interval_factors(z[:, k, j]) for j in range(len(self.times_))]
                            for k in range(len(TRAININGS))]).transpose(2, 0, 1)
        self.twins_at_ = self.twins_factor_ = None
        if twins is not None and (np.isnan(err) & ~np.isnan(resid))[live].any():  # calibrated on novel rows
            self.twins_at_, self.twins_factor_ = twins_factor_table(np.asarray(twins)[live], (resid / sigma)[live],
                                                                    z, _MIN_NOVEL)
            sigma = sigma * self.twins_scale(twins)
        return self, cal, sigma

    @classmethod
    def from_manifest(cls, manifest: dict) -> Calibrator:
        """The calibrator saved in a model's manifest (see :meth:`to_manifest`)."""
        self = cls()
        for key, (_, from_json) in FIELDS.items():
            setattr(self, f"{key}_", from_json(manifest.get(key) if key in OPTIONAL else manifest[key]))
        return self

    def to_manifest(self) -> dict:
        """Plain JSON, one key per fitted field, and the interval levels ``z`` is tabulated at."""
        return {**{key: to_json(getattr(self, f"{key}_")) for key, (to_json, _) in FIELDS.items()},
                "levels": LEVELS.tolist()}

    # ------------------------------------------------------------------ applying it
    def mix(self, raw: dict, k: int):
        """From member outputs (kind -> ``[members, n, T]``) for training ``k``: the mixed prediction
        ``[n, T]``, the disagreement of the two kinds ``[n, T]`` and the members' variance ``[n, T]``."""
        means = {m: r.mean(0) for m, r in raw.items()}
        mix = sum(self.weights_[m][k] * means[m] for m in raw)
        var = sum(self.weights_[m][k] * (raw[m].var(0) + (means[m] - mix) ** 2) for m in raw)
        spread = np.abs(means["gnn"] - means["xgb"]) if len(means) == 2 else np.zeros_like(mix)
        return mix, spread, var

    def level(self, mix_grid, grid, k: int) -> np.ndarray:
        """Calibrated accuracy at ``grid`` from the mixed prediction there (``grid`` holds the fitted times).

        At the fitted times: the level maps, then a running minimum over time, so a prediction never
        rises with drift. Between them: log-linear interpolation; outside them: the raw prediction's
        change from the nearest fitted time.
        """
        times = self.times_
        fit_idx = np.searchsorted(grid, times)
        cal = np.minimum.accumulate(_calibrate(self.level_maps_[k:k + 1], mix_grid[:, None, fit_idx])[:, 0], axis=1)
        out = cal @ time_weights(times, grid).T
        before, after = grid < times[0], grid > times[-1]
        out[:, before] += mix_grid[:, before] - mix_grid[:, fit_idx[:1]]
        out[:, after] += mix_grid[:, after] - mix_grid[:, fit_idx[-1:]]
        return np.clip(out, 0.0, 100.0)

    def error(self, pred, times, trainings=range(len(TRAININGS))) -> np.ndarray:
        """Error std for calibrated predictions ``pred`` ``[n, len(trainings), len(times)]``.

        Read off each fitted time's table at the predicted accuracy, then interpolated in log-time.
        """
        weight = time_weights(self.times_, times)
        out = np.zeros_like(pred, dtype=float)
        for i, k in enumerate(trainings):
            for j in range(len(self.times_)):
                out[:, i] += weight[:, j] * np.interp(pred[:, i], self.error_at_[k, j], self.error_[k, j])
        return out

    def twins_scale(self, twins, times=None, trainings=range(len(TRAININGS))) -> np.ndarray:
        """``[n, len(trainings), len(times)]`` factor on a new network's error for cells with ``twins``
        cells of their network in training (1 for none, or where it was not learnt); ``times`` default
        to the fitted ones."""
        times = self.times_ if times is None else np.asarray(times, dtype=float)
        twins = np.asarray(twins)
        out = np.ones((len(twins), len(trainings), len(times)))
        if getattr(self, "twins_factor_", None) is None:
            return out
        bucket = np.searchsorted(self.twins_at_, twins, side="right") - 1  # -1: no twin
        seen = bucket >= 0
        weight = time_weights(self.times_, times)
        for i, k in enumerate(trainings):
            out[seen, i] = self.twins_factor_[k][:, bucket[seen]].T @ weight.T
        return out

    def spread_factor(self, spread, trainings=range(len(TRAININGS))) -> np.ndarray:
        """How much wider than the table a cell's error is, given its members' disagreement."""
        out = np.ones_like(spread, dtype=float)
        for i, k in enumerate(trainings):
            out[:, i] = np.interp(spread[:, i], self.spread_at_[k], self.spread_factor_[k])
        return out

    def z(self, level: float) -> np.ndarray:
        """Interval half-width in units of std, ``[training, fitted time]``, from the OOF residuals."""
        return np.array([[np.interp(level, LEVELS, self.z_[:, k, j]) for j in range(self.z_.shape[2])]
                         for k in range(self.z_.shape[1])])


def time_weights(fitted, times) -> np.ndarray:
    """``[len(times), len(fitted)]``: log-linear interpolation weights between the fitted times,
    constant beyond the ends."""
    log_fit, log_t = np.log10(fitted), np.log10(np.asarray(times, dtype=float))
    return np.stack([np.interp(log_t, log_fit, row) for row in np.eye(len(log_fit))], 1)


# ---------------------------------------------------------------------- fitting
def _rank_weights(oof: dict, Y: np.ndarray) -> dict:
    """Per training, the convex weights of the member kinds whose mix ranks the OOF cells best.

    Kendall's tau per time, averaged over times; one weight per training, shared by all times, so
    the mix of monotone members stays monotone. The level is set afterwards by the level maps, so
    the mix only has to order the cells.
    """
    from scipy.stats import kendalltau

    kinds = list(oof)
    if len(kinds) == 1:
        return {kinds[0]: np.ones(Y.shape[1])}
    grid = np.linspace(0, 1, 11)
    w = np.zeros(Y.shape[1])
    for k in range(Y.shape[1]):
        scores = []
        for g in grid:
            mix = g * oof[kinds[0]][:, k] + (1 - g) * oof[kinds[1]][:, k]
            taus = [kendalltau(mix[ok, j], Y[ok, k, j]).statistic
                    for j in range(Y.shape[2]) for ok in [np.isfinite(Y[:, k, j])] if ok.sum() > 2]
            scores.append(np.mean(taus) if taus else -np.inf)
        w[k] = grid[int(np.argmax(scores))]
    return {kinds[0]: w, kinds[1]: 1 - w}


_MIN_NOVEL = 30  # novel residuals a (training, time) column needs to be calibrated on them alone


def _novel_only(resid, novel) -> np.ndarray:
    """``resid`` with the rows that are not ``novel`` blanked (NaN), per (training, time) column that keeps
    at least :data:`_MIN_NOVEL` residuals; a column with fewer keeps all its rows."""
    if novel is None:
        return resid
    out = resid.copy()
    blank = ~np.asarray(novel, dtype=bool)
    for k in range(resid.shape[1]):
        for j in range(resid.shape[2]):
            if np.isfinite(resid[~blank, k, j]).sum() >= _MIN_NOVEL:
                out[blank, k, j] = np.nan
    return out


def _level_maps(pred, Y) -> list[list[np.ndarray]]:
    """:func:`fit_level_map` per (training, time) column of ``[n, training, time]`` arrays."""
    return [[fit_level_map(pred[:, k, j], Y[:, k, j]) for j in range(Y.shape[2])] for k in range(Y.shape[1])]


def _calibrate(maps, pred) -> np.ndarray:
    """Apply per-column level maps to ``pred`` ``[n, training, time]``."""
    out = np.empty_like(pred, dtype=float)
    for k, row in enumerate(maps):
        for j, level_map in enumerate(row):
            out[:, k, j] = apply_level_map(pred[:, k, j], level_map)
    return out


def _error_tables(pred, resid) -> tuple[np.ndarray, np.ndarray]:
    """:func:`error_table` per (training, time): ``(at, rms)``, each ``[training, time, bins]``."""
    tables = [[error_table(pred[:, k, j], resid[:, k, j]) for j in range(pred.shape[2])] for k in range(pred.shape[1])]
    return np.array([[t[0] for t in row] for row in tables]), np.array([[t[1] for t in row] for row in tables])


def _spread(oof: dict) -> np.ndarray:
    """Disagreement of the member kinds, ``|gnn - xgb|`` (zeros with one kind)."""
    parts = list(oof.values())
    return np.abs(parts[0] - parts[1]) if len(parts) == 2 else np.zeros_like(parts[0])


def _spread_tables(spread, z) -> tuple[np.ndarray, np.ndarray]:
    """:func:`scale_factor_table` per training, times pooled: ``(at, factor)``, each ``[training, bins]``."""
    tables = [scale_factor_table(spread[:, k].ravel(), z[:, k].ravel()) if np.ptp(spread[:, k]) > 0
              else (np.array([0.0, 1.0]), np.ones(2)) for k in range(spread.shape[1])]
    width = max(len(t[0]) for t in tables)
    pad = [(np.resize(a, width), np.resize(f, width)) if len(a) != width else (a, f) for a, f in tables]
    return np.array([p[0] for p in pad]), np.array([p[1] for p in pad])
