"""Which cells a validation round measures: seeded, stratified over the predicted accuracy, with
the predicted top of the candidates over-sampled (a search lives there, and that is where the
winner's curse biases a model upward)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["stratified_sample", "scheduled_sample"]


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
    _check(k, top_fraction, top_share, n)
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


def _check(k, top_fraction: float, top_share: float, n: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the sample size must be a positive integer, got {k!r}")
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction!r}")
    if not 0 <= top_share <= 1:
        raise ValueError(f"top_share must be in [0, 1], got {top_share!r}")
    if n == 0:
        raise ValueError("no candidate cells to sample from")


def _stream(cells: np.ndarray, series: int, stratum: int):
    """The cells of one stratum, pass after pass, each pass a new seeded permutation: ``(cell, pass)``."""
    p = 0
    while True:
        rng = np.random.default_rng([int(series), int(stratum), p])
        for i in rng.permutation(len(cells)):
            yield int(cells[i]), p
        p += 1


def _take(cells, quota, start, series, stratum, measured, chosen):
    """``quota`` cells of a stratum for round ``start // quota``: the stream read from ``start``,
    cells measured before (``measured``) or already chosen skipped while fresh ones remain."""
    before = measured
    fresh = [c for c in cells if c not in measured]
    out, reused = [], 0
    if not fresh:
        measured = set()  # every cell was measured: read the stream as it comes
    for cell, p in _stream(np.asarray(cells), series, stratum):
        if start > 0:  # the cells of the rounds before this one in the series
            start -= 1
            continue
        if cell in chosen or cell in out or (cell in measured and len(fresh) > len(out)):
            continue
        out.append(cell)
        reused += p > 0 or cell in before
        if len(out) == min(quota, len(cells)):
            return out, reused


def scheduled_sample(scores, k: int, round_index: int = 0, series: int = 0, *, measured=(),
                     top_fraction: float = 0.01, top_share: float = 0.5):
    """Like :func:`stratified_sample`, but rounds of one series take disjoint cells.

    The strata are those of :func:`stratified_sample` (the predicted top ``top_fraction`` gets
    ``round(top_share * k)`` picks, the rest one pick per equal-count stratum). Within a stratum the
    cells come in a permutation seeded by ``(series, stratum)``; round ``r`` reads it from position
    ``r * picks``, so rounds 0, 1, 2... of a series never re-measure a cell until the stratum is
    exhausted, when a new pass (a new permutation) starts. Indices in ``measured`` (cells an earlier
    round already measured, e.g. the store's history) are passed over while the stratum still holds
    others.

    Returns ``(indices, is_top, threshold, info)``; ``info`` counts the pool, the top, and the cells
    re-measured (``reused``: the stratum had no fresh cell left), and says ``exhausted``.
    """
    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    if isinstance(round_index, bool) or not isinstance(round_index, (int, np.integer)) or round_index < 0:
        raise ValueError(f"round_index must be a non-negative integer, got {round_index!r}")
    _check(k, top_fraction, top_share, n)
    measured = {int(i) for i in measured}
    order = np.argsort(-scores, kind="stable")
    n_top = max(1, math.ceil(top_fraction * n))
    threshold = float(scores[order[n_top - 1]])
    info = {"pool": n, "top_pool": n_top, "fresh_before": n - len(measured & set(range(n)))}
    if k >= n:
        picked, reused = order, len(measured & set(range(n)))
    else:
        top_cells, rest_pool = order[:n_top], order[n_top:]
        k_top = min(n_top, int(round(top_share * k)))
        k_rest = min(k - k_top, len(rest_pool))
        k_top = k - k_rest  # fewer others than picks: the top makes up the difference
        chosen: list[int] = []
        reused = 0
        if k_top:
            got, r = _take(list(top_cells), k_top, round_index * k_top, series, 0, measured, set())
            chosen += got
            reused += r
        for s, stratum in enumerate(np.array_split(rest_pool, k_rest) if k_rest else []):
            got, r = _take(list(stratum), 1, round_index, series, s + 1, measured, set(chosen))
            chosen += got
            reused += r
        picked = np.array(chosen, dtype=int)
    picked = picked[np.argsort(-scores[picked], kind="stable")]
    is_top = np.isin(picked, order[:n_top])
    info.update(reused=int(reused), exhausted=bool(reused))
    return picked, is_top, threshold, info
