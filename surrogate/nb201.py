"""The NAS-Bench-201 search space and the cost of its macro network.

The macro network (Dong & Yang, 2020): a 3x3 stem conv, three stages of ``depth`` cells at
``C``, ``2C`` and ``4C`` channels, a residual reduction block between stages, BN-ReLU, global
pooling and a linear classifier. :func:`macro_cost` counts its parameters and multiply-adds
in closed form, so ranking thousands of cells by size costs no network construction;
``surrogate.simulate.network`` builds the same network and the tests hold the two together.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from .cells import OPS, Cell, as_cell, listed  # noqa: F401  (OPS re-exported)
from .core.anb import ANB_EDGES, ANB_OPS

__all__ = ["EDGES", "all_cells", "space_keys", "macro_cost"]

#: Edge order of the NB-201 string: node 1 <- 0; node 2 <- 0, 1; node 3 <- 0, 1, 2.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


@lru_cache(maxsize=1)
def _all_cells() -> tuple[Cell, ...]:
    # valid by construction (every node has an input and an output), and EDGES is sorted by (dst, src)
    return tuple(Cell._trusted(4, tuple((s, d, op) for (s, d), op in zip(EDGES, ops)), key)
                 for ops, key in zip(itertools.product(OPS, repeat=len(EDGES)), space_keys()[0]))


def all_cells() -> list[Cell]:
    """The 15,625 NB-201 cells, in the order of ``itertools.product(OPS, repeat=6)``."""
    return list(_all_cells())


@lru_cache(maxsize=1)
def space_keys() -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """The NB-201 string and the AnalogNAS-Bench tuple of each cell of :func:`all_cells`, in its
    order, made without making the cells (what a table keyed by either is built from)."""
    strings = tuple(f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|"
                    for a, b, c, d, e, f in itertools.product(OPS, repeat=len(EDGES)))
    ops = np.indices((len(OPS),) * len(EDGES)).reshape(len(EDGES), -1).T  # [cell, edge] OPS index, product order
    anb = np.array([ANB_OPS.index(op) for op in OPS])[ops[:, [EDGES.index(e) for e in ANB_EDGES]]]
    return strings, tuple(map(tuple, anb.tolist()))


def macro_cost(
    cells: Iterable,
    width: int = 16,
    depth: int = 5,
    input_size: int = 32,
    in_channels: int = 3,
    num_classes: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Parameter count and multiply-adds (FLOPs as NB-201 reports them) of the macro network.

    Args:
        cells: cells (or anything :func:`~surrogate.cells.as_cell` accepts).
        width: channels ``C`` of the first stage.
        depth: cells per stage ``N``.
        input_size: height = width of the input image.

    Returns:
        ``(params, flops)``, two integer arrays with one entry per cell. Only trainable
        parameters count (BN running statistics are buffers). At the NB-201 default
        (C=16, N=5, 32x32, 10 classes) the all-``nor_conv_3x3`` cell gives 1,531,546
        parameters (NB-201: 1.53 MB) and 220.12 M multiply-adds.
    """
    counts = np.array(
        [[sum(op == k for op in as_cell(c).ops) for k in ("nor_conv_1x1", "nor_conv_3x3")] for c in listed(cells)],
        dtype=np.int64,
    ).reshape(-1, 2)
    n1, n3 = counts[:, 0], counts[:, 1]

    def conv(k, cin, cout, hw):  # (params incl. BN affine, MACs)
        return k * k * cin * cout + 2 * cout, k * k * cin * cout * hw * hw

    params = 0
    flops = 0
    p, f = conv(3, in_channels, width, input_size)  # stem
    params, flops = params + p, flops + f
    cell_params = np.zeros(len(counts), dtype=np.int64)
    cell_flops = np.zeros(len(counts), dtype=np.int64)
    size = input_size
    for stage in range(3):
        c = width * 2**stage
        if stage:
            cin, size_in = c // 2, size
            size = (size_in - 1) // 2 + 1  # 3x3 conv, stride 2, padding 1
            for k, ci, hw in ((3, cin, size), (3, c, size)):  # conv_a, conv_b
                p, f = conv(k, ci, c, hw)
                params, flops = params + p, flops + f
            params += cin * c  # shortcut: avg-pool then 1x1 conv, no BN
            flops += cin * c * (size_in // 2) ** 2
        for k, n in ((1, n1), (3, n3)):
            p, f = conv(k, c, c, size)
            cell_params += depth * n * p
            cell_flops += depth * n * f
    params += 2 * 4 * width  # last BN
    params += 4 * width * num_classes + num_classes
    flops += 4 * width * num_classes
    return params + cell_params, flops + cell_flops
