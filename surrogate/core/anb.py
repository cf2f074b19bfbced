"""AnalogNAS-Bench's names in this package's words, both ways, in one place.

A cell is a tuple of op indices there (:data:`ANB_OPS`, :data:`ANB_EDGES`). Upstream (IBM's
``analog-nasbench``) names each measurement of a cell by a field of its record and by the metric its
query interface takes: ``<prefix>_drift_<seconds>`` for a drifted accuracy, and a
few undrifted accuracies. :mod:`surrogate.data.analognasbench` reads the records with these names,
and :mod:`surrogate.nasbench` answers queries by them.
"""

from __future__ import annotations

import re

__all__ = ["ANB_OPS", "ANB_EDGES", "DRIFT_PREFIXES", "ACCURACY_FIELDS", "UNDRIFTED", "MEASURED_ONLY",
           "drift_fields", "parse_drift"]

#: AnalogNAS-Bench (NASLib) op indices: 0 skip, 1 none, 2 conv3x3, 3 conv1x1, 4 avgpool.
ANB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")

#: AnalogNAS-Bench (NASLib) edge order. It is *not* the order of the NB-201 string
#: (0-1, 0-2, 1-2, 0-3, 1-3, 2-3); mixing the two silently corrupts every label.
ANB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))

#: Prefix of a drift field -> training. ``noisy`` is upstream's current name of digitally trained
#: networks, ``baseline`` its older one (still in the 0.1.3 wheel); ``analog`` is HWA.
DRIFT_PREFIXES: dict[str, str] = {"analog": "hwa", "baseline": "standard", "noisy": "standard"}

#: Upstream's per-cell accuracies -> the extras columns of our table.
ACCURACY_FIELDS: dict[str, str] = {
    "baseline_accuracy": "digital",
    "ptq_accuracy": "ptq",
    "qat_accuracy": "qat",
    "noisy_accuracy": "standard_t0",
    "analog_accuracy": "hwa_t0",
}
#: The undrifted accuracies a surrogate answers (at its earliest time): field -> training.
UNDRIFTED: dict[str, str] = {"analog_accuracy": "hwa", "noisy_accuracy": "standard"}
#: The accuracies that only a table can answer: field -> extras column.
MEASURED_ONLY: dict[str, str] = {f: c for f, c in ACCURACY_FIELDS.items() if f not in UNDRIFTED}

_DRIFT = re.compile(rf"^({'|'.join(DRIFT_PREFIXES)})_drift_([0-9]+)$")


def drift_fields(training: str, seconds: int) -> tuple[str, ...]:
    """Every name upstream gives the accuracy of ``training`` after ``seconds`` of drift."""
    return tuple(f"{p}_drift_{seconds}" for p, tr in DRIFT_PREFIXES.items() if tr == training)


def parse_drift(name: str) -> tuple[str, int] | None:
    """``(training, seconds)`` of a drift field or metric name; ``None`` for any other name."""
    match = _DRIFT.match(name)
    return (DRIFT_PREFIXES[match.group(1)], int(match.group(2))) if match else None
