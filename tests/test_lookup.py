"""Prediction at lookup speed (issue 23): the looked-up answers are the full ensemble's numbers.

The reference below is ``Surrogate.predict`` as it was before the lookup (commit 49823d9): every
cell's members evaluated now (no cache, no memo, no answer table), then the arithmetic, cell by cell.
The fast path must give its numbers on every NB-201 cell, for both shipped models (``proxy-digits``
on each of its chips), and on other DAG cells.
"""

import random
import subprocess
import sys
import warnings

import numpy as np
import pytest

from surrogate import OPS, Cell, nb201
from surrogate.api import SHIPPED
from surrogate.core import TRAININGS
from surrogate.models import Surrogate, lookup
from surrogate.models._drift import drift_curve
from surrogate.models.calibrator import time_weights
from surrogate.models.lookup import OUTPUTS

ALL = nb201.all_cells()
#: before, at, between and after the fitted times: every branch of the arithmetic (two warn)
TIMES = [20.0, 60.0, 1000.0, 86400.0, 2592000.0, 3e7, 1e8]
CHIPS = {"anb-cifar10": [None], "proxy-digits": [None, "pcm-noisy", "pcm-6bit", "pcm-nocomp", "reram-cmo"]}


def reference(model, cells, t, training, level=0.9, chip=None) -> dict:
    """The full ensemble, computed as ``Surrogate.predict`` did at 49823d9, with no cache."""
    chip, new_chip = model._chip(chip)
    k = TRAININGS.index(training)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    forms = [c.simplified() for c in cells]
    unique = list(dict.fromkeys(forms))
    fresh = model._member_outputs(unique, chip)  # the members, evaluated now
    at = {f: i for i, f in enumerate(unique)}
    entries = {m: v[[at[f] for f in forms]] for m, v in fresh.items()}
    cal = model.calibrator_
    lo, hi = model.times_[0], model.times_[-1]
    outside = np.maximum(np.log10(lo / t), np.log10(t / hi)).clip(min=0)
    grid, where = np.unique(np.concatenate([model.times_, t]), return_inverse=True)
    log_t, raw = np.log10(grid), {}
    for m, e in entries.items():
        if m == "gnn":
            raw[m] = drift_curve(e[:, :, k].astype(float), model.knots_, log_t) * 100.0
        else:
            raw[m] = e[:, :, k].astype(float) @ time_weights(model.times_, grid).T
        raw[m] = np.moveaxis(raw[m], 1, 0)
    mix, spread, var = cal.mix(raw, k)
    mean = cal.level(mix, grid, k)
    pick = np.concatenate([where[:1], where[len(model.times_):]])
    mean, spread, var, g = mean[:, pick], spread[:, pick], var[:, pick], grid[pick]
    sigma = cal.error(mean[:, None], g, [k])[:, 0] * cal.spread_factor(spread[:, None], [k])[:, 0]
    most = max(n for n, _ in model.shapes_)
    novel = np.array([new_chip or c.simplified().num_nodes > most for c in cells])
    std = np.sqrt(sigma**2 + novel[:, None] * var) * (1 + 0.5 * np.concatenate([[0], outside]))
    z = np.interp(np.log10(g), np.log10(model.times_), cal.z(level)[k])
    deg = np.array([c.is_degenerate for c in cells])
    mean[deg], std[deg] = model.chance_, 0.0
    accuracy, std = mean[:, 1:], std[:, 1:]
    return {"accuracy": accuracy, "std": std, "lower": np.clip(accuracy - z[1:] * std, 0, 100),
            "upper": np.clip(accuracy + z[1:] * std, 0, 100), "degradation": np.maximum(mean[:, :1] - accuracy, 0.0)}


def assert_same(pred, ref, atol=1e-6):
    for name in OUTPUTS:
        np.testing.assert_allclose(np.asarray(getattr(pred, name)), ref[name], rtol=0, atol=atol, err_msg=name)


def random_dags(n, seed):
    """Seeded DAG cells of 3 to 7 nodes over the whole vocabulary (some degenerate, some equal to an
    NB-201 cell once simplified)."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        k = rng.randint(3, 7)
        edges = {}
        for d in range(1, k):
            for s in [s for s in range(d) if rng.random() < 0.4] or [rng.randrange(d)]:
                edges[s, d] = rng.choice(OPS)
        for s in range(k - 1):
            if not any(a == s for a, _ in edges):
                edges[s, rng.randrange(s + 1, k)] = rng.choice(OPS)
        out.append(Cell.from_edges(k, [(s, d, op) for (s, d), op in edges.items()]))
    return out


@pytest.fixture(scope="module")
def models():
    """Fresh loads of the shipped models (not the process-wide ones other tests share)."""
    return {name: Surrogate.load(path) for name, path in SHIPPED.items()}


def predict(model, archs, t=TIMES, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # times outside the fitted range, chips outside the fit
        return model.predict(archs, t, **kwargs)


@pytest.mark.parametrize("name, chip", [(n, c) for n, chips in CHIPS.items() for c in chips])
def test_every_nb201_cell_is_the_full_ensemble(models, name, chip):
    model = models[name]
    strings, tuples = nb201.space_keys()
    for training in TRAININGS:
        ref = reference(model, ALL, TIMES, training, chip=chip)
        first = predict(model, ALL, training=training, chip=chip)
        assert_same(first, ref)
        for again in (strings, tuples, np.array(tuples), ALL):  # the same answers, by every key
            p = predict(model, again, training=training, chip=chip)
            for field in OUTPUTS:
                np.testing.assert_array_equal(getattr(p, field), getattr(first, field))


def test_one_cell_at_a_time_is_the_batch(models):
    """Single cells (first seen, then from the answer table), other levels and times: the same numbers."""
    model = models["anb-cifar10"]
    cells = random.Random(0).sample(ALL, 40)
    for t, level in ((86400.0, 0.9), (3600.0, 0.5), (31.0, 0.8)):
        ref = reference(model, cells, t, "hwa", level=level)
        for _ in range(3):  # asked once, asked again (the table is built), from the table
            for i, c in enumerate(cells):
                p = predict(model, c, t, level=level)
                assert isinstance(p.accuracy, float)
                for field in OUTPUTS:
                    assert getattr(p, field) == pytest.approx(ref[field][i, 0], abs=1e-6), field
    # the reference evaluates the float32 members afresh on a batch of 5, the cache was written from
    # batches of the whole space: a last float32 bit of an accuracy near 80 % is about 5e-6
    assert_same(predict(model, cells[:5], [60.0, 60.0, 3600.0]), reference(model, cells[:5], [60, 60, 3600], "hwa"),
                atol=1e-5)


@pytest.mark.parametrize("name, chip", [("anb-cifar10", None), ("proxy-digits", None), ("proxy-digits", "reram-cmo")])
def test_other_dags_are_the_full_ensemble_and_memoised(models, name, chip):
    model = models[name]
    dags = random_dags(120, seed=1)
    assert any(c.is_degenerate for c in dags) and any(c.simplified().num_nodes > 4 for c in dags)
    ref = reference(model, dags, TIMES, "hwa", chip=chip)
    assert_same(predict(model, dags, chip=chip), ref)
    assert_same(predict(model, dags, chip=chip), ref)  # the memo and the answer table
    # each one again, alone, and drawn differently (an NB-201 string, the same cell rebuilt)
    for i in range(0, 120, 7):
        redrawn = Cell.from_edges(dags[i].num_nodes, dags[i].edges)
        for arch in (dags[i], str(dags[i]), redrawn):  # str: the NB-201 string, or the "dag:" string
            p = predict(model, arch, [86400.0], chip=chip)
            for field in OUTPUTS:
                np.testing.assert_allclose(getattr(p, field), ref[field][i, 3:4], rtol=0, atol=1e-6)


def test_the_memo_is_bounded_and_exact(monkeypatch):
    """A memo smaller than the cells asked: calls go in parts, old rows are evicted, and a cell asked
    again gets the answer it got the first time."""
    monkeypatch.setattr(lookup, "MEMO_SIZE", 16)
    model = Surrogate.load(SHIPPED["anb-cifar10"])
    dags = random_dags(70, seed=2)
    assert len({c.simplified() for c in dags}) > 16
    t = [60.0, 86400.0]
    first = predict(model, dags, t, training="standard")
    # the GNN computes in float32, and which cells share its batch can move a last bit (about 1e-7
    # relative): here they went in parts of 16, the reference in one batch
    assert_same(first, reference(model, dags, t, "standard"), atol=1e-4)
    # evicted rows are computed again, in other batches: equal up to that last bit
    again = predict(model, dags, t, training="standard")
    for field in OUTPUTS:
        np.testing.assert_allclose(getattr(again, field), getattr(first, field), rtol=0, atol=1e-4)
    for i in (0, 33, 69, 0):  # a cell in the memo: exactly its answer, however it is asked
        one = predict(model, dags[i], t, training="standard")
        for arch in (dags[i], str(dags[i]), [dags[33], dags[i]]):
            p = predict(model, arch, t, training="standard")
            for field in OUTPUTS:
                np.testing.assert_array_equal(np.atleast_2d(getattr(p, field))[-1], getattr(one, field))
    (memo,) = model._lookups.values()
    assert len(memo.lru) <= 16 and len(memo.index) <= memo.size + 16
    assert all(row < memo.size or row in memo.lru for row in memo.alias.values())  # no key points at a freed row
    assert len(memo.alias) <= memo._alias_limit
    assert_same(predict(model, ALL[:500], t, training="standard"), reference(model, ALL[:500], t, "standard"),
                atol=1e-5)  # fresh float32 members in other batches than the cache's (see above)


def test_answer_tables_are_bounded():
    model = Surrogate.load(SHIPPED["anb-cifar10"])
    cells = random.Random(1).sample(ALL, 32)
    times = [float(t) for t in np.geomspace(60, 2592000, 45)]
    for t in times:
        for _ in range(2):  # asked twice: a table
            last = predict(model, cells, [t])
    (memo,) = model._lookups.values()
    assert 0 < sum(out.shape[2] for _, out in memo.tables.values()) <= lookup._TABLE_COLUMNS
    assert_same(last, reference(model, cells, times[-1], "hwa"))
    assert_same(predict(model, cells, times[:3]), reference(model, cells, times[:3], "hwa"))


def test_bad_archs_still_raise(models):
    model = models["anb-cifar10"]
    for bad, err in [((0, 0, 0, 0, 0, 5), ValueError), ("|conv~0|", ValueError), ([ALL[0], 3.5], TypeError),
                     ([(0, 0, 0, 0, 0, 1.5)], ValueError), ([], ValueError)]:
        with pytest.raises(err):
            model.predict(bad, 60)
    assert model.predict(ALL[:3] + [ALL[5].to_str(), ALL[7].to_anb()], 60).accuracy.shape == (5,)  # mixed forms


def test_results_are_copies(models):
    model = models["anb-cifar10"]
    for _ in range(3):
        p = model.predict(ALL[:10], [60, 3600])
        p.accuracy[:] = -1
    assert (model.predict(ALL[:10], [60, 3600]).accuracy > 0).all()


def test_the_nb201_space_needs_no_normal_form_in_a_fresh_process():
    """The shipped cache indexes the NB-201 space: looking it up by string, tuple or cell computes no
    normal form and loads neither torch, xgboost nor scipy."""
    code = ("import sys, surrogate\nfrom surrogate import nb201, cells\n"
            "m = surrogate.load('anb-cifar10')\n"
            "strings, tuples = nb201.space_keys()\n"
            "for archs in (strings, tuples, nb201.all_cells()):\n"
            "    m.predict(archs, [60, 86400])\n"
            "print(cells._simplified.cache_info().currsize, *(x in sys.modules for x in ('torch', 'xgboost', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "False", "False", "False"]


def test_space_keys_and_cell_keys():
    strings, tuples = nb201.space_keys()
    assert list(strings) == [c.to_str() for c in ALL] and list(tuples) == [c.to_anb() for c in ALL]
    assert all(Cell.from_str(s) == c and Cell.from_str(s)._key == s for s, c in zip(strings[::97], ALL[::97]))
    dag = random_dags(1, seed=3)[0]
    assert dag._key == str(dag) == dag.dag_str() and Cell.from_str(dag._key) == dag  # what as_cell reads
