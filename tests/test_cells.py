import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surrogate import Cell, as_cell, nb201
from surrogate.cells import ANB_EDGES, ANB_OPS, OPS

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


def test_design_example():
    cell = Cell.from_str(EXAMPLE)
    assert cell == Cell.from_anb((2, 2, 0, 4, 2, 1))
    assert cell.to_anb() == (2, 2, 0, 4, 2, 1)
    assert cell.to_str() == EXAMPLE
    assert as_cell(EXAMPLE) == as_cell((2, 2, 0, 4, 2, 1)) == as_cell(cell) == cell


def test_anb_edge_order_is_naslib():
    # tuple positions 2 and 3 are edges 0->3 and 1->2 (swapped w.r.t. the NB-201 string)
    cell = Cell.from_anb((1, 1, 2, 3, 1, 1))
    by_edge = {(s, d): op for s, d, op in cell.edges}
    assert by_edge[(0, 3)] == "nor_conv_3x3"
    assert by_edge[(1, 2)] == "nor_conv_1x1"
    assert ANB_EDGES[2] == (0, 3) and ANB_OPS[0] == "skip_connect" and ANB_OPS[1] == "none"


def test_round_trips_over_whole_space():
    cells = nb201.all_cells()
    assert len(cells) == 15625 == len(set(cells))
    for cell in cells:
        assert Cell.from_str(cell.to_str()) == cell
        assert Cell.from_anb(cell.to_anb()) == cell
    assert len({c.to_anb() for c in cells}) == 15625


def test_isomorphism_classes_and_degenerate_cells():
    cells = nb201.all_cells()
    assert len({c.canonical() for c in cells}) == 6466
    assert len({c.canonical(drop_zero=True) for c in cells}) == 5390
    assert sum(c.is_degenerate for c in cells) == 341


def test_canonical_follows_nb201_rule():
    # skip and conv commute in a sum; a zero node feeding a conv stays a zero term
    a = Cell.from_str("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")
    b = Cell.from_str("|skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")
    assert a != b and a.canonical() != b.canonical()  # node 2 differs: (0)@conv3 vs 0
    c = Cell.from_str("|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_1x1~2|")
    d = Cell.from_str("|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|nor_conv_1x1~2|")
    assert c.canonical() == d.canonical()  # the op after a zero node does not matter
    assert Cell.from_anb((1,) * 6).is_degenerate and not Cell.from_str(EXAMPLE).is_degenerate


def test_immutable_hashable_picklable():
    cell = Cell.from_str(EXAMPLE)
    with pytest.raises(AttributeError):
        cell._num_nodes = 5
    assert {cell: 1}[Cell.from_anb((2, 2, 0, 4, 2, 1))] == 1
    assert pickle.loads(pickle.dumps(cell)) == cell
    assert "nor_conv_3x3" in repr(cell)


def test_general_dag():
    cell = Cell.from_edges(5, [(0, 1, "nor_conv_3x3"), (1, 2, "skip_connect"), (0, 3, "avg_pool_3x3"),
                               (2, 4, "nor_conv_1x1"), (3, 4, "nor_conv_3x3")])
    assert cell.num_nodes == 5 and not cell.is_nb201
    assert Cell.from_str(cell.to_str()) == cell
    with pytest.raises(ValueError, match="NB-201-shaped"):
        cell.to_anb()
    # node order of the edge list does not matter
    assert Cell.from_edges(5, reversed(cell.edges)) == cell


@pytest.mark.parametrize(
    "num_nodes, edges, match",
    [
        (4, [(0, 1, "conv")], "unknown op 'conv'"),
        (3, [(0, 1, "none"), (1, 5, "none")], "out of range"),
        (3, [(0, 1, "none"), (1, 2, "none"), (1, 1, "none")], "self-loop"),
        (3, [(0, 1, "none"), (1, 2, "none"), (2, 1, "none")], "two edges|cycle"),
        (4, [(0, 1, "none"), (1, 2, "none"), (2, 1, "skip_connect"), (2, 3, "none")], "cycle 1 -> 2 -> 1"),
        (4, [(0, 1, "none"), (1, 2, "none"), (1, 2, "skip_connect"), (2, 3, "none")], "two edges"),
        (4, [(0, 2, "none"), (2, 1, "none"), (1, 3, "none")], "topological order"),
        (4, [(0, 1, "none"), (1, 3, "none"), (0, 3, "none")], "node 2 has no incoming"),
        (4, [(0, 1, "none"), (0, 2, "none"), (1, 3, "none")], "node 2 has no outgoing"),
        (4, [(0, 1, "none"), (1, 1, "x")], "unknown op|self-loop"),
        (1, [], "num_nodes must be an integer >= 2"),
        (4, [(0, 1)], r"\(src, dst, op\) triple"),
        (4, [(0.5, 1, "none")], "out of range"),
    ],
)
def test_from_edges_errors(num_nodes, edges, match):
    with pytest.raises(ValueError, match=match):
        Cell.from_edges(num_nodes, edges)


def test_cycle_message():
    edges = [(0, 1, "none"), (1, 2, "none"), (2, 3, "none"), (3, 1, "none"), (2, 4, "none")]
    with pytest.raises(ValueError, match="cycle 1 -> 2 -> 3 -> 1"):
        Cell.from_edges(5, edges)


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "malformed"),
        ("|nor_conv_3x3~0|+|", "malformed"),
        ("nor_conv_3x3~0", "malformed"),
        ("|nor_conv_3x3~a|", "malformed"),
        ("|conv~0|+|none~0|none~1|", "unknown op 'conv'"),
        ("|none~1|", "self-loop|out of range"),
        ("|none~0|+|none~0|none~3|", "out of range"),
    ],
)
def test_from_str_errors(text, match):
    with pytest.raises(ValueError, match=match):
        Cell.from_str(text)


@pytest.mark.parametrize(
    "ops, match",
    [((1, 2, 3), "6 op indices"), ((0, 0, 0, 0, 0, 7), "out of range"), ((0, 0, 0, 0, 0, -1), "out of range"),
     ((0, 0, 0, 0, 0, "a"), "integers"), ((0, 0, 0, 0, 0, 1.5), "integers")],
)
def test_from_anb_errors(ops, match):
    with pytest.raises(ValueError, match=match):
        Cell.from_anb(ops)


def test_as_cell_rejects_other_types():
    with pytest.raises(TypeError, match="accepted"):
        as_cell(3.0)
    with pytest.raises(TypeError):
        Cell.from_str(123)


@st.composite
def dags(draw):
    """A random valid DAG cell: a random edge set over ordered nodes, completed so every node
    has an input and an output."""
    n = draw(st.integers(2, 7))
    pairs = [(i, j) for j in range(1, n) for i in range(j)]
    chosen = set(draw(st.sets(st.sampled_from(pairs), max_size=len(pairs))))
    for j in range(1, n):  # every non-input node needs an incoming edge
        if not any(d == j for _, d in chosen):
            chosen.add((draw(st.integers(0, j - 1)), j))
    for i in range(n - 1):  # every non-output node needs an outgoing edge
        if not any(s == i for s, _ in chosen):
            chosen.add((i, draw(st.integers(i + 1, n - 1))))
    return n, [(s, d, draw(st.sampled_from(OPS))) for s, d in sorted(chosen)]


@settings(max_examples=300, deadline=None)
@given(dags(), st.randoms())
def test_random_dags(dag, rnd):
    n, edges = dag
    cell = Cell.from_edges(n, edges)
    assert Cell.from_str(cell.to_str()) == cell
    shuffled = list(edges)
    rnd.shuffle(shuffled)
    assert Cell.from_edges(n, shuffled) == cell
    assert hash(Cell.from_edges(n, shuffled)) == hash(cell)
    # relabelling intermediate nodes with another topological order keeps the canonical key
    assert cell.canonical() == _relabel_reverse_independent(cell).canonical()
    # degenerate exactly when dropping zero terms leaves nothing at the output
    assert cell.is_degenerate == (cell.canonical(drop_zero=True) == "#")


def _relabel_reverse_independent(cell):
    """Swap two intermediate nodes that have no edge between them, if any (an isomorphism)."""
    n = cell.num_nodes
    linked = {(s, d) for s, d, _ in cell.edges}
    for a in range(1, n - 1):
        b = a + 1
        if b < n - 1 and (a, b) not in linked:
            perm = {**{i: i for i in range(n)}, a: b, b: a}
            return Cell.from_edges(n, [(perm[s], perm[d], op) for s, d, op in cell.edges])
    return cell
