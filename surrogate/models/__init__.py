"""Predictors: a DAG GNN, XGBoost, and the `Surrogate` ensemble of both.

The members (and torch, torch-geometric, xgboost) load on first use: a saved model answers for
the cells in its cache with numpy alone.
"""

from importlib import import_module

from .domain import WIDENING, Domain, OutOfDomainWarning
from .ensemble import Surrogate
from .prediction import Prediction

__all__ = ["Surrogate", "GNNRegressor", "XGBRegressor", "DagEncoder", "DriftHead", "Prediction", "Domain",
           "OutOfDomainWarning", "WIDENING"]

_LAZY = {"GNNRegressor": "gnn", "DagEncoder": "gnn", "DriftHead": "gnn", "XGBRegressor": "xgb"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'surrogate.models' has no attribute {name!r}")
