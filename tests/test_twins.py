"""Predictor v3's twins (cells that compute one network): fitted as one network, folded together, and
a fitted network's new twin gets the error of one, learnt out of fold (issue 21)."""

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
    """200 seeded NB-201 cells, with twins of the two largest classes among them (so networks repeat)."""
    allc = nb201.all_cells()
    order = np.random.default_rng(1).permutation(len(allc))
    chosen = [allc[i] for i in order[:200]]
    groups = {}
    for c in allc:
        groups.setdefault(c.simplified(), []).append(c)
    big = sorted((g for g in groups.values() if not g[0].is_degenerate), key=len)[-2:]
    return list(dict.fromkeys(chosen + big[1][:30] + big[0][:20]))


@pytest.fixture(scope="module")
def fitted(anb, cells):
    return Surrogate(novelty=True, **FAST).fit(anb.subset(cells))


def test_folds_over_networks_keep_twins_together(cells):
    fold_of = crossfit.folds(cells, 3, 0, by="network")
    for form in {c.simplified() for c in cells}:
        assert len({f for c, f in zip(cells, fold_of) if c.simplified() == form}) == 1
    by_cell = crossfit.folds(cells, 3, 0, by="cell")
    twins = [c for c in cells if c.simplified() == cells[-1].simplified()]
    assert len({by_cell[cells.index(c)] for c in twins}) > 1  # the v2 folds split them
    with pytest.raises(ValueError, match="'network' or 'cell'"):
        crossfit.folds(cells, 3, 0, by="twin")


def test_twins_must_be_a_known_setting(anb, cells):
    with pytest.raises(ValueError, match="twins must be"):
        Surrogate(twins="pairs", **FAST).fit(anb.subset(cells))


def _synthetic_oof(n_net=200, per=4, novel_err=4.0, seen_err=1.0, seed=0):
    """OOF predictions of ``n_net * per`` rows: the first twin of each network novel (no twin in its
    member's training), off by ``novel_err`` (sd); the others with 1, 2, ... twins, off by
    ``seen_err`` / sqrt(twins)."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(50, 90, n_net * per)
    twins = np.tile(np.arange(per), n_net)
    sd = np.where(twins == 0, novel_err, seen_err / np.sqrt(np.maximum(twins, 1)))
    Y = np.repeat(truth[:, None, None], 2, axis=1)
    return {"xgb": Y + (sd * rng.standard_normal(len(truth)))[:, None, None]}, Y, twins


def test_the_error_shrinks_with_the_twins_seen_in_training():
    oof, Y, twins = _synthetic_oof()
    fold_of = np.arange(len(Y)) % 3
    live = np.ones(len(Y), bool)
    cal, _, _ = Calibrator.fit([60.0], oof, Y, fold_of, live, twins)
    new = cal.error(np.full((1, 2, 1), 70.0), [60.0])
    assert new[0, 0, 0] == pytest.approx(4.0, rel=0.25)  # learnt on the novel rows alone
    scale = cal.twins_scale(np.array([0, 1, 2, 3, 50]), [60.0])[:, 0, 0]
    assert scale[0] == 1.0
    np.testing.assert_allclose(scale[1:3], [1 / 4, 1 / 4 / np.sqrt(2)], rtol=0.25)
    assert np.all(np.diff(scale) <= 0)  # more twins never widen; 3 and 50 share a bucket or the last
    pooled, _, _ = Calibrator.fit([60.0], oof, Y, fold_of, live)  # no twins: one table, no scale
    assert pooled.twins_factor_ is None and np.all(pooled.twins_scale([0, 3], [60.0]) == 1)
    few = np.where(np.arange(len(Y)) < 10, twins, 0)  # 10 rows with twins: too few to learn from alone
    assert np.all(Calibrator.fit([60.0], oof, Y, fold_of, live, few)[0].twins_scale(few, [60.0]) == 1)


def test_a_fitted_networks_twin_gets_the_scaled_error(fitted, cells):
    allc = nb201.all_cells()
    cal = fitted.calibrator_
    assert cal.twins_factor_ is not None
    counts = fitted.networks_
    live = [c for c in cells if not c.is_degenerate]
    assert counts == {f: sum(c.simplified().to_str() == f for c in live) for f in counts}
    twin = next(c for c in allc if counts.get(c.simplified().to_str(), 0) >= 2 and c not in set(cells))
    new = next(c for c in allc if c.simplified().to_str() not in counts and not c.is_degenerate)
    times = [60.0, 86400.0]
    p = fitted.predict([twin, new], times)
    manifest = {**cal.to_manifest(), "twins_at": None, "twins_factor": None}
    q = fitted.with_calibrator(Calibrator.from_manifest(manifest)).predict([twin, new], times)
    np.testing.assert_allclose(q.std[1], p.std[1])  # a new network is untouched
    scale = cal.twins_scale([counts[twin.simplified().to_str()]], times, [1])[0, 0]
    np.testing.assert_allclose(p.std[0], q.std[0] * scale, rtol=1e-6)


def test_networks_and_the_twins_scale_survive_save_and_load(fitted, tmp_path):
    back = Surrogate.load(fitted.save(tmp_path / "m"))
    assert back.networks_ == fitted.networks_ and back.novelty
    np.testing.assert_allclose(back.calibrator_.twins_factor_, fitted.calibrator_.twins_factor_)
    some = nb201.all_cells()[:50]
    np.testing.assert_allclose(back.predict(some, 3600.0).std, fitted.predict(some, 3600.0).std, atol=1e-6)


def test_twins_in_other_folds_counts_what_the_member_saw(cells):
    fold_of = crossfit.folds(cells, 3, 0, by="cell")
    twins = crossfit.twins_in_other_folds(cells, fold_of)
    for i, c in enumerate(cells):
        assert twins[i] == sum(d.simplified() == c.simplified() and fold_of[j] != fold_of[i]
                               for j, d in enumerate(cells))
    assert twins.max() > 1 and (twins == 0).any()
    assert (crossfit.twins_in_other_folds(cells, crossfit.folds(cells, 3, 0, by="network")) == 0).all()
