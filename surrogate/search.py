"""Search over cells: regularised evolution and random search, driven by any fitness function.

A fitness function takes a list of cells and returns one number per cell, higher is better:
a surrogate's predicted accuracy, a table look-up, or a simulation. Each search spends a budget
of queries (one query = one cell handed to the fitness function, repeats included), draws all
its randomness from one ``numpy`` Generator and returns a :class:`History`::

    model = surrogate.load("anb-cifar10")
    fitness = lambda cells: model.predict(cells, 2592000).accuracy
    h = regularized_evolution(fitness, budget=1500, rng=0)
    h.best, h.best_fitness, h.best_so_far[-1]

The initial population (regularised evolution) and random search hand the fitness function many
cells in one call, so a batched model is used as such; each evolved child is one call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .cells import OPS, Cell
from .nb201 import EDGES

__all__ = ["History", "mutate", "random_cell", "random_search", "regularized_evolution"]

Fitness = Callable[[list[Cell]], Sequence[float]]


@dataclass(frozen=True)
class History:
    """What a search queried, in order.

    Attributes:
        cells: the queried cells, repeats included (a search may meet a cell twice).
        fitness: their fitness, shape ``(len(cells),)``.
    """

    cells: tuple[Cell, ...]
    fitness: np.ndarray

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def best_so_far(self) -> np.ndarray:
        """Running maximum of :attr:`fitness`: the best fitness after each query."""
        return np.maximum.accumulate(self.fitness)

    @property
    def best_index(self) -> int:
        """Index of the first query that reached the highest fitness."""
        return int(np.argmax(self.fitness))

    @property
    def best(self) -> Cell:
        """The cell the search returns: the best by its own fitness (first of ties)."""
        return self.cells[self.best_index]

    @property
    def best_fitness(self) -> float:
        return float(self.fitness[self.best_index])

    def n_unique(self) -> np.ndarray:
        """Number of distinct cells queried after each query (what a cached oracle is asked)."""
        seen: set[Cell] = set()
        out = np.empty(len(self.cells), dtype=np.int64)
        for i, c in enumerate(self.cells):
            seen.add(c)
            out[i] = len(seen)
        return out


def random_cell(rng: np.random.Generator) -> Cell:
    """A uniformly random NAS-Bench-201 cell: each of the 6 edges gets one of the 5 ops."""
    ops = rng.integers(len(OPS), size=len(EDGES))
    return Cell(4, [(s, d, OPS[k]) for (s, d), k in zip(EDGES, ops)])


def mutate(cell: Cell, rng: np.random.Generator) -> Cell:
    """``cell`` with one edge, drawn uniformly, given a different op, drawn uniformly.

    Works for any DAG cell: the wiring stays, only one op changes.
    """
    edges = list(cell.edges)
    i = int(rng.integers(len(edges)))
    src, dst, op = edges[i]
    others = [o for o in OPS if o != op]
    edges[i] = (src, dst, others[int(rng.integers(len(others)))])
    return Cell(cell.num_nodes, edges)


def random_search(fitness: Fitness, budget: int, rng=None, batch_size: int | None = None,
                  sample: Callable[[np.random.Generator], Cell] = random_cell) -> History:
    """Evaluate ``budget`` cells drawn independently (with replacement) by ``sample``.

    Args:
        fitness: ``f(list_of_cells) -> array`` of one fitness per cell, higher is better.
        budget: number of queries.
        rng: a seed or a ``numpy.random.Generator``.
        batch_size: cells per fitness call; default all ``budget`` in one call.
        sample: draws one cell from the space; default a uniform NB-201 cell.
    """
    budget = _check_budget(budget)
    rng = np.random.default_rng(rng)
    batch_size = budget if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    cells = [sample(rng) for _ in range(budget)]
    values = np.concatenate([_evaluate(fitness, cells[i:i + batch_size])
                             for i in range(0, budget, batch_size)])
    return History(tuple(cells), values)


def regularized_evolution(fitness: Fitness, budget: int, population_size: int = 100, sample_size: int = 10,
                          rng=None, sample: Callable[[np.random.Generator], Cell] = random_cell) -> History:
    """Regularised (aging) evolution, Real et al. 2019 (AAAI, "Regularized evolution for image
    classifier architecture search"), Algorithm 1.

    Start from ``population_size`` cells drawn by ``sample``; then, until ``budget`` queries are
    spent: draw ``sample_size`` members of the population uniformly with replacement, mutate the
    fittest of them (:func:`mutate`: one edge's op changes), evaluate the child, add it to the
    population and remove the oldest member. Members leave by age, never by fitness.

    Args:
        fitness: ``f(list_of_cells) -> array`` of one fitness per cell, higher is better.
        budget: number of queries, the initial population included (if smaller than
            ``population_size``, the search is random search).
        population_size, sample_size: P and S of the paper.
        rng: a seed or a ``numpy.random.Generator``.
        sample: draws one cell of the initial population; default a uniform NB-201 cell.
    """
    budget = _check_budget(budget)
    for name, value in (("population_size", population_size), ("sample_size", sample_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    rng = np.random.default_rng(rng)
    cells = [sample(rng) for _ in range(min(population_size, budget))]
    values = list(_evaluate(fitness, cells))
    population = deque(zip(cells, values))
    while len(cells) < budget:
        picks = rng.integers(len(population), size=sample_size)
        parent = max((population[i] for i in picks), key=lambda member: member[1])[0]
        child = mutate(parent, rng)
        value = float(_evaluate(fitness, [child])[0])
        cells.append(child)
        values.append(value)
        population.append((child, value))
        population.popleft()
    return History(tuple(cells), np.asarray(values, dtype=float))


def _check_budget(budget) -> int:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be a positive integer number of queries, got {budget!r}")
    return int(budget)


def _evaluate(fitness: Fitness, cells: list[Cell]) -> np.ndarray:
    values = np.asarray(fitness(list(cells)), dtype=float).reshape(-1)
    if values.shape != (len(cells),):
        raise ValueError(f"the fitness function returned {values.size} values for {len(cells)} cells")
    if np.isnan(values).any():
        raise ValueError("the fitness function returned NaN; return -inf for cells to avoid")
    return values
