"""Which cells a validation round measures: seeded, stratified over the predicted accuracy, with
the predicted top of the candidates over-sampled (a search lives there, and that is where the
winner's curse biases a model upward)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["stratified_sample"]


def stratified_sample(scores, k: int, rng: np.random.Generator, top_fraction: float = 0.01,
                      top_share: float = 0.5) -> tuple[np.ndarray, np.ndarray, float]:
    """Pick ``k`` of the candidates whose predicted scores are ``scores``.

    ``round(top_share * k)`` picks are drawn uniformly from the predicted top ``top_fraction`` of
    the candidates (at least one cell); the rest are spread over the others: sorted by score, cut
    into as many equal-count strata as picks, one drawn uniformly from each.

    Returns ``(indices, is_top, threshold)``: the picked indices into ``scores`` (by descending
    score), whether each is in the predicted top, and the lowest score of the top.
    """
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the sample size must be a positive integer, got {k!r}")
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction!r}")
    if not 0 <= top_share <= 1:
        raise ValueError(f"top_share must be in [0, 1], got {top_share!r}")
    if n == 0:
        raise ValueError("no candidate cells to sample from")
    order = np.argsort(-scores, kind="stable")
    n_top = max(1, math.ceil(top_fraction * n))
    threshold = float(scores[order[n_top - 1]])
    if k >= n:
        picked = order
    else:
        k_top = min(n_top, int(round(top_share * k)))
        top = rng.choice(order[:n_top], size=k_top, replace=False)
        rest_pool = order[n_top:]
        k_rest = min(k - k_top, len(rest_pool))
        if k_rest < k - k_top:  # fewer others than picks: fill from the unpicked top
            spare = order[:n_top][~np.isin(order[:n_top], top)]
            top = np.concatenate([top, rng.choice(spare, size=k - k_top - k_rest, replace=False)])
        strata = np.array_split(rest_pool, k_rest) if k_rest else []
        rest = np.array([rng.choice(s) for s in strata], dtype=int)
        picked = np.concatenate([top, rest]).astype(int)
    picked = picked[np.argsort(-scores[picked], kind="stable")]
    is_top = np.isin(picked, order[:n_top])
    return picked, is_top, threshold
