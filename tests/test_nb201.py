import numpy as np
import pytest

from surrogate import Cell, encoding, nb201
from surrogate.cells import OPS


def test_macro_cost_matches_nb201():
    conv3 = Cell.from_anb((2,) * 6)
    empty = Cell.from_anb((1,) * 6)
    params, flops = nb201.macro_cost([conv3, empty])
    assert params.tolist() == [1_531_546, 73_306]  # NB-201 reports 1.53 MB for the largest cell
    assert flops[0] == pytest.approx(220.12e6, rel=1e-4)
    assert flops[1] < flops[0]


def test_macro_cost_monotone_in_convs_and_width():
    cells = nb201.all_cells()
    p16, f16 = nb201.macro_cost(cells)
    p8, f8 = nb201.macro_cost(cells, width=8, depth=1, input_size=16, in_channels=1)
    assert (p8 < p16).all() and (f8 < f16).all()
    conv = np.array([sum(op.startswith("nor_conv") for op in c.ops) for c in cells])
    assert p16[conv == 0].max() == p16.min()


def test_features_shape_and_content():
    cells = nb201.all_cells()
    spec = encoding.FeatureSpec()
    X = encoding.features(cells, spec)
    assert X.shape == (15625, len(spec.names)) and X.dtype == np.float32
    assert np.isfinite(X).all()
    names = spec.names
    # the one-hot block identifies the cell's normal form (it encodes cell.simplified(); before
    # the normal form it told all 15,625 cells apart, including equal networks)
    assert len(np.unique(X[:, : 6 * 5], axis=0)) == len({c.simplified() for c in cells}) == 5425
    assert (X[:, names.index("n_none")] == X[:, names.index("degenerate")]).all()  # none edges go
    deg = X[:, names.index("degenerate")] == 1
    assert deg.sum() == 341 and (X[deg, names.index("paths_total")] == 0).all()
    # all-conv3x3: 6 live conv3x3 edges and 4 input-output paths (0-3, 0-1-3, 0-2-3, 0-1-2-3)
    row = encoding.features([Cell.from_anb((2,) * 6)])[0]
    assert row[names.index("live_nor_conv_3x3")] == 6 and row[names.index("paths_total")] == 4
    assert row[names.index("path=nor_conv_3x3>nor_conv_3x3>nor_conv_3x3")] == 1


def test_features_for_larger_cells_mark_missing():
    big = Cell.from_edges(6, [(i, i + 1, "nor_conv_3x3") for i in range(5)])
    spec = encoding.FeatureSpec()
    row = encoding.features([big], spec)[0]
    names = spec.names
    assert np.isnan(row[: 6 * 5]).all()  # one-hot positions it cannot hold
    assert row[names.index("paths_longer")] == 1 and row[names.index("depth_max")] == 5
    wide = encoding.features([big], encoding.FeatureSpec(max_nodes=6, max_path_len=5))
    assert np.isfinite(wide).all()


def test_graph_encoding():
    # the graph of the normal form: none edges and the dead node 2 go, and node 2 (a skip copy of
    # node 1) merges into node 1, which leaves conv3x3 then avg_pool on 3 nodes
    cell = Cell.from_str("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|")
    g = encoding.to_graph(cell)
    g.validate(raise_on_error=True)
    assert g.num_nodes == 3 and g.edge_index.tolist() == [[0, 1], [1, 2]] and g.edge_attr.shape == (2, 5)
    assert g.x[0, 0] == 1 and g.x[1, 1] == 1 and g.x[2, 2] == 1
    assert g.op.tolist() == [OPS.index("nor_conv_3x3"), OPS.index("avg_pool_3x3")]
    assert g.live.tolist() == [True, True]
    # the raw cell's liveness, which the normal form makes all True but for a degenerate cell
    assert encoding.live_edges(cell) == (True, False, True, False, False, True)
    dead = encoding.to_graph(Cell.from_anb((1,) * 6))
    assert dead.num_nodes == 2 and dead.live.tolist() == [False]


def test_collate_equals_pyg_batching():
    import torch
    from torch_geometric.data import Batch

    cells = nb201.all_cells()[::997] + [Cell.from_edges(6, [(i, i + 1, "nor_conv_3x3") for i in range(5)])]
    ref = Batch.from_data_list(encoding.to_graphs(cells))
    mine = encoding.collate(cells)
    assert mine.num_graphs == ref.num_graphs == len(cells)
    for key in ("x", "edge_index", "edge_attr", "op", "level", "live", "batch", "ptr"):
        assert torch.equal(mine[key], ref[key]), key
    assert mine.ptr.diff().tolist() == [c.simplified().num_nodes for c in cells]


def test_encoders_take_one_cell_as_readily_as_many():
    from surrogate import Cell, encoding, nb201

    cell = Cell.from_anb((2, 2, 0, 4, 2, 1))
    params, flops = nb201.macro_cost(cell)
    assert params.tolist() == nb201.macro_cost([cell])[0].tolist()
    assert nb201.macro_cost((2, 2, 0, 4, 2, 1))[0].tolist() == params.tolist()
    assert encoding.features(cell).shape == encoding.features([cell]).shape == (1, len(encoding.FeatureSpec().names))
    assert encoding.collate(cell).num_graphs == 1
