import itertools
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surrogate import Cell, as_cell, nb201
from surrogate.cells import ANB_EDGES, ANB_OPS, OPS
from surrogate.encoding import live_edges

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
    assert Cell.from_dag_str(cell.to_str()) == cell  # what stores and files hold
    assert as_cell(cell.dag_str()) == as_cell(str(cell)) == Cell.from_str(cell.dag_str()) == cell
    assert str(cell) == cell.dag_str() == "dag:" + cell.to_str() and repr(cell) == f"Cell({cell.dag_str()!r})"
    with pytest.raises(ValueError, match="not an NB-201 string: it has 4 '\\+'-separated groups"):
        as_cell(cell.to_str())  # a stored string of another DAG is no NB-201 string
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
def test_from_dag_str_errors(text, match):
    with pytest.raises(ValueError, match=match):
        Cell.from_dag_str(text)
    with pytest.raises(ValueError, match=match):
        Cell.from_str("dag:" + text)


TRUNCATED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"  # EXAMPLE cut short


@pytest.mark.parametrize(
    "text, match",
    [
        (TRUNCATED, "it has 2 '\\+'-separated groups, an NB-201 string has 3"),
        (EXAMPLE + "+|none~0|none~1|none~2|none~3|", "it has 4 '\\+'-separated groups"),
        ("|none~0|", "it has 1 '\\+'-separated group, "),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "group 2 lists 1 term with inputs 0; node 2 .* inputs 0, 1 once"),
        ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "group 2 lists 2 terms with inputs 0, 0;"),
        ("|none~0|+|none~0|none~1|+|none~0|none~2|", "group 3 lists 2 terms with inputs 0, 2; node 3"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|", "group 3 lists 4 terms"),
        ("|bogus~0|", "unknown op 'bogus' in group 1"),
        ("", "malformed NB-201 string"),
    ],
)
def test_from_str_is_strict_nb201(text, match):
    for parse in (Cell.from_str, as_cell):
        with pytest.raises(ValueError, match=match) as err:
            parse(text)
        message = str(err.value)
        if "malformed" not in message and "unknown op" not in message:
            # the expected shape, the vocabulary and both ways to give another DAG
            assert "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'" in message and "nor_conv_3x3" in message
            assert "'dag:'" in message and "Cell.from_edges" in message


def test_truncated_nb201_string_is_refused_and_dag_prefix_reads_it():
    with pytest.raises(ValueError, match="not an NB-201 string"):
        Cell.from_str(TRUNCATED)
    short = Cell.from_dag_str(TRUNCATED)
    assert short.num_nodes == 3 and as_cell("dag:" + TRUNCATED) == short == Cell.from_str("dag:" + TRUNCATED)
    assert Cell.from_dag_str("dag:" + EXAMPLE) == Cell.from_str(EXAMPLE)  # an NB-201 cell too
    # the inputs of a group may come in any order; the cell (and its string) is the same
    assert Cell.from_str("|none~0|+|none~1|none~0|+|none~2|none~0|none~1|") == Cell.from_anb((1,) * 6)


def test_every_nb201_string_form_and_only_those_parse_strictly():
    """Strictly parseable exactly when NB-201-shaped: the strings of random DAGs parse only leniently."""
    rng = random.Random(5)
    for _ in range(300):
        n = rng.randint(2, 6)
        edges = [(rng.randrange(d), d, rng.choice(OPS)) for d in range(1, n)]
        edges += [(s, d, rng.choice(OPS)) for d in range(2, n) for s in range(d) if rng.random() < 0.5
                  and (s, d) not in {(a, b) for a, b, _ in edges}]
        edges += [(s, n - 1, "none") for s in range(1, n - 1) if not any(a == s for a, _, _ in edges)]
        cell = Cell.from_edges(n, edges)
        assert Cell.from_dag_str(cell.to_str()) == cell == as_cell(str(cell)) == as_cell(cell.dag_str())
        if cell.is_nb201:
            assert Cell.from_str(cell.to_str()) == cell and str(cell) == cell.to_str()
        else:
            with pytest.raises(ValueError, match="not an NB-201 string"):
                Cell.from_str(cell.to_str())


@pytest.mark.parametrize(
    "ops, match",
    [((1, 2, 3), "6 op indices"), ((0, 0, 0, 0, 0, 7), "out of range"), ((0, 0, 0, 0, 0, -1), "out of range"),
     ((0, 0, 0, 0, 0, "a"), "integers"), ((0, 0, 0, 0, 0, 1.5), "integers")],
)
def test_from_anb_errors(ops, match):
    with pytest.raises(ValueError, match=match):
        Cell.from_anb(ops)


def test_as_cell_rejects_other_types():
    for bad in (3.0, None, True):
        for error in (TypeError, ValueError):  # a ValueError, as all bad input; a TypeError, as before
            with pytest.raises(error, match=r"arch must be a Cell, an NB-201 string .*, a 'dag:' string .* or an "
                                            r"AnalogNAS-Bench tuple of 6 op indices .*, or a list of those; got "
                                            + type(bad).__name__):
                as_cell(bad)
    with pytest.raises(ValueError, match="an NB-201 string is a str, got int"):
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
    assert Cell.from_dag_str(cell.to_str()) == cell == as_cell(cell.dag_str()) == as_cell(str(cell))
    assert pickle.loads(pickle.dumps(cell)) == cell
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


# ---------------------------------------------------------------------- normal form (simplified)
SKIP = "skip_connect"


def test_simplified_examples():
    # an edge drawn as op then skip through an extra node comes back as the edge
    split = Cell.from_edges(4, [(0, 1, "nor_conv_3x3"), (1, 2, SKIP), (2, 3, "avg_pool_3x3"),
                                (0, 3, "nor_conv_1x1")])
    assert split.simplified() == Cell.from_edges(3, [(0, 1, "nor_conv_3x3"), (1, 2, "avg_pool_3x3"),
                                                     (0, 2, "nor_conv_1x1")])
    # none edges and the nodes they leave dead go; a single-input skip node merges into its source
    cell = Cell.from_str("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|")
    assert cell.simplified() == Cell.from_dag_str("|nor_conv_3x3~0|+|avg_pool_3x3~1|")
    # two parallel paths with the same op are two sets of weights: nothing merges
    twice = Cell.from_edges(3, [(0, 1, SKIP), (0, 2, "nor_conv_3x3"), (1, 2, "nor_conv_3x3")])
    other = Cell.from_dag_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|")  # the same network
    assert twice.simplified() == other.simplified() == other
    # x0 + x0 + x0 + x0 (NB-201's all-skip cell) needs two extra nodes, not three
    assert Cell.from_anb((0,) * 6).simplified().num_nodes == 4
    # twelve interchangeable branches: twins are numbered once, not in 12! ways
    wide = Cell.from_edges(14, [(0, i, "nor_conv_3x3") for i in range(1, 13)]
                           + [(i, 13, "nor_conv_1x1") for i in range(1, 13)])
    assert wide.simplified() == wide
    # every degenerate cell simplifies to one fixed cell
    for dead in (Cell.from_anb((1,) * 6), Cell.from_dag_str("|nor_conv_3x3~0|+|none~0|none~1|")):
        assert dead.simplified() == Cell.from_edges(2, [(0, 1, "none")]) and dead.simplified().is_degenerate


def test_simplified_nb201_space():
    cells = nb201.all_cells()
    simple = [c.simplified() for c in cells]
    assert max(s.num_nodes for s in simple) == 4  # the default FeatureSpec holds every one
    assert len(set(simple)) == 5425  # vs 6,466 classes of canonical(): see test_simplified_vs_canonical
    assert sum(s.is_degenerate for s in simple) == 341
    assert all(s.simplified() is s for s in set(simple))
    # a cell with no none edge and no node that rules 3-4 could touch is only renumbered
    untouched = [c for c in cells if "none" not in c.ops and not _contractible(c, blocked_too=True)]
    assert len(untouched) == 3 * 3 * 4**4  # edges 0-1 and 2-3 not skip, no none
    for c in untouched:
        s = c.simplified()
        assert s.is_nb201 and s.canonical() == c.canonical() and _renumbered_equal(c, s)


def test_simplified_vs_canonical():
    """canonical() (NB-201's expression key) is neither finer nor coarser; an example of each."""
    # one conv whose output is summed twice (2 conv(x)) vs two convs (conv_a(x) + conv_b(x)):
    # one NB-201 key, as expressions do not see shared weights; two networks
    shared = Cell.from_str("|nor_conv_1x1~0|+|none~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|")
    apart = Cell.from_str("|none~0|+|nor_conv_1x1~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|")
    assert shared.canonical() == apart.canonical() and shared.simplified() != apart.simplified()
    # the same sum x + conv1(x) + conv3(x), bracketed differently by skip nodes: two NB-201 keys
    # (sums of sums are not re-sorted), one function
    a = Cell.from_str("|skip_connect~0|+|none~0|skip_connect~1|+"
                      "|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    b = Cell.from_str("|skip_connect~0|+|skip_connect~0|nor_conv_1x1~1|+"
                      "|none~0|nor_conv_3x3~1|skip_connect~2|")
    assert a.canonical() != b.canonical() and a.simplified() == b.simplified()


@settings(max_examples=150, deadline=None)
@given(dags(), st.randoms(use_true_random=False))
def test_simplified_properties(dag, rnd):
    cell = Cell.from_edges(*dag)
    simple = cell.simplified()
    assert simple.simplified() == simple  # idempotent
    assert simple.is_degenerate == cell.is_degenerate
    if not simple.is_degenerate:
        # a fixed point of rules 1-4 ("leave it" where a second edge would appear), never
        # larger than the rules applied one at a time in any order
        assert "none" not in simple.ops and all(live_edges(simple)) and not _contractible(simple)
        greedy = _greedy(cell, rnd)
        assert greedy.simplified() == simple and simple.num_nodes <= greedy.num_nodes
    # exact: the same output for ops that are fixed functions with op(0) = 0
    x = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(_evaluate(simple, x), _evaluate(cell, x), rtol=1e-9, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(dags(), st.randoms(use_true_random=False))
def test_simplified_invariant_under_redrawing(dag, rnd):
    cell = Cell.from_edges(*dag)
    simple = cell.simplified()
    other = _redraw(cell, rnd)
    assert other.simplified() == simple
    x = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(_evaluate(other, x), _evaluate(cell, x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("how", ["renumber", "skip_node", "dead_node", "none_edges"])
def test_each_redrawing_alone(how):
    rnd = random.Random(how)
    for n, edges in _fixed_dags(rnd, 40):
        cell = Cell.from_edges(n, edges)
        other = _REDRAW[how](cell, rnd)
        assert other.simplified() == cell.simplified(), (cell, other)


@settings(max_examples=40, deadline=None)
@given(dags(), st.randoms(use_true_random=False))
def test_encodings_of_equal_cells_are_equal(dag, rnd):
    import torch

    from surrogate import encoding

    a = Cell.from_edges(*dag)
    b = _redraw(a, rnd)
    np.testing.assert_array_equal(encoding.features([a]), encoding.features([b]))
    ga, gb = encoding.to_graph(a), encoding.to_graph(b)
    for key in ("x", "edge_index", "edge_attr", "op", "level", "live"):
        assert torch.equal(ga[key], gb[key]), key
    assert torch.equal(encoding.collate([a, b]).edge_attr, encoding.collate([b, a]).edge_attr)


# helpers: redrawings that keep the function, a literal rule-by-rule reference, an evaluator
def _redraw(cell, rnd):
    """A random mix of function-keeping redrawings, then a random numbering."""
    for _ in range(rnd.randint(1, 3)):
        cell = _REDRAW[rnd.choice(["skip_node", "dead_node", "none_edges"])](cell, rnd)
    return _renumber(cell, rnd)


def _renumber(cell, rnd):
    """Another topological numbering, input first and output last."""
    n = cell.num_nodes
    preds = {v: {s for s, d, _ in cell.edges if d == v} for v in range(n)}
    order, left = [0], set(range(1, n - 1))
    while left:
        v = rnd.choice(sorted(v for v in left if preds[v] <= set(order)))
        order.append(v)
        left.remove(v)
    label = {v: i for i, v in enumerate(order + [n - 1])}
    return Cell.from_edges(n, [(label[s], label[d], op) for s, d, op in cell.edges])


def _skip_node(cell, rnd):
    """Split a random edge ``s -op-> d`` into ``s -op-> k -skip-> d`` or ``s -skip-> k -op-> d``."""
    s, d, op = rnd.choice(cell.edges)
    up = {v: v + (v > s) for v in range(cell.num_nodes)}
    edges = [(up[a], up[b], o) for a, b, o in cell.edges if (a, b) != (s, d)]
    k, ops = s + 1, rnd.choice([(op, SKIP), (SKIP, op)])
    return Cell.from_edges(cell.num_nodes + 1, edges + [(s, k, ops[0]), (k, up[d], ops[1])])


def _dead_node(cell, rnd):
    """Add a node that the input never reaches (its only input is ``none``) or that reaches
    nothing (its only output is ``none``)."""
    n = cell.num_nodes
    z = rnd.randint(1, n - 1)  # the new node's number; nodes from z on move up by one
    up = {v: v + (v >= z) for v in range(n)}
    edges = [(up[a], up[b], o) for a, b, o in cell.edges]
    src, dst, op = rnd.randrange(z), rnd.randint(z + 1, n), rnd.choice(OPS)
    new = [(src, z, "none"), (z, dst, op)] if rnd.random() < 0.5 else [(src, z, op), (z, dst, "none")]
    return Cell.from_edges(n + 1, edges + new)


def _none_edges(cell, rnd):
    taken = {(s, d) for s, d, _ in cell.edges}
    free = [(i, j) for j in range(cell.num_nodes) for i in range(j) if (i, j) not in taken]
    chosen = rnd.sample(free, rnd.randint(0, len(free))) if free else []
    return Cell.from_edges(cell.num_nodes, list(cell.edges) + [(i, j, "none") for i, j in chosen])


_REDRAW = {"renumber": _renumber, "skip_node": _skip_node, "dead_node": _dead_node, "none_edges": _none_edges}


def _fixed_dags(rnd, count):
    """Random DAG cells without hypothesis, for a quick check of each redrawing alone."""
    for _ in range(count):
        n = rnd.randint(2, 7)
        pairs = [(i, j) for j in range(1, n) for i in range(j) if rnd.random() < 0.5]
        pairs = set(pairs) | {(rnd.randrange(j), j) for j in range(1, n)}
        pairs |= {(i, rnd.randint(i + 1, n - 1)) for i in range(n - 1) if not any(s == i for s, _ in pairs)}
        yield n, [(s, d, rnd.choice(OPS)) for s, d in sorted(pairs)]


def _contractible(cell, blocked_too=False):
    """Contractions that rules 3-4 allow (all of them, with ``blocked_too``, even those that would
    put a second edge between two nodes), as ``(node, new edges, removed edges)``."""
    edges, out = set(cell.edges), cell.num_nodes - 1
    nodes = {v for e in edges for v in e[:2]}
    found = []
    for k in sorted(nodes - {0, out}):
        ins = [e for e in edges if e[1] == k]
        outs = [e for e in edges if e[0] == k]
        rest = {(s, d) for s, d, _ in edges if k not in (s, d)}
        for lone, others, rewire in ((ins, outs, lambda e, i: (i, e[1], e[2])),
                                     (outs, ins, lambda e, j: (e[0], j, e[2]))):
            if len(lone) == 1 and lone[0][2] == SKIP:
                end = lone[0][0] if lone is ins else lone[0][1]
                new = [rewire(e, end) for e in others]
                if blocked_too or not any(e[:2] in rest for e in new):
                    found.append((k, new, set(ins) | set(outs)))
    return found


def _greedy(cell, rnd):
    """Rules 1-4 exactly as stated, one contraction at a time in a random order, "leave it" where
    a second edge between two nodes would appear; then the nodes numbered in their old order."""
    cell = _as_cell_of([e for e, keep in zip(cell.edges, live_edges(cell)) if keep])
    while True:
        found = _contractible(cell, blocked_too=False)
        if not found:
            return cell
        _, new, removed = rnd.choice(found)
        cell = _as_cell_of((set(cell.edges) - removed) | set(new))


def _as_cell_of(edges):
    nodes = sorted({v for e in edges for v in e[:2]})
    label = {v: i for i, v in enumerate(nodes)}
    return Cell.from_edges(len(nodes), [(label[s], label[d], op) for s, d, op in edges])


def _renumbered_equal(a, b):
    """Whether two cells are one another up to a topological renumbering (brute force)."""
    n = a.num_nodes
    if n != b.num_nodes or len(a.edges) != len(b.edges):
        return False
    target = set(b.edges)
    for middle in itertools.permutations(range(1, n - 1)):
        label = dict(zip(range(n), (0, *middle, n - 1)))
        if {(label[s], label[d], op) for s, d, op in a.edges} == target:
            return True
    return False


_SHAPE = {"nor_conv_1x1": (1.3, 0.4), "nor_conv_3x3": (-0.7, 0.9), "avg_pool_3x3": (0.5, -1.1)}


def _evaluate(cell, x):
    """Each node the sum over its incoming edges of op(source): skip the identity, none zero,
    and each other op a fixed nonlinear function with op(0) = 0 (``tanh(a x + b) - tanh(b)``; the
    zero-in, zero-out convention of rule 2). The functions depend on the op, not the edge: the
    rules never merge two edges, so edge-own weights are not needed for equality."""
    nodes = [np.asarray(x, dtype=float)] + [0.0] * (cell.num_nodes - 1)
    for s, d, op in cell.edges:
        if op == "none":
            term = 0.0 * nodes[s]
        elif op == SKIP:
            term = nodes[s]
        else:
            a, b = _SHAPE[op]
            term = np.tanh(a * nodes[s] + b) - np.tanh(b)
        nodes[d] = nodes[d] + term
    return np.broadcast_to(nodes[-1], np.shape(x))
