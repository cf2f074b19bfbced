"""The learning problem every member shares: cells x trainings x times -> accuracy.

Members learn all times and both trainings together; this module turns a ground-truth
table into that tensor.
"""

from __future__ import annotations

import numpy as np

from ..core import TRAININGS


def targets(gt):
    """``(cells, times, Y)`` from a GroundTruth; ``Y[i, k, j]`` is the mean accuracy (percent,
    pooled over seeds) of cell ``i`` under training ``TRAININGS[k]`` at ``times[j]``, NaN if absent."""
    per = [gt.targets(training) for training in TRAININGS]
    return per[0].cells, np.asarray(per[0].times, dtype=float), np.stack([t.mean for t in per], axis=1)


def chip_targets(gt, chips):
    """``(cells, chip_of_row, times, Y)``: the rows of :func:`targets` for each chip in ``chips``
    stacked, a cell once per chip it was measured on (rows with no measurement are dropped)."""
    cells, chip_of_row, parts = [], [], []
    for chip in chips:
        part = gt.for_chip(chip)
        c, times, Y = targets(part)
        keep = np.isfinite(Y).any(axis=(1, 2))
        cells += [cell for cell, k in zip(c, keep) if k]
        chip_of_row += [chip] * int(keep.sum())
        parts.append((times, Y[keep]))
    grid = np.unique(np.concatenate([t for t, _ in parts]))
    Y = np.full((len(cells), len(TRAININGS), len(grid)), np.nan)
    start = 0
    for times, y in parts:
        Y[start:start + len(y), :, np.searchsorted(grid, times)] = y
        start += len(y)
    return cells, chip_of_row, grid, Y
