import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from surrogate import OPS, Cell, nb201
from surrogate.simulate.network import build_network

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("arch", [ALL_CONV, MIXED, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
def test_parameter_count_matches_macro_cost_at_nb201_size(arch):
    cell = Cell.from_str(arch)
    assert n_params(build_network(cell)) == nb201.macro_cost([cell])[0][0]


def test_nb201_all_conv_size():
    assert n_params(build_network(ALL_CONV)) == 1_531_546  # NB-201 reports 1.53 MB


@st.composite
def dag_cells(draw):
    n = draw(st.integers(2, 6))
    edges = []
    for dst in range(1, n):
        srcs = draw(st.sets(st.integers(0, dst - 1), min_size=1))
        edges += [(s, dst, draw(st.sampled_from(OPS))) for s in sorted(srcs)]
    # every non-output node needs an outgoing edge: link it to the output
    has_out = {s for s, _, _ in edges}
    linked = {(s, d) for s, d, _ in edges}
    for node in range(n - 1):
        if node not in has_out and (node, n - 1) not in linked:
            edges.append((node, n - 1, draw(st.sampled_from(OPS))))
    return Cell.from_edges(n, edges)


@settings(max_examples=25, deadline=None)
@given(cell=dag_cells(), width=st.integers(1, 6), depth=st.integers(1, 2),
       in_channels=st.integers(1, 3), classes=st.integers(2, 7))
def test_parameter_count_matches_macro_cost_for_any_dag(cell, width, depth, in_channels, classes):
    model = build_network(cell, width=width, depth=depth, in_channels=in_channels, num_classes=classes)
    expected = nb201.macro_cost([cell], width=width, depth=depth, in_channels=in_channels,
                                num_classes=classes)[0][0]
    assert n_params(model) == expected
    out = model(torch.randn(2, in_channels, 8, 8))
    assert out.shape == (2, classes)


def test_node_is_sum_of_incoming_ops():
    from surrogate.simulate.network import CellBlock

    block = CellBlock(Cell.from_edges(3, [(0, 1, "skip_connect"), (0, 2, "skip_connect"),
                                          (1, 2, "skip_connect")]), channels=2)
    x = torch.randn(1, 2, 4, 4)
    torch.testing.assert_close(block(x), 2 * x)
    zero = CellBlock(Cell.from_edges(2, [(0, 1, "none")]), channels=2)
    assert torch.count_nonzero(zero(x)) == 0
    pool = CellBlock(Cell.from_edges(2, [(0, 1, "avg_pool_3x3")]), channels=2)
    torch.testing.assert_close(pool(torch.ones(1, 2, 4, 4)), torch.ones(1, 2, 4, 4))  # count_include_pad=False


@pytest.mark.parametrize("bad", [{"width": 0}, {"depth": -1}, {"num_classes": 1.5}, {"in_channels": True}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError, match="positive integer"):
        build_network(MIXED, **bad)
