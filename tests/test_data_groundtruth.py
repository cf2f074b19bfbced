import numpy as np
import pandas as pd
import pytest

from surrogate import Cell
from surrogate.data import GroundTruth, profile_hash

A = Cell.from_anb((2, 2, 0, 4, 2, 1))
B = Cell.from_anb((0, 0, 0, 0, 0, 0))
C = Cell.from_dag_str("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|")  # a 3-node DAG cell


def _gt():
    rows = [
        (A.to_str(), "hwa", 60.0, 0, 90.0, 1.0, 10),
        (A.to_str(), "hwa", 60.0, 1, 80.0, 1.0, 10),
        (A.to_str(), "hwa", 3600.0, 0, 89.0, 0.5, 10),
        (A.to_str(), "standard", 60.0, 0, 70.0, 2.0, 10),
        (B.to_str(), "hwa", 3600.0, 0, 50.0, 3.0, 5),
        (C.to_str(), "hwa", 60.0, 0, 40.0, 0.0, 1),
    ]
    frame = pd.DataFrame(rows, columns=["cell", "training", "t_inference", "seed", "accuracy", "std", "n"])
    extras = pd.DataFrame({"cell": [A.to_str(), B.to_str()], "seed": [0, 0], "digital": [93.0, 60.0]})
    return GroundTruth(frame, {"name": "toy", "epochs": 3}, extras)


def test_profile_hash_is_canonical_and_short():
    h = profile_hash({"name": "p", "a": 1, "b": [1, 2]})
    assert h == profile_hash({"b": [1, 2], "a": 1, "name": "p"})
    assert h != profile_hash({"name": "p", "a": 2, "b": [1, 2]})
    assert len(h) == 16 and int(h, 16) >= 0


@pytest.mark.parametrize("bad", [{}, {"name": ""}, {"name": 3}, {"name": "p", "x": object()},
                                 {"name": "p", "x": float("nan")}, "p"])
def test_profile_must_be_named_json(bad):
    with pytest.raises(ValueError, match="profile"):
        profile_hash(bad)


def test_description():
    gt = _gt()
    assert len(gt) == 6
    assert gt.cells == [A, B, C]
    assert gt.times.tolist() == [60.0, 3600.0]
    assert gt.trainings == ["standard", "hwa"]
    assert gt.seeds == [0, 1]
    assert gt.profile == {"name": "toy", "epochs": 3}
    assert gt.profile_hash == profile_hash({"name": "toy", "epochs": 3})
    frame = gt.to_frame()
    assert list(frame.columns) == ["profile", "cell", "chip", "training", "t_inference", "seed", "accuracy", "std",
                                   "n", "source"]
    assert set(frame["profile"]) == {"toy"}
    assert set(frame["chip"]) == {"anb-pcm"} and gt.chips == ["anb-pcm"]  # no chips in the profile: the default
    assert set(frame["source"]) == {"simulation"}
    assert gt.extras_frame().set_index("cell")["digital"].to_dict() == {A.to_str(): 93.0, B.to_str(): 60.0}
    assert "toy" in repr(gt)


def test_subset_keeps_given_order_and_accepts_every_form():
    gt = _gt()
    sub = gt.subset([C.to_str(), (2, 2, 0, 4, 2, 1)])
    assert sub.cells == [C, A]
    assert len(sub) == 5
    assert sub.profile_hash == gt.profile_hash
    assert sub.extras_frame()["cell"].tolist() == [A.to_str()]
    with pytest.raises(ValueError, match="not in this ground truth"):
        gt.subset([(1, 1, 1, 1, 1, 1)])
    with pytest.raises(ValueError, match="collection"):
        gt.subset(A)


def test_targets_pool_seeds():
    t = _gt().targets("hwa")
    assert t.cells == [A, B, C]
    assert t.times.tolist() == [60.0, 3600.0]
    # A at 60 s: two seeds of 10 repetitions, means 90 and 80, std 1 -> pooled mean 85,
    # pooled variance 1 + 25 = 26
    assert t.mean[0, 0] == pytest.approx(85.0)
    assert t.std[0, 0] == pytest.approx(np.sqrt(26.0))
    assert t.n[0, 0] == 20
    assert t.mean[0, 1] == 89.0 and t.std[0, 1] == 0.5
    assert np.isnan(t.mean[1, 0]) and t.n[1, 0] == 0
    assert t.mean[2, 0] == 40.0
    one = _gt().targets("hwa", seed=1)
    assert one.mean[0, 0] == 80.0 and one.n[0, 0] == 10
    std = _gt().targets("standard")
    assert std.mean[0, 0] == 70.0 and np.isnan(std.mean[1]).all()
    with pytest.raises(ValueError, match="accepted"):
        _gt().targets("digital")


def test_bad_rows():
    frame = _gt().to_frame()
    with pytest.raises(ValueError, match="columns"):
        GroundTruth(frame.drop(columns="std"), {"name": "x"})
    frame.loc[0, "training"] = "analog"
    with pytest.raises(ValueError, match="unknown training"):
        GroundTruth(frame, {"name": "x"})
