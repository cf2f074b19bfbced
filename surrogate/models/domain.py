"""The fitted domain of a model: what its training cells were like, and whether a cell is like them.

A model answers for any DAG cell, but its members have only seen cells like its training cells, and its
calibration (the out-of-fold error) holds for those. :class:`Domain` records, from the training cells:

- ``cell_nodes``: the node counts of the cells as drawn (what the model card says it was fitted on);
- of their normal forms (:meth:`~surrogate.cells.Cell.simplified`, what every member encodes):
  ``nodes``, the node counts seen; ``edges``, the least and most edges; ``ops``, per op the least
  and most edges carrying it.

A cell lies outside when its normal form does: a node count not seen, an edge count or an op count
outside its range. The check reads the normal form, not the cell as drawn, for the reason the answers
do: equal networks drawn differently (an extra ``skip_connect`` node, a dead branch) are the same
network and get the same answer, interval included (``tests/test_models.py``), so a 7-node drawing
of a 4-node network is inside a model fitted on 4-node cells, and a 7-node network is not. A
degenerate cell (no input-to-output path) is always inside: its answer is chance, exactly.

Outside the domain a model warns once per call (:class:`OutOfDomainWarning`) and widens the
interval of those cells by :data:`WIDENING`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cells import OPS, Cell

__all__ = ["Domain", "OutOfDomainWarning", "WIDENING"]

#: How much wider (in standard deviations, so in interval width) the interval of a cell outside the
#: fitted domain is. Measured, not chosen: ``benchmarks/bench_domain.py`` fits models on the NB-201
#: cells of ``proxy-digits`` and finds the factor that brings the 90 % interval coverage of its DAG
#: cells outside that domain to 0.90 (BENCHMARKS.md, "Out-of-domain widening (issue 21)"). It found
#: 0.92 pooled over seeds 0-2 (0.78-0.97 per seed; 1.18-1.32 without the members' disagreement that the
#: interval adds for a normal form larger than any training cell's): the model's own interval already
#: covers them. The factor is never below 1, so it is 1 until a measurement says otherwise; the
#: widening stays in place for that.
WIDENING = 1.0

_DEGENERATE = Cell(2, [(0, 1, "none")]).to_str()  # the normal form of every cell with no input-to-output path


class OutOfDomainWarning(UserWarning):
    """Some cells asked for lie outside the domain the model was fitted on (see :class:`Domain`)."""


def _counts(form: str) -> tuple[int, int, tuple[int, ...]]:
    """Nodes, edges and per-op edge counts of a cell from its :meth:`~surrogate.cells.Cell.to_str` string
    (``|op~src|...|+...``: one group per node but the input, one ``~`` per edge)."""
    return form.count("+") + 2, form.count("~"), tuple(form.count(f"|{op}~") for op in OPS)


@dataclass(frozen=True)
class Domain:
    """What a model's training cells were like (see the module docstring).

    Attributes:
        cell_nodes: node counts of the training cells as drawn.
        nodes: node counts of their normal forms.
        edges: ``(least, most)`` edges of a normal form.
        ops: per op of :data:`~surrogate.cells.OPS`, ``(least, most)`` edges carrying it in a normal form.
        n_cells: how many distinct training cells.
    """

    cell_nodes: tuple[int, ...]
    nodes: tuple[int, ...]
    edges: tuple[int, int]
    ops: dict
    n_cells: int

    @classmethod
    def fit(cls, cells: Iterable[Cell]) -> Domain:
        """The domain of ``cells`` (degenerate cells count for ``cell_nodes`` only)."""
        cells = list(dict.fromkeys(cells))
        forms = [c.simplified() for c in cells]
        counts = [_counts(f.to_str()) for f in forms if f.to_str() != _DEGENERATE]
        if not counts:
            raise ValueError("a domain needs at least one non-degenerate cell")
        nodes, edges, ops = zip(*counts)
        per_op = np.array(ops)
        return cls(cell_nodes=tuple(sorted({c.num_nodes for c in cells})), nodes=tuple(sorted(set(nodes))),
                   edges=(min(edges), max(edges)),
                   ops={op: (int(per_op[:, i].min()), int(per_op[:, i].max())) for i, op in enumerate(OPS)},
                   n_cells=len(cells))

    # ------------------------------------------------------------------ checks
    def outside(self, forms: list[str]) -> np.ndarray:
        """Whether each normal form (its :meth:`~surrogate.cells.Cell.to_str` string) lies outside: what
        :meth:`reason` says, for many at once (a model's cache of 5,425 rows in a few milliseconds)."""
        if not len(forms):
            return np.zeros(0, dtype=bool)
        text = np.asarray(forms, dtype=str)
        edges = np.char.count(text, "~")
        out = ~np.isin(np.char.count(text, "+") + 2, self.nodes) | (edges < self.edges[0]) | (edges > self.edges[1])
        for op, (lo, hi) in self.ops.items():
            n = np.char.count(text, f"|{op}~")
            out |= (n < lo) | (n > hi)
        return out & (text != _DEGENERATE)

    def reason(self, form: str | Cell) -> str | None:
        """Why a normal form (a ``Cell`` or its string) lies outside, or ``None`` when it lies inside."""
        text = form.to_str() if isinstance(form, Cell) else form
        if text == _DEGENERATE:
            return None
        nodes, edges, ops = _counts(text)
        if nodes not in self.nodes:
            return f"its normal form has {nodes} nodes (fitted: {_span(self.nodes)})"
        if not self.edges[0] <= edges <= self.edges[1]:
            return f"its normal form has {edges} edges (fitted: {_range(self.edges)})"
        for op, n in zip(OPS, ops):
            lo, hi = self.ops[op]
            if not lo <= n <= hi:
                return f"its normal form has {n} {op} edge{'s' * (n != 1)} (fitted: {_range((lo, hi))})"
        return None

    def describe(self) -> str:
        """One line for warnings and model cards (made once: a warning per call must not cost more)."""
        text = self.__dict__.get("_described")
        if text is None:
            text = self._describe()
            object.__setattr__(self, "_described", text)  # not a field: equality and the manifest ignore it
        return text

    def _describe(self) -> str:
        kind = "NB-201 cells" if self.cell_nodes == (4,) else "cells"
        ops = ", ".join(f"{op} {_range(self.ops[op])}" for op in OPS if op != "none")
        return (f"fitted on {self.n_cells:,} {_span(self.cell_nodes)}-node {kind}; normal forms of "
                f"{_span(self.nodes)} nodes and {_range(self.edges)} edges; edges per op {ops}")

    # ------------------------------------------------------------------ manifest
    def to_dict(self) -> dict:
        return {"cell_nodes": list(self.cell_nodes), "nodes": list(self.nodes), "edges": list(self.edges),
                "ops": {op: list(v) for op, v in self.ops.items()}, "n_cells": self.n_cells}

    @classmethod
    def from_dict(cls, d: dict) -> Domain:
        return cls(cell_nodes=tuple(d["cell_nodes"]), nodes=tuple(d["nodes"]), edges=tuple(d["edges"]),
                   ops={op: tuple(d["ops"][op]) for op in OPS}, n_cells=int(d["n_cells"]))


_PACKAGE = str(Path(__file__).resolve().parent.parent)


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by the caller of this function point at the first
    frame outside the package (the user's line, whether through ``surrogate.predict`` or ``model.predict``)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def _span(values) -> str:
    """``4``, ``2-4`` or ``2-4, 6``: a set of integers, short."""
    values = sorted(set(values))
    runs, start = [], values[0]
    for a, b in zip(values, values[1:] + [None]):
        if b != a + 1:
            runs.append(str(start) if start == a else f"{start}-{a}")
            start = b
    return ", ".join(runs)


def _range(pair) -> str:
    """``0-5``, or ``3`` when least and most agree."""
    lo, hi = pair
    return str(lo) if lo == hi else f"{lo}-{hi}"
