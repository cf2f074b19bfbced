"""`Surrogate`: an ensemble of GNNs and XGBoost models with a calibrated uncertainty.

Members are cross-fitted (:mod:`~surrogate.models.crossfit`): the member of fold k never sees the
cells of fold k, so every training cell gets an out-of-fold (OOF) prediction. Those OOF predictions,
and nothing that saw their labels, fit the :class:`~surrogate.models.calibrator.Calibrator` (the
mix of GNN and XGBoost, the level maps, the error and the interval width); they also give the
cross-validated metrics stored with the model. The K members of each kind are the ensemble used at
prediction time. Saving and loading are in :mod:`~surrogate.models.persistence`.

Fitted on the ground truth of several chips, the model is chip-aware: each row is a (cell, chip)
pair, members take the chip's features (:meth:`~surrogate.core.chips.Chip.features`) beside the cell,
folds keep all rows of a cell together, and any chip can be asked for, including one it never saw
(with a warning and a wider interval).
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..cells import split_archs
from ..core import TRAININGS, Chip, check_level, check_t_inference, check_training, get_chip
from ..metrics import score_table
from . import crossfit, persistence
from . import domain as _domain
from ._drift import drift_curve
from ._params import ParamsMixin
from ._targets import chip_targets, targets
from .calibrator import FIELDS as CALIBRATOR_FIELDS
from .calibrator import Calibrator, time_weights
from .domain import Domain, OutOfDomainWarning, user_stacklevel
from .lookup import OUTPUTS, Lookup
from .prediction import Prediction

__all__ = ["Surrogate"]

_KINDS = ("gnn", "xgb")
_CHIPS_KEPT = 4  # chips whose rows and answers a model keeps (see `Lookup`)


class Surrogate(ParamsMixin):
    """Predicts analog accuracy of cells over drift time, with an uncertainty.

    Args:
        members: which model kinds to ensemble: ``("gnn", "xgb")``, or one of them alone.
        n_folds: folds of the cross-fitting; also the number of members of each kind.
        gnn_params, xgb_params: settings passed to :class:`GNNRegressor` / :class:`XGBRegressor`.
        random_state: seeds folds and members.
        twins: how members treat cells that compute one network (one normal form): ``"cell"`` (every
            twin a row, folds over cells), ``"fold"`` (every twin a row, twins share a fold) or ``"mean"``
            (one row per network, the mean of its twins' measurements, folds over networks). Whichever,
            the members are cross-fitted so that every cell gets an out-of-fold prediction.
        novelty: learn the error on the out-of-fold rows whose network the predicting member never saw
            (a new network's), and from the other rows how it shrinks with the twins a cell has in
            training (:meth:`Calibrator.twins_scale`).
        progress: show a progress bar while fitting.
    """

    def __init__(self, members: Sequence[str] = ("gnn", "xgb"), n_folds: int = 5, gnn_params: dict | None = None,
                 xgb_params: dict | None = None, random_state: int = 0, twins: str = "cell",
                 novelty: bool = False, progress: bool = True):
        self.members = members
        self.n_folds = n_folds
        self.gnn_params = gnn_params
        self.xgb_params = xgb_params
        self.random_state = random_state
        self.twins = twins
        self.novelty = novelty
        self.progress = progress

    # ------------------------------------------------------------------ fit
    def _check_params(self):
        members = tuple(self.members)
        if not members or any(m not in _KINDS for m in members) or len(set(members)) != len(members):
            raise ValueError(f"members must be distinct names among {_KINDS}, got {self.members!r}")
        if isinstance(self.n_folds, bool) or not isinstance(self.n_folds, int) or self.n_folds < 2:
            raise ValueError(f"n_folds must be an integer >= 2, got {self.n_folds!r}")
        return members

    def _fold_by(self) -> str:
        if self.twins not in ("mean", "fold", "cell"):
            raise ValueError(f"twins must be 'mean', 'fold' or 'cell', got {self.twins!r}")
        return "cell" if self.twins == "cell" else "network"

    def _new_member(self, kind, fold):
        params = dict((self.gnn_params if kind == "gnn" else self.xgb_params) or {})
        params["random_state"] = self.random_state + fold
        if kind == "gnn":
            from .gnn import GNNRegressor

            if self.__dict__.get("_twin_rows") and "min_steps" not in params:
                # one row per network must not mean less training: as many steps as on every twin's row
                rows = -(-self._twin_rows * (self.n_folds - 1) // self.n_folds)
                batch = params.get("batch_size", GNNRegressor().batch_size)
                params["min_steps"] = params.get("epochs", GNNRegressor().epochs) * -(-rows // batch)

            return GNNRegressor(**params)
        from .xgb import XGBRegressor

        return XGBRegressor(**params)

    @property
    def members_(self) -> dict:
        """The fitted members by kind. A loaded model reads them from disk (and imports torch and
        xgboost) only when a cell outside its cache is asked for."""
        if "_members" not in self.__dict__:
            if "_member_files" not in self.__dict__:
                raise AttributeError("members_")
            self._members = persistence.load_members(*self._member_files)
        return self._members

    @members_.setter
    def members_(self, value: dict) -> None:
        self._members = value

    def fit(self, ground_truth) -> Surrogate:
        """Fit on a ``GroundTruth`` of one profile; returns ``self``. With several chips in it the
        model is chip-aware (see the module docstring); the profile's first chip is its default.
        What the out-of-fold predictions set is told in :class:`~surrogate.models.calibrator.Calibrator`.
        """
        kinds = self._check_params()
        self.chips_ = [ground_truth.chip_spec(c) for c in ground_truth.chips or [ground_truth.chip.name]]
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
        self.domain_ = Domain.fit(cells)
        self._forget(cache=True)
        fold_of = crossfit.folds(cells, self.n_folds, self.random_state, self._fold_by())
        self._twin_rows = len(cells) if self.twins == "mean" else 0
        if self.twins == "mean":
            group, first = crossfit.networks(cells, F)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a network unmeasured in a column stays NaN
                Yg = np.stack([np.nanmean(Y[group == g], axis=0) for g in range(len(first))])
            self.members_, oof = crossfit.cross_fit(self._new_member, kinds, [cells[i] for i in first],
                                                    None if F is None else F[first], times, Yg, fold_of[first],
                                                    self.progress)
            oof = {m: o[group] for m, o in oof.items()}
        else:
            self.members_, oof = crossfit.cross_fit(self._new_member, kinds, cells, F, times, Y, fold_of,
                                                    self.progress)
        self.kinds_ = list(kinds)
        if "gnn" in kinds:
            self.knots_ = self.members_["gnn"][0].knots_
        return self._calibrate(cells, Y, oof, fold_of)

    def recalibrate(self, ground_truth) -> Surrogate:
        """Fit the calibrator again from the fitted members, without refitting them.

        ``ground_truth`` must be the one the model was fitted on (checked by hash): the folds are
        rebuilt from ``random_state``, and each member predicts the fold it never saw.
        """
        self._check_fitted()
        cells, F, times, Y = self._rows(ground_truth)
        if self._hash_rows(cells, times, Y) != self.ground_truth_hash_:
            raise ValueError("recalibrate needs the ground truth the model was fitted on (its hash differs)")
        fold_of = crossfit.folds(cells, self.n_folds, self.random_state, self._fold_by())
        oof = crossfit.out_of_fold(self.members_, cells, F, times, Y, fold_of)
        self._forget()
        return self._calibrate(cells, Y, oof, fold_of)

    def _calibrate(self, cells, Y, oof, fold_of) -> Surrogate:
        """The calibrator, the training cells' shapes and the cross-validated metrics, from ``oof``."""
        degenerate = np.array([c.is_degenerate for c in cells])
        twins = crossfit.twins_in_other_folds(cells, fold_of) if self.novelty else None
        self.calibrator_, cal, sigma = Calibrator.fit(self.times_, oof, Y, fold_of, ~degenerate, twins)
        self.shapes_ = sorted({(s.num_nodes, len(s.edges)) for s in (c.simplified() for c in cells)})
        cal[degenerate] = self.chance_
        half = self.calibrator_.z(0.9) * sigma
        half[degenerate] = 0.0
        self.metrics_ = {"cv": score_table(cal, Y, cal - half, cal + half, TRAININGS),
                         "n_cells": len(set(cells)), "n_rows": len(cells), "n_folds": self.n_folds}
        self.networks_ = None
        if self.chip_aware_:  # a network fitted on one chip is not fitted on another
            self.calibrator_.twins_at_ = self.calibrator_.twins_factor_ = None
        elif self.calibrator_.twins_factor_ is not None:  # network -> its cells in training
            counts = Counter(c.simplified().to_str() for c in cells if not c.is_degenerate)
            self.networks_ = dict(sorted(counts.items()))
        self.__dict__.pop("_fitted_counts", None)
        return self

    @property
    def chip_aware_(self) -> bool:
        """Whether the model was fitted on several chips and takes the chip as an input."""
        return len(self.chips_) > 1

    def _rows(self, ground_truth):
        """``(cells, chip features or None, times, Y)``: one row per cell, or per (cell, chip)."""
        if not self.chip_aware_:
            cells, times, Y = targets(ground_truth)
            return cells, None, times, Y
        cells, chips, times, Y = chip_targets(ground_truth, [c.name for c in self.chips_])
        features = {c.name: c.features() for c in self.chips_}
        return cells, np.stack([features[c] for c in chips]), times, Y

    def _hash_rows(self, cells, times, Y) -> str:
        h = hashlib.sha256()
        h.update("\n".join(c.to_str() for c in cells).encode())
        if self.chip_aware_:
            h.update(("\n" + ",".join(c.name for c in self.chips_)).encode())
        h.update(np.asarray(times, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(Y, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]

    def with_calibrator(self, calibrator) -> Surrogate:
        """A copy that shares this model's members and cache but calibrates with ``calibrator`` (the
        validator's feedback); no answer computed with this model's calibration carries over."""
        import copy

        new = copy.copy(self)
        new.metrics_ = copy.deepcopy(self.metrics_)
        new.calibrator_ = calibrator
        new._forget()
        return new

    # ------------------------------------------------------------------ predict
    def _forget(self, cache: bool = False) -> None:
        """Drop the answers (the calibrator changed); with ``cache``, the saved cache too (refitted)."""
        self.__dict__.pop("_lookups", None)
        if cache:
            self.__dict__.pop("_cache_file", None)
            self._cached = {}

    def _lookup(self, chip: Chip, new_chip: bool) -> Lookup:
        """The rows, keys and answers of ``chip`` (:class:`~surrogate.models.lookup.Lookup`), a chip
        the model was fitted on or a ``new_chip``; the saved cache gives the rows it holds, the members
        any other normal form on first use."""
        lookups = self.__dict__.setdefault("_lookups", OrderedDict())
        key = (chip.hash, new_chip)
        lookup = lookups.get(key)
        if lookup is not None:
            lookups.move_to_end(key)
            return lookup
        if "_cached" not in self.__dict__:  # a loaded model starts from the cache it was saved with
            self._cached = persistence.read_cache(self.__dict__.get("_cache_file"), self.kinds_, self.chip_.hash)
        most = max(n for n, _ in self.shapes_)
        # the OOF error covers cells like the training cells on the training chips; for a cell whose
        # normal form has more nodes than any training cell's, or a chip not fitted on, the members'
        # disagreement is added on top (by the normal form, so that equal networks drawn differently
        # get the same interval)
        domain = self.__dict__.get("domain_")  # None: saved before domains were recorded
        lookup = Lookup(self._cached.get(chip.hash), lambda forms: self._member_outputs(forms, chip),
                        self._answer, lambda nodes: new_chip or nodes > most,
                        outside=None if domain is None else domain.outside,
                        fitted=None if new_chip or not self._fitted_forms() else self._is_fitted)
        lookups[key] = lookup
        if len(lookups) > _CHIPS_KEPT:
            lookups.popitem(last=False)
        return lookup

    def _member_outputs(self, forms, chip: Chip) -> dict:
        """Time-free member outputs of normal forms ``forms`` on ``chip``: GNN drift coefficients
        ``[n, Mg, 2, 1 + K]`` and XGBoost predictions at the fitted times ``[n, Mx, 2, T]`` (trees are
        step functions of log-time between the fitted times: log-linear interpolation between them
        is as exact and smoother), as float32."""
        from ..encoding import collate

        F = np.tile(chip.features(), (len(forms), 1)) if self.chip_aware_ else None
        cols = {}
        if "gnn" in self.kinds_:
            batch = collate(forms)
            cols["gnn"] = np.stack([m.coefficients(forms, batch=batch, chips=F) for m in self.members_["gnn"]], 1)
        if "xgb" in self.kinds_:
            models = self.members_["xgb"]
            rows = models[0].design(forms, self.times_, chips=F)
            shape = (len(forms), len(TRAININGS), len(self.times_))
            cols["xgb"] = np.stack([m.predict_rows(rows).reshape(shape) for m in models], 1)
        return {m: v.astype(np.float32) for m, v in cols.items()}

    def _entries(self, cells, chip: Chip) -> dict:
        """Per-cell member outputs on ``chip`` (see :meth:`_member_outputs`), by the cell's normal form
        (equal networks share one row)."""
        return self._lookup(chip, self._new_chip(chip)).outputs(split_archs(cells)[0])

    def _raw(self, entries: dict, times, k):
        """Per member kind, member outputs for training ``k`` at ``times``: ``[M, n, T]`` in percent."""
        log_t = np.log10(np.asarray(times, dtype=float))
        out = {}
        for m, e in entries.items():
            if m == "gnn":
                out[m] = drift_curve(e[:, :, k].astype(float), self.knots_, log_t) * 100.0
            else:
                out[m] = e[:, :, k].astype(float) @ time_weights(self.times_, times).T  # [n, M, T_fit] -> [n, M, T]
            out[m] = np.moveaxis(out[m], 1, 0)
        return out

    def _mixed(self, cells, times, k, chip):
        """Mixed raw prediction ``[n, T]``, the cross-kind disagreement ``[n, T]``, the member variance ``[n, T]``."""
        return self.calibrator_.mix(self._raw(self._entries(cells, chip), times, k), k)

    def _fitted_forms(self) -> dict:
        """The normal forms (strings) of the networks the model was fitted on, each with its number of
        training cells; empty if not recorded."""
        if "_fitted_counts" not in self.__dict__:
            self._fitted_counts = dict(self.__dict__.get("networks_") or {})
        return self._fitted_counts

    def _is_fitted(self, keys) -> np.ndarray:
        """Per normal form (string), how many training cells compute it (0: a new network)."""
        forms = self._fitted_forms()
        return np.fromiter((forms.get(key, 0) for key in keys), dtype=int, count=len(keys))

    def _answer(self, entries, degenerate, novel, outside, fitted, t, k, level):
        """The :data:`~surrogate.models.lookup.OUTPUTS` ``[n, len(t)]`` from the member outputs of ``n``
        normal forms: whether each is degenerate, ``novel`` (its interval adds the members' variance),
        ``outside`` the fitted domain (its std is widened by :data:`~surrogate.models.domain.WIDENING`), or
        computed by ``fitted`` training cells (its std scaled by
        :meth:`~surrogate.models.calibrator.Calibrator.twins_scale`)."""
        cal = self.calibrator_
        lo, hi = self.times_[0], self.times_[-1]
        beyond = np.maximum(np.log10(lo / t), np.log10(t / hi)).clip(min=0)  # decades outside the fitted times
        grid, where = np.unique(np.concatenate([self.times_, t]), return_inverse=True)
        mix, spread, var = cal.mix(self._raw(entries, grid, k), k)
        mean = cal.level(mix, grid, k)
        pick = np.concatenate([where[:1], where[len(self.times_):]])  # t_ref, then the asked times
        mean, spread, var, g = mean[:, pick], spread[:, pick], var[:, pick], grid[pick]
        sigma = cal.error(mean[:, None], g, [k])[:, 0] * cal.spread_factor(spread[:, None], [k])[:, 0]
        if fitted.any():
            sigma = sigma * cal.twins_scale(fitted, g, [k])[:, 0]
        std = np.sqrt(sigma**2 + novel[:, None] * var) * (1 + 0.5 * np.concatenate([[0], beyond]))
        std[outside] *= _domain.WIDENING  # read here, so that a benchmark can measure without it
        z = np.interp(np.log10(g), np.log10(self.times_), cal.z(level)[k])
        mean[degenerate], std[degenerate] = self.chance_, 0.0
        accuracy, std = mean[:, 1:], std[:, 1:]
        return [accuracy, std, np.clip(accuracy - z[1:] * std, 0, 100), np.clip(accuracy + z[1:] * std, 0, 100),
                np.maximum(mean[:, :1] - accuracy, 0.0)]

    def predict(self, archs, t_inference, training: str = "hwa", level: float = 0.9, chip=None) -> Prediction:
        """Predicted accuracy after ``t_inference`` seconds of drift.

        Args:
            archs: one architecture or a sequence of them (``Cell``, NB-201 string, or
                AnalogNAS-Bench tuple).
            t_inference: seconds since programming (> 0), scalar or 1-D.
            training: ``"hwa"`` (hardware-aware fine-tuned) or ``"standard"``.
            level: coverage of the ``[lower, upper]`` interval.
            chip: the chip asked about (a preset name, JSON file, dict or :class:`~surrogate.core.chips.Chip`);
                ``None`` is the model's default chip. A single-chip model refuses any other chip; a
                chip-aware model answers for any, warning (and widening the interval by the members'
                disagreement) for a chip it was not fitted on.

        Returns:
            A :class:`Prediction` with arrays ``(len(archs), len(t))``, or floats for one
            architecture and a scalar time; ``in_domain`` says, per cell, whether it lies inside the
            domain the model was fitted on (:class:`~surrogate.models.domain.Domain`). For cells outside,
            the call warns once (:class:`~surrogate.models.domain.OutOfDomainWarning`) and their
            intervals are widened by :data:`~surrogate.models.domain.WIDENING`.

        The answer depends on the cell only through its normal form: the cells of the saved cache
        (the NB-201 space for the shipped models) and any cell asked before are looked up, with the
        answer for the same times, training and level kept once asked twice
        (:class:`~surrogate.models.lookup.Lookup`).
        """
        self._check_fitted()
        chip, new_chip = self._chip(chip)
        k = check_training(training)
        t, scalar_t = check_t_inference(t_inference)
        level = check_level(level)
        lo, hi = self.times_[0], self.times_[-1]
        asked = t.tolist()
        if min(asked) < lo or max(asked) > hi:
            warnings.warn(f"t_inference outside the fitted range [{lo:g}, {hi:g}] s: extrapolating, "
                          "with a wider interval", stacklevel=2)
        items, single = split_archs(archs)
        lookup = self._lookup(chip, new_chip)
        values, outside = lookup.predict(items, t, k, level)  # [output, cell, time], [cell]
        if outside[0] if single else outside.any():
            self._warn_outside(items, outside, lookup)
        if single and scalar_t:
            out = dict(zip(OUTPUTS, values[:, 0, 0].tolist()))
        elif single:
            out = dict(zip(OUTPUTS, values[:, 0]))
        elif scalar_t:
            out = dict(zip(OUTPUTS, values[:, :, 0]))
        else:
            out = dict(zip(OUTPUTS, values))
        return Prediction(**out, t_inference=float(t[0]) if scalar_t else t, training=training, level=level,
                          t_ref=float(self.t_ref_),
                          in_domain=(np.False_ if outside[0] else np.True_) if single else ~outside)

    def _warn_outside(self, items, outside, lookup) -> None:
        """One warning for the cells of a call outside the fitted domain: how many, the domain, the first one's reason."""
        first = int(np.argmax(outside))
        reason = self.domain_.reason(lookup.form(items[first]))
        n, w = len(outside), _domain.WIDENING
        what = "the cell lies" if n == 1 else f"{int(outside.sum())} of {n} cells lie"
        which = ": " if n == 1 else f". The first (index {first}): "
        widened = (f"widened x{w:g}" if w > 1 else f"as the model gives {'it' if n == 1 else 'them'} (a wider one, "
                   "measured on other DAG cells, was not needed: BENCHMARKS.md, out-of-domain widening)")
        warnings.warn(f"{what} outside the fitted domain of {self.profile_.get('name')!r} ({self.domain_.describe()})"
                      f"{which}{reason}. {'Its interval is' if n == 1 else 'Their intervals are'} {widened}",
                      OutOfDomainWarning, stacklevel=user_stacklevel())

    def rank(self, archs, t_inference, training: str = "hwa", chip=None) -> np.ndarray:
        """Indices of ``archs``, best predicted accuracy first."""
        t, scalar = check_t_inference(t_inference)
        if not scalar and t.size != 1:
            raise ValueError("rank takes one t_inference; rank each time separately")
        acc = np.atleast_1d(self.predict(archs, float(t[0]), training=training, chip=chip).accuracy)
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

    @property
    def chip_(self) -> Chip:
        """The default chip: the profile's first of those the model was fitted on."""
        return self.chips_[0]

    def __sklearn_is_fitted__(self) -> bool:
        """Whether the model is fitted (or loaded): scikit-learn's protocol for asking it."""
        return "calibrator_" in self.__dict__

    def _check_fitted(self):
        if not self.__sklearn_is_fitted__():
            raise RuntimeError("this Surrogate is not fitted yet: call fit(ground_truth) or surrogate.load(...)")

    def _chip(self, chip):
        """The asked chip (``None``: the default), and whether it is new to the model. A single-chip
        model refuses any other chip; a chip-aware one warns."""
        own = self.chips_
        asked = own[0] if chip is None else get_chip(chip)
        if not self._new_chip(asked):
            return asked, False
        if not self.chip_aware_:
            raise ValueError(f"this model was fitted on chip {own[0].name!r} [{own[0].hash}] only and cannot "
                             f"predict chip {asked.name!r} [{asked.hash}]; fit a model on that chip's ground "
                             "truth, or a chip-aware model on several chips")
        warnings.warn(f"chip {asked.name!r} [{asked.hash}] is not one this model was fitted on "
                      f"({', '.join(c.name for c in own)}): extrapolating, with a wider interval", stacklevel=3)
        return asked, True

    def _new_chip(self, asked: Chip) -> bool:
        """Whether the model was not fitted on ``asked``: a chip is its settings, so a preset saved
        under another name is still the chip a chip-aware model was fitted on."""
        if asked in self.chips_:
            return False
        return not (self.chip_aware_ and any(c.features().tobytes() == asked.features().tobytes() for c in self.chips_))

    def __getattr__(self, name):
        # before 0.3 the calibrator's fitted tables were attributes of the model itself
        if name.endswith("_") and name[:-1] in CALIBRATOR_FIELDS and "calibrator_" in self.__dict__:
            warnings.warn(f"Surrogate.{name} is deprecated: read Surrogate.calibrator_.{name}", DeprecationWarning,
                          stacklevel=2)
            return getattr(self.calibrator_, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self):
        fitted = ""
        if self.__sklearn_is_fitted__():
            chips = ", ".join(c.name for c in self.chips_)
            fitted = f", fitted on {self.n_cells_} cells of {self.profile_.get('name')!r}, chips {chips}"
        return f"Surrogate(members={tuple(self.members)!r}, n_folds={self.n_folds}{fitted})"

    # ------------------------------------------------------------------ persistence
    def save(self, path, precompute=None) -> Path:
        """Write a directory: ``manifest.json``, GNN ``state_dict`` files, XGBoost UBJSON files, and
        ``cache.npz`` (plain arrays) of the member outputs for ``precompute`` cells (e.g. the NB-201
        space), so that a fresh process answers for them without loading torch. No pickle."""
        self._check_fitted()
        return persistence.save(self, path, precompute)

    @classmethod
    def load(cls, path) -> Surrogate:
        """Read a directory written by :meth:`save` (tensors only: ``torch.load(weights_only=True)``)."""
        return persistence.load(cls, path)


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
