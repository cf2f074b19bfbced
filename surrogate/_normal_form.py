"""The normal form of a cell, on plain tuples: see :meth:`surrogate.cells.Cell.simplified`.

Rules 1-4 contract a cell into a multigraph (:func:`contract`); rule 5 numbers it canonically and
gives parallel edges a pair of nodes each (:func:`canonical`). Edges are ``(src, dst, op)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from .core.vocabulary import OPS

__all__ = ["contract", "canonical"]

_SKIP = "skip_connect"
_OP_INDEX = {op: i for i, op in enumerate(OPS)}


def contract(num_nodes: int, edges: Sequence) -> tuple[int, tuple] | None:
    """Rules 1-4 on a cell's sorted edges: the contracted multigraph ``(num_nodes, edges)``, or
    ``None`` when no path leads from the input to the output."""
    out = num_nodes - 1
    fwd = {0}
    for s, d, op in edges:  # sorted by dst, src < dst: one pass reaches everything
        if s in fwd and op != "none":
            fwd.add(d)
    if out not in fwd:
        return None
    bwd = {out}
    for s, d, op in reversed(edges):
        if d in bwd and op != "none":
            bwd.add(s)
    live = [[s, d, op] for s, d, op in edges if op != "none" and s in fwd and d in bwd]  # rules 1, 2
    nodes = [v for v in range(out + 1) if v in fwd and v in bwd]
    degree = ([0] * (out + 1), [0] * (out + 1))  # degree[side][v]: edges with v at position side
    for e in live:
        degree[0][e[0]] += 1
        degree[1][e[1]] += 1
    for k in nodes[1:-1]:  # rules 3, 4; contracting one node never makes another contractible
        for side in (1, 0):  # rule 3: k's only input is a skip, rule 4: k's only output is one
            if degree[side][k] == 1:
                skip = next(e for e in live if e[side] == k)
                if skip[2] == _SKIP:
                    _merge(live, degree, k, skip, side)
                    nodes.remove(k)
                    break
    # nodes kept their order, and every rewired edge still runs from a lower to a higher node
    if len(nodes) == out + 1:
        key = tuple(sorted(map(tuple, live)))
    else:
        index = {v: i for i, v in enumerate(nodes)}
        key = tuple(sorted((index[s], index[d], op) for s, d, op in live))
    return len(nodes), key


def _merge(live: list, degree: tuple, k: int, skip: list, side: int) -> None:
    """Node ``k`` merges into the other end of ``skip``, its only edge on ``side``: by rule 3 it is
    the node its input comes from, by rule 4 one term of the node its output goes to."""
    live.remove(skip)
    end, other = 1 - side, skip[1 - side]
    degree[end][other] += degree[end][k] - 1
    for e in live:
        if e[end] == k:
            e[end] = other


def canonical(num_nodes: int, edges: tuple) -> tuple[int, tuple]:
    """Rule 5 on a contracted multigraph: canonical numbering, parallel edges split."""
    edges = _canonical_numbering(num_nodes, edges)
    if len({(s, d) for s, d, _ in edges}) < len(edges):
        num_nodes, edges = _split_parallel(num_nodes, edges)
        edges = _canonical_numbering(num_nodes, edges)
    return num_nodes, edges


def _canonical_numbering(num_nodes: int, edges: Sequence) -> tuple:
    """The edges, renumbered by the topological numbering with the smallest key.

    The key lists, node after node, the sorted ``(source, op index)`` of its incoming edges.
    Placing nodes one at a time, only the candidates with the smallest next entry can lead to
    the smallest key; ties (symmetries) are explored, but for twins (same inputs and outputs),
    the rest pruned. Exponential only for cells with many tied, non-twin nodes (such as many
    parallel branches of two or more nodes each); fine for cells of up to about ten nodes.
    """
    ordered = tuple(sorted(edges, key=lambda e: (e[1], e[0], _OP_INDEX[e[2]])))
    pairs = {(s, d) for s, d, _ in edges}
    if all((v, v + 1) in pairs for v in range(num_nodes - 1)):
        return ordered  # a path through every node: the only topological numbering
    preds = [[] for _ in range(num_nodes)]
    succs = [[] for _ in range(num_nodes)]
    for s, d, op in edges:
        preds[d].append((s, _OP_INDEX[op]))
        succs[s].append((d, _OP_INDEX[op]))
    succs = [tuple(sorted(x)) for x in succs]
    best: list = [None, None]  # key, labels

    def place(labels, key):
        if len(labels) == num_nodes:
            if best[0] is None or key < best[0]:
                best[0], best[1] = key, dict(labels)
            return
        groups = {}
        for v in range(num_nodes):
            if v not in labels and all(s in labels for s, _ in preds[v]):
                groups[v] = tuple(sorted((labels[s], o) for s, o in preds[v]))
        low = min(groups.values())
        if best[0] is not None and key + (low,) > best[0][: len(key) + 1]:
            return
        tried = set()
        for v, group in groups.items():
            # two candidates with the same inputs (the group) and the same outputs are twins:
            # swapping them is an automorphism, so one of them stands for both
            if group == low and succs[v] not in tried:
                tried.add(succs[v])
                labels[v] = len(labels)
                place(labels, key + (group,))
                del labels[v]

    place({0: 0}, ())
    labels = best[1]
    renumbered = ((labels[s], labels[d], op) for s, d, op in edges)
    return tuple(sorted(renumbered, key=lambda e: (e[1], e[0], _OP_INDEX[e[2]])))


def _split_parallel(num_nodes: int, edges: Sequence) -> tuple[int, list]:
    """The fewest extra nodes that leave at most one edge per node pair, undoing contractions.

    Extra nodes come in two kinds: ``i -skip-> a`` (a copy of node ``i``: rule 3 undone) and
    ``b -skip-> j`` (a part of node ``j``'s sum: rule 4 undone). An edge ``i -op-> j`` of the
    multigraph may run from ``i`` or any copy of ``i`` to ``j`` or any part of ``j``, so ``A`` copies
    of ``i`` and ``B`` parts of ``j`` hold ``(A + 1)(B + 1)`` parallel edges, one per pair (four
    ``skip_connect`` edges ``0 -> 3`` need only two extra nodes, as NB-201's all-skip cell shows).
    Every extra node contracts back, so this covers every way to draw the multigraph; the counts
    per node are the cheapest in total (first in a fixed order on ties). A pair's edges, in
    :data:`OPS` order, fill its slots in a fixed order: ``(i, j)``, copies to ``j``, ``i`` to parts,
    copies to parts.
    """
    by_pair: dict = {}
    for s, d, op in edges:
        by_pair.setdefault((s, d), []).append(op)
    groups = sorted((p, sorted(ops, key=_OP_INDEX.__getitem__)) for p, ops in by_pair.items() if len(ops) > 1)
    sources = sorted({s for (s, _), _ in groups})
    widest = {s: max(len(ops) for (s2, _), ops in groups if s2 == s) for s in sources}

    def parts_needed(copies):  # the fewest parts of each target once each source has its copies
        parts: dict = {}
        for (s, d), ops in groups:
            parts[d] = max(parts.get(d, 0), -(-len(ops) // (copies[s] + 1)) - 1)
        return parts

    choices = [range(widest[s]) for s in sources]
    size = 1
    for c in choices:
        size *= len(c)
    if size > 100_000:  # too many to try (never for cells of a few nodes): parts only
        options = [tuple(0 for _ in sources)]
    else:
        options = itertools.product(*choices)
    best = None
    for option in options:
        copies = dict(zip(sources, option))
        parts = parts_needed(copies)
        cost = sum(option) + sum(parts.values())
        if best is None or cost < best[0]:
            best = (cost, copies, parts)
    _, copies, parts = best

    # positions: (v, 1) is node v, (v, 2, r) its r-th copy, (v, 0, r) its r-th part
    new_edges = [((s, 1), (d, 1), ops[0]) for (s, d), ops in by_pair.items() if len(ops) == 1]
    for (s, d), ops in groups:
        heads = [(s, 1)] + [(s, 2, r) for r in range(copies[s])]
        tails = [(d, 1)] + [(d, 0, r) for r in range(parts[d])]
        slots = [(h, tails[0]) for h in heads] + [(heads[0], t) for t in tails[1:]]
        slots += [(h, t) for h in heads[1:] for t in tails[1:]]
        new_edges += [(h, t, op) for (h, t), op in zip(slots, ops)]
    new_edges += [((s, 1), (s, 2, r), _SKIP) for s in sources for r in range(copies[s])]
    new_edges += [((d, 0, r), (d, 1), _SKIP) for d in parts for r in range(parts[d])]
    order = sorted({node for e in new_edges for node in e[:2]})
    label = {node: i for i, node in enumerate(order)}
    return len(order), [(label[s], label[d], op) for s, d, op in new_edges]
