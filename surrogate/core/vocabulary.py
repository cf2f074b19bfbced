"""The words every floor shares: the operations of a cell, the two trainings, and what a time since
programming may be."""

from __future__ import annotations

import numpy as np

__all__ = ["OPS", "TRAININGS", "check_training", "check_t_inference", "check_level"]

#: The operation vocabulary, in the order used by every encoding of this package.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

#: ``standard``: trained digitally, then converted and programmed on the chip;
#: ``hwa``: hardware-aware fine-tuned before programming.
TRAININGS: tuple[str, ...] = ("standard", "hwa")


def check_training(training: str) -> int:
    """The index of ``training`` in :data:`TRAININGS`; a ``ValueError`` naming both otherwise."""
    if not isinstance(training, str) or training not in TRAININGS:
        raise ValueError(
            f"unknown training {training!r}: training must be one of {list(TRAININGS)} (accepted: 'standard', "
            "trained digitally, then programmed; 'hwa', hardware-aware fine-tuned)"
        )
    return TRAININGS.index(training)


def check_level(level, name: str = "level") -> float:
    """The coverage of a central interval as a float in (0, 1); a ``ValueError`` naming ``name`` otherwise
    (a boolean is no level)."""
    if type(level) is float and 0 < level < 1:  # the common case, first
        return level
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.integer, np.floating)) \
            or not 0 < level < 1:
        raise ValueError(f"{name} must be in (0, 1): a number, the coverage of the [lower, upper] interval "
                         f"(e.g. 0.9); got {type(level).__name__} {level!r}")
    return float(level)


def check_t_inference(t_inference, *, zero_ok: bool = False, name: str = "t_inference"
                      ) -> tuple[np.ndarray, bool]:
    """Seconds since programming as a 1-D float array, and whether a single number was given.

    A measurement may be taken at ``t = 0``, the moment the weights are programmed, before any
    drift (``zero_ok=True``: profiles, stores, tables). A model reads time on a log scale, so it
    answers for ``t > 0`` only (the default).
    """
    if isinstance(t_inference, (float, int)) and not isinstance(t_inference, bool) \
            and (t_inference > 0 or zero_ok and t_inference == 0) and t_inference < float("inf"):  # one number
        return np.array([t_inference], dtype=float), True
    bound = ">= 0" if zero_ok else "> 0"
    wrong = ValueError(f"{name} must be finite seconds {bound} since programming (a number or a 1-D "
                       f"sequence of numbers; not a boolean or a string), got {type(t_inference).__name__} "
                       f"{t_inference!r}")
    items = np.ravel(np.asarray(t_inference, dtype=object))
    if any(isinstance(x, (bool, np.bool_, str, bytes)) for x in items):
        raise wrong
    try:
        t = np.asarray(t_inference, dtype=float)
    except (TypeError, ValueError):
        raise wrong from None
    scalar = t.ndim == 0
    t = np.atleast_1d(t)
    if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all() or (t < 0).any() or not (zero_ok or t.all()):
        raise wrong
    return t, scalar
