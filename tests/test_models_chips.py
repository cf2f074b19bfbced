"""Chip-aware models: fitted on several chips of the proxy data set, the chip is an input."""

import warnings

import numpy as np
import pytest

from surrogate import data
from surrogate.chips import CHIP_FEATURES, CHIPS, Chip, get_chip
from surrogate.models import GNNRegressor, Surrogate, XGBRegressor, crossfit

FAST = dict(gnn_params=dict(epochs=15, hidden=16), xgb_params=dict(n_estimators=30), n_folds=2, progress=False)
YEAR = 31536000.0


@pytest.fixture(scope="module")
def proxy():
    gt = data.load("proxy-digits")
    return gt, gt.for_chip(gt.chips[-1]).cells  # the cells measured on every chip


@pytest.fixture(scope="module")
def fitted(proxy):
    gt, cells = proxy
    return Surrogate(**FAST).fit(gt.subset(cells[:48])), cells[48:60]


def test_chip_features_are_settings_not_names():
    assert all(len(c.features()) == len(CHIP_FEATURES) for c in CHIPS.values())
    renamed = Chip(**{**CHIPS["pcm-6bit"].to_dict(), "name": "my-6bit"})
    assert renamed.hash != CHIPS["pcm-6bit"].hash
    assert np.array_equal(renamed.features(), CHIPS["pcm-6bit"].features())
    distinct = {c.features().tobytes() for c in CHIPS.values()}
    assert len(distinct) == len(CHIPS)


def test_several_chips_make_a_chip_aware_model(fitted, proxy):
    model, _ = fitted
    gt, _ = proxy
    assert model.chip_aware_ and [c["name"] for c in model.chips_] == gt.chips
    assert model.chip_["name"] == "anb-pcm"
    assert "chips anb-pcm, pcm-noisy" in repr(model)
    one = Surrogate(**FAST).fit(gt.subset(proxy[1][:20]).for_chip("pcm-6bit"))
    assert not one.chip_aware_ and one.chip_["name"] == "pcm-6bit"


def test_folds_keep_a_cells_chips_together(fitted):
    model, _ = fitted
    cells = [c for c in fitted[1] for _ in range(3)] + list(fitted[1])
    fold_of = crossfit.folds(cells, model.n_folds, model.random_state)
    for c in set(cells):
        assert len({f for cell, f in zip(cells, fold_of) if cell == c}) == 1
    assert len(set(fold_of)) == model.n_folds


def test_the_chip_changes_the_answer(fitted):
    model, test = fitted
    default = model.predict(test, YEAR, chip=None).accuracy
    assert np.array_equal(default, model.predict(test, YEAR, chip="anb-pcm").accuracy)
    nocomp = model.predict(test, YEAR, chip="pcm-nocomp").accuracy
    live = np.array([not c.is_degenerate for c in test])
    # without drift compensation the proxy's hwa accuracy falls to ~11 % at a year (56 % with it)
    assert (nocomp[live] < default[live] - 15).mean() > 0.8


def test_a_new_chip_warns_and_widens(fitted, monkeypatch):
    model, test = fitted
    hermes = get_chip("pcm-hermes")
    assert hermes.name not in [c["name"] for c in model.chips_]
    with pytest.warns(UserWarning, match="not one this model was fitted on"):
        new = model.predict(test, 86400, chip=hermes)
    near = Chip(**{**hermes.to_dict(), "device": "pcm", "g_max": 25.0, "name": "x"})
    assert near.features().tobytes() == CHIPS["anb-pcm"].features().tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same settings as a fitted chip under another name: no warning
        model.predict(test, 86400, chip=near)
    # the same chip, taken as known: same mean, narrower interval
    monkeypatch.setattr(model, "_chip", lambda chip: (get_chip(chip), False))
    known = model.predict(test, 86400, chip=hermes)
    live = np.array([not c.is_degenerate for c in test])
    np.testing.assert_allclose(new.accuracy, known.accuracy)
    assert (new.std[live] >= known.std[live] - 1e-9).all() and (new.std[live] > known.std[live]).any()


def test_score_needs_one_chip(fitted, proxy):
    model, test = fitted
    gt = proxy[0].subset(test)
    with pytest.raises(ValueError, match="holds 5 chips"):
        model.score(gt)
    scores = model.score(gt, chip="reram-cmo")
    assert set(scores) >= {"hwa", "standard"}


def test_single_chip_model_still_refuses(proxy):
    gt, cells = proxy
    one = Surrogate(**FAST).fit(gt.subset(cells[:20]).for_chip("anb-pcm"))
    with pytest.raises(ValueError, match="or a chip-aware model on several chips"):
        one.predict(cells[30], 60, chip="reram-cmo")


def test_save_load_keeps_chips(fitted, tmp_path):
    model, test = fitted
    model.save(tmp_path / "m", precompute=test[:4])
    back = Surrogate.load(tmp_path / "m")
    assert back.chip_aware_ and back.chips_ == model.chips_
    for chip in ("anb-pcm", "reram-cmo"):  # cached (default chip) and computed by the members
        a = model.predict(test, [60, YEAR], chip=chip)
        b = back.predict(test, [60, YEAR], chip=chip)
        np.testing.assert_allclose(a.accuracy, b.accuracy, atol=1e-3)
        np.testing.assert_allclose(a.std, b.std, atol=1e-3)


@pytest.mark.parametrize("cls", [GNNRegressor, XGBRegressor])
def test_members_need_the_chip_they_were_fitted_with(cls, proxy):
    gt, cells = proxy
    from surrogate.models._targets import targets

    c, times, Y = targets(gt.subset(cells[:12]).for_chip("anb-pcm"))
    F = np.tile(CHIPS["anb-pcm"].features(), (len(c), 1))
    params = dict(epochs=2, hidden=8) if cls is GNNRegressor else dict(n_estimators=5)
    member = cls(**params).fit(c, times, Y, chips=F)
    assert member.predict(c, times, chips=F).shape == Y.shape
    if cls is GNNRegressor:
        with pytest.raises(ValueError, match="fitted with chip features"):
            member.predict(c, times)


def test_cli_fits_and_predicts_across_chips(proxy, tmp_path, capsys):
    from surrogate.cli import main

    gt, cells = proxy
    (tmp_path / "cells.txt").write_text("\n".join(c.to_str() for c in cells[:16]) + "\n")
    out = tmp_path / "m"
    argv = ["fit", "--data", "proxy-digits", "--cells", str(tmp_path / "cells.txt"), "--folds", "2", "--out", str(out)]
    assert main(argv + ["--chips", "anb-pcm,pcm-nocomp", "--evaluate"]) == 0
    model = Surrogate.load(out)
    assert [c["name"] for c in model.chips_] == ["anb-pcm", "pcm-nocomp"]
    assert {"held_out@anb-pcm", "held_out@pcm-nocomp"} <= set(model.metrics_)
    capsys.readouterr()
    assert main(["predict", cells[20].to_str(), "--t", "86400", "--model", str(out), "--chip", "pcm-nocomp"]) == 0
    assert "86400" in capsys.readouterr().out
    assert main(argv + ["--chips", "no-such-chip", "--force"]) == 2  # the model in --out stays: the error comes first
    assert "no chip 'no-such-chip'" in capsys.readouterr().err


def test_shipped_proxy_model_is_chip_aware(proxy):
    import surrogate

    model = surrogate.load("proxy-digits")
    assert model.chip_aware_ and [c["name"] for c in model.chips_] == proxy[0].chips
    cell = proxy[1][0]
    year = {chip: model.predict(cell, YEAR, chip=chip).accuracy for chip in ("anb-pcm", "pcm-nocomp")}
    assert year["pcm-nocomp"] < year["anb-pcm"] - 20
    assert {f"held_out@{c}" for c in proxy[0].chips} <= set(model.metrics_)
