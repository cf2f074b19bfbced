"""Encodings of cells for the models: a graph for the GNN and a feature matrix for trees.

Both work for any DAG cell over :data:`~surrogate.cells.OPS`, and both encode the cell's normal
form :meth:`~surrogate.cells.Cell.simplified`: cells that compute the same function (a ``none``
edge more, a dead node, a ``skip_connect`` node drawn in, another numbering) get identical
encodings, so every model gives them the same answer. The feature layout is fixed by
a :class:`FeatureSpec`, saved with a model, so a model fitted on NB-201 cells still gets a
matrix of the right width for a larger cell (positions it has never seen become NaN, which
XGBoost treats as missing).
"""

from __future__ import annotations

import itertools
import sys
import warnings
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from .cells import OPS, Cell, as_cell, listed
from .nb201 import macro_cost

__all__ = ["FeatureSpec", "features", "graph_features", "GRAPH_FEATURES", "to_graph", "to_graphs", "collate", "live_edges", "levels"]

_TOKENS = tuple(op for op in OPS if op != "none")  # ops that pass a signal on
_NODE_ROLES = 3  # input, intermediate, output


@contextmanager
def torch_geometric_import():
    """Around the first import of ``torch_geometric`` in a process: without its two warnings.

    torch-geometric 2.8 decorates two functions of ``torch_geometric.nn.pool`` with ``torch.jit.script``
    when it is imported (any of its modules imports that one), and torch 2.13 deprecates
    ``torch.jit.script``: two ``DeprecationWarning`` about torch-geometric's code, not ours or the user's,
    on the first prediction of a cell outside a model's cache. Exactly those are ignored, only while
    torch-geometric is imported (once the module is loaded this does nothing).
    """
    if "torch_geometric" in sys.modules:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning)
        yield


def live_edges(cell: Cell) -> tuple[bool, ...]:
    """For each edge: whether it lies on a path of non-``none`` edges from input to output."""
    fwd, bwd = {0}, {cell.num_nodes - 1}
    for s, d, op in cell.edges:
        if op != "none" and s in fwd:
            fwd.add(d)
    for s, d, op in reversed(cell.edges):
        if op != "none" and d in bwd:
            bwd.add(s)
    return tuple(op != "none" and s in fwd and d in bwd for s, d, op in cell.edges)


def levels(cell: Cell) -> tuple[int, ...]:
    """Per node, the length of the longest path from the input: the order a DAG encoder runs in."""
    level = [0] * cell.num_nodes
    for s, d, _ in cell.edges:  # sorted by dst with src < dst: sources are final when read
        level[d] = max(level[d], level[s] + 1)
    return tuple(level)


def _paths(cell: Cell) -> list[tuple[str, ...]]:
    """Every input-to-output path of non-``none`` edges, as its sequence of ops."""
    by_src: dict[int, list[tuple[int, str]]] = {}
    for s, d, op in cell.edges:
        if op != "none":
            by_src.setdefault(s, []).append((d, op))
    out, found = cell.num_nodes - 1, []

    def walk(node, seq):
        if node == out:
            found.append(seq)
            return
        for d, op in by_src.get(node, ()):
            walk(d, seq + (op,))

    walk(0, ())
    return found


@dataclass(frozen=True)
class FeatureSpec:
    """Layout of the tree-model feature matrix.

    Attributes:
        max_nodes: cells up to this many nodes get a one-hot block per node pair ``(i, j)``;
            larger cells get NaN there (XGBoost's missing value).
        max_path_len: input-output paths up to this length are counted per op sequence
            (the path encoding of White et al., 2021); longer ones add to ``paths_longer``.
        width, depth, input_size: macro network for the ``params`` / ``flops`` columns.
    """

    max_nodes: int = 4
    max_path_len: int = 3
    width: int = 16
    depth: int = 5
    input_size: int = 32

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return [(i, j) for j in range(1, self.max_nodes) for i in range(j)]

    @property
    def paths(self) -> list[tuple[str, ...]]:
        return [p for n in range(1, self.max_path_len + 1) for p in itertools.product(_TOKENS, repeat=n)]

    @property
    def names(self) -> list[str]:
        onehot = [f"edge{i}{j}={op}" for i, j in self.pairs for op in OPS]
        paths = ["path=" + ">".join(p) for p in self.paths]
        counts = [f"n_{op}" for op in OPS] + [f"live_{op}" for op in _TOKENS]
        extra = ["num_nodes", "num_edges", "paths_total", "paths_longer", "depth_min",
                 "depth_max", "degenerate", "log_params", "log_flops"]
        return onehot + paths + counts + extra

    def to_dict(self) -> dict:
        return asdict(self)


def features(cells: Iterable, spec: FeatureSpec = FeatureSpec()) -> np.ndarray:
    """Feature matrix of shape ``(len(cells), len(spec.names))``, float32, of each cell's normal form.

    A simplified NB-201 cell has at most 4 nodes, so the default spec holds every one of them.
    """
    cells = [as_cell(c).simplified() for c in listed(cells)]
    if not cells:
        return np.zeros((0, len(spec.names)), dtype=np.float32)
    return np.stack([_row(c, spec) for c in cells])


@lru_cache(maxsize=65536)
def _row(cell: Cell, spec: FeatureSpec) -> np.ndarray:
    pairs = spec.pairs
    onehot = np.zeros((len(pairs), len(OPS)))
    if cell.num_nodes > spec.max_nodes:
        onehot[:] = np.nan
    else:
        # node pairs of a smaller cell are absent edges (all-zero rows); the output is
        # aligned to the last node of the spec, so a 3-node cell reads as a 4-node one
        # whose node 2 is skipped
        shift = spec.max_nodes - cell.num_nodes
        index = {p: k for k, p in enumerate(pairs)}
        for s, d, op in cell.edges:
            d2 = d + shift if d == cell.num_nodes - 1 else d
            onehot[index[(s, d2)], OPS.index(op)] = 1
    paths = _paths(cell)
    path_index = {p: k for k, p in enumerate(spec.paths)}
    path_counts = np.zeros(len(path_index))
    longer = 0
    for p in paths:
        if p in path_index:
            path_counts[path_index[p]] += 1
        else:
            longer += 1
    live = live_edges(cell)
    n_ops = [sum(op == o for op in cell.ops) for o in OPS]
    n_live = [sum(op == o and lv for op, lv in zip(cell.ops, live)) for o in _TOKENS]
    lengths = [len(p) for p in paths] or [0]
    params, flops = macro_cost([cell], spec.width, spec.depth, spec.input_size)
    extra = [cell.num_nodes, len(cell.edges), len(paths), longer, min(lengths), max(lengths),
             float(cell.is_degenerate), np.log(params[0]), np.log(flops[0])]
    row = np.concatenate([onehot.ravel(), path_counts, n_ops, n_live, extra]).astype(np.float32)
    row.setflags(write=False)
    return row


#: Op groups of :func:`graph_features`: each op alone, and both convolutions together.
_GROUPS = {"conv": ("nor_conv_3x3", "nor_conv_1x1"), **{op: (op,) for op in _TOKENS}}
#: Column names of :func:`graph_features`.
GRAPH_FEATURES = tuple(
    [f"{k}_{g}" for g in _GROUPS for k in ("paths_with", "max_on_path", "min_on_path")]
    + ["input_out_degree", "output_in_degree", "max_in_degree", "mean_in_degree", "live_nodes"])


def graph_features(cells: Iterable) -> np.ndarray:
    """Neural graph features of each cell's normal form, in the spirit of Kadlecova et al., "Surprisingly
    Strong Performance Prediction with Neural Graph Features" (ICML 2024): per op group, how many
    input-output paths use it and the most and fewest edges of it on one path (the conv "depth" and
    whether a conv-free shortcut exists), and the degrees of the live graph. Columns: :data:`GRAPH_FEATURES`.
    """
    cells = [as_cell(c).simplified() for c in listed(cells)]
    if not cells:
        return np.zeros((0, len(GRAPH_FEATURES)), dtype=np.float32)
    return np.stack([_graph_row(c) for c in cells])


@lru_cache(maxsize=65536)
def _graph_row(cell: Cell) -> np.ndarray:
    paths = _paths(cell)
    row = []
    for ops in _GROUPS.values():
        on = [sum(op in ops for op in p) for p in paths] or [0]
        row += [sum(n > 0 for n in on), max(on), min(on)]
    live = [(s, d) for (s, d, _), lv in zip(cell.edges, live_edges(cell)) if lv]
    indeg = {}
    for _, d in live:
        indeg[d] = indeg.get(d, 0) + 1
    out = cell.num_nodes - 1
    row += [sum(s == 0 for s, _ in live), indeg.get(out, 0), max(indeg.values(), default=0),
            float(np.mean(list(indeg.values()))) if indeg else 0.0, len(indeg)]
    out_row = np.asarray(row, dtype=np.float32)
    out_row.setflags(write=False)
    return out_row


def to_graph(cell):
    """A torch-geometric ``Data`` for one cell: the graph of its normal form (``cell.simplified()``).

    Fields:
        x: ``[num_nodes, 3]`` one-hot node role (input, intermediate, output).
        edge_index: ``[2, num_edges]`` source and target of each edge (``src < dst``).
        edge_attr: ``[num_edges, 5]`` one-hot op over :data:`~surrogate.cells.OPS`.
        op: ``[num_edges]`` op index (the argmax of ``edge_attr``).
        level: ``[num_nodes]`` longest-path distance from the input (see :func:`levels`).
        live: ``[num_edges]`` whether the edge carries signal from input to output.
    """
    import torch

    with torch_geometric_import():
        from torch_geometric.data import Data

    a = _arrays(as_cell(cell).simplified())
    return Data(
        x=torch.from_numpy(np.eye(_NODE_ROLES, dtype=np.float32)[a["role"]]),
        edge_index=torch.from_numpy(np.stack([a["src"], a["dst"]])),
        edge_attr=torch.from_numpy(np.eye(len(OPS), dtype=np.float32)[a["op"]]),
        op=torch.from_numpy(a["op"]),
        level=torch.from_numpy(a["level"]),
        live=torch.from_numpy(a["live"]),
        num_nodes=len(a["role"]),
    )


def to_graphs(cells: Sequence) -> list:
    """:func:`to_graph` for many cells."""
    return [to_graph(c) for c in listed(cells)]


def collate(cells: Sequence):
    """A torch-geometric ``Batch`` of many cells (their normal forms), built from cached arrays in one pass.

    Equal to ``Batch.from_data_list(to_graphs(cells))`` (the tests hold them together) but
    about fifty times faster, which matters when a search loop scores the whole space.
    """
    import torch

    with torch_geometric_import():
        from torch_geometric.data import Batch

    arrays = [_arrays(as_cell(c).simplified()) for c in listed(cells)]
    n_nodes = np.array([len(a["role"]) for a in arrays], dtype=np.int64)
    n_edges = np.array([len(a["op"]) for a in arrays], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(n_nodes)])
    offset = np.repeat(ptr[:-1], n_edges)
    cat = {k: np.concatenate([a[k] for a in arrays]) for k in ("role", "src", "dst", "op", "level", "live")}
    edge_index = np.stack([cat["src"] + offset, cat["dst"] + offset])
    batch = Batch(
        x=torch.from_numpy(np.eye(_NODE_ROLES, dtype=np.float32)[cat["role"]]),
        edge_index=torch.from_numpy(edge_index),
        edge_attr=torch.from_numpy(np.eye(len(OPS), dtype=np.float32)[cat["op"]]),
        op=torch.from_numpy(cat["op"]),
        level=torch.from_numpy(cat["level"]),
        live=torch.from_numpy(cat["live"]),
        batch=torch.from_numpy(np.repeat(np.arange(len(arrays)), n_nodes)),
        ptr=torch.from_numpy(ptr),
    )
    batch._num_graphs = len(arrays)
    return batch


@lru_cache(maxsize=65536)
def _arrays(cell: Cell) -> dict[str, np.ndarray]:
    role = np.ones(cell.num_nodes, dtype=np.int64)
    role[0], role[-1] = 0, 2
    return {
        "role": role,
        "src": np.array([s for s, _, _ in cell.edges], dtype=np.int64),
        "dst": np.array([d for _, d, _ in cell.edges], dtype=np.int64),
        "op": np.array([OPS.index(o) for _, _, o in cell.edges], dtype=np.int64),
        "level": np.array(levels(cell), dtype=np.int64),
        "live": np.array(live_edges(cell), dtype=bool),
    }
