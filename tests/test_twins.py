"""Predictor v3's twins (cells that compute one network): fitted as one network, folded together, and
a fitted network's new twin gets the interval of one (issue 21)."""

import numpy as np
import pytest

from surrogate import data, nb201
from surrogate.models import Surrogate, crossfit
from surrogate.models.calibrator import Calibrator

FAST = dict(gnn_params=dict(epochs=10, hidden=16), xgb_params=dict(n_estimators=30), n_folds=2, progress=False)


@pytest.fixture(scope="module")
def anb():
    return data.load_analognasbench()


@pytest.fixture(scope="module")
def cells():
    """200 seeded NB-201 cells, with the twins of the largest class among them (so networks repeat)."""
    allc = nb201.all_cells()
    order = np.random.default_rng(1).permutation(len(allc))
    chosen = [allc[i] for i in order[:200]]
    groups = {}
    for c in allc:
        groups.setdefault(c.simplified(), []).append(c)
    big = max((g for f, g in groups.items() if not g[0].is_degenerate), key=len)
    return list(dict.fromkeys(chosen + big[:30]))


@pytest.fixture(scope="module")
def fitted(anb, cells):
    return Surrogate(twins="mean", novelty=True, **FAST).fit(anb.subset(cells))


def test_folds_over_networks_keep_twins_together(cells):
    fold_of = crossfit.folds(cells, 3, 0, by="network")
    for form in {c.simplified() for c in cells}:
        assert len({f for c, f in zip(cells, fold_of) if c.simplified() == form}) == 1
    by_cell = crossfit.folds(cells, 3, 0, by="cell")
    twins = [c for c in cells if c.simplified() == cells[-1].simplified()]
    assert len({by_cell[cells.index(c)] for c in twins}) > 1  # the v2 folds split them
    with pytest.raises(ValueError, match="'network' or 'cell'"):
        crossfit.folds(cells, 3, 0, by="twin")


def test_members_see_one_row_per_network(fitted, cells):
    networks = {c.simplified().to_str() for c in cells if not c.is_degenerate}
    assert fitted.networks_ == sorted(networks)
    assert fitted.twins == "mean"
    with pytest.raises(ValueError, match="twins must be"):
        Surrogate(twins="pairs", **FAST).fit(data.load_analognasbench().subset(cells))


def test_fitted_error_recovers_the_twin_noise():
    rng = np.random.default_rng(0)
    n_net, per, noise = 60, 4, 1.5
    truth = rng.uniform(50, 90, n_net)
    group = np.repeat(np.arange(n_net), per)
    Y = (truth[group] + noise * rng.standard_normal(len(group)))[:, None, None]
    cal = Calibrator()
    cal.times_ = np.array([60.0])
    cal.fit_fitted_error(truth[group][:, None, None], Y, group, np.ones(len(group), bool))  # a perfect model
    assert cal.fitted_error_[0, 0] == pytest.approx(noise, rel=0.15)
    off = truth[group][:, None, None] + 2.0  # a model 2 points off on every network
    cal.fit_fitted_error(off, Y, group, np.ones(len(group), bool))
    assert cal.fitted_error_[0, 0] == pytest.approx(np.hypot(noise, 2.0), rel=0.15)


def test_a_fitted_networks_twin_gets_the_narrower_interval(fitted, cells):
    allc = nb201.all_cells()
    fitted_forms = set(fitted.networks_)
    twin = next(c for c in allc if c.simplified().to_str() in fitted_forms and c not in set(cells))
    new = next(c for c in allc if c.simplified().to_str() not in fitted_forms and not c.is_degenerate)
    assert fitted.calibrator_.fitted_error_ is not None
    p = fitted.predict([twin, new], [60.0, 86400.0])
    cap = np.array([fitted.calibrator_.fitted_error([60.0, 86400.0], 1)])
    assert np.all(p.std[0] <= cap[0] + 1e-9)
    unnarrowed = fitted.with_calibrator(fitted.calibrator_)
    unnarrowed.calibrator_ = Calibrator.from_manifest({**fitted.calibrator_.to_manifest(), "fitted_error": None})
    q = unnarrowed.predict([twin, new], [60.0, 86400.0])
    assert np.allclose(q.std[1], p.std[1])  # a new network is untouched
    assert np.all(q.std[0] >= p.std[0]) and np.any(q.std[0] > p.std[0])


def test_networks_and_fitted_error_survive_save_and_load(fitted, tmp_path):
    back = Surrogate.load(fitted.save(tmp_path / "m"))
    assert back.networks_ == fitted.networks_ and back.twins == "mean"
    np.testing.assert_allclose(back.calibrator_.fitted_error_, fitted.calibrator_.fitted_error_)
    some = nb201.all_cells()[:50]
    np.testing.assert_allclose(back.predict(some, 3600.0).std, fitted.predict(some, 3600.0).std, atol=1e-6)


def test_rows_whose_twin_sits_in_another_fold_are_not_novel(cells):
    fold_of = crossfit.folds(cells, 3, 0, by="cell")
    novel = crossfit.unseen_by_other_folds(cells, fold_of)
    for i, c in enumerate(cells):
        others = {fold_of[j] for j, d in enumerate(cells) if d.simplified() == c.simplified()}
        assert novel[i] == (others == {fold_of[i]})
    assert not novel.all() and novel.any()
    assert crossfit.unseen_by_other_folds(cells, crossfit.folds(cells, 3, 0, by="network")).all()
