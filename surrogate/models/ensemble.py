"""`Surrogate`: an ensemble of GNNs and XGBoost models with a calibrated uncertainty.

Members are fitted by K-fold cross-fitting: the member of fold k never sees the cells of fold
k, so every training cell gets an out-of-fold (OOF) prediction. Those OOF predictions, and
nothing that saw their labels, set the mix of GNN and XGBoost, the noise level per
(training, time), the level maps and the interval width; they also give the cross-validated
metrics stored with the model. The K members of each kind are the ensemble used at prediction time.

Fitted on the ground truth of several chips, the model is chip-aware: each row is a (cell, chip)
pair, members take the chip's features (:meth:`~surrogate.chips.Chip.features`) beside the cell,
folds keep all rows of a cell together, and any chip can be asked for, including one it never saw
(with a warning and a wider interval).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import __version__
from ..calibration import LEVELS, apply_level_map, error_table, fit_level_map, interval_factors, scale_factor_table
from ..cells import Cell, as_cell
from ..chips import CHIP_FEATURES, get_chip
from ..encoding import FeatureSpec
from ..metrics import score_table
from ._drift import drift_curve
from ._params import ParamsMixin
from ._targets import TRAININGS, check_times, check_training, chip_targets, targets
from .prediction import Prediction

__all__ = ["Surrogate"]

_KINDS = ("gnn", "xgb")
FORMAT_VERSION = 2


class Surrogate(ParamsMixin):
    """Predicts analog accuracy of cells over drift time, with an uncertainty.

    Args:
        members: which model kinds to ensemble: ``("gnn", "xgb")``, or one of them alone.
        n_folds: folds of the cross-fitting; also the number of members of each kind.
        gnn_params, xgb_params: settings passed to :class:`GNNRegressor` / :class:`XGBRegressor`.
        random_state: seeds folds and members.
        progress: show a progress bar while fitting.
    """

    def __init__(self, members: Sequence[str] = ("gnn", "xgb"), n_folds: int = 5, gnn_params: dict | None = None,
                 xgb_params: dict | None = None, random_state: int = 0, progress: bool = True):
        self.members = members
        self.n_folds = n_folds
        self.gnn_params = gnn_params
        self.xgb_params = xgb_params
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fit
    def _check_params(self):
        members = tuple(self.members)
        if not members or any(m not in _KINDS for m in members) or len(set(members)) != len(members):
            raise ValueError(f"members must be distinct names among {_KINDS}, got {self.members!r}")
        if isinstance(self.n_folds, bool) or not isinstance(self.n_folds, int) or self.n_folds < 2:
            raise ValueError(f"n_folds must be an integer >= 2, got {self.n_folds!r}")
        return members

    def _new_member(self, kind, seed):
        params = dict((self.gnn_params if kind == "gnn" else self.xgb_params) or {})
        params["random_state"] = seed
        return _member_class(kind)(**params)

    @property
    def members_(self) -> dict:
        """The fitted members by kind. A loaded model reads them from disk (and imports torch and
        xgboost) only when a cell outside its cache is asked for."""
        if "_members" not in self.__dict__:
            if "_member_files" not in self.__dict__:
                raise AttributeError("members_")
            self._members = _load_members(*self._member_files)
        return self._members

    @members_.setter
    def members_(self, value: dict) -> None:
        self._members = value

    def fit(self, ground_truth) -> "Surrogate":
        """Fit on a ``GroundTruth`` of one profile; returns ``self``. With several chips in it the
        model is chip-aware (see the module docstring); the profile's first chip is its default.

        Out-of-fold (OOF) predictions of the cross-fitted members set, in this order: the mix of
        member kinds (per training, the one that ranks the OOF predictions best), a monotone map
        from the mix to the expected measurement per (training, time) (:func:`fit_level_map`: the
        cure for the winner's curse at the top of the ranking), the error as a function of the
        calibrated prediction and of the members' disagreement, and the interval factors. The
        maps that produce the residuals are themselves cross-fitted, so the error is out-of-sample.
        """
        from tqdm.auto import tqdm

        members = self._check_params()
        names = ground_truth.chips or [ground_truth.chip["name"]]
        self.chips_ = [ground_truth.chip_spec(c) for c in names]
        self.chip_ = self.chips_[0]
        cells, F, times, Y = self._rows(ground_truth)
        n_cells = len(set(cells))
        if n_cells < 2 * self.n_folds:
            raise ValueError(f"need at least {2 * self.n_folds} cells to fit with n_folds={self.n_folds}, "
                             f"got {n_cells}")
        degenerate = np.array([c.is_degenerate for c in cells])
        self.profile_ = dict(ground_truth.profile)
        self.profile_hash_ = ground_truth.profile_hash
        self.ground_truth_hash_ = self._hash_rows(cells, times, Y)
        self.times_ = times
        self.chance_ = _chance(self.profile_, Y[degenerate])
        self.n_cells_ = n_cells
        self._cache = {}

        fold_of = self._folds(cells)
        oof = {m: np.full_like(Y, np.nan) for m in members}
        self.members_ = {m: [] for m in members}
        self.kinds_ = list(members)
        bar = tqdm(total=self.n_folds * len(members), desc="fitting", unit="model", disable=not self.progress)
        for k in range(self.n_folds):
            train, held = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
            for m in members:
                bar.set_postfix_str(f"{m} fold {k + 1}/{self.n_folds}")
                model = self._new_member(m, self.random_state + k)
                model.fit([cells[i] for i in train], times, Y[train], chips=_take(F, train))
                oof[m][held] = model.predict([cells[i] for i in held], times, chips=_take(F, held))
                self.members_[m].append(model)
                bar.update()
        bar.close()
        if "gnn" in members:
            self.knots_ = self.members_["gnn"][0].knots_
        return self._calibrate_from_oof(cells, Y, oof, fold_of)

    @property
    def chip_aware_(self) -> bool:
        """Whether the model was fitted on several chips and takes the chip as an input."""
        return len(self.chips_) > 1

    def _rows(self, ground_truth):
        """``(cells, chip features or None, times, Y)``: one row per cell, or per (cell, chip)."""
        if not self.chip_aware_:
            cells, times, Y = targets(ground_truth)
            return cells, None, times, Y
        cells, chips, times, Y = chip_targets(ground_truth, [c["name"] for c in self.chips_])
        features = {c["name"]: get_chip(c).features() for c in self.chips_}
        return cells, np.stack([features[c] for c in chips]), times, Y

    def _hash_rows(self, cells, times, Y) -> str:
        return _hash_targets(cells, times, Y, [c["name"] for c in self.chips_] if self.chip_aware_ else ())

    def _folds(self, cells) -> np.ndarray:
        """Fold of each row: folds are drawn over distinct cells, so a cell's chips share one fold."""
        from sklearn.model_selection import KFold

        unique = list(dict.fromkeys(cells))
        index = {c: i for i, c in enumerate(unique)}
        fold_of = np.empty(len(unique), dtype=int)
        for k, (_, held) in enumerate(KFold(self.n_folds, shuffle=True, random_state=self.random_state)
                                      .split(unique)):
            fold_of[held] = k
        return fold_of[[index[c] for c in cells]]

    def recalibrate(self, ground_truth) -> "Surrogate":
        """Learn the mix, level maps and errors again from the fitted members, without refitting them.

        ``ground_truth`` must be the one the model was fitted on (checked by hash): the folds are
        rebuilt from ``random_state``, and each member predicts the fold it never saw.
        """
        self._check_fitted()
        cells, F, times, Y = self._rows(ground_truth)
        if self._hash_rows(cells, times, Y) != self.ground_truth_hash_:
            raise ValueError("recalibrate needs the ground truth the model was fitted on (its hash differs)")
        fold_of = self._folds(cells)
        oof = {m: np.full_like(Y, np.nan) for m in self.kinds_}
        for k in range(self.n_folds):
            held = np.flatnonzero(fold_of == k)
            for m in self.kinds_:
                oof[m][held] = self.members_[m][k].predict([cells[i] for i in held], times, chips=_take(F, held))
        self.__dict__.pop("_cache", None)
        return self._calibrate_from_oof(cells, Y, oof, fold_of)

    def _calibrate_from_oof(self, cells, Y, oof, fold_of) -> "Surrogate":
        """Everything learned from the out-of-fold predictions ``oof`` (see :meth:`fit`)."""
        members, times = list(oof), self.times_
        degenerate = np.array([c.is_degenerate for c in cells])
        live = ~degenerate
        folds = range(fold_of.max() + 1)
        self.weights_ = _rank_weights({m: p[live] for m, p in oof.items()}, Y[live])
        mix = sum(self.weights_[m][None, :, None] * oof[m] for m in members)
        self.level_maps_ = _level_maps(mix[live], Y[live])
        # residuals of maps fitted without the cell's fold: out-of-sample, like a new cell's
        cal = np.full_like(Y, np.nan)
        for k in folds:
            rest, own = live & (fold_of != k), live & (fold_of == k)
            cal[own] = _calibrate(_level_maps(mix[rest], Y[rest]), mix[own])
        resid = Y - cal
        self.error_at_, self.error_ = _error_tables(cal[live], resid[live])
        sigma = self._error(cal, times)
        spread = _spread(oof)
        z = resid / sigma
        self.spread_at_, self.spread_factor_ = _spread_tables(spread[live], z[live])
        sigma = sigma * self._spread_factor(spread)
        z = resid[live] / sigma[live]
        self.z_ = np.array([[interval_factors(z[:, k, j]) for j in range(len(times))]
                            for k in range(len(TRAININGS))]).transpose(2, 0, 1)  # [levels, training, time]
        self.shapes_ = sorted({(s.num_nodes, len(s.edges)) for s in (c.simplified() for c in cells)})
        cal[degenerate] = self.chance_
        half = self._z(0.9) * sigma
        half[degenerate] = 0.0
        self.metrics_ = {"cv": score_table(cal, Y, cal - half, cal + half, TRAININGS),
                         "n_cells": len(set(cells)), "n_rows": len(cells), "n_folds": self.n_folds}
        return self

    # ------------------------------------------------------------------ predict
    def _entries(self, cells, chip):
        """Per-cell, time-free member outputs on ``chip`` (a :class:`~surrogate.chips.Chip`), cached:
        GNN drift coefficients ``[n, Mg, 2, 1 + K]`` and XGBoost predictions at the fitted times
        ``[n, Mx, 2, T]`` (trees are step functions of log-time between the fitted times: log-linear
        interpolation between them is as exact and smoother)."""
        cache = self._cell_cache()
        keys = [(_key(c), chip.hash) for c in cells]
        missing = list(dict.fromkeys(k for k in keys if k not in cache))
        if missing:
            from ..encoding import collate

            new = [c for c, _ in missing]
            F = np.tile(chip.features(), (len(new), 1)) if self.chip_aware_ else None
            cols = {}
            if "gnn" in self.kinds_:
                batch = collate(new)
                cols["gnn"] = np.stack([m.coefficients(new, batch=batch, chips=F) for m in self.members_["gnn"]], 1)
            if "xgb" in self.kinds_:
                models = self.members_["xgb"]
                rows = models[0].design(new, self.times_, chips=F)
                shape = (len(new), len(TRAININGS), len(self.times_))
                cols["xgb"] = np.stack([m.predict_rows(rows).reshape(shape) for m in models], 1)
            for i, key in enumerate(missing):
                cache[key] = {m: v[i].astype(np.float32) for m, v in cols.items()}
        return {m: np.stack([cache[k][m] for k in keys]) for m in self.kinds_}

    def _cell_cache(self) -> dict:
        """(normal form, chip hash) -> member outputs; a loaded model starts from the cache it was saved with."""
        if "_cache" not in self.__dict__:
            self._cache = {}
            path = self.__dict__.get("_cache_file")
            if path is not None and path.is_file():
                with np.load(path, allow_pickle=False) as f:
                    arrays = {m: f[m] for m in self.kinds_}
                    cells = f["cells"].tolist()
                    chips = f["chips"].tolist() if "chips" in f.files else [get_chip(self.chip_).hash] * len(cells)
                    for i, (text, chip) in enumerate(zip(cells, chips)):
                        self._cache[Cell.from_str(text), chip] = {m: arrays[m][i] for m in self.kinds_}
        return self._cache

    def _raw(self, cells, times, k, chip):
        """Per member kind, member outputs for training ``k`` at ``times``: ``[M, n, T]`` in percent."""
        entries = self._entries(cells, chip)
        log_t = np.log10(np.asarray(times, dtype=float))
        out = {}
        for m, e in entries.items():
            if m == "gnn":
                out[m] = drift_curve(e[:, :, k].astype(float), self.knots_, log_t) * 100.0
            else:
                out[m] = e[:, :, k].astype(float) @ self._time_weights(times).T  # [n, M, T_fit] -> [n, M, T]
            out[m] = np.moveaxis(out[m], 1, 0)
        return out

    def _mixed(self, cells, times, k, chip):
        """Mixed raw prediction ``[n, T]`` and the cross-kind disagreement ``[n, T]``, ``[n, T]`` member variance."""
        raw = self._raw(cells, times, k, chip)
        means = {m: r.mean(0) for m, r in raw.items()}
        mix = sum(self.weights_[m][k] * means[m] for m in raw)
        var = sum(self.weights_[m][k] * (raw[m].var(0) + (means[m] - mix) ** 2) for m in raw)
        spread = np.abs(means["gnn"] - means["xgb"]) if len(means) == 2 else np.zeros_like(mix)
        return mix, spread, var

    def _time_weights(self, times) -> np.ndarray:
        """``[len(times), fitted times]``: log-linear interpolation weights, constant beyond the ends."""
        log_fit, log_t = np.log10(self.times_), np.log10(np.asarray(times, dtype=float))
        return np.stack([np.interp(log_t, log_fit, row) for row in np.eye(len(log_fit))], 1)

    def _error(self, pred, times, trainings=range(len(TRAININGS))) -> np.ndarray:
        """Error std for calibrated predictions ``pred`` ``[n, len(trainings), len(times)]``.

        Read off each fitted time's table at the predicted accuracy, then interpolated in log-time.
        """
        weight = self._time_weights(times)
        out = np.zeros_like(pred, dtype=float)
        for i, k in enumerate(trainings):
            for j in range(len(self.times_)):
                out[:, i] += weight[:, j] * np.interp(pred[:, i], self.error_at_[k, j], self.error_[k, j])
        return out

    def _spread_factor(self, spread, trainings=range(len(TRAININGS))) -> np.ndarray:
        """How much wider than the table a cell's error is, given its members' disagreement."""
        out = np.ones_like(spread, dtype=float)
        for i, k in enumerate(trainings):
            out[:, i] = np.interp(spread[:, i], self.spread_at_[k], self.spread_factor_[k])
        return out

    def _z(self, level: float) -> np.ndarray:
        """Interval half-width in units of std, ``[training, fitted time]``, from the OOF residuals."""
        return np.array([[np.interp(level, LEVELS, self.z_[:, k, j]) for j in range(self.z_.shape[2])]
                         for k in range(self.z_.shape[1])])

    def _level(self, mix_grid, grid, k):
        """Calibrated accuracy at ``grid`` from the mixed prediction there (``grid`` holds the fitted times).

        At the fitted times: the level maps, then a running minimum over time, so a prediction never
        rises with drift. Between them: log-linear interpolation; outside them: the raw prediction's
        change from the nearest fitted time.
        """
        fit_idx = np.searchsorted(grid, self.times_)
        cal = np.minimum.accumulate(_calibrate(self.level_maps_[k:k + 1], mix_grid[:, None, fit_idx])[:, 0], axis=1)
        out = cal @ self._time_weights(grid).T
        before, after = grid < self.times_[0], grid > self.times_[-1]
        out[:, before] += mix_grid[:, before] - mix_grid[:, fit_idx[:1]]
        out[:, after] += mix_grid[:, after] - mix_grid[:, fit_idx[-1:]]
        return np.clip(out, 0.0, 100.0)

    def predict(self, archs, t_inference, training: str = "hwa", level: float = 0.9, chip=None) -> Prediction:
        """Predicted accuracy after ``t_inference`` seconds of drift.

        Args:
            archs: one architecture or a sequence of them (``Cell``, NB-201 string, or
                AnalogNAS-Bench tuple).
            t_inference: seconds since programming, scalar or 1-D.
            training: ``"hwa"`` (hardware-aware fine-tuned) or ``"standard"``.
            level: coverage of the ``[lower, upper]`` interval.
            chip: the chip asked about (a preset name, JSON file, dict or :class:`~surrogate.chips.Chip`);
                ``None`` is the model's default chip. A single-chip model refuses any other chip; a
                chip-aware model answers for any, warning (and widening the interval by the members'
                disagreement) for a chip it was not fitted on.

        Returns:
            A :class:`Prediction` with arrays ``(len(archs), len(t))``, or floats for one
            architecture and a scalar time.
        """
        self._check_fitted()
        chip, new_chip = self._chip(chip)
        k = check_training(training)
        t, scalar_t = check_times(t_inference)
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        cells, single = _as_cells(archs)
        lo, hi = self.times_[0], self.times_[-1]
        outside = np.maximum(np.log10(lo / t), np.log10(t / hi)).clip(min=0)
        if outside.any():
            warnings.warn(f"t_inference outside the fitted range [{lo:g}, {hi:g}] s: extrapolating, "
                          "with a wider interval", stacklevel=2)
        grid, where = np.unique(np.concatenate([self.times_, t]), return_inverse=True)
        mix, spread, var = self._mixed(cells, grid, k, chip)
        mean = self._level(mix, grid, k)
        pick = np.concatenate([where[:1], where[len(self.times_):]])  # t_ref, then the asked times
        mean, spread, var, g = mean[:, pick], spread[:, pick], var[:, pick], grid[pick]
        sigma = self._error(mean[:, None], g, [k])[:, 0] * self._spread_factor(spread[:, None], [k])[:, 0]
        # the OOF error covers cells like the training cells on the training chips; for a cell whose
        # normal form has more nodes than any training cell's, or a chip not fitted on, the members'
        # disagreement is added on top (by the normal form, so that equal networks drawn differently
        # get the same interval)
        most = max(n for n, _ in self.shapes_)
        novel = np.array([new_chip or c.simplified().num_nodes > most for c in cells])
        std = np.sqrt(sigma**2 + novel[:, None] * var) * (1 + 0.5 * np.concatenate([[0], outside]))
        z = np.interp(np.log10(g), np.log10(self.times_), self._z(level)[k])
        deg = np.array([c.is_degenerate for c in cells])
        mean[deg], std[deg] = self.chance_, 0.0
        accuracy, std = mean[:, 1:], std[:, 1:]
        out = {
            "accuracy": accuracy, "std": std,
            "lower": np.clip(accuracy - z[1:] * std, 0, 100), "upper": np.clip(accuracy + z[1:] * std, 0, 100),
            "degradation": np.maximum(mean[:, :1] - accuracy, 0.0),
        }
        if single and scalar_t:
            out = {key: float(v[0, 0]) for key, v in out.items()}
        elif single:
            out = {key: v[0] for key, v in out.items()}
        elif scalar_t:
            out = {key: v[:, 0] for key, v in out.items()}
        return Prediction(**out, t_inference=float(t[0]) if scalar_t else t, training=training, level=level,
                          t_ref=float(self.t_ref_))

    def rank(self, archs, t_inference, training: str = "hwa", chip=None) -> np.ndarray:
        """Indices of ``archs``, best predicted accuracy first."""
        t, scalar = check_times(t_inference)
        if not scalar and t.size != 1:
            raise ValueError("rank takes one t_inference; rank each time separately")
        cells, _ = _as_cells(archs)
        acc = np.atleast_1d(self.predict(cells, float(t[0]), training=training, chip=chip).accuracy)
        return np.argsort(-acc, kind="stable")

    def score(self, ground_truth, level: float = 0.9, chip: str | None = None) -> dict:
        """Metrics against measured ground truth of one chip (``chip`` picks one of several), per
        training, averaged over its times.

        Kendall tau, Spearman, MAE, precision@1 % and the coverage of the ``level`` interval,
        each computed per time and then averaged; ``per_time`` keeps the unaveraged values.
        """
        self._check_fitted()
        if chip is not None:
            ground_truth = ground_truth.for_chip(chip)
        cells, times, Y = targets(ground_truth)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # times (or a chip) outside the fitted range are fine here
            preds = [self.predict(cells, times, training=t, level=level, chip=ground_truth.chip) for t in TRAININGS]
        f = {name: np.stack([getattr(p, name) for p in preds], axis=1) for name in ("accuracy", "lower", "upper")}
        return score_table(f["accuracy"], Y, f["lower"], f["upper"], TRAININGS, times)

    @property
    def t_ref_(self) -> float:
        """The reference time of ``degradation``: the earliest fitted time (60 s for AnalogNAS-Bench)."""
        return float(self.times_[0])

    def _check_fitted(self):
        if not hasattr(self, "weights_"):
            raise RuntimeError("this Surrogate is not fitted yet: call fit(ground_truth) or surrogate.load(...)")

    def _chip(self, chip):
        """The asked chip as a :class:`~surrogate.chips.Chip` (``None``: the default), and whether it is
        new to the model. A single-chip model refuses any other chip; a chip-aware one warns."""
        own = [get_chip(c) for c in self.chips_]
        asked = own[0] if chip is None else get_chip(chip)
        if asked in own:
            return asked, False
        # a chip is its settings: a preset saved under another name is still the chip it was fitted on
        same = [c for c in own if c.features().tobytes() == asked.features().tobytes()]
        if same and self.chip_aware_:
            return asked, False
        if not self.chip_aware_:
            raise ValueError(f"this model was fitted on chip {own[0].name!r} [{own[0].hash}] only and cannot "
                             f"predict chip {asked.name!r} [{asked.hash}]; fit a model on that chip's ground "
                             "truth, or a chip-aware model on several chips")
        warnings.warn(f"chip {asked.name!r} [{asked.hash}] is not one this model was fitted on "
                      f"({', '.join(c.name for c in own)}): extrapolating, with a wider interval", stacklevel=3)
        return asked, True

    def __repr__(self):
        fitted = ""
        if hasattr(self, "weights_"):
            chips = ", ".join(c["name"] for c in self.chips_)
            fitted = f", fitted on {self.n_cells_} cells of {self.profile_.get('name')!r}, chips {chips}"
        return f"Surrogate(members={tuple(self.members)!r}, n_folds={self.n_folds}{fitted})"

    # ------------------------------------------------------------------ persistence
    def save(self, path, precompute=None) -> Path:
        """Write a directory: ``manifest.json``, GNN ``state_dict`` files, XGBoost UBJSON files, and
        ``cache.npz`` (plain arrays) of the member outputs for ``precompute`` cells (e.g. the NB-201
        space), so that a fresh process answers for them without loading torch. No pickle."""
        import torch

        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        files = {}
        for m, models in self.members_.items():
            files[m] = []
            for i, model in enumerate(models):
                if m == "gnn":
                    name = f"gnn_{i}.pt"
                    torch.save(model.state_dict(), path / name)
                    files[m].append({"file": name, "params": model.get_params(), "knots": model.knots_.tolist()})
                else:
                    name = f"xgb_{i}.ubj"
                    model.save_booster(path / name)
                    files[m].append({"file": name, "params": model.get_params()})
        manifest = {
            "format": "surrogate-model", "format_version": FORMAT_VERSION, "package_version": __version__,
            "settings": {"members": list(self.members), "n_folds": self.n_folds, "gnn_params": self.gnn_params,
                         "xgb_params": self.xgb_params, "random_state": self.random_state},
            "profile": self.profile_, "profile_hash": self.profile_hash_, "chips": [dict(c) for c in self.chips_],
            "chip_features": list(CHIP_FEATURES) if self.chip_aware_ else None,
            "ground_truth_hash": self.ground_truth_hash_,
            "feature_spec": FeatureSpec().to_dict(), "n_cells": self.n_cells_, "times": self.times_.tolist(),
            "chance": self.chance_, "weights": {m: w.tolist() for m, w in self.weights_.items()},
            "level_maps": [[m.tolist() for m in row] for row in self.level_maps_],
            "error_at": self.error_at_.tolist(), "error": self.error_.tolist(),
            "spread_at": self.spread_at_.tolist(), "spread_factor": self.spread_factor_.tolist(),
            "shapes": self.shapes_, "levels": LEVELS.tolist(), "z": self.z_.tolist(),
            "metrics": self.metrics_, "members": files,
        }
        (path / "manifest.json").write_text(json.dumps(manifest, indent=1))
        (path / "cache.npz").unlink(missing_ok=True)
        if precompute is not None:
            keys = list(dict.fromkeys(_key(as_cell(c)) for c in precompute))
            chip = get_chip(self.chip_)
            entries = self._entries(keys, chip)
            np.savez_compressed(path / "cache.npz", cells=np.array([c.to_str() for c in keys]),
                                chips=np.array([chip.hash] * len(keys)),
                                **{m: v.astype(np.float32) for m, v in entries.items()})
        return path

    @classmethod
    def load(cls, path) -> "Surrogate":
        """Read a directory written by :meth:`save` (tensors only: ``torch.load(weights_only=True)``)."""
        path = Path(path)
        if not (path / "manifest.json").is_file():
            raise FileNotFoundError(f"no saved model at {path} (expected {path / 'manifest.json'})")
        manifest = json.loads((path / "manifest.json").read_text())
        if manifest.get("format") != "surrogate-model" or manifest.get("format_version", 0) != FORMAT_VERSION:
            raise ValueError(f"{path} is not a surrogate model of format version {FORMAT_VERSION} "
                             f"(found {manifest.get('format')!r} version {manifest.get('format_version')!r}): refit it")
        if manifest["feature_spec"] != FeatureSpec().to_dict():
            raise ValueError(f"{path} was saved with another feature layout: {manifest['feature_spec']}")
        if manifest.get("chip_features") not in (None, list(CHIP_FEATURES)):
            raise ValueError(f"{path} was saved with another chip feature layout: {manifest['chip_features']}")
        s = manifest["settings"]
        model = cls(members=tuple(s["members"]), n_folds=s["n_folds"], gnn_params=s["gnn_params"],
                    xgb_params=s["xgb_params"], random_state=s["random_state"])
        model.profile_ = manifest["profile"]
        model.profile_hash_ = manifest["profile_hash"]
        model.ground_truth_hash_ = manifest["ground_truth_hash"]
        model.n_cells_ = manifest["n_cells"]
        model.times_ = np.asarray(manifest["times"], dtype=float)
        model.chance_ = manifest["chance"]
        model.weights_ = {m: np.asarray(w) for m, w in manifest["weights"].items()}
        model.chips_ = manifest["chips"] if "chips" in manifest else [manifest["chip"]]
        model.chip_ = model.chips_[0]
        model.level_maps_ = [[np.asarray(m, dtype=float) for m in row] for row in manifest["level_maps"]]
        model.error_at_ = np.asarray(manifest["error_at"])
        model.error_ = np.asarray(manifest["error"])
        model.spread_at_ = np.asarray(manifest["spread_at"])
        model.spread_factor_ = np.asarray(manifest["spread_factor"])
        model.shapes_ = [tuple(x) for x in manifest["shapes"]]
        model.z_ = np.asarray(manifest["z"])
        model.metrics_ = manifest["metrics"]
        model.kinds_ = list(manifest["members"])
        if "gnn" in manifest["members"]:
            model.knots_ = np.asarray(manifest["members"]["gnn"][0]["knots"], dtype=float)
        model._member_files = (path, manifest["members"])
        model._cache_file = path / "cache.npz"
        return model


# ---------------------------------------------------------------------- helpers
def _member_class(kind: str):
    if kind == "gnn":
        from .gnn import GNNRegressor

        return GNNRegressor
    from .xgb import XGBRegressor

    return XGBRegressor


def _load_members(path: Path, entries: dict) -> dict:
    """Members from the files a manifest lists: ``torch.load(weights_only=True)`` and XGBoost UBJSON."""
    import torch

    out = {}
    for m, items in entries.items():
        cls = _member_class(m)
        if m == "gnn":
            out[m] = [cls.from_state(e["params"], e["knots"], torch.load(path / e["file"], weights_only=True))
                      for e in items]
        else:
            out[m] = [cls.from_booster(e["params"], path / e["file"]) for e in items]
    return out


def _as_cells(archs) -> tuple[list[Cell], bool]:
    """Cells from one architecture or many; the flag says one was given."""
    if isinstance(archs, (Cell, str)):
        return [as_cell(archs)], True
    if hasattr(archs, "__array__"):
        archs = np.asarray(archs)
        if archs.ndim == 1 and archs.dtype.kind in "iu":
            return [as_cell(tuple(archs.tolist()))], True
        archs = archs.tolist() if archs.dtype.kind in "iu" else list(archs)
    archs = list(archs)
    if archs and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in archs):
        return [as_cell(tuple(archs))], True
    if not archs:
        raise ValueError("no architectures given")
    return [as_cell(a) for a in archs], False


def _key(cell: Cell) -> Cell:
    """The cache key of a cell: its normal form, so equal networks share one entry."""
    return cell.simplified()


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


def _chance(profile: dict, degenerate_targets: np.ndarray) -> float:
    """Accuracy of a network that cannot see its input: 100 / classes, or what degenerate cells scored."""
    dataset = profile.get("dataset")
    classes = profile.get("num_classes") or (dataset.get("num_classes") if isinstance(dataset, dict) else None)
    if classes is None and isinstance(dataset, dict) and dataset.get("name") in ("digits", "cifar10"):
        classes = 10  # a simulation profile's data sets of ten classes
    if classes:
        return 100.0 / float(classes)
    if np.isfinite(degenerate_targets).any():
        return float(np.nanmedian(degenerate_targets))
    raise ValueError("the profile names no num_classes and no degenerate cell was measured: chance level unknown")


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


def _take(F, rows):
    return None if F is None else F[rows]


def _hash_targets(cells, times, Y, chips=()) -> str:
    h = hashlib.sha256()
    h.update("\n".join(c.to_str() for c in cells).encode())
    if chips:
        h.update(("\n" + ",".join(chips)).encode())
    h.update(np.asarray(times, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(Y, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]
