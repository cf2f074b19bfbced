"""What a user sees besides the numbers (issue 21): where a cell lies against the fitted domain, one
warning per call for those outside, their wider intervals, and no library's warning on a normal call."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import surrogate
from surrogate import Cell, nb201
from surrogate.api import SHIPPED
from surrogate.models import Domain, OutOfDomainWarning, Surrogate, domain
from surrogate.validate.provenance import training_cells

#: A fresh interpreter predicts cells outside the shipped caches (torch, torch-geometric and xgboost are
#: imported there, for the first time) and reports every warning raised, whatever the filters say.
_FRESH = """
import json, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import surrogate
    from surrogate import Cell
    chain = Cell.from_edges({n}, [(i, i + 1, "nor_conv_3x3") for i in range({n} - 1)] + [(0, {n} - 1, "skip_connect")])
    surrogate.predict(chain, [60, 86400], model={model!r})
    surrogate.predict([chain, chain.dag_str()], 3600, model={model!r}, training="standard")
print(json.dumps([[w.category.__module__, w.category.__name__, str(w.message)] for w in caught]))
"""


@pytest.mark.parametrize("model, n", [("anb-cifar10", 5), ("proxy-digits", 5), ("anb-cifar10", 10)])
def test_a_new_cell_prediction_emits_no_library_warning(model, n):
    out = subprocess.run([sys.executable, "-c", _FRESH.format(model=model, n=n)], capture_output=True, text=True,
                         check=True).stdout
    caught = json.loads(out.strip().splitlines()[-1])
    foreign = [w for w in caught if not w[0].startswith("surrogate")]
    assert foreign == [], foreign


# ---------------------------------------------------------------------- the fitted domain (issue 21, item B)
ALL = nb201.all_cells()
CHAIN10 = Cell.from_edges(10, [(i, i + 1, "nor_conv_3x3") for i in range(9)])  # a 10-node network
ALL_POOL = Cell.from_anb((4,) * 6)  # NB-201's all-avg_pool cell: 6 avg_pool edges, anb-cifar10 saw at most 5


def _quiet_predict(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDomainWarning)
        return model.predict(*args, **kwargs)


def test_shipped_manifests_record_the_domain_of_their_training_cells():
    for name, path in SHIPPED.items():
        model = Surrogate.load(path)
        assert model.domain_ == Domain.fit(training_cells(model))
        manifest = json.loads((path / "manifest.json").read_text())
        assert Domain.from_dict(manifest["domain"]) == model.domain_
    anb, proxy = (Surrogate.load(SHIPPED[n]).domain_ for n in ("anb-cifar10", "proxy-digits"))
    assert anb.cell_nodes == (4,) and anb.nodes == (2, 3, 4) and anb.edges == (1, 6) and anb.ops["avg_pool_3x3"] == (0, 5)
    assert proxy.cell_nodes == (4, 5, 6) and proxy.nodes == (2, 3, 4, 5, 6) and proxy.edges == (1, 12)


def test_in_domain_cells_are_flagged_inside_and_do_not_warn():
    model = Surrogate.load(SHIPPED["anb-cifar10"])
    cells = [c for c in ALL[::50] if c != ALL_POOL]
    # a 5-node drawing of an NB-201 network (an extra skip node on edge 0->1): the same network
    cell = Cell.from_anb((2, 2, 0, 4, 2, 1))
    edges = [(s + (s > 0), d + 1, op) for s, d, op in cell.edges if (s, d) != (0, 1)]
    redrawn = Cell.from_edges(5, edges + [(0, 1, "nor_conv_3x3"), (1, 2, "skip_connect")])
    assert redrawn.simplified() == cell.simplified() and redrawn.num_nodes == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = model.predict(cells + [redrawn], [60, 86400])
        one = model.predict(redrawn, 86400)
    assert p.in_domain.dtype == bool and p.in_domain.shape == (len(cells) + 1,) and p.in_domain.all()
    assert one.in_domain == np.True_ and one.std == model.predict(cell, 86400).std  # equal networks, equal answers
    # the whole space: only the all-avg_pool cell lies outside, and a whole-space call says so once
    with pytest.warns(OutOfDomainWarning) as caught:
        whole = model.predict(ALL, 86400)
    assert len(caught) == 1 and "1 of 15625 cells lie outside" in str(caught[0].message)
    assert "6 avg_pool_3x3 edges (fitted: 0-5)" in str(caught[0].message)
    assert np.flatnonzero(~whole.in_domain).tolist() == [ALL.index(ALL_POOL)]


def test_a_10_node_dag_warns_once_is_flagged_and_gets_a_wider_interval(monkeypatch):
    model, shipped = Surrogate.load(SHIPPED["anb-cifar10"]), domain.WIDENING
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = model.predict(CHAIN10, [60, 86400])
    assert [w.category for w in caught] == [OutOfDomainWarning]
    message = str(caught[0].message)
    assert message.startswith("the cell lies outside the fitted domain of 'anb-cifar10' (fitted on 9,237 4-node "
                              "NB-201 cells; normal forms of 2-4 nodes and 1-6 edges")
    assert "): its normal form has 10 nodes (fitted: 2-4). Its interval is " in message and caught[0].filename == __file__
    assert p.in_domain == np.False_
    # the widening, at a factor above 1 (a fresh model each time: no answers kept): outside cells only
    inside = ALL[1234]
    monkeypatch.setattr(domain, "WIDENING", 1.0)
    plain = _quiet_predict(Surrogate.load(SHIPPED["anb-cifar10"]), [CHAIN10, inside], [60, 86400])
    monkeypatch.setattr(domain, "WIDENING", 1.5)
    with pytest.warns(OutOfDomainWarning, match="Its interval is widened x1.5"):
        Surrogate.load(SHIPPED["anb-cifar10"]).predict(CHAIN10, 60)
    wide = _quiet_predict(Surrogate.load(SHIPPED["anb-cifar10"]), [CHAIN10, inside], [60, 86400])
    np.testing.assert_allclose(wide.accuracy, plain.accuracy)
    np.testing.assert_allclose(wide.std[0], 1.5 * plain.std[0])
    assert ((wide.upper - wide.lower)[0] > (plain.upper - plain.lower)[0]).all()
    np.testing.assert_array_equal(wide.std[1], plain.std[1])  # a cell inside: untouched
    np.testing.assert_allclose(p.std, plain.std[0] * shipped)  # the shipped factor, whatever it is


def test_the_widening_is_the_measured_one():
    """WIDENING is what benchmarks/bench_domain.py measured (its results file), rounded, never below 1."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        from bench_domain import widening
    finally:
        sys.path.pop(0)
    res = json.loads((Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "domain.json").read_text())
    assert domain.WIDENING == res["widening"] == widening(res["pooled_factor"]) >= 1
    assert len(res["runs"]) >= 3 and all(r["dag_cells_outside"] > 0 for r in res["runs"])


def test_one_warning_per_call_counts_the_cells_and_names_the_first():
    model = surrogate.load("anb-cifar10")
    cells = ALL[100:107] + [CHAIN10, ALL[200], Cell.from_edges(6, [(i, i + 1, "nor_conv_1x1") for i in range(5)])]
    for _ in range(2):  # asked again, from the memo and the answer table: warned again, once
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            p = model.predict(cells, 86400)
        assert len(caught) == 1 and issubclass(caught[0].category, OutOfDomainWarning)
        assert str(caught[0].message).startswith("2 of 10 cells lie outside the fitted domain of 'anb-cifar10'")
        assert ". The first (index 7): its normal form has 10 nodes (fitted: 2-4). Their intervals are " in str(caught[0].message)
        assert p.in_domain.tolist() == [True] * 7 + [False, True, False]
    assert _quiet_predict(model, cells, [60, 3600]).in_domain.shape == (10,)
    assert _quiet_predict(model, CHAIN10, [60, 3600]).in_domain == np.False_
    frame = _quiet_predict(model, cells[6:8], [60, 3600]).to_frame(cells[6:8])
    assert frame["in_domain"].tolist() == [True, True, False, False]


def test_rank_and_api_predict_warn_at_the_callers_line():
    with pytest.warns(OutOfDomainWarning) as caught:
        surrogate.rank([CHAIN10, ALL[3]], 86400)
    assert len(caught) == 1 and caught[0].filename == __file__


def test_fit_records_the_domain_and_a_save_keeps_it(tmp_path):
    gt = surrogate.data.load("proxy-digits")
    gt = gt.for_chip(gt.chips[0])
    nb = [c for c in gt.cells if c.is_nb201][:40]
    dags = [c for c in gt.cells if not c.is_nb201 and c.simplified().num_nodes == 6][:2]
    model = Surrogate(members=("xgb",), n_folds=2, progress=False).fit(gt.subset(nb))
    assert model.domain_ == Domain.fit(nb) and model.domain_.n_cells == 40 and model.domain_.cell_nodes == (4,)
    with pytest.warns(OutOfDomainWarning, match="its normal form has 6 nodes"):
        assert model.predict(dags, 60).in_domain.tolist() == [False, False]
    loaded = Surrogate.load(model.save(tmp_path / "m"))
    assert loaded.domain_ == model.domain_
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["domain"]["n_cells"] == 40
    # a model saved before domains were recorded: no domain, every cell inside, no warning
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    del manifest["domain"]
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    surrogate.models.persistence.seal(tmp_path / "m")
    old = Surrogate.load(tmp_path / "m")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert old.domain_ is None and old.predict(dags, 60).in_domain.all()


def test_domain_reasons_read_the_normal_form():
    d = Domain.fit(ALL[::7])
    assert d.reason(ALL[5].simplified()) is None and d.reason(Cell.from_anb((1,) * 6).simplified()) is None
    assert d.reason(CHAIN10.simplified()) == "its normal form has 10 nodes (fitted: 2-4)"
    eight = Cell.from_edges(4, [(0, 1, "nor_conv_3x3"), (0, 2, "nor_conv_3x3"), (1, 2, "nor_conv_3x3"),
                                (0, 3, "nor_conv_3x3"), (1, 3, "nor_conv_3x3"), (2, 3, "nor_conv_3x3")])
    assert d.reason(eight) is None
    wide = Cell.from_edges(4, [(0, 1, "nor_conv_1x1"), (0, 2, "nor_conv_1x1"), (1, 3, "nor_conv_1x1"),
                               (2, 3, "nor_conv_1x1"), (1, 2, "skip_connect"), (0, 3, "skip_connect")])
    narrow = Domain(cell_nodes=(4,), nodes=(4,), edges=(5, 6), ops={**d.ops, "nor_conv_1x1": (0, 3)}, n_cells=1)
    assert narrow.reason(wide) == "its normal form has 4 nor_conv_1x1 edges (fitted: 0-3)"
    assert narrow.reason(Cell.from_dag_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|")) == \
        "its normal form has 3 nodes (fitted: 4)"
    assert Domain.from_dict(json.loads(json.dumps(d.to_dict()))) == d
    # the batch check (what a model's table holds per row) says what reason() says, form by form
    forms = sorted({c.simplified().to_str() for c in ALL} | {CHAIN10.simplified().to_str(), wide.to_str()})
    for dom in (d, narrow, Surrogate.load(SHIPPED["proxy-digits"]).domain_):
        assert dom.outside(forms).tolist() == [dom.reason(f) is not None for f in forms]
    assert d.outside(forms).sum() > 0 and narrow.outside(forms).sum() > d.outside(forms).sum()


def test_cli_says_once_which_shown_cells_lie_outside(capsys):
    from surrogate.cli import main

    assert main(["predict", str(CHAIN10), "2,2,0,4,2,1", "--t", "86400", "--json"]) == 0
    out, err = capsys.readouterr()
    assert [r["in_domain"] for r in json.loads(out)] == [False, True]
    assert err.count("\n") == 1 and err.startswith("surrogate: warning: 1 of the 2 cells shown lie outside the "
                                                   "fitted domain of model anb-cifar10 (fitted on 9,237")
    assert f"; {CHAIN10.dag_str()}: its normal form has 10 nodes (fitted: 2-4)" in err
    # ranking the space lists the best cells, which lie inside: the one cell outside is not shown, nor warned of
    assert main(["rank", "--t", "86400", "--top", "5"]) == 0
    assert capsys.readouterr().err == ""


def test_the_nasbench_drop_in_warns_of_the_cell_asked_not_of_the_space_it_prefetches():
    from surrogate.nasbench import SurrogateBench

    bench = SurrogateBench(model=Surrogate.load(SHIPPED["anb-cifar10"]))  # prefetches the space per metric
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 10 < bench.query_metric((2, 2, 0, 4, 2, 1), "analog_drift_86400").value < 100
    with pytest.warns(OutOfDomainWarning, match="the cell lies outside .* 6 avg_pool_3x3 edges") as caught:
        bench.query_metric(ALL_POOL.to_anb(), "analog_drift_3600")
    assert len(caught) == 1
