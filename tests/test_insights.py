import itertools
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import surrogate
from surrogate import Cell, nb201
from surrogate.data import GroundTruth
from surrogate.insights import (accuracy_frame, drift_loss, extra, group_summary, output_in_degree,
                                path_count, plot_group_summaries, plot_rank_agreement, rank_agreement,
                                skip_count, structure)

FULL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
CHAIN = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|"
# node 1 reaches no output and node 2 no input: raw, the output has 2 non-none inputs; live, only the skip
DEAD = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
# node 1's only output is a skip into the output: its conv is one more branch of the output's sum
MERGED = "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"
DEGENERATE = "|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_skip_count_counts_edges_as_drawn():
    assert skip_count("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|"
                      "skip_connect~2|") == 6
    assert skip_count((2, 2, 0, 4, 2, 1)) == 1  # AnalogNAS-Bench tuple: index 0 is skip_connect
    assert skip_count(FULL) == 0 and skip_count(DEAD) == 1 and skip_count(MERGED) == 1


@pytest.mark.parametrize("cell, paths, out", [(FULL, 4, 3), (CHAIN, 1, 1), (DEAD, 1, 1), (MERGED, 2, 2),
                                              (DEGENERATE, 0, 0)])
def test_paths_and_branches_of_hand_made_cells(cell, paths, out):
    assert path_count(cell) == paths
    assert output_in_degree(cell) == out


def _paths_by_enumeration(cell):
    live = [(s, d) for s, d, op in cell.edges if op != "none"]
    last = cell.num_nodes - 1

    def walk(node):
        return 1 if node == last else sum(walk(d) for s, d in live if s == node)
    return walk(0)


def test_path_count_matches_enumeration_and_ignores_how_a_network_is_drawn():
    cells = nb201.all_cells()[::97]
    assert [path_count(c) for c in cells] == [_paths_by_enumeration(c) for c in cells]
    # a 5-node DAG with a skip-only node in the middle draws the same network as a 4-node cell
    five = Cell.from_edges(5, [(0, 1, "nor_conv_3x3"), (1, 2, "skip_connect"), (2, 4, "nor_conv_1x1"),
                               (0, 3, "avg_pool_3x3"), (3, 4, "nor_conv_3x3"), (1, 4, "skip_connect")])
    assert path_count(five) == _paths_by_enumeration(five) == 3
    assert output_in_degree(five) == output_in_degree(five.simplified()) == 3


def test_structure_frame():
    st = structure([FULL, DEGENERATE, Cell.from_str(MERGED)])
    assert list(st.index) == [FULL, DEGENERATE, MERGED]
    assert st.to_dict("list") == {"skips": [0, 0, 1], "paths": [4, 0, 2], "out_degree": [3, 0, 2],
                                  "degenerate": [False, True, False]}


def _tiny_gt():
    rows = []
    for cell, (a60, a30) in {FULL: (90.0, 80.0), CHAIN: (70.0, 68.0), MERGED: (85.0, 75.0)}.items():
        for training, shift in (("hwa", 0.0), ("standard", -20.0)):
            rows += [(cell, training, 60.0, 0, a60 + shift, 0.1, 5),
                     (cell, training, 2592000.0, 0, a30 + shift, 0.1, 5)]
    frame = pd.DataFrame(rows, columns=["cell", "training", "t_inference", "seed", "accuracy", "std", "n"])
    extras = pd.DataFrame({"cell": [FULL, FULL, CHAIN, MERGED], "seed": [0, 1, 0, 0],
                           "ptq": [91.0, 93.0, 60.0, 80.0]})
    return GroundTruth(frame, {"name": "tiny"}, extras)


def test_accuracy_frame_from_a_table_and_drift_loss():
    gt = _tiny_gt()
    acc = accuracy_frame(gt, "standard")
    assert list(acc.columns) == [60.0, 2592000.0] and list(acc.index) == [FULL, CHAIN, MERGED]
    assert acc.loc[CHAIN].tolist() == [50.0, 48.0]
    assert drift_loss(accuracy_frame(gt, "hwa")).to_dict() == {FULL: 10.0, CHAIN: 2.0, MERGED: 10.0}
    picked = accuracy_frame(gt, "hwa", times=[2592000], cells=[MERGED, FULL])
    assert picked.to_dict("list") == {2592000.0: [75.0, 80.0]}
    with pytest.raises(ValueError, match="no time"):
        accuracy_frame(gt, "hwa", times=[3600])
    with pytest.raises(ValueError, match="not in the table"):
        accuracy_frame(gt, "hwa", cells=[DEAD])
    with pytest.raises(ValueError, match="no column"):
        drift_loss(acc, 60, 86400)


def test_extra_averages_seeds_in_table_order():
    gt = _tiny_gt()
    assert extra(gt, "ptq").to_dict() == {FULL: 92.0, CHAIN: 60.0, MERGED: 80.0}
    with pytest.raises(ValueError, match="no extra"):
        extra(gt, "digital")


def test_accuracy_frame_from_a_model_matches_its_degradation():
    fake = SimpleNamespace(predict=lambda cells, t, training: SimpleNamespace(
        accuracy=np.array([[len(c.edges) + x / 1e9 for x in t] for c in cells])))
    acc = accuracy_frame(fake, "hwa", [60, 1e9], cells=[FULL, "dag:|nor_conv_3x3~0|"])
    assert acc.to_dict("list") == {60.0: [6.0 + 6e-8, 1.0 + 6e-8], 1e9: [7.0, 2.0]}
    assert len(accuracy_frame(fake, "hwa", [60])) == 15625  # default: every NB-201 cell
    with pytest.raises(ValueError, match="times"):
        accuracy_frame(fake)
    model = surrogate.load("anb-cifar10")
    cells = [FULL, CHAIN, MERGED]
    loss = drift_loss(accuracy_frame(model, "standard", [60, 2592000], cells))
    degradation = model.predict(cells, 2592000, training="standard").degradation
    np.testing.assert_allclose(loss.to_numpy(), degradation, atol=1e-9)
    assert (loss > 0).all()


def test_group_summary_aligns_on_the_index():
    values = pd.Series([1.0, 2.0, 3.0, 10.0, np.nan, 5.0], index=list("abcdef"))
    groups = pd.Series([1, 0, 1, 1, 0], index=list("dbcae"), name="paths")  # f has no group, e is NaN
    s = group_summary(values, groups)
    assert s.index.name == "paths" and list(s.index) == [0, 1]
    assert s["n"].tolist() == [1, 3] and s["median"].tolist() == [2.0, 3.0]
    assert s.loc[1, "mean"] == pytest.approx(14 / 3) and s.loc[1, "q25"] == 2.0 and s.loc[1, "q75"] == 6.5


def test_rank_agreement_on_shared_cells():
    ref = pd.Series([1.0, 2.0, 3.0, 4.0, 100.0], index=list("abcde"))
    acc = pd.DataFrame({60.0: [10, 20, 30, 40], 3600.0: [4, 3, 2, 1], 86400.0: [1, 3, 2, 4]},
                       index=list("abcd"))
    tau = rank_agreement(ref, acc)
    assert tau[60.0] == pytest.approx(1.0) and tau[3600.0] == pytest.approx(-1.0)
    assert tau[86400.0] == pytest.approx(4 / 6)  # one discordant pair of six


def test_figures():
    s = group_summary(pd.Series([1.0, 2, 3, 4, 5]), pd.Series([0, 0, 0, 1, 1], name="skips"))
    fig = plot_group_summaries({"hwa": {"a": s, "b": s}, "standard": {"a": s}}, "skips", min_count=3,
                               dashed=["b"])
    axes = fig.get_axes()
    assert len(axes) == 2 and axes[0].get_title() == "hwa"
    lines = [c.lines[0] for c in axes[0].containers]  # the median line of each errorbar series
    assert [line.get_ydata().tolist() for line in lines] == [[2.0], [2.0]]  # group 1 has 2 < 3 cells
    assert [line.get_linestyle() for line in lines] == ["-", "--"]
    fig = plot_rank_agreement({"t": pd.Series({60.0: 0.5, 3600.0: 0.4})}, title="x")
    assert fig.get_axes()[0].get_xscale() == "log"


def test_nb201_counts_of_the_groupings():
    st = structure(nb201.all_cells())
    live = st[~st["degenerate"]]
    assert len(live) == 15284
    # every NB-201 cell has at most 4 input-output paths and 3 edges into its output
    assert set(live["paths"]) == {1, 2, 3, 4} and set(live["out_degree"]) == {1, 2, 3}
    assert list(itertools.islice(live["skips"].value_counts().sort_index(), 3)) == [3927, 6010, 3805]
