"""Behaviour of the predictors, on small fits to AnalogNAS-Bench cells (seconds, not minutes)."""

import json
import warnings

import numpy as np
import pytest
import torch

from surrogate import Cell, data, nb201
from surrogate.chips import get_chip
from surrogate.models import GNNRegressor, Surrogate, XGBRegressor

FAST = dict(gnn_params=dict(epochs=15, hidden=16), xgb_params=dict(n_estimators=30), n_folds=2, progress=False)
TIMES = np.geomspace(1, 1e9, 40)


@pytest.fixture(scope="module")
def anb():
    return data.load_analognasbench()


@pytest.fixture(scope="module")
def split():
    cells = nb201.all_cells()
    order = np.random.default_rng(0).permutation(len(cells))
    return [cells[i] for i in order[:120]], [cells[i] for i in order[120:1120]]


@pytest.fixture(scope="module")
def fitted(anb, split):
    return Surrogate(**FAST).fit(anb.subset(split[0]))


def test_fit_returns_self_and_learned_state(anb, split):
    model = Surrogate(**FAST)
    assert not hasattr(model, "members_")
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(split[0][0], 60)
    assert model.fit(anb.subset(split[0][:40])) is model
    assert len(model.members_["gnn"]) == len(model.members_["xgb"]) == 2
    assert set(model.metrics_["cv"]) == {"standard", "hwa"}


def test_shapes(fitted, split):
    cells = split[1][:3]
    p = fitted.predict(cells, [60, 3600])
    for field in ("accuracy", "std", "lower", "upper", "degradation"):
        assert getattr(p, field).shape == (3, 2)
    one = fitted.predict(cells[0], 86400)
    assert isinstance(one.accuracy, float) and one.lower <= one.accuracy <= one.upper
    assert fitted.predict(cells[0], [60, 3600]).accuracy.shape == (2,)
    assert fitted.predict(cells, 60).accuracy.shape == (3,)
    # every accepted architecture form gives the same numbers
    c = cells[0]
    assert fitted.predict(c.to_str(), 60).accuracy == pytest.approx(fitted.predict(list(c.to_anb()), 60).accuracy)
    assert fitted.predict(np.array(c.to_anb()), 60).accuracy == pytest.approx(fitted.predict(c, 60).accuracy)


@pytest.mark.parametrize("members", [("gnn",), ("xgb",), ("gnn", "xgb")])
def test_accuracy_never_rises_with_time(anb, split, members):
    model = Surrogate(**{**FAST, "members": members}).fit(anb.subset(split[0][:60]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for training in ("hwa", "standard"):
            acc = model.predict(split[1][:200], TIMES, training=training).accuracy
            assert (np.diff(acc, axis=1) <= 1e-9).all()


def test_members_alone_are_monotone():
    cells = nb201.all_cells()[::50]
    times = np.array([60.0, 3600, 86400, 2592000])
    rng = np.random.default_rng(1)
    Y = np.sort(rng.uniform(10, 90, (len(cells), 2, 4)), axis=2)[:, :, ::-1]
    for model in (GNNRegressor(epochs=5, hidden=8), XGBRegressor(n_estimators=20)):
        P = model.fit(cells, times, Y).predict(cells, TIMES)
        assert P.shape == (len(cells), 2, len(TIMES)) and (np.diff(P, axis=2) <= 1e-9).all()


def test_degenerate_cells_sit_at_chance(fitted):
    p = fitted.predict([Cell.from_anb((1,) * 6), Cell.from_anb((2, 1, 1, 1, 1, 1))], [60, 2592000])
    assert np.allclose(p.accuracy, 10.0) and np.allclose(p.degradation, 0) and np.allclose(p.std, 0)


def test_degradation_is_loss_since_reference(fitted, split):
    cells = split[1][:20]
    p = fitted.predict(cells, [60, 86400, 2592000])
    assert fitted.t_ref_ == 60
    assert np.allclose(p.degradation[:, 0], 0)
    assert np.allclose(p.degradation, p.accuracy[:, :1] - p.accuracy)
    assert (p.degradation >= 0).all()


def test_extrapolation_warns_and_widens(fitted, split):
    cell = split[1][0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inside = fitted.predict(cell, 2592000)
    with pytest.warns(UserWarning, match="outside the fitted range"):
        far = fitted.predict(cell, 1e9)
    assert far.std > inside.std and far.accuracy <= inside.accuracy


def test_interval_grows_with_level(fitted, split):
    narrow = fitted.predict(split[1][:50], 3600, level=0.5)
    wide = fitted.predict(split[1][:50], 3600, level=0.95)
    assert ((wide.upper - wide.lower) >= (narrow.upper - narrow.lower)).all()
    assert ((wide.upper - wide.lower) > (narrow.upper - narrow.lower)).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(t_inference=0), "t_inference must be finite seconds > 0"),
        (dict(t_inference=-5), "t_inference must be finite seconds > 0"),
        (dict(t_inference=float("nan")), "t_inference must be finite seconds > 0"),
        (dict(t_inference=[60, np.inf]), "t_inference must be finite seconds > 0"),
        (dict(t_inference=60, training="digital"), "training must be one of"),
        (dict(t_inference=60, level=1.5), "level must be in"),
    ],
)
def test_bad_input(fitted, split, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fitted.predict(split[1][0], **kwargs)


def test_bad_archs_and_settings(fitted, anb, split):
    with pytest.raises(ValueError, match="no architectures"):
        fitted.predict([], 60)
    with pytest.raises(ValueError, match="unknown op"):
        fitted.predict("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", 60)
    with pytest.raises(ValueError, match="members must be"):
        Surrogate(members=("mlp",)).fit(anb.subset(split[0][:20]))
    with pytest.raises(ValueError, match="at least"):
        Surrogate(n_folds=5).fit(anb.subset(split[0][:5]))
    with pytest.raises(ValueError, match="one t_inference"):
        fitted.rank(split[1][:5], [60, 3600])


def test_rank_is_best_first(fitted, split):
    cells = split[1][:100]
    order = fitted.rank(cells, 2592000)
    acc = fitted.predict(cells, 2592000).accuracy
    assert sorted(order.tolist()) == list(range(100))
    assert (np.diff(acc[order]) <= 0).all()


def test_any_dag_cell(fitted):
    big = Cell.from_edges(6, [(0, 1, "nor_conv_3x3"), (1, 2, "nor_conv_3x3"), (2, 3, "skip_connect"),
                              (0, 4, "avg_pool_3x3"), (3, 5, "nor_conv_1x1"), (4, 5, "nor_conv_3x3")])
    p = fitted.predict(big, [60, 86400])
    assert np.isfinite(p.accuracy).all() and (p.accuracy[1] <= p.accuracy[0])
    # a normal form larger than any training cell's adds the members' disagreement to the OOF error
    assert big.simplified().num_nodes == 5  # the skip node 3 merges into node 2
    def table_std(cell, acc):  # the OOF error at this level, widened by the members' disagreement
        _, spread, var = fitted._mixed([cell], np.array([86400.0]), 1, get_chip(fitted.chip_))
        base = fitted.calibrator_.error(np.array([[[acc]]]), [86400], [1])[0, 0, 0]
        return base * fitted.calibrator_.spread_factor(spread[:, None], [1])[0, 0, 0], var[0, 0]

    one = fitted.predict(big, 86400)
    base, var = table_std(big, one.accuracy)
    assert var > 0 and one.std == pytest.approx(np.sqrt(base**2 + var))
    known = Cell.from_anb((2, 2, 0, 4, 2, 0))
    pred = fitted.predict(known, 86400)
    assert pred.std == pytest.approx(table_std(known, pred.accuracy)[0])


def test_same_network_same_answer(fitted):
    """Equal networks drawn differently (a none edge, a dead node, an extra skip node, another
    numbering) get the same prediction, interval included: the encodings use the normal form."""
    # x0 + conv(conv(x0)); node 2 of this NB-201 cell reaches the output only through a none edge
    cell = Cell.from_anb((2, 2, 0, 4, 2, 1))
    redrawn = [
        Cell.from_str("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"),
        Cell.from_edges(5, [(0, 1, "nor_conv_3x3"), (1, 2, "skip_connect"), (2, 4, "nor_conv_3x3"),
                            (0, 4, "skip_connect"), (0, 3, "none"), (3, 4, "avg_pool_3x3")]),
        Cell.from_edges(5, [(0, 1, "nor_conv_3x3"), (1, 4, "nor_conv_3x3"), (0, 2, "skip_connect"),
                            (2, 4, "skip_connect"), (1, 3, "nor_conv_1x1"), (3, 4, "none")]),
    ]
    assert all(c.simplified() == cell.simplified() for c in redrawn)
    ref = fitted.predict(cell, [60, 86400])
    for other in redrawn:
        p = fitted.predict(other, [60, 86400])
        for field in ("accuracy", "std", "lower", "upper", "degradation"):
            np.testing.assert_array_equal(getattr(p, field), getattr(ref, field))


def test_interval_width_follows_predicted_accuracy(fitted, split):
    """The error table is read at each cell's predicted accuracy, so the std varies across cells."""
    p = fitted.predict(split[1][:300], 2592000)
    assert np.unique(np.round(p.std, 6)).size > 3


def test_save_load_round_trip_without_pickle(fitted, split, tmp_path):
    path = fitted.save(tmp_path / "model")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["profile"]["name"] == "anb-cifar10" and manifest["ground_truth_hash"]
    assert manifest["package_version"] and "cv" in manifest["metrics"]
    for entry in manifest["members"]["gnn"]:
        state = torch.load(path / entry["file"], weights_only=True)  # tensors only
        assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert sorted(p.suffix for p in path.iterdir()) == [".json"] + [".pt"] * 2 + [".ubj"] * 2  # no cache asked
    loaded = Surrogate.load(path)
    a = fitted.predict(split[1][:30], [60, 86400])
    b = loaded.predict(split[1][:30], [60, 86400])
    for field in ("accuracy", "std", "lower", "upper", "degradation"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-6)
    with pytest.raises(FileNotFoundError):
        Surrogate.load(tmp_path / "nothing")


def test_drift_curve_in_numpy_equals_the_torch_head(fitted, split):
    """Cached coefficients evaluated in numpy give what the network itself outputs, at any time."""
    from surrogate.models._drift import drift_curve

    cells, times = split[1][:7], np.array([1.0, 60, 3600, 1e7, 1e10])
    member = fitted.members_["gnn"][0]
    direct = member.predict(cells, times)
    cached = drift_curve(member.coefficients(cells), member.knots_, np.log10(times)) * 100
    np.testing.assert_allclose(cached, direct, rtol=1e-5, atol=1e-4)


def test_outputs_are_accuracies_and_never_rise_with_time(fitted, split):
    cells = split[1][:200]
    for member in fitted.members_["gnn"] + fitted.members_["xgb"]:
        out = member.predict(cells, TIMES)
        assert (out >= 0).all() and (out <= 100).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for training in ("hwa", "standard"):
            p = fitted.predict(cells, TIMES, training=training)
            assert (p.accuracy >= 0).all() and (p.accuracy <= 100).all()
            assert (np.diff(p.accuracy, axis=1) <= 1e-9).all()
            assert (p.lower <= p.accuracy).all() and (p.accuracy <= p.upper).all()


def test_clone_and_params(fitted):
    from sklearn.base import clone

    for est in (fitted, GNNRegressor(hidden=8, epochs=3), XGBRegressor(n_estimators=7)):
        copy = clone(est)
        assert type(copy) is type(est) and copy.get_params() == est.get_params()
        assert not hasattr(copy, "weights_") and not hasattr(copy, "net_") and not hasattr(copy, "booster_")
    assert Surrogate().set_params(n_folds=3).n_folds == 3
    with pytest.raises(ValueError, match="invalid parameter 'folds'"):
        Surrogate().set_params(folds=3)


def test_a_model_refuses_another_chip(fitted, split):
    assert fitted.chip_["name"] == "anb-pcm"
    same = fitted.predict(split[1][0], 60, chip="anb-pcm").accuracy
    assert same == fitted.predict(split[1][0], 60).accuracy
    with pytest.raises(ValueError, match="fitted on chip 'anb-pcm'.*cannot predict chip 'pcm-6bit'"):
        fitted.predict(split[1][0], 60, chip="pcm-6bit")


def test_saved_cache_answers_without_torch(fitted, split, tmp_path):
    import subprocess
    import sys

    fitted.save(tmp_path / "m", precompute=split[1][:50])
    code = (f"import sys, numpy as np, surrogate\nfrom surrogate import Cell\n"
            f"m = surrogate.load({str(tmp_path / 'm')!r})\n"
            f"cells = [Cell.from_str(s) for s in {[c.to_str() for c in split[1][:50]]!r}]\n"
            "p = m.predict(cells, [60, 86400]).accuracy\n"
            "print('torch' in sys.modules, 'xgboost' in sys.modules)\n"
            f"np.save({str(tmp_path / 'p.npy')!r}, p)\n"
            "m.predict(Cell.from_edges(3, [(0, 1, 'nor_conv_1x1'), (1, 2, 'nor_conv_1x1'), (0, 2, 'avg_pool_3x3')]), 60)\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]  # members (and torch) load only for a cell outside the cache
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), fitted.predict(split[1][:50], [60, 86400]).accuracy)


def test_learns_something_held_out(anb, split):
    """On cells it never saw, a small fit ranks far better than chance (Kendall tau 0)."""
    model = Surrogate(gnn_params=dict(epochs=40), xgb_params=dict(n_estimators=100), n_folds=2,
                      progress=False).fit(anb.subset(split[0]))
    scores = model.score(anb.subset(split[1]))
    assert scores["hwa"]["kendall"] > 0.4 and scores["standard"]["kendall"] > 0.4
    assert 0.5 < scores["hwa"]["coverage"] <= 1.0


def test_prediction_to_frame(fitted, split):
    cells = split[1][:4]
    p = fitted.predict(cells, [60, 86400])
    frame = p.to_frame(cells)
    assert len(frame) == 8 and list(frame["cell"][:2]) == [cells[0].to_str()] * 2
    assert frame["t_inference"].tolist()[:2] == [60, 86400]
    np.testing.assert_allclose(frame["accuracy"].to_numpy().reshape(4, 2), p.accuracy)
    assert (frame["training"] == "hwa").all()
