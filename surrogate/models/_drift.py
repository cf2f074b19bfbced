"""The drift head's curve in numpy: what a cached cell costs at query time, with no torch loaded."""

from __future__ import annotations

import numpy as np


def drift_curve(coefficients: np.ndarray, knots: np.ndarray, x: np.ndarray) -> np.ndarray:
    """:class:`~surrogate.models.gnn.DriftHead`'s output from its cached coefficients.

    ``coefficients`` ``[..., 1 + K]``: the logit at the reference time, then the ``K`` non-negative
    slopes per knot segment; ``x`` ``[T]``: log10-times. Returns ``[..., T]`` accuracy fractions.
    The same formula as ``DriftHead.forward`` (a test holds them equal).
    """
    width = np.append(np.diff(knots), np.inf)
    basis = np.minimum(np.maximum(np.asarray(x, dtype=float)[:, None] - knots[None, :], 0.0), width[None, :])
    logit = coefficients[..., :1] - coefficients[..., 1:] @ basis.T
    return 1.0 / (1.0 + np.exp(-logit))
