"""The cells of the proxy data set, in the order they are simulated (issue 10, part 3).

Four phases, each a text file of cell strings under ``benchmark_data/proxy-cells/``; the simulation
runs them in order, so a budget cut anywhere still leaves a usable prefix:

1. ``all-chips.txt``: 300 NB-201 cells, distinct under ``canonical()``, measured on every chip;
2. ``nb201.txt``: 700 more NB-201 cells, distinct under ``canonical()`` from each other and from
   phase 1 (every op represented, degenerate cells included as they come), default chip only;
3. ``dags.txt``: 240 cells that are not NB-201: 160 random DAGs of 5-6 nodes over the same ops,
   and 80 redrawings of phase-1/2 NB-201 cells with one edge split by a single-input
   ``skip_connect`` node (the same network, drawn with 5 nodes);
4. ``seed1.txt``: 100 cells of phase 1 again, for a second training seed (our noise ceiling).

    python benchmark_data/proxy_cells.py     # writes the four files (deterministic, seed 0)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from surrogate import Cell, nb201
from surrogate.cells import OPS

OUT = Path(__file__).resolve().parent / "proxy-cells"
LIVE_OPS = OPS[1:]  # random DAGs: no `none` edge (it would only draw a smaller DAG)


def random_dag(rng: np.random.Generator, n: int) -> Cell:
    """A DAG of ``n`` nodes: every node after the input has 1-3 inputs, every node before the output
    feeds a later node; ops drawn uniformly from the four live ops."""
    edges = set()
    for dst in range(1, n):
        k = int(rng.integers(1, min(3, dst) + 1))
        for src in rng.choice(dst, size=k, replace=False):
            edges.add((int(src), dst))
    for src in range(1, n - 1):
        if not any(s == src for s, _ in edges):
            edges.add((src, int(rng.integers(src + 1, n))))
    return Cell.from_edges(n, [(s, d, LIVE_OPS[int(rng.integers(len(LIVE_OPS)))]) for s, d in sorted(edges)])


def split_edge(cell: Cell, rng: np.random.Generator) -> Cell:
    """``cell`` with one live edge i->j drawn as i->k (same op) and k->j ``skip_connect``, k new."""
    live = [e for e in cell.edges if e[2] != "none"]
    src, dst, op = live[int(rng.integers(len(live)))]
    n = cell.num_nodes
    # the new node takes number dst and later nodes shift up, so numbering stays topological
    shift = lambda v: v + 1 if v >= dst else v  # noqa: E731
    edges = [(shift(s), shift(d), o) for s, d, o in cell.edges if (s, d, o) != (src, dst, op)]
    edges += [(shift(src), dst, op), (dst, shift(dst), "skip_connect")]
    return Cell.from_edges(n + 1, edges)


def build(seed: int = 0) -> dict[str, list[Cell]]:
    rng = np.random.default_rng(seed)
    pool = nb201.all_cells()
    seen, nb = set(), []
    for i in rng.permutation(len(pool)):
        key = pool[i].canonical()
        if key not in seen:
            seen.add(key)
            nb.append(pool[i])
        if len(nb) == 1000:
            break
    phases = {"all-chips": nb[:300], "nb201": nb[300:]}
    dags = [random_dag(rng, int(rng.integers(5, 7))) for _ in range(160)]
    live = [c for c in nb if not c.is_degenerate]
    dags += [split_edge(live[int(i)], rng) for i in rng.choice(len(live), size=80, replace=False)]
    phases["dags"] = list(dict.fromkeys(dags))
    phases["seed1"] = nb[:100]
    return phases


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, cells in build().items():
        (OUT / f"{name}.txt").write_text("".join(c.to_str() + "\n" for c in cells))
        print(f"{name}: {len(cells)} cells")


if __name__ == "__main__":
    main()
