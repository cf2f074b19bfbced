"""Cross-fitting: K members of each kind, the member of fold k never seeing the cells of fold k.

Every training cell thus gets an out-of-fold (OOF) prediction, which is what the calibration
(:class:`~surrogate.models.calibrator.Calibrator`) learns from, and the K members of each kind are
the ensemble used at prediction time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["folds", "networks", "twins_in_other_folds", "cross_fit", "out_of_fold"]


def folds(cells: Sequence, n_folds: int, random_state: int, by: str = "network") -> np.ndarray:
    """The fold of each row, drawn over distinct cells (``by="cell"``: a cell's rows, one per chip,
    share one) or over distinct networks (``by="network"``: twins, cells with one normal form, share
    one too). Only the second makes an OOF prediction that of a network the member never saw, which
    is what a search asks about; with twins split over folds the calibration learns the error of
    networks already seen, and its intervals are too narrow on new ones."""
    from sklearn.model_selection import KFold

    if by not in ("network", "cell"):
        raise ValueError(f"folds are drawn by 'network' or 'cell', got {by!r}")
    key = (lambda c: c.simplified()) if by == "network" else (lambda c: c)
    keys = [key(c) for c in cells]
    unique = list(dict.fromkeys(keys))
    index = {c: i for i, c in enumerate(unique)}
    fold_of = np.empty(len(unique), dtype=int)
    for k, (_, held) in enumerate(KFold(n_folds, shuffle=True, random_state=random_state).split(unique)):
        fold_of[held] = k
    return fold_of[[index[c] for c in keys]]


def networks(cells: Sequence, chips=None) -> tuple[np.ndarray, np.ndarray]:
    """``(group, first)``: the network of each row (one per normal form and chip row) and the first
    row of each network, for fitting members on one row per network."""
    keys = [(c.simplified(), None if chips is None else chips[i].tobytes()) for i, c in enumerate(cells)]
    index: dict = {}
    group = np.array([index.setdefault(k, len(index)) for k in keys], dtype=int)
    first = np.unique(group, return_index=True)[1]
    return group, first


def twins_in_other_folds(cells: Sequence, fold_of: np.ndarray) -> np.ndarray:
    """Per row, how many twins of its cell (same normal form) sit in other folds: the cells of its network
    that the member predicting it out of fold saw (0: its error is a new network's). With folds over
    networks every row has none."""
    count: dict = {}
    for c, f in zip(cells, fold_of):
        key = c.simplified()
        count[key, int(f)] = count.get((key, int(f)), 0) + 1
        count[key] = count.get(key, 0) + 1
    return np.array([count[c.simplified()] - count[c.simplified(), int(f)] for c, f in zip(cells, fold_of)])


def cross_fit(new_member: Callable, kinds: Sequence[str], cells, chips, times, Y, fold_of,
              progress: bool = False) -> tuple[dict, dict]:
    """``(members, oof)``: per kind, the member of each fold (``new_member(kind, fold)`` unfitted),
    and the OOF predictions, shaped like ``Y`` ``[rows, training, time]``.

    ``chips`` holds the chip features of each row, or ``None`` for a single-chip fit.
    """
    from tqdm.auto import tqdm

    n_folds = int(fold_of.max()) + 1
    members = {m: [] for m in kinds}
    oof = {m: np.full_like(Y, np.nan) for m in kinds}
    bar = tqdm(total=n_folds * len(kinds), desc="fitting", unit="model", disable=not progress)
    for k in range(n_folds):
        train, held = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
        for m in kinds:
            bar.set_postfix_str(f"{m} fold {k + 1}/{n_folds}")
            model = new_member(m, k)
            model.fit([cells[i] for i in train], times, Y[train], chips=_take(chips, train))
            oof[m][held] = model.predict([cells[i] for i in held], times, chips=_take(chips, held))
            members[m].append(model)
            bar.update()
    bar.close()
    return members, oof


def out_of_fold(members: dict, cells, chips, times, Y, fold_of) -> dict:
    """The OOF predictions of members already cross-fitted on these rows (see :func:`cross_fit`)."""
    oof = {m: np.full_like(Y, np.nan) for m in members}
    for k in range(int(fold_of.max()) + 1):
        held = np.flatnonzero(fold_of == k)
        for m, models in members.items():
            oof[m][held] = models[k].predict([cells[i] for i in held], times, chips=_take(chips, held))
    return oof


def _take(chips, rows):
    return None if chips is None else chips[rows]
