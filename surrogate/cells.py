"""Cells: DAGs whose edges carry one operation of the NAS-Bench-201 vocabulary.

A :class:`Cell` is the one internal form of an architecture. Every other representation
(an NB-201 string, an AnalogNAS-Bench tuple, an edge list) is converted into it at the
boundary, so the rest of the package never has to know which one the user typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Union

__all__ = ["OPS", "ANB_OPS", "ANB_EDGES", "Cell", "as_cell", "Arch"]

#: The operation vocabulary, in the order used by every encoding of this package.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

#: AnalogNAS-Bench (NASLib) op indices: 0 skip, 1 none, 2 conv3x3, 3 conv1x1, 4 avgpool.
ANB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")

#: AnalogNAS-Bench (NASLib) edge order. It is *not* the order of the NB-201 string
#: (0-1, 0-2, 1-2, 0-3, 1-3, 2-3); mixing the two silently corrupts every label.
ANB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))

_ZERO = "#"  # NAS-Bench-201's symbol for a zero term in `to_unique_str(consider_zero=True)`
_NODE_RE = re.compile(r"^\|(?:[^|~]+~\d+\|)+$")


class Cell:
    """An immutable cell: ``num_nodes`` nodes (0 = input, last = output) and its edges.

    Edges are ``(src, dst, op)`` with ``src < dst`` (nodes numbered in topological order),
    kept sorted by ``(dst, src)``: the order of the NB-201 string. Two cells are equal when
    they have the same nodes and edges; use :meth:`canonical` for equality up to isomorphism.
    """

    __slots__ = ("_num_nodes", "_edges", "_hash")

    def __init__(self, num_nodes: int, edges: Iterable[Sequence]):
        if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 2:
            raise ValueError(f"num_nodes must be an integer >= 2 (input and output), got {num_nodes!r}")
        edges = tuple(_check_edge(e, num_nodes) for e in edges)
        _check_graph(num_nodes, edges)
        self._num_nodes = int(num_nodes)
        self._edges = tuple(sorted(edges, key=lambda e: (e[1], e[0])))
        self._hash = hash((self._num_nodes, self._edges))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_edges(cls, num_nodes: int, edges: Iterable[Sequence]) -> Cell:
        """Any DAG cell: ``edges`` is an iterable of ``(src, dst, op)``."""
        return cls(num_nodes, edges)

    @classmethod
    def from_str(cls, text: str) -> Cell:
        """Parse an NB-201 string such as ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+...``.

        The ``k``-th ``+``-separated group lists the inputs of node ``k`` as ``op~src``.
        """
        if not isinstance(text, str):
            raise TypeError(f"an NB-201 string is a str, got {type(text).__name__}")
        groups = text.strip().split("+")
        edges = []
        for dst, group in enumerate(groups, start=1):
            if not _NODE_RE.match(group):
                raise ValueError(
                    f"malformed NB-201 string {text!r}: group {dst} is {group!r}; expected "
                    "groups like '|op~0|op~1|' joined by '+', e.g. "
                    "'|nor_conv_3x3~0|+|none~0|skip_connect~1|'"
                )
            for term in group.strip("|").split("|"):
                op, _, src = term.partition("~")
                edges.append((int(src), dst, op))
        return cls(len(groups) + 1, edges)

    @classmethod
    def from_anb(cls, ops: Sequence[int]) -> Cell:
        """An AnalogNAS-Bench key: 6 op indices in NASLib edge order (see :data:`ANB_EDGES`)."""
        ops = tuple(ops)
        if len(ops) != len(ANB_EDGES):
            raise ValueError(
                f"an AnalogNAS-Bench tuple has {len(ANB_EDGES)} op indices, got {len(ops)}: {ops!r}"
            )
        edges = []
        for (src, dst), idx in zip(ANB_EDGES, ops):
            if isinstance(idx, bool) or not isinstance(idx, int) and not hasattr(idx, "__index__"):
                raise ValueError(f"AnalogNAS-Bench op indices are integers 0-4, got {idx!r}")
            idx = int(idx)
            if not 0 <= idx < len(ANB_OPS):
                raise ValueError(
                    f"AnalogNAS-Bench op index {idx} is out of range; accepted: "
                    + ", ".join(f"{i}={op}" for i, op in enumerate(ANB_OPS))
                )
            edges.append((src, dst, ANB_OPS[idx]))
        return cls(4, edges)

    # ------------------------------------------------------------------ views
    @property
    def num_nodes(self) -> int:
        return self._num_nodes

    @property
    def edges(self) -> tuple[tuple[int, int, str], ...]:
        """``(src, dst, op)`` sorted by ``(dst, src)``."""
        return self._edges

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(op for _, _, op in self._edges)

    @property
    def is_nb201(self) -> bool:
        """True for the NAS-Bench-201 shape: 4 nodes, all 6 edges present."""
        return self._num_nodes == 4 and len(self._edges) == 6

    def to_str(self) -> str:
        """The NB-201 string; defined for every cell (missing edges are simply not listed)."""
        groups = [[] for _ in range(self._num_nodes - 1)]
        for src, dst, op in self._edges:
            groups[dst - 1].append(f"{op}~{src}")
        return "+".join("|" + "|".join(g) + "|" for g in groups)

    def to_anb(self) -> tuple[int, ...]:
        """The AnalogNAS-Bench tuple (NASLib order); only for NB-201-shaped cells."""
        if not self.is_nb201:
            raise ValueError(
                "only NB-201-shaped cells (4 nodes, 6 edges) have an AnalogNAS-Bench tuple; "
                f"this one has {self._num_nodes} nodes and {len(self._edges)} edges"
            )
        by_edge = {(s, d): op for s, d, op in self._edges}
        return tuple(ANB_OPS.index(by_edge[e]) for e in ANB_EDGES)

    # ------------------------------------------------------------------ structure
    def canonical(self, drop_zero: bool = False) -> str:
        """A key equal for isomorphic cells.

        With ``drop_zero=False`` this is NAS-Bench-201's ``to_unique_str(consider_zero=True)``
        (6,466 classes over the 15,625 cells): each node is the sorted ``+``-sum of its input
        terms; a ``none`` edge, or an edge leaving a node whose expression is exactly zero,
        is a zero term ``#`` that is kept; ``skip_connect`` passes its input through; other ops
        wrap it. ``drop_zero=True`` drops the zero terms, a looser equivalence (5,390 classes).
        """
        expr = {0: "0"}
        for node in range(1, self._num_nodes):
            terms = []
            for src, dst, op in self._edges:
                if dst != node:
                    continue
                if op == "none" or expr[src] == _ZERO:
                    if drop_zero:
                        continue
                    terms.append(_ZERO)
                elif op == "skip_connect":
                    terms.append(expr[src])
                else:
                    terms.append(f"({expr[src]})@{op}")
            expr[node] = "+".join(sorted(terms)) if terms else _ZERO
        return expr[self._num_nodes - 1]

    @property
    def is_degenerate(self) -> bool:
        """True when no path of non-``none`` edges leads from the input to the output."""
        reach = {0}
        for src, dst, op in self._edges:  # sorted by dst, and src < dst: one pass suffices
            if op != "none" and src in reach:
                reach.add(dst)
        return self._num_nodes - 1 not in reach

    # ------------------------------------------------------------------ dunder
    def __eq__(self, other) -> bool:
        if not isinstance(other, Cell):
            return NotImplemented
        return self._num_nodes == other._num_nodes and self._edges == other._edges

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Cell({self.to_str()!r})"

    def __reduce__(self):  # pickling (multiprocessing, Dask) goes through the string form
        return (Cell.from_str, (self.to_str(),))

    def __setattr__(self, name, value):
        if hasattr(self, "_hash"):
            raise AttributeError("Cell is immutable")
        object.__setattr__(self, name, value)


Arch = Union[Cell, str, Sequence[int]]


def as_cell(arch: Arch) -> Cell:
    """Convert any accepted architecture form into a :class:`Cell`.

    Accepted: a ``Cell``, an NB-201 string, or an AnalogNAS-Bench tuple of 6 op indices.
    """
    if isinstance(arch, Cell):
        return arch
    if isinstance(arch, str):
        return Cell.from_str(arch)
    if isinstance(arch, Sequence) or hasattr(arch, "__array__"):
        return Cell.from_anb(tuple(arch))
    raise TypeError(
        f"cannot read an architecture from {type(arch).__name__}; accepted: a Cell, an NB-201 "
        "string or an AnalogNAS-Bench tuple of 6 op indices"
    )


# ---------------------------------------------------------------------- validation
def _check_edge(edge, num_nodes):
    try:
        src, dst, op = edge
    except (TypeError, ValueError):
        raise ValueError(f"an edge is a (src, dst, op) triple, got {edge!r}") from None
    for end in (src, dst):
        if isinstance(end, bool) or not isinstance(end, int) or not 0 <= end < num_nodes:
            raise ValueError(
                f"edge {edge!r}: node {end!r} is out of range; nodes are integers 0..{num_nodes - 1}"
            )
    if op not in OPS:
        raise ValueError(f"edge {edge!r}: unknown op {op!r}; accepted ops: {', '.join(OPS)}")
    if src == dst:
        raise ValueError(f"edge {edge!r} is a self-loop; a cell is a DAG")
    return (src, dst, op)


def _check_graph(num_nodes, edges):
    seen = set()
    for src, dst, _ in edges:
        if (src, dst) in seen:
            raise ValueError(f"two edges from node {src} to node {dst}; give one op per edge")
        seen.add((src, dst))
    cycle = _find_cycle(num_nodes, edges)
    if cycle:
        raise ValueError("edges form a cycle " + " -> ".join(map(str, cycle)) + "; a cell is a DAG")
    backwards = [(s, d) for s, d, _ in edges if s > d]
    if backwards:
        raise ValueError(
            f"edges {backwards} go from a higher to a lower node; number the nodes in "
            "topological order (0 = input, last = output, every edge src < dst)"
        )
    out = num_nodes - 1
    has_in = {d for _, d, _ in edges}
    has_out = {s for s, _, _ in edges}
    for node in range(num_nodes):
        if node != 0 and node not in has_in:
            raise ValueError(f"node {node} has no incoming edge; every node but the input (0) needs one")
        if node != out and node not in has_out:
            raise ValueError(f"node {node} has no outgoing edge; every node but the output ({out}) needs one")


def _find_cycle(num_nodes, edges):
    succ = {n: [] for n in range(num_nodes)}
    for s, d, _ in edges:
        succ[s].append(d)
    state = dict.fromkeys(range(num_nodes), 0)  # 0 new, 1 on stack, 2 done
    stack_path = []

    def visit(n):
        state[n] = 1
        stack_path.append(n)
        for m in succ[n]:
            if state[m] == 1:
                return stack_path[stack_path.index(m):] + [m]
            if state[m] == 0:
                found = visit(m)
                if found:
                    return found
        stack_path.pop()
        state[n] = 2
        return None

    for n in range(num_nodes):
        if state[n] == 0:
            found = visit(n)
            if found:
                return found
    return None
