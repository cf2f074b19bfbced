"""Regularised evolution and random search over cells (surrogate.search)."""

import numpy as np
import pytest

from surrogate import Cell
from surrogate.cells import OPS
from surrogate.search import History, mutate, random_cell, random_search, regularized_evolution


def n_conv3(cells):
    """A toy fitness with one optimum: the number of 3x3 convolutions (6 at best)."""
    return np.array([sum(op == "nor_conv_3x3" for op in c.ops) for c in cells], dtype=float)


class Recorder:
    def __init__(self, fitness=n_conv3):
        self.fitness, self.calls = fitness, []

    def __call__(self, cells):
        self.calls.append(list(cells))
        return self.fitness(cells)


def test_random_cell_and_mutate():
    rng = np.random.default_rng(0)
    cells = [random_cell(rng) for _ in range(200)]
    assert all(c.is_nb201 for c in cells) and len(set(cells)) > 150
    assert {op for c in cells for op in c.ops} == set(OPS)
    for c in cells[:50]:
        child = mutate(c, rng)
        changed = [(a, b) for a, b in zip(c.edges, child.edges) if a != b]
        assert len(changed) == 1 and changed[0][0][:2] == changed[0][1][:2]  # same edge, other op
    dag = Cell.from_edges(5, [(0, 1, "nor_conv_3x3"), (1, 2, "none"), (0, 2, "skip_connect"), (2, 3, "avg_pool_3x3"),
                              (3, 4, "nor_conv_1x1")])
    child = mutate(dag, rng)
    assert child.num_nodes == 5 and sum(a != b for a, b in zip(dag.edges, child.edges)) == 1


def test_regularized_evolution_protocol():
    rec = Recorder()
    h = regularized_evolution(rec, budget=300, population_size=20, sample_size=5, rng=1)
    assert isinstance(h, History) and len(h) == len(h.cells) == h.fitness.size == 300
    assert len(rec.calls[0]) == 20 and all(len(c) == 1 for c in rec.calls[1:])  # batch, then one child a call
    assert len(rec.calls) == 1 + 280
    # every child is one mutation away from a cell among the 20 most recent before it (the living population)
    for i in range(20, 300):
        child = h.cells[i]
        assert any(sum(a != b for a, b in zip(child.edges, p.edges)) == 1 for p in h.cells[i - 20:i])
    assert np.all(np.diff(h.best_so_far) >= 0) and h.best_so_far[-1] == h.fitness.max()
    assert h.best == h.cells[int(np.argmax(h.fitness))] and h.best_fitness == 6.0  # finds the optimum


def test_regularized_evolution_beats_random_search_on_toy():
    rea = [regularized_evolution(n_conv3, 150, population_size=20, sample_size=5, rng=s).best_fitness for s in range(5)]
    rs = [random_search(n_conv3, 150, rng=s).best_fitness for s in range(5)]
    assert np.mean(rea) > np.mean(rs)


def test_seeded_and_reproducible():
    a = regularized_evolution(n_conv3, 200, population_size=10, sample_size=3, rng=7)
    b = regularized_evolution(n_conv3, 200, population_size=10, sample_size=3, rng=np.random.default_rng(7))
    c = regularized_evolution(n_conv3, 200, population_size=10, sample_size=3, rng=8)
    assert a.cells == b.cells and np.array_equal(a.fitness, b.fitness)
    assert a.cells != c.cells
    assert random_search(n_conv3, 50, rng=3).cells == random_search(n_conv3, 50, rng=3).cells


def test_random_search_batches_and_small_budgets():
    rec = Recorder()
    h = random_search(rec, 25, rng=0, batch_size=10)
    assert [len(c) for c in rec.calls] == [10, 10, 5] and len(h) == 25
    rec = Recorder()
    h = regularized_evolution(rec, 5, population_size=10, rng=0)  # budget below P: only the initial draw
    assert len(h) == 5 and [len(c) for c in rec.calls] == [5]


def test_history_unique_counts():
    c1, c2 = random_cell(np.random.default_rng(0)), random_cell(np.random.default_rng(1))
    h = History((c1, c2, c1, c2, c1), np.array([1.0, 3.0, 1.0, 3.0, 1.0]))
    assert h.n_unique().tolist() == [1, 2, 2, 2, 2]
    assert h.best_index == 1 and h.best == c2 and h.best_so_far.tolist() == [1, 3, 3, 3, 3]


def test_errors():
    for budget in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="budget"):
            regularized_evolution(n_conv3, budget)
    with pytest.raises(ValueError, match="population_size"):
        regularized_evolution(n_conv3, 10, population_size=0)
    with pytest.raises(ValueError, match="returned 1 values for 4 cells"):
        random_search(lambda cells: [1.0], 4, rng=0)
    with pytest.raises(ValueError, match="NaN"):
        random_search(lambda cells: np.full(len(cells), np.nan), 4, rng=0)
    with pytest.raises(ValueError, match="batch_size"):
        random_search(n_conv3, 4, batch_size=0)
    h = random_search(lambda cells: np.full(len(cells), -np.inf), 4, rng=0)  # -inf is a valid "avoid"
    assert np.isneginf(h.best_fitness)
