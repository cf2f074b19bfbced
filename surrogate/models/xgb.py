"""Gradient-boosted trees on cell (and chip) features, with log-time and training as inputs.

One booster learns every (training, time) column: rows are (cell, training, time) and the
log-time feature carries a decreasing monotone constraint, so predictions never rise with
drift time and any time can be asked.
"""

from __future__ import annotations

import numpy as np

from ..core import TRAININGS
from ..encoding import FeatureSpec, features, graph_features
from ._params import ParamsMixin

__all__ = ["XGBRegressor"]


class XGBRegressor(ParamsMixin):
    """XGBoost on :func:`~surrogate.encoding.features` + chip features + ``[log10 t, training]``.

    Chip features (:meth:`~surrogate.chips.Chip.features`, one row per cell) are given to ``fit``
    or not at all; a model fitted with them needs them at prediction time.

    Args:
        features: ``"all"`` (:class:`~surrogate.encoding.FeatureSpec`'s full layout), ``"graph"`` (that
            and :func:`~surrogate.encoding.graph_features`) or ``"onehot"``, the one-hot edge block alone
            (the classic baseline).
    """

    def __init__(self, n_estimators: int = 150, max_depth: int = 4, learning_rate: float = 0.12,
                 subsample: float = 0.8, colsample_bytree: float = 0.5, min_child_weight: float = 2.0,
                 reg_lambda: float = 1.0, features: str = "graph", random_state: int = 0, n_jobs: int | None = None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.features = features
        self.random_state = random_state
        self.n_jobs = n_jobs

    def design(self, cells, times, trainings=range(len(TRAININGS)), chips=None) -> np.ndarray:
        """Input rows ordered (cell, training, time): cell features, chip features (``chips``:
        ``[n_cells, d]`` or ``None``), ``log10 t``, training index.

        Every member of an ensemble shares this layout, so the rows can be built once for all.
        """
        spec = FeatureSpec()
        X = features(list(cells), spec)
        if self.features == "onehot":
            X = X[:, : len(spec.pairs) * 5]
        elif self.features == "graph":
            X = np.column_stack([X, graph_features(list(cells))])
        elif self.features != "all":
            raise ValueError(f"features must be 'all', 'graph' or 'onehot', got {self.features!r}")
        if chips is not None:
            X = np.column_stack([X, np.asarray(chips, dtype=np.float32).reshape(len(X), -1)])
        trainings = list(trainings)
        lt = np.log10(np.asarray(times, dtype=np.float32))
        n, nk, nt = len(X), len(trainings), len(lt)
        tr = np.tile(np.repeat(np.asarray(trainings, dtype=np.float32), nt), n)
        return np.column_stack([np.repeat(X, nk * nt, axis=0), np.tile(lt, n * nk), tr])

    def fit(self, cells, times, Y, chips=None):
        """``Y``: ``[n_cells, 2, n_times]`` accuracy in percent, NaN where unmeasured; ``chips``:
        ``[n_cells, d]`` features of the chip each row was measured on, or ``None``."""
        import xgboost as xgb

        rows = self.design(cells, times, chips=chips)
        y = np.asarray(Y, dtype=np.float32).reshape(-1)
        keep = ~np.isnan(y)
        monotone = "(" + ",".join(["0"] * (rows.shape[1] - 2) + ["-1", "0"]) + ")"
        params = {
            "objective": "reg:squarederror", "tree_method": "hist", "max_depth": self.max_depth,
            "eta": self.learning_rate, "subsample": self.subsample, "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight, "lambda": self.reg_lambda, "seed": self.random_state,
            "monotone_constraints": monotone, "nthread": self.n_jobs or 0,
        }
        dtrain = xgb.DMatrix(rows[keep], label=y[keep])
        self.booster_ = xgb.train(params, dtrain, num_boost_round=self.n_estimators)
        return self

    def predict(self, cells, times, trainings=range(len(TRAININGS)), chips=None) -> np.ndarray:
        """Accuracy in percent, ``[n_cells, len(trainings), n_times]``."""
        cells, trainings = list(cells), list(trainings)
        rows = self.design(cells, times, trainings, chips)
        return self.predict_rows(rows).reshape(len(cells), len(trainings), -1)

    def predict_rows(self, rows: np.ndarray) -> np.ndarray:
        """Predictions for rows built by :meth:`design`, so several members can share them; trees can
        add leaves past 100 %, so the output is clipped to [0, 100]."""
        # a thread pool costs more than it saves on the few rows of a single query
        threads = 1 if len(rows) < 2048 else self.n_jobs or 0
        if getattr(self, "_threads", None) != threads:
            self.booster_.set_param({"nthread": threads})
            self._threads = threads
        return np.clip(np.asarray(self.booster_.inplace_predict(rows, validate_features=False), dtype=float), 0, 100)

    # persistence: XGBoost's own UBJSON format
    def save_booster(self, path) -> None:
        self.booster_.save_model(str(path))

    @classmethod
    def from_booster(cls, params: dict, path) -> "XGBRegressor":
        import xgboost as xgb

        model = cls(**params)
        model.booster_ = xgb.Booster()
        model.booster_.load_model(str(path))
        return model
