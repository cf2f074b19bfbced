"""Splits and learning curves for studying how accuracy predictors generalise (issue 13).

Every split takes cells (anything :func:`~surrogate.cells.as_cell` accepts) and returns
``(train, test)`` lists of :class:`~surrogate.cells.Cell`, disjoint, in a seeded order; none keeps
state. In-distribution: random; by isomorphism class (a network's twins never on both sides).
Out of distribution: leave one op out, small-to-large (parameter count), NB-201 to other DAG shapes.
:func:`learning_curve` scores a model factory on growing training sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .cells import OPS, Arch, Cell, as_cell

__all__ = ["random_split", "isomorphism_split", "leave_op_out_split", "size_split", "shape_split",
           "learning_curve"]


def _cells(cells: Iterable[Arch]) -> list[Cell]:
    out = list(dict.fromkeys(as_cell(c) for c in cells))
    if len(out) < 2:
        raise ValueError(f"a split needs at least 2 distinct cells, got {len(out)}")
    return out


def _check_fraction(train: float) -> None:
    if not 0 < train < 1:
        raise ValueError(f"the training fraction must be in (0, 1), got {train!r}")


def random_split(cells: Iterable[Arch], train: float = 0.2, seed: int = 0) -> tuple[list[Cell], list[Cell]]:
    """A seeded random ``train`` fraction against the rest."""
    _check_fraction(train)
    cells = _cells(cells)
    order = np.random.default_rng(seed).permutation(len(cells))
    k = max(1, min(len(cells) - 1, round(train * len(cells))))
    return [cells[i] for i in order[:k]], [cells[i] for i in order[k:]]


def isomorphism_split(cells: Iterable[Arch], train: float = 0.2, seed: int = 0) -> tuple[list[Cell], list[Cell]]:
    """Like :func:`random_split`, but whole classes of equal networks (:meth:`Cell.simplified`) go to one
    side: a model cannot score on a test cell by having memorised its twin's label."""
    _check_fraction(train)
    cells = _cells(cells)
    groups: dict[Cell, list[Cell]] = {}
    for c in cells:
        groups.setdefault(c.simplified(), []).append(c)
    keys = list(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    out: tuple[list[Cell], list[Cell]] = ([], [])
    for i in order:
        out[0 if len(out[0]) < train * len(cells) else 1].extend(groups[keys[i]])
    if not out[0] or not out[1]:
        raise ValueError("too few classes of equal networks to put some on each side")
    return out


def _live_ops(cell: Cell) -> set[str]:
    return {op for _, _, op in cell.simplified().edges} - {"none"}


def leave_op_out_split(cells: Iterable[Arch], op: str) -> tuple[list[Cell], list[Cell]]:
    """Train on cells whose network does not use ``op``; test on those that do."""
    if op not in OPS or op == "none":
        raise ValueError(f"op must be one of {[o for o in OPS if o != 'none']}, got {op!r}")
    cells = _cells(cells)
    test = [c for c in cells if op in _live_ops(c)]
    return [c for c in cells if op not in _live_ops(c)], test


def size_split(cells: Iterable[Arch], train: float = 0.5, **network) -> tuple[list[Cell], list[Cell]]:
    """Small to large: train on the ``train`` fraction with the fewest parameters in the macro network
    (``network`` as in :func:`surrogate.nb201.macro_cost`), test on the larger rest."""
    from .nb201 import macro_cost

    _check_fraction(train)
    cells = _cells(cells)
    params, _ = macro_cost(cells, **network)
    order = np.argsort(params, kind="stable")
    k = max(1, min(len(cells) - 1, round(train * len(cells))))
    return [cells[i] for i in order[:k]], [cells[i] for i in order[k:]]


def shape_split(cells: Iterable[Arch]) -> tuple[list[Cell], list[Cell]]:
    """NB-201 cells (4 nodes, every edge of the complete DAG) against every other DAG shape."""
    cells = _cells(cells)
    nb = [c for c in cells if c.num_nodes == 4 and len(c.edges) == 6]
    return nb, [c for c in cells if not (c.num_nodes == 4 and len(c.edges) == 6)]


def learning_curve(ground_truth, model_factory: Callable[[int], object], sizes: Sequence[int],
                   seeds: Sequence[int] = (0, 1, 2), test: Sequence[Arch] | None = None):
    """Score ``model_factory(seed).fit(...)`` on ``size`` random training cells per seed.

    The test cells are ``test``, or every cell of ``ground_truth`` outside the training set. Returns
    a pandas DataFrame, one row per (size, seed, training) with ``Surrogate.score``'s averaged metrics.
    """
    import pandas as pd

    cells = ground_truth.cells
    rows = []
    for size in sizes:
        if not 2 <= size < len(cells):
            raise ValueError(f"a training size must be between 2 and {len(cells) - 1}, got {size!r}")
        for seed in seeds:
            train, rest = random_split(cells, size / len(cells), seed)
            model = model_factory(seed).fit(ground_truth.subset(train))
            scores = model.score(ground_truth.subset(test if test is not None else rest))
            for training, metrics in scores.items():
                rows.append({"size": size, "seed": seed, "training": training,
                             **{k: v for k, v in metrics.items() if k != "per_time"}})
    return pd.DataFrame(rows)
