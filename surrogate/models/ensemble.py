"""`Surrogate`: an ensemble of GNNs and XGBoost models with a calibrated uncertainty.

Members are fitted by K-fold cross-fitting: the member of fold k never sees the cells of fold
k, so every training cell gets an out-of-fold (OOF) prediction. Those OOF predictions, and
nothing that saw their labels, set the mix of GNN and XGBoost, the noise level per
(training, time) and the interval width; they also give the cross-validated metrics stored
with the model. The K members of each kind are the ensemble used at prediction time.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..cells import Cell, as_cell
from ..encoding import FeatureSpec, collate
from ..metrics import score_table
from ._targets import TRAININGS, check_times, check_training, targets
from .gnn import GNNRegressor, pack
from .prediction import Prediction
from .xgb import XGBRegressor

__all__ = ["Surrogate"]

_KINDS = {"gnn": GNNRegressor, "xgb": XGBRegressor}
_LEVELS = np.round(np.arange(0.50, 0.995, 0.01), 2)  # levels whose interval factor is stored
FORMAT_VERSION = 1
_NOISE_BINS = 8
_PACK_MAX_CELLS = 256


class Surrogate:
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
            raise ValueError(f"members must be distinct names among {tuple(_KINDS)}, got {self.members!r}")
        if not isinstance(self.n_folds, int) or self.n_folds < 2:
            raise ValueError(f"n_folds must be an integer >= 2, got {self.n_folds!r}")
        return members

    def _new_member(self, kind, seed):
        params = dict((self.gnn_params if kind == "gnn" else self.xgb_params) or {})
        params["random_state"] = seed
        return _KINDS[kind](**params)

    def fit(self, ground_truth) -> "Surrogate":
        """Fit on a ``GroundTruth`` (one profile); returns ``self``."""
        from sklearn.model_selection import KFold
        from tqdm.auto import tqdm

        members = self._check_params()
        cells, times, Y = targets(ground_truth)
        if len(cells) < 2 * self.n_folds:
            raise ValueError(f"need at least {2 * self.n_folds} cells to fit with n_folds={self.n_folds}, "
                             f"got {len(cells)}")
        degenerate = np.array([c.is_degenerate for c in cells])
        self.profile_ = dict(ground_truth.profile)
        self.profile_hash_ = ground_truth.profile_hash
        self.ground_truth_hash_ = _hash_targets(cells, times, Y)
        self.times_ = times
        self.chance_ = _chance(self.profile_, Y[degenerate])
        self.n_cells_ = len(cells)

        folds = list(KFold(self.n_folds, shuffle=True, random_state=self.random_state).split(cells))
        oof = {m: np.full_like(Y, np.nan) for m in members}
        self.members_ = {m: [] for m in members}
        bar = tqdm(total=len(folds) * len(members), desc="fitting", unit="model", disable=not self.progress)
        for k, (train, held) in enumerate(folds):
            for m in members:
                bar.set_postfix_str(f"{m} fold {k + 1}/{len(folds)}")
                model = self._new_member(m, self.random_state + k)
                model.fit([cells[i] for i in train], times, Y[train])
                oof[m][held] = model.predict([cells[i] for i in held], times)
                self.members_[m].append(model)
                bar.update()
        bar.close()

        live = ~degenerate
        self.weights_ = _mix_weights({m: p[live] for m, p in oof.items()}, Y[live])
        combined = sum(self.weights_[m][None, :, None] * oof[m] for m in members)
        # error per (training, time) as a function of the predicted accuracy, from OOF residuals:
        # what a cell like the training cells, but unseen, is off by (label noise + model error)
        self.noise_at_, self.noise_ = _noise_table(combined[live], Y[live])
        noise = self._noise(combined, times)
        z = np.abs(Y - combined)[live] / noise[live]
        self.z_ = np.nanquantile(z, _LEVELS, axis=0)  # [levels, training, time]
        self.shapes_ = sorted({(s.num_nodes, len(s.edges)) for s in (c.simplified() for c in cells)})
        combined[degenerate] = self.chance_
        half = self._z(0.9) * noise
        half[degenerate] = 0.0
        self.metrics_ = {"cv": score_table(combined, Y, combined - half, combined + half, TRAININGS),
                         "n_cells": len(cells), "n_folds": self.n_folds}
        return self

    # ------------------------------------------------------------------ predict
    def _raw(self, cells, times, trainings=range(len(TRAININGS))):
        """Ensemble mean and disagreement variance, ``[n, len(trainings), nt]`` (no degenerate override)."""
        trainings = list(trainings)
        shape = (len(cells), len(trainings), len(times))
        means, vars_ = {}, {}
        for m, models in self.members_.items():
            if m == "gnn":
                batch = collate(cells)
                if len(cells) <= _PACK_MAX_CELLS:  # all members in one packed pass: little overhead
                    if getattr(self, "_packed", (None,))[0] is not models:
                        self._packed = (models, pack(models))
                    with torch.inference_mode():
                        x = torch.tensor(np.log10(times), dtype=torch.float32)
                        P = self._packed[1](batch, x)[:, :, trainings].numpy().astype(float) * 100.0
                else:  # on large batches the packed tensors cost more than a loop over members
                    P = np.stack([mod.predict(cells, times, batch=batch)[:, trainings] for mod in models])
            else:  # the members share one feature layout: build the rows once
                rows = models[0].design(cells, times, trainings)
                P = np.stack([mod.predict_rows(rows).reshape(shape) for mod in models])
            means[m], vars_[m] = P.mean(0), P.var(0)
        w = {m: self.weights_[m][trainings][None, :, None] for m in means}
        mean = sum(w[m] * means[m] for m in means)
        var = sum(w[m] * (vars_[m] + (means[m] - mean) ** 2) for m in means)
        return mean, var

    def _noise(self, mean: np.ndarray, times, trainings=range(len(TRAININGS))) -> np.ndarray:
        """Label-noise std for predicted accuracies ``mean`` (``[n, len(trainings), len(times)]``).

        Read off each fitted time's table at the predicted accuracy, then interpolated in log-time.
        """
        log_fit, log_t = np.log10(self.times_), np.log10(np.asarray(times, dtype=float))
        weight = np.stack([np.interp(log_t, log_fit, np.eye(len(log_fit))[j]) for j in range(len(log_fit))], 1)
        out = np.zeros_like(mean, dtype=float)
        for i, k in enumerate(trainings):
            for j in range(len(log_fit)):
                out[:, i] += weight[:, j] * np.interp(mean[:, i], self.noise_at_[k, j], self.noise_[k, j])
        return out

    def _z(self, level: float) -> np.ndarray:
        """Interval half-width in units of std, ``[training, fitted time]``, from the OOF residuals."""
        return np.array([[np.interp(level, _LEVELS, self.z_[:, k, j]) for j in range(self.z_.shape[2])]
                         for k in range(self.z_.shape[1])])

    def predict(self, archs, t_inference, training: str = "hwa", level: float = 0.9) -> Prediction:
        """Predicted accuracy after ``t_inference`` seconds of drift.

        Args:
            archs: one architecture or a sequence of them (``Cell``, NB-201 string, or
                AnalogNAS-Bench tuple).
            t_inference: seconds since programming, scalar or 1-D.
            training: ``"hwa"`` (hardware-aware fine-tuned) or ``"standard"``.
            level: coverage of the ``[lower, upper]`` interval.

        Returns:
            A :class:`Prediction` with arrays ``(len(archs), len(t))``, or floats for one
            architecture and a scalar time.
        """
        self._check_fitted()
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
        grid, where = np.unique(np.concatenate([[self.t_ref_], t]), return_inverse=True)
        mean, var = self._raw(cells, grid, [k])
        mean, var = mean[:, 0][:, where], var[:, 0][:, where]
        grid = grid[where]
        sigma = self._noise(mean[:, None], grid, [k])[:, 0]
        # the OOF error covers cells like the training cells; for a cell whose normal form has
        # more nodes than any training cell's, the members' disagreement is added on top (by the
        # normal form, so that equal networks drawn differently get the same interval)
        most = max(n for n, _ in self.shapes_)
        novel = np.array([c.simplified().num_nodes > most for c in cells])
        std = np.sqrt(sigma**2 + novel[:, None] * var) * (1 + 0.5 * np.concatenate([[0], outside]))
        z = np.interp(np.log10(grid), np.log10(self.times_), self._z(level)[k])
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

    def rank(self, archs, t_inference, training: str = "hwa") -> np.ndarray:
        """Indices of ``archs``, best predicted accuracy first."""
        t, scalar = check_times(t_inference)
        if not scalar and t.size != 1:
            raise ValueError("rank takes one t_inference; rank each time separately")
        cells, _ = _as_cells(archs)
        acc = np.atleast_1d(self.predict(cells, float(t[0]), training=training).accuracy)
        return np.argsort(-acc, kind="stable")

    def score(self, ground_truth, level: float = 0.9) -> dict:
        """Metrics against measured ground truth, per training, averaged over its times.

        Kendall tau, Spearman, MAE, precision@1 % and the coverage of the ``level`` interval,
        each computed per time and then averaged; ``per_time`` keeps the unaveraged values.
        """
        self._check_fitted()
        cells, times, Y = targets(ground_truth)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # times outside the fitted range are fine here
            preds = [self.predict(cells, times, training=t, level=level) for t in TRAININGS]
        f = {name: np.stack([getattr(p, name) for p in preds], axis=1) for name in ("accuracy", "lower", "upper")}
        return score_table(f["accuracy"], Y, f["lower"], f["upper"], TRAININGS, times)

    @property
    def t_ref_(self) -> float:
        """The reference time of ``degradation``: the earliest fitted time (60 s for AnalogNAS-Bench)."""
        return float(self.times_[0])

    def _check_fitted(self):
        if not hasattr(self, "members_"):
            raise RuntimeError("this Surrogate is not fitted yet: call fit(ground_truth) or surrogate.load(...)")

    def __repr__(self):
        fitted = f", fitted on {self.n_cells_} cells of {self.profile_.get('name')!r}" if hasattr(self, "members_") else ""
        return f"Surrogate(members={tuple(self.members)!r}, n_folds={self.n_folds}{fitted})"

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Write a directory: ``manifest.json``, GNN ``state_dict`` files, XGBoost UBJSON files. No pickle."""
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
            "profile": self.profile_, "profile_hash": self.profile_hash_, "ground_truth_hash": self.ground_truth_hash_,
            "feature_spec": FeatureSpec().to_dict(), "n_cells": self.n_cells_, "times": self.times_.tolist(),
            "chance": self.chance_, "weights": {m: w.tolist() for m, w in self.weights_.items()},
            "noise_at": self.noise_at_.tolist(), "noise": self.noise_.tolist(), "shapes": self.shapes_,
            "levels": _LEVELS.tolist(), "z": self.z_.tolist(),
            "metrics": self.metrics_, "members": files,
        }
        (path / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return path

    @classmethod
    def load(cls, path) -> "Surrogate":
        """Read a directory written by :meth:`save` (tensors only: ``torch.load(weights_only=True)``)."""
        path = Path(path)
        if not (path / "manifest.json").is_file():
            raise FileNotFoundError(f"no saved model at {path} (expected {path / 'manifest.json'})")
        manifest = json.loads((path / "manifest.json").read_text())
        if manifest.get("format") != "surrogate-model" or manifest.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"{path} is not a surrogate model of format version <= {FORMAT_VERSION}")
        if manifest["feature_spec"] != FeatureSpec().to_dict():
            raise ValueError(f"{path} was saved with another feature layout: {manifest['feature_spec']}")
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
        model.noise_at_ = np.asarray(manifest["noise_at"])
        model.noise_ = np.asarray(manifest["noise"])
        model.shapes_ = [tuple(x) for x in manifest["shapes"]]
        model.z_ = np.asarray(manifest["z"])
        model.metrics_ = manifest["metrics"]
        model.members_ = {}
        for m, entries in manifest["members"].items():
            if m == "gnn":
                model.members_[m] = [
                    GNNRegressor.from_state(e["params"], e["knots"], torch.load(path / e["file"], weights_only=True))
                    for e in entries]
            else:
                model.members_[m] = [XGBRegressor.from_booster(e["params"], path / e["file"]) for e in entries]
        return model


# ---------------------------------------------------------------------- helpers
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


def _noise_table(pred, Y, bins: int = _NOISE_BINS):
    """Per (training, time), the RMS out-of-fold error in quantile bins of the predicted accuracy.

    Returns ``(at, noise)``, each ``[training, time, bins]``: the bin's median prediction and its
    RMS residual. Columns without labels borrow the mean table of the others.
    """
    n_k, n_t = Y.shape[1:]
    at = np.full((n_k, n_t, bins), np.nan)
    noise = np.full((n_k, n_t, bins), np.nan)
    for k in range(n_k):
        for j in range(n_t):
            ok = np.isfinite(Y[:, k, j])
            if ok.sum() < 2:
                continue
            p, r2 = pred[ok, k, j], (Y[ok, k, j] - pred[ok, k, j]) ** 2
            groups = np.array_split(np.argsort(p, kind="stable"), min(bins, ok.sum() // 2))
            groups += [groups[-1]] * (bins - len(groups))
            for b, g in enumerate(groups):
                at[k, j, b] = np.median(p[g])
                noise[k, j, b] = np.sqrt(r2[g].mean())
    missing = np.isnan(at).any(axis=2)
    if missing.all():
        raise ValueError("no (training, time) column has labels to calibrate the noise on")
    at[missing] = np.nanmean(at[~missing], axis=0)
    noise[missing] = np.nanmean(noise[~missing], axis=0)
    return at, noise


def _chance(profile: dict, degenerate_targets: np.ndarray) -> float:
    """Accuracy of a network that cannot see its input: 100 / classes, or what degenerate cells scored."""
    if "num_classes" in profile:
        return 100.0 / float(profile["num_classes"])
    if np.isfinite(degenerate_targets).any():
        return float(np.nanmedian(degenerate_targets))
    raise ValueError("the profile names no num_classes and no degenerate cell was measured: chance level unknown")


def _mix_weights(oof: dict, Y: np.ndarray) -> dict:
    """Per training, the convex weights of the member kinds that minimise OOF squared error.

    One weight per training, shared by all times, so the mix of monotone members stays monotone.
    """
    kinds = list(oof)
    if len(kinds) == 1:
        return {kinds[0]: np.ones(Y.shape[1])}
    grid = np.linspace(0, 1, 21)
    w = np.zeros(Y.shape[1])
    for k in range(Y.shape[1]):
        errs = [np.nanmean((g * oof[kinds[0]][:, k] + (1 - g) * oof[kinds[1]][:, k] - Y[:, k]) ** 2) for g in grid]
        w[k] = grid[int(np.nanargmin(errs))]
    return {kinds[0]: w, kinds[1]: 1 - w}


def _hash_targets(cells, times, Y) -> str:
    h = hashlib.sha256()
    h.update("\n".join(c.to_str() for c in cells).encode())
    h.update(np.asarray(times, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(Y, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]
