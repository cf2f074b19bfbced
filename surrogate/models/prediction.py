"""The value a prediction returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """Predicted accuracy in percent, shape ``(n_cells, n_times)``, or floats for one cell at one time.

    Attributes:
        accuracy: predicted mean accuracy.
        std: its standard deviation (label noise plus ensemble disagreement).
        lower, upper: the central ``level`` interval.
        degradation: predicted loss since the profile's reference time (``t_ref``); >= 0.
        in_domain: per cell, whether it lies inside the domain the model was fitted on
            (:class:`~surrogate.models.domain.Domain`; outside, the interval is widened): a boolean
            array ``(n_cells,)``, or a numpy bool for one cell. ``None`` where not known.
    """

    accuracy: np.ndarray | float
    std: np.ndarray | float
    lower: np.ndarray | float
    upper: np.ndarray | float
    degradation: np.ndarray | float
    t_inference: np.ndarray | float
    training: str
    level: float
    t_ref: float
    in_domain: np.ndarray | np.bool_ | None = None

    def to_frame(self, cells=None):
        """A long pandas DataFrame, one row per (cell, time)."""
        import pandas as pd

        acc = np.atleast_2d(self.accuracy)
        n, nt = acc.shape
        t = np.broadcast_to(np.atleast_1d(self.t_inference), (n, nt))
        frame = pd.DataFrame({k: np.broadcast_to(np.atleast_2d(getattr(self, k)), (n, nt)).ravel()
                              for k in ("accuracy", "std", "lower", "upper", "degradation")})
        frame.insert(0, "t_inference", t.ravel())
        frame.insert(0, "cell", np.repeat([c.to_str() for c in cells] if cells is not None else np.arange(n), nt))
        frame["training"] = self.training
        if self.in_domain is not None:
            frame["in_domain"] = np.repeat(np.broadcast_to(np.atleast_1d(self.in_domain), (n,)), nt)
        return frame
