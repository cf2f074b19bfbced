"""The learning problem every member shares: cells x trainings x times -> accuracy.

Members learn all times and both trainings together; this module turns a ground-truth
table into that tensor and checks the arguments a user passes at prediction time.
"""

from __future__ import annotations

import numpy as np

TRAININGS: tuple[str, ...] = ("standard", "hwa")


def targets(gt):
    """``(cells, times, Y)`` from a GroundTruth; ``Y[i, k, j]`` is the mean accuracy (percent,
    pooled over seeds) of cell ``i`` under training ``TRAININGS[k]`` at ``times[j]``, NaN if absent."""
    per = [gt.targets(training) for training in TRAININGS]
    return per[0].cells, np.asarray(per[0].times, dtype=float), np.stack([t.mean for t in per], axis=1)


def check_times(t_inference) -> tuple[np.ndarray, bool]:
    """Validate times (seconds > 0, finite); returns a 1-D array and whether a scalar was given."""
    t = np.asarray(t_inference, dtype=float)
    scalar = t.ndim == 0
    t = np.atleast_1d(t)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t_inference must be a positive number or a 1-D sequence of them, got shape {t.shape}")
    if not np.isfinite(t).all() or (t <= 0).any():
        raise ValueError(
            f"t_inference must be finite seconds > 0 since programming, got {t_inference!r}"
        )
    return t, scalar


def check_training(training: str) -> int:
    if training not in TRAININGS:
        raise ValueError(
            f"training must be one of {TRAININGS} ('hwa': hardware-aware fine-tuned; 'standard': "
            f"trained digitally, then programmed), got {training!r}"
        )
    return TRAININGS.index(training)


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
