"""Checks that a model is still calibrated: re-measure sampled cells, compare, say so.

- :class:`Validator`: one round: sample cells (stratified, the predicted top over-sampled, rounds of a
  series disjoint), measure them through an oracle that reproduces the model's profile, judge the
  calibration (:func:`judge`, robust to rare gross errors), write the rows and the round into the
  store, optionally refit. Cells the model was fitted or recalibrated on are left out
  (:func:`training_cells`); the report names the model by path and a hash of its files.
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
from .provenance import TrainingCellsWarning, cell_record, fitted_cells, model_identity, training_cells
from .report import ValidationReport, round_summary
from .sampling import scheduled_sample, stratified_sample
from .validator import MIN_CELLS, SEED_OFFSET, Validator, chip_name, clone
from .verdict import CLIP, LABELS, judge
from .wrappers import Perturbed, Recalibrated, unwrap

__all__ = [
    "CLIP", "CalibrationMonitor", "LABELS", "MIN_CELLS", "Measured", "Oracle", "Perturbed", "Recalibrated",
    "SEED_OFFSET", "SimulateOracle", "SyntheticOracle", "TableOracle", "TrainingCellsWarning",
    "ValidationReport", "Validator", "cell_record", "chip_name", "clone", "fitted_cells", "get_oracle",
    "judge", "model_identity", "round_summary", "scheduled_sample", "stratified_sample", "training_cells",
    "unwrap",
]
