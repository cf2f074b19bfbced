"""Predictors: a DAG GNN, XGBoost, and the `Surrogate` ensemble of both."""

from .ensemble import Surrogate
from .gnn import DagEncoder, DriftHead, GNNRegressor
from .prediction import Prediction
from .xgb import XGBRegressor

__all__ = ["Surrogate", "GNNRegressor", "XGBRegressor", "DagEncoder", "DriftHead", "Prediction"]
