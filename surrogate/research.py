"""Splits and learning curves for studying how accuracy predictors generalise (issue 13).

Every split takes cells (anything :func:`~surrogate.cells.as_cell` accepts) and returns
``(train, test)`` lists of :class:`~surrogate.cells.Cell`, disjoint, in a seeded order; none keeps
state. In-distribution: random; by isomorphism class (a network's twins never on both sides).
Out of distribution: leave one op out, small-to-large (parameter count), NB-201 to other DAG shapes;
:meth:`GroundTruth.until <surrogate.data.GroundTruth.until>` cuts the times a model may learn from.
:func:`learning_curve` scores a model factory on growing training sets; :func:`chip_transfer` asks
how a model answers for a chip it never saw, and how many cells measured there it needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .cells import OPS, Arch, Cell, as_cell

__all__ = ["random_split", "isomorphism_split", "leave_op_out_split", "size_split", "shape_split",
           "learning_curve", "chip_transfer"]


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


def chip_transfer(ground_truth, chip: str, train: Sequence[Arch], test: Sequence[Arch],
                  model_factory: Callable[[int], object], sizes: Sequence[int] = (), seed: int = 0):
    """How well a model answers for ``chip`` on the ``test`` cells, by what it was fitted on:

    - ``own``: the ``train`` cells measured on ``chip`` alone (the reference);
    - ``default``: the ``train`` cells on the profile's default chip (the next chip when ``chip`` is
      the default), asked as if it were ``chip``;
    - ``chip-aware``, ``n_new`` = 0: the ``train`` cells on every other chip (leave one chip out);
    - ``chip-aware``, ``n_new`` = n for n in ``sizes``: the same plus the first n ``train`` cells
      (in a seeded order) measured on ``chip``: a learning curve for a new chip.

    Returns a pandas DataFrame, one row per (method, n_new, training) with the scores of
    ``Surrogate.score`` averaged over times (the test cells' measurements on ``chip``).
    """
    import pandas as pd

    chips = ground_truth.chips
    if chip not in chips or len(chips) < 2:
        raise ValueError(f"chip must be one of several chips in the ground truth {chips}, got {chip!r}")
    default = chips[0] if chip != chips[0] else chips[1]
    others = [c for c in chips if c != chip]
    train = list(dict.fromkeys(as_cell(c) for c in train))
    order = [train[i] for i in np.random.default_rng(seed).permutation(len(train))]
    target = ground_truth.subset(test).for_chip(chip)
    known = ground_truth.subset(train)
    rest = known.for_chip(*others)
    runs = [("own", len(train), known.for_chip(chip)), ("default", 0, known.for_chip(default)),
            ("chip-aware", 0, rest)]
    for n in sizes:
        if not 0 < n <= len(train):
            raise ValueError(f"sizes must be in [1, {len(train)}], got {n!r}")
        rows = pd.concat([rest.to_frame(), ground_truth.subset(order[:n]).for_chip(chip).to_frame()])
        runs.append(("chip-aware", n, _frame_gt(ground_truth, rows)))
    # the default chip's model is scored on the asked chip's measurements, relabelled as its own chip
    relabelled = _frame_gt(ground_truth, target.to_frame().assign(chip=default))
    out = []
    for method, n_new, gt in runs:
        model = model_factory(seed).fit(gt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the left-out chip is new to the model: it says so
            scores = model.score(relabelled if method == "default" else target)
        for training, metrics in scores.items():
            out.append({"chip": chip, "method": method, "n_new": n_new, "training": training,
                        **{k: v for k, v in metrics.items() if k != "per_time"}})
    return pd.DataFrame(out)



def _frame_gt(ground_truth, frame):
    """A GroundTruth of ``ground_truth``'s profile holding the rows of ``frame`` (from ``to_frame``)."""
    return type(ground_truth)(frame.drop(columns="profile"), ground_truth.profile, ground_truth.extras_frame())
