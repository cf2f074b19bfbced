"""Checks that a model is still calibrated: re-measure sampled cells, compare, say so.

- :class:`Validator`: one round: sample cells (stratified, the predicted top over-sampled), measure
  them through an oracle that reproduces the model's profile, judge the calibration
  (:func:`judge`), write the rows and the round into the store, optionally refit.
- Oracles: :class:`TableOracle` (a ground-truth table that holds the profile),
  :class:`SimulateOracle` (re-simulation), :class:`SyntheticOracle` (draws from a model's own
  predictive distribution, for measuring the tests).
- :class:`CalibrationMonitor`: wraps a model inside a search loop, runs rounds in a background
  thread every N predictions or seconds, exposes the latest verdict and ``trusted()``, and keeps the
  intervals honest between refits (:class:`Recalibrated`, adaptive conformal inference).
- :class:`Perturbed`: a model shifted or with scaled intervals, on purpose.

The arithmetic (z-scores, coverage, tests, the conformal update) is in :mod:`surrogate.calibration`.
"""

from .monitor import CalibrationMonitor
from .oracles import Measured, Oracle, SimulateOracle, SyntheticOracle, TableOracle, get_oracle
from .report import ValidationReport, round_summary
from .sampling import stratified_sample
from .validator import SEED_OFFSET, Validator, chip_name, clone, training_cells
from .verdict import LABELS, judge
from .wrappers import Perturbed, Recalibrated, unwrap

__all__ = [
    "CalibrationMonitor", "LABELS", "Measured", "Oracle", "Perturbed", "Recalibrated", "SEED_OFFSET",
    "SimulateOracle", "SyntheticOracle", "TableOracle", "ValidationReport", "Validator", "chip_name", "clone",
    "get_oracle", "judge", "round_summary", "stratified_sample", "training_cells", "unwrap",
]
