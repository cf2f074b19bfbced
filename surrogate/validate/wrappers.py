"""Models wrapped to change their uncertainty: shifted or scaled on purpose (:class:`Perturbed`,
to check that the validator notices), or recalibrated online (:class:`Recalibrated`, adaptive
conformal inference on the interval width).

A wrapper answers ``predict`` and ``rank`` like the model and passes every other attribute
(``profile_``, ``times_``...) through to it, so the validator and a search take it as a model.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np

from .. import calibration as cal
from ..core import TRAININGS, check_training

__all__ = ["Perturbed", "Recalibrated", "unwrap"]


class _Wrapper:
    def __init__(self, model):
        self.model = model

    def __getattr__(self, name):  # only called for attributes the wrapper lacks
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def rank(self, archs, t_inference, training: str = "hwa") -> np.ndarray:
        """Indices of ``archs``, best predicted accuracy first."""
        acc = np.atleast_1d(self.predict(archs, t_inference, training=training).accuracy)
        if acc.ndim != 1:
            raise ValueError("rank takes one t_inference; rank each time separately")
        return np.argsort(-acc, kind="stable")


def unwrap(model):
    """The model under any number of wrappers."""
    while isinstance(model, _Wrapper):
        model = model.model
    return model


def _like(value, template):
    return float(value) if isinstance(template, float) else value


class Perturbed(_Wrapper):
    """``model`` with every predicted accuracy moved by ``shift`` points and every std and
    interval half-width multiplied by ``scale`` (the interval moves with the mean)."""

    def __init__(self, model, shift: float = 0.0, scale: float = 1.0):
        super().__init__(model)
        if not np.isfinite(shift) or not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"shift must be finite and scale finite and > 0, got {shift!r}, {scale!r}")
        self.shift = float(shift)
        self.scale = float(scale)

    def predict(self, archs, t_inference, training: str = "hwa", level: float = 0.9):
        p = self.model.predict(archs, t_inference, training=training, level=level)
        acc = np.asarray(p.accuracy) + self.shift
        lower = acc - self.scale * (np.asarray(p.accuracy) - np.asarray(p.lower))
        upper = acc + self.scale * (np.asarray(p.upper) - np.asarray(p.accuracy))
        std = np.asarray(p.std) * self.scale
        return dataclasses.replace(p, accuracy=_like(acc, p.accuracy), std=_like(std, p.std),
                                   lower=_like(lower, p.lower), upper=_like(upper, p.upper))

    def __repr__(self):
        return f"Perturbed({self.model!r}, shift={self.shift:g}, scale={self.scale:g})"


class Recalibrated(_Wrapper):
    """``model`` whose interval width is steered online by adaptive conformal inference (ACI).

    One miscoverage level ``alpha`` per (training, fitted time), starting at ``1 - level``; after
    each batch of measurements, :meth:`update` moves it by ``gamma * (1 - level - miss)`` per point
    (:func:`surrogate.calibration.aci_step`), and predictions widen (or narrow) the model's interval
    and std by :func:`surrogate.calibration.aci_scale` of it, read at the nearest fitted time in
    log-time. Only the width changes: the mean and the ranking stay the model's. The multiplier
    tracks the ``level`` interval and is applied as is to intervals of other levels.

    Args:
        model: a fitted model (``times_`` are its fitted times).
        level: the coverage to hold.
        gamma: step per measured point.
        max_scale: the widest multiplier (reached when ``alpha`` falls to 0).
    """

    def __init__(self, model, level: float = 0.9, gamma: float = 0.02, max_scale: float = 10.0):
        super().__init__(model)
        cal.gaussian_factor(level)  # checks the level
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma!r}")
        self.level = float(level)
        self.gamma = float(gamma)
        self.max_scale = float(max_scale)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the model's own intervals."""
        self.alpha_ = np.full((len(TRAININGS), len(self.model.times_)), 1.0 - self.level)
        self.n_updates_ = 0

    def width_scale(self, training: str, t_inference) -> np.ndarray:
        """The width multiplier now in force for ``training`` at each of ``t_inference``."""
        k = check_training(training)
        col = self._columns(np.atleast_1d(np.asarray(t_inference, dtype=float)))
        return cal.aci_scale(self.alpha_[k, col], 1.0 - self.level, self.max_scale)

    def _columns(self, t) -> np.ndarray:
        fitted = np.log10(np.asarray(self.model.times_, dtype=float))
        return np.abs(np.log10(t)[:, None] - fitted[None, :]).argmin(axis=1)

    def predict(self, archs, t_inference, training: str = "hwa", level: float = 0.9):
        p = self.model.predict(archs, t_inference, training=training, level=level)
        s = self.width_scale(training, t_inference)
        s = s[0] if np.ndim(t_inference) == 0 else s
        lower, upper = cal.scale_interval(p.accuracy, p.lower, p.upper, s)
        return dataclasses.replace(p, std=_like(np.asarray(p.std) * s, p.std), lower=_like(lower, p.lower),
                                   upper=_like(upper, p.upper))

    def update(self, pred, lower, upper, y, times) -> np.ndarray:
        """Steer ``alpha`` with measurements ``[cells, trainings, times]`` of the model's *own*
        intervals ``lower``/``upper``; NaN ``y`` is skipped. Returns each point's miss (0/1, NaN)
        for the intervals that were served, i.e. widened by the multiplier in force."""
        pred, lower, upper, y = (np.asarray(a, dtype=float) for a in (pred, lower, upper, y))
        with self._lock:
            alpha = self.alpha_.copy()
            col = self._columns(np.asarray(times, dtype=float))
            s = cal.aci_scale(alpha[:, col], 1.0 - self.level, self.max_scale)[None]
            lo, hi = cal.scale_interval(pred, lower, upper, s)
            miss = np.where(np.isfinite(y), ((y < lo) | (y > hi)).astype(float), np.nan)
            for j, c in enumerate(col):
                alpha[:, c] = cal.aci_step(alpha[:, c], miss[:, :, j], 1.0 - self.level, self.gamma)
            self.alpha_ = alpha  # one reference swap: concurrent predictions see old or new, never half
            self.n_updates_ += 1
        return miss

    def __repr__(self):
        return f"Recalibrated({self.model!r}, level={self.level:g}, gamma={self.gamma:g})"
