"""Cells: DAGs whose edges carry one operation of the NAS-Bench-201 vocabulary.

A :class:`Cell` is the one internal form of an architecture. Every other representation
(an NB-201 string, an AnalogNAS-Bench tuple, an edge list) is converted into it at the
boundary, so the rest of the package never has to know which one the user typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from numbers import Integral
from typing import Union

from ._normal_form import canonical, contract
from .core.anb import ANB_EDGES, ANB_OPS
from .core.vocabulary import OPS

__all__ = ["OPS", "ANB_OPS", "ANB_EDGES", "DAG_PREFIX", "NB201_SHAPE", "ArchTypeError", "Cell", "as_cell",
           "as_cells", "split_archs", "Arch"]

_ZERO = "#"  # NAS-Bench-201's symbol for a zero term in `to_unique_str(consider_zero=True)`
_NODE_RE = re.compile(r"^\|(?:[^|~]+~\d+\|)+$")
#: What starts the string of a DAG cell that is not NB-201-shaped: ``dag:`` and then the groups of
#: :meth:`Cell.to_str`, any number of them (``"dag:|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|"``).
DAG_PREFIX = "dag:"
#: The shape of an NB-201 string: three groups, group ``k`` lists the inputs ``0..k-1`` of node ``k``.
NB201_SHAPE = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
_ACCEPTED = (f"a Cell, an NB-201 string ('{NB201_SHAPE}'), a '{DAG_PREFIX}' string "
             f"('{DAG_PREFIX}|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|', any DAG) or an AnalogNAS-Bench "
             "tuple of 6 op indices (0-4)")
_OTHER_DAG = (f"for another DAG write '{DAG_PREFIX}' before the groups (e.g. "
              f"'{DAG_PREFIX}|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|', any number of groups) or use "
              "Cell.from_edges(num_nodes, [(src, dst, op), ...])")


class ArchTypeError(ValueError, TypeError):
    """An architecture argument of a type no form accepts. A ``ValueError``, as every bad input, and a
    ``TypeError``, as it was before strict input."""


class Cell:
    """An immutable cell: ``num_nodes`` nodes (0 = input, last = output) and its edges.

    Edges are ``(src, dst, op)`` with ``src < dst`` (nodes numbered in topological order),
    kept sorted by ``(dst, src)``: the order of the NB-201 string. Two cells are equal when
    they have the same nodes and edges; use :meth:`canonical` for equality up to isomorphism.

    A cell keeps its string (``_str``, what :meth:`to_str` returns, the key of stores and tables)
    and the string that :func:`as_cell` reads back into it (``_key``, what ``str(cell)`` returns:
    the same string for an NB-201-shaped cell, ``"dag:"`` and that string for any other), one of
    each per cell and one cell per string, so code that looks cells up by the millions keys its
    tables on them (a ``str`` hashes and compares in C).
    """

    __slots__ = ("_num_nodes", "_edges", "_hash", "_str", "_key")

    def __init__(self, num_nodes: int, edges: Iterable[Sequence]):
        if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 2:
            raise ValueError(f"num_nodes must be an integer >= 2 (input and output), got {num_nodes!r}")
        edges = tuple(_check_edge(e, num_nodes) for e in edges)
        _check_graph(num_nodes, edges)
        self._num_nodes = int(num_nodes)
        self._edges = tuple(sorted(edges, key=lambda e: (e[1], e[0])))
        self._str = _to_str(self._num_nodes, self._edges)
        self._key = _user_key(self._num_nodes, self._edges, self._str)
        self._hash = hash((self._num_nodes, self._edges))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_edges(cls, num_nodes: int, edges: Iterable[Sequence]) -> Cell:
        """Any DAG cell: ``edges`` is an iterable of ``(src, dst, op)``."""
        return cls(num_nodes, edges)

    @classmethod
    def from_str(cls, text: str) -> Cell:
        """Parse an NB-201 string such as ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|...|...|``.

        Strict: exactly three ``+``-separated groups, group ``k`` listing each of the inputs
        ``0..k-1`` of node ``k`` once, as ``op~src`` (any op of :data:`OPS`, ``none`` included), in
        any order: the shape ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``. Anything else is a
        ``ValueError`` that says what was found, so an NB-201 string cut short is never read as a
        smaller DAG. Another DAG is ``"dag:"`` and its groups (read here, and by
        :meth:`from_dag_str`), or :meth:`from_edges`.
        """
        if not isinstance(text, str):
            raise ArchTypeError(f"an NB-201 string is a str, got {type(text).__name__} {text!r}")
        if text.strip().startswith(DAG_PREFIX):
            return cls.from_dag_str(text)
        groups = _groups(text, "NB-201 string")
        problem = None
        if len(groups) != 3:
            problem = (f"it has {len(groups)} '+'-separated group{'s' * (len(groups) != 1)}, an NB-201 string "
                       "has 3")
        else:
            for dst, terms in enumerate(groups, start=1):
                sources = sorted(src for _, src in terms)
                if sources != list(range(dst)):
                    problem = (f"group {dst} lists {len(terms)} term{'s' * (len(terms) != 1)} with inputs "
                               f"{', '.join(map(str, sources))}; node {dst} of an NB-201 cell takes each of the "
                               f"inputs {', '.join(map(str, range(dst)))} once ({dst} term{'s' * (dst != 1)})")
                    break
        if problem:
            raise ValueError(f"{text!r} is not an NB-201 string: {problem}. An NB-201 string is shaped "
                             f"'{NB201_SHAPE}' (op one of {', '.join(OPS)}); {_OTHER_DAG}")
        return cls(4, [(src, dst, op) for dst, terms in enumerate(groups, start=1) for op, src in terms])

    @classmethod
    def from_dag_str(cls, text: str) -> Cell:
        """Any DAG cell from its groups: ``"dag:|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|"``.

        The ``k``-th ``+``-separated group lists the inputs of node ``k`` as ``op~src``; any number
        of groups, each listing any inputs of lower nodes. The ``"dag:"`` prefix may be left out:
        this is also the reader of the strings :meth:`to_str` writes (stores, tables, files).
        """
        if not isinstance(text, str):
            raise ArchTypeError(f"a DAG cell string is a str, got {type(text).__name__} {text!r}")
        body = text.strip()
        body = body[len(DAG_PREFIX):] if body.startswith(DAG_PREFIX) else body
        groups = _groups(body, "DAG cell string")
        return cls(len(groups) + 1, [(src, dst, op) for dst, terms in enumerate(groups, start=1) for op, src in terms])

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

    @classmethod
    def _trusted(cls, num_nodes: int, edges: tuple, text: str | None = None) -> Cell:
        """A cell built by this package from checked parts: ``edges`` valid and sorted by ``(dst, src)``,
        ``text`` their :meth:`to_str` string if known."""
        cell = object.__new__(cls)
        text = _to_str(num_nodes, edges) if text is None else text
        object.__setattr__(cell, "_num_nodes", num_nodes)
        object.__setattr__(cell, "_edges", edges)
        object.__setattr__(cell, "_str", text)
        object.__setattr__(cell, "_key", _user_key(num_nodes, edges, text))
        object.__setattr__(cell, "_hash", hash((num_nodes, edges)))
        return cell

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
        """The NB-201 string; defined for every cell (missing edges are simply not listed).

        The key of stores, look-up tables and shipped files. For a cell that is not NB-201-shaped it
        does not parse as an NB-201 string: read it back with :meth:`from_dag_str`, or give
        :meth:`dag_str` (or ``str(cell)``) where an NB-201 string or a ``"dag:"`` string is expected.
        """
        return self._str

    def dag_str(self) -> str:
        """``"dag:"`` and :meth:`to_str`: the explicit string of any cell, which :func:`as_cell`,
        ``predict``, ``rank`` and the command line read back into this cell."""
        return DAG_PREFIX + self._str

    def __str__(self) -> str:
        """What to type to get this cell back: the NB-201 string of an NB-201-shaped cell, else
        :meth:`dag_str`."""
        return self._key

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

    def simplified(self) -> Cell:
        """The normal form: one cell for all cells that compute the same function.

        Two cells that compute the same function for any weights (each edge has its own
        weights; equal up to renaming them) simplify to the same ``Cell``, so a model that
        encodes ``cell.simplified()`` gives them the same answer. The rules, and why each is
        exact (a node is the sum of its incoming edges; ``skip_connect`` is the identity,
        ``none`` is zero; convolutions and pooling are treated as arbitrary functions, so
        nothing else is merged, and two parallel edges with the same op stay two edges):

        1. ``none`` edges are dropped: they add zero to a sum.
        2. Nodes and edges on no input-to-output path are dropped: a node that no path
           reaches carries no input signal (an op on a zero input is taken to give zero, the
           convention of NB-201's ``to_unique_str``; NB-201's conv ends in a BN whose shift
           makes that a learnable constant, which no input can change), and a node that
           reaches no output changes nothing downstream.
        3. A node ``k`` whose only input is a ``skip_connect`` from ``i`` equals ``i``:
           its outgoing edges start at ``i`` instead.
        4. A node ``k`` whose only output is a ``skip_connect`` to ``j`` is one term of
           ``j``'s sum: its incoming edges end at ``j`` instead (sums are associative).
        5. Nodes are numbered canonically: among the topological numberings (input first,
           output last) the one whose edge list, read node by node as ``(source, op)``
           tuples, is smallest.

        Rules 3 and 4 can put a second edge between two nodes that already have one, which a
        ``Cell`` cannot hold. Skipping such contractions ("leave it") alone is not a normal
        form: two contractions that compete for one pair block each other, and the order
        decides which cell is left (and sometimes how many nodes). So rules 3 and 4 are
        applied to a multigraph (parallel edges allowed), where they never create, destroy or
        block one another's chances: contracting every such node, in any order, gives one
        multigraph up to renumbering. Where it has parallel edges, the fewest contractions are
        undone that give every edge a pair of its own (see :func:`_split_parallel`), chosen on
        the canonically numbered multigraph; each node put back is blocked, so the result is
        also a fixed point of rules 2-4 with "leave it", and never larger than any such one.

        A degenerate cell (no path from input to output) simplifies to the 2-node cell
        ``|none~0|``. Results are cached: a repeated call costs a dictionary lookup.
        """
        return _simplified(self)

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
        return f"Cell({self._key!r})"

    def __reduce__(self):  # pickling (multiprocessing, Dask) goes through the string form
        return (Cell.from_dag_str, (self._str,))

    def __setattr__(self, name, value):
        if hasattr(self, "_hash"):
            raise AttributeError("Cell is immutable")
        object.__setattr__(self, name, value)


Arch = Union[Cell, str, Sequence[int]]


def as_cell(arch: Arch) -> Cell:
    """Convert any accepted architecture form into a :class:`Cell`.

    Accepted: a ``Cell``, an NB-201 string (read strictly: :meth:`Cell.from_str`), a ``"dag:"``
    string of any DAG (:meth:`Cell.from_dag_str`), or an AnalogNAS-Bench tuple of 6 op indices.
    """
    if isinstance(arch, Cell):
        return arch
    if isinstance(arch, str):
        return Cell.from_str(arch)
    if isinstance(arch, Sequence) or hasattr(arch, "__array__"):
        return Cell.from_anb(tuple(arch))
    raise arch_error(arch)


def arch_error(arch, what: str = "arch") -> ArchTypeError:
    """The error for an architecture argument of a type no form accepts: what is accepted, what was given."""
    return ArchTypeError(f"{what} must be {_ACCEPTED}, or a list of those; got {type(arch).__name__} {arch!r}")


def as_cells(archs: Arch | Iterable[Arch]) -> tuple[list[Cell], bool]:
    """Cells from one architecture or many, and whether one was given (a ``predict`` argument).

    A flat sequence of integers is one AnalogNAS-Bench tuple; a 2-D integer array holds one per row.
    """
    items, single = split_archs(archs)
    return [as_cell(a) for a in items], single


def listed(archs: Arch | Iterable[Arch]) -> list:
    """One architecture or many, as a list of what was given (empty allowed): for the encoders,
    which take a single cell as readily as a batch."""
    if not isinstance(archs, (Cell, str, tuple, list)) and not hasattr(archs, "__array__"):
        archs = list(archs)
    return [] if isinstance(archs, list) and not archs else split_archs(archs)[0]


def split_archs(archs: Arch | Iterable[Arch]) -> tuple[list, bool]:
    """:func:`as_cells` without the conversion: the architectures as given (a 2-D integer array's
    rows as tuples), and whether one was given."""
    if isinstance(archs, (Cell, str)):
        return [archs], True
    if hasattr(archs, "__array__"):
        import numpy as np

        archs = np.asarray(archs)
        if archs.dtype.kind in "iu":
            if archs.ndim == 1:
                return [tuple(archs.tolist())], True
            archs = list(map(tuple, archs.tolist())) if archs.ndim == 2 else archs.tolist()
    if type(archs) is not list:
        try:
            archs = list(archs)
        except TypeError:
            raise arch_error(archs) from None
    if archs and all(isinstance(a, Integral) and not isinstance(a, bool) for a in archs):
        return [tuple(archs)], True
    if not archs:
        raise ValueError("no architectures given")
    return archs, False


def _groups(text: str, what: str) -> list[list[tuple[str, int]]]:
    """The ``(op, src)`` terms of each ``+``-separated group of ``text``; a ``ValueError`` where one is
    malformed or names an unknown op (sources are checked by the ``Cell`` built from them)."""
    groups = text.strip().split("+")
    out = []
    for dst, group in enumerate(groups, start=1):
        if not _NODE_RE.match(group):
            raise ValueError(
                f"malformed {what} {text!r}: group {dst} is {group!r}; expected groups like '|op~0|op~1|' "
                f"joined by '+', e.g. an NB-201 string '{NB201_SHAPE}'; {_OTHER_DAG}"
            )
        terms = []
        for term in group.strip("|").split("|"):
            op, _, src = term.partition("~")
            if op not in OPS:
                raise ValueError(f"{what} {text!r}: unknown op {op!r} in group {dst}; accepted ops: {', '.join(OPS)}")
            terms.append((op, int(src)))
        out.append(terms)
    return out


def _user_key(num_nodes: int, edges: tuple, text: str) -> str:
    """What :func:`as_cell` reads back into the cell of ``text``: ``text`` for an NB-201-shaped cell
    (4 nodes, all 6 edges), else ``"dag:" + text``."""
    return text if num_nodes == 4 and len(edges) == 6 else DAG_PREFIX + text


def _to_str(num_nodes: int, edges: tuple) -> str:
    """The NB-201 string of sorted ``edges``: group ``k`` lists the inputs of node ``k`` as ``op~src``."""
    groups = [[] for _ in range(num_nodes - 1)]
    for src, dst, op in edges:
        groups[dst - 1].append(f"{op}~{src}")
    return "+".join("|" + "|".join(g) + "|" for g in groups)


# ---------------------------------------------------------------------- normal form
@lru_cache(maxsize=1 << 17)
def _simplified(cell: Cell) -> Cell:
    """:meth:`Cell.simplified`: rules 1-4, then the cached canonical form of what is left."""
    contracted = contract(cell._num_nodes, cell._edges)
    return _degenerate() if contracted is None else _normal_form(*contracted)


@lru_cache(maxsize=1)
def _degenerate() -> Cell:
    return Cell(2, [(0, 1, "none")])


@lru_cache(maxsize=1 << 15)
def _normal_form(num_nodes: int, edges: tuple) -> Cell:
    """The canonical ``Cell`` of a contracted multigraph (rule 5, and parallel edges split)."""
    return Cell._trusted(*canonical(num_nodes, edges))


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
