"""A drop-in for AnalogNAS-Bench's query interface, answered by a surrogate model.

IBM's analog-nas repository ships NAS scripts (evolutionary, BANANAS-like, random search, brute
force) written against ``analognasbench.data.AnalogNASBench``::

    bench = AnalogNASBench()
    result = bench.query_metric(arch_tuple, "analog_drift_86400")   # a DriftMeasurement
    if isinstance(result, str) and result == "architecture not found": ...
    value = result.value

:class:`SurrogateBench` answers the same calls from a fitted :class:`~surrogate.Surrogate`, so those
scripts run unchanged but for the import line, at any drift time (``analog_drift_31536000`` is one
year) and for any cell the model accepts::

    from surrogate.nasbench import SurrogateBench as AnalogNASBench, DriftMeasurement

Conventions kept from upstream (``analognasbench/analognasbench/data.py``):

- ``query_metric(arch, metric)`` raises ``ValueError`` for a metric it does not know, and returns
  the string :data:`NOT_FOUND` (``"architecture not found"``) for an architecture it cannot read,
  such as a tuple holding op index 5 (their mutation draws it); their loops skip that string.
- Drift metrics return a :class:`DriftMeasurement` (``.value``, ``.uncertainty``, printed as
  ``"mean ± std"``); the undrifted accuracies return a ``float``.
- ``get_architecture_details`` returns a printable string, or ``"Architecture not found."``.

:class:`DriftMeasurement` here is also a ``float`` equal to its ``.value``. A script that still
imports upstream's ``DriftMeasurement`` (so its ``isinstance`` test fails) falls through to its
``isinstance(result, (int, float))`` branch and reads the same number.
"""

from __future__ import annotations

import itertools
import os
import warnings

import numpy as np

from .cells import ANB_OPS, Cell, as_cell
from .core import check_t_inference
from .core.anb import DRIFT_PREFIXES, MEASURED_ONLY, UNDRIFTED, parse_drift

__all__ = ["NOT_FOUND", "DriftMeasurement", "MetricNotPredicted", "SurrogateBench"]

#: What ``query_metric`` returns for an architecture it cannot read (upstream's convention).
NOT_FOUND = "architecture not found"
#: What ``get_architecture_details`` returns then (upstream's wording).
DETAILS_NOT_FOUND = "Architecture not found."

#: Metric prefix -> training of this package (:data:`surrogate.core.anb.DRIFT_PREFIXES`).
PREFIX_TRAINING = DRIFT_PREFIXES


class MetricNotPredicted(ValueError):
    """The metric is a valid AnalogNAS-Bench name, but the surrogate does not predict it."""


class DriftMeasurement(float):
    """A predicted accuracy (percent) with its uncertainty; a ``float`` equal to :attr:`value`.

    Args:
        value: the predicted mean accuracy.
        uncertainty: its standard deviation.

    Upstream's ``DriftMeasurement.uncertainty`` is the spread over 25 drift repetitions of one
    trained network; here it is the surrogate's predictive std (how far the measured mean may lie
    from the prediction), which is larger. ``std`` is the same number under this package's name.
    """

    __slots__ = ("_uncertainty",)

    def __new__(cls, value, uncertainty=0.0):
        self = super().__new__(cls, value)
        self._uncertainty = float(uncertainty)
        return self

    @property
    def value(self) -> float:
        """The mean, as a plain ``float``."""
        return float(self)

    @property
    def uncertainty(self) -> float:
        return self._uncertainty

    @property
    def std(self) -> float:
        """Same as :attr:`uncertainty`."""
        return self._uncertainty

    def __str__(self) -> str:
        return f"{self.value:.2f} ± {self._uncertainty:.2f}"

    def __repr__(self) -> str:
        return f"DriftMeasurement({self.value!r}, {self._uncertainty!r})"

    def __reduce__(self):
        return (DriftMeasurement, (self.value, self._uncertainty))


class SurrogateBench:
    """AnalogNAS-Bench's query interface, answered by a surrogate model.

    Args:
        model: a shipped model name (``"anb-cifar10"``), a directory written by
            ``Surrogate.save``, or a fitted :class:`~surrogate.Surrogate`.
        table: ``None`` (default), or a ground-truth table (a ``GroundTruth`` or a shipped data set
            name such as ``"anb-cifar10"``) of the model's profile. It answers the metrics no
            surrogate predicts, ``baseline_accuracy``, ``ptq_accuracy`` and ``qat_accuracy``, with
            the measured value for cells it holds (:data:`NOT_FOUND` for others). Without it those
            metrics raise :class:`MetricNotPredicted`: a search on them would only read the table.
        t_undrifted: seconds after programming at which ``analog_accuracy`` and
            ``noisy_accuracy`` are predicted; default the model's earliest fitted time (60 s for
            ``anb-cifar10``). Upstream measures these before any drift; in AnalogNAS-Bench they lie
            above the 60 s drift values by a median 2.1 points (analog) and 13.8 points (noisy), so
            the predictions of these two metrics sit below upstream's table by about that much.
        prefetch: on the first query of a metric for an NB-201 cell, predict all 15,625 NB-201
            cells at once (about a second) and answer from that array afterwards. Other cells, and
            every cell with ``prefetch=False``, are predicted one by one (a few ms) and cached.

    Metrics (``query_metric``):

    ========================================  ==========================================================
    ``analog_drift_<t>``                      ``model.predict(cell, t, training="hwa")``, any integer
                                              ``t`` > 0 in seconds -> :class:`DriftMeasurement`
    ``noisy_drift_<t>``, ``baseline_drift_<t>``  the same with ``training="standard"``
    ``analog_accuracy``, ``noisy_accuracy``   ``hwa`` / ``standard`` at ``t_undrifted`` -> ``float``
    ``baseline_accuracy``, ``ptq_accuracy``,  from ``table`` if given, else :class:`MetricNotPredicted`
    ``qat_accuracy``
    ``params``                                trainable parameters of the NB-201 macro network
                                              (C=16, N=5; :func:`surrogate.nb201.macro_cost`) -> ``int``
    ``architecture``                          the AnalogNAS-Bench tuple (NB-201 string for other cells)
    ========================================  ==========================================================

    An architecture is a ``Cell``, an NB-201 string or an AnalogNAS-Bench tuple (NASLib order,
    op indices 0-4); anything :func:`surrogate.as_cell` refuses gives :data:`NOT_FOUND`.
    Drift times outside the model's fitted range are extrapolated (the model warns once).
    """

    def __init__(self, model="anb-cifar10", table=None, t_undrifted: float | None = None,
                 prefetch: bool = True):
        from .api import load
        from .models import Surrogate

        self.model = model if isinstance(model, Surrogate) else load(model)
        if not self.model.__sklearn_is_fitted__():  # scikit-learn's protocol for "is it fitted?"
            raise RuntimeError("SurrogateBench answers from a fitted model: fit it first, or give a shipped "
                               "model name or a saved model's folder")
        self.model_name = str(model) if isinstance(model, (str, os.PathLike)) else "(given)"
        t, _ = check_t_inference(self.model.t_ref_ if t_undrifted is None else t_undrifted, name="t_undrifted")
        self.t_undrifted = float(t[0])
        self.prefetch = bool(prefetch)
        self.table = _load_table(table, self.model)
        times = [int(t) for t in self.model.times_]
        #: Metric names in the style of upstream's list; drift metrics take any integer time.
        self.metrics = (["architecture", *MEASURED_ONLY, *UNDRIFTED] + [f"noisy_drift_{t}" for t in times]
                        + [f"analog_drift_{t}" for t in times] + ["params"])
        # (training, time) -> cell -> answer: predicted once, whole NB-201 space or one cell at a time
        self._answers: dict[tuple[str, float], dict[Cell, DriftMeasurement]] = {}
        self._extras: dict[str, dict[str, float]] = {}

    # ------------------------------------------------------------------ upstream interface
    def query_metric(self, architecture, metric: str):
        """One metric of one architecture (see the class docstring for the metric names).

        Returns a :class:`DriftMeasurement` for drift metrics, a ``float`` for accuracies, an
        ``int`` for ``params``, or :data:`NOT_FOUND` for an architecture that cannot be read.
        Raises ``ValueError`` for an unknown metric name, :class:`MetricNotPredicted` for
        ``baseline/ptq/qat_accuracy`` without a ``table``.
        """
        kind, arg = self._parse_metric(metric)
        cell = _read_cell(architecture)
        if cell is None:
            return NOT_FOUND
        if kind == "drift":
            return self._drift(cell, *arg)
        if kind == "undrifted":
            return float(self._drift(cell, arg, self.t_undrifted))
        if kind == "measured":
            return self._measured(cell, arg)
        if kind == "params":
            from .nb201 import macro_cost

            return int(macro_cost([cell])[0][0])
        return cell.to_anb() if cell.is_nb201 else str(cell)  # "architecture": a "dag:" string, read back as given

    def list_available_architectures(self) -> list[tuple[int, ...]]:
        """The 15,625 NB-201 cells as AnalogNAS-Bench tuples (the keys of upstream's table), sorted.

        The surrogate answers for other cells too (any DAG cell over the same ops, as an NB-201
        string or a ``Cell``); they are not listed.
        """
        return list(itertools.product(range(len(ANB_OPS)), repeat=6))

    def get_architecture_details(self, architecture) -> str:
        """Every metric of one architecture as a printable block, or ``"Architecture not found."``.

        Predicts the one cell (no whole-space prefetch), reusing columns already prefetched.
        """
        cell = _read_cell(architecture)
        if cell is None:
            return DETAILS_NOT_FOUND
        times = [int(t) for t in self.model.times_]

        def measured(metric):
            if self.table is None:
                return "not predicted (pass table=... for measured values)"
            value = self.query_metric(cell, metric)
            return "not in the table" if value == NOT_FOUND else f"{value:.2f} (measured)"

        def drift(training, t):
            return self._drift(cell, training, float(t), whole_space=False)

        lines = [
            f"Architecture Details (predicted by surrogate model {self.model_name}):",
            "-" * 20,
            f"Architecture: \t\t{self.query_metric(cell, 'architecture')}",
            f"Number of parameters: \t{self.query_metric(cell, 'params'):,}",
            f"Baseline Accuracy: \t{measured('baseline_accuracy')}",
            f"PTQ Accuracy: \t\t{measured('ptq_accuracy')}",
            f"QAT Accuracy: \t\t{measured('qat_accuracy')}",
            f"Noisy Accuracy: \t{drift('standard', self.t_undrifted):.2f} (at {self.t_undrifted:g} s)",
            f"Analog Accuracy: \t{drift('hwa', self.t_undrifted):.2f} (at {self.t_undrifted:g} s)",
            "",
            "Noisy Drift:",
            *(f"- {t}s: \t{drift('standard', t)}" for t in times),
            "",
            "Analog Drift:",
            *(f"- {t}s: \t{drift('hwa', t)}" for t in times),
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        table = f", table={self.table.profile_name!r}" if self.table is not None else ""
        return f"SurrogateBench(model={self.model_name!r}{table})"

    # ------------------------------------------------------------------ internals
    def _parse_metric(self, metric):
        if isinstance(metric, str):
            drift = parse_drift(metric)
            if drift:
                training, t = drift
                if t <= 0:
                    raise ValueError(f"metric {metric!r}: the drift time must be a positive integer")
                return "drift", (training, float(t))
            if metric in UNDRIFTED:
                return "undrifted", UNDRIFTED[metric]
            if metric in MEASURED_ONLY:
                if self.table is None:
                    raise MetricNotPredicted(
                        f"metric {metric!r} is measured, not predicted: the surrogate predicts analog "
                        "accuracy after drift (analog_drift_<t>, noisy_drift_<t>, analog_accuracy, "
                        "noisy_accuracy). "
                        "Pass table='anb-cifar10' to answer it from AnalogNAS-Bench for the cells it holds."
                    )
                return "measured", MEASURED_ONLY[metric]
            if metric in ("params", "architecture"):
                return metric, None
        raise ValueError(
            f"Metric {metric} not found. Available metrics: {self.metrics} "
            "(drift metrics take any integer time in seconds, e.g. analog_drift_31536000)"
        )

    def _drift(self, cell: Cell, training: str, t: float, whole_space: bool | None = None):
        """The answer for one cell; an NB-201 cell not asked before predicts the whole NB-201 space
        at ``(training, t)`` when ``whole_space`` (default: ``prefetch``)."""
        answers = self._answers.setdefault((training, t), {})
        if cell not in answers:
            if (self.prefetch if whole_space is None else whole_space) and cell.is_nb201:
                from .nb201 import all_cells

                cells = all_cells()
                with warnings.catch_warnings():  # the space was not asked for: warned below for the cell that was
                    warnings.filterwarnings("ignore", message=".* outside the fitted domain of ")
                    p = self.model.predict(cells, t, training=training)
                for c, mean, std in zip(cells, np.asarray(p.accuracy, dtype=float), np.asarray(p.std, dtype=float)):
                    answers.setdefault(c, DriftMeasurement(mean, std))
                inside = getattr(p, "in_domain", None)
                if inside is not None and not inside[cells.index(cell)]:
                    self.model.predict(cell, t, training=training)  # the model's own warning, for this cell
            else:
                p = self.model.predict(cell, t, training=training)
                answers[cell] = DriftMeasurement(p.accuracy, p.std)
        return answers[cell]

    def _measured(self, cell: Cell, column: str):
        if column not in self._extras:
            frame = self.table.extras_frame()
            if column not in frame.columns:
                raise MetricNotPredicted(f"the table {self.table.profile_name!r} has no {column!r} column")
            self._extras[column] = frame.groupby("cell")[column].mean().to_dict()
        value = self._extras[column].get(cell.to_str())
        return NOT_FOUND if value is None or not np.isfinite(value) else float(value)


def _read_cell(architecture) -> Cell | None:
    """The cell, or ``None`` where upstream's table would have no entry."""
    try:
        return as_cell(architecture)
    except (ValueError, TypeError):
        return None


def _load_table(table, model):
    if table is None:
        return None
    from . import data

    if isinstance(table, (str, os.PathLike)):
        table = data.load(table)
    if not isinstance(table, data.GroundTruth):
        raise ValueError(f"table must be None, a GroundTruth or a data set name, got {type(table).__name__}")
    name = model.profile_.get("name")
    if table.profile_name != name:
        raise ValueError(f"the table is of profile {table.profile_name!r}, the model of {name!r}: their "
                         "values would not describe the same recipe")
    return table
