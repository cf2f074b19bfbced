"""The contract every oracle passes: the table, re-simulation (on the tiny smoke profile), draws from
a model's own distribution, and the user-written oracle of docs/architecture.md, run as written there."""

import json
import re
import types
from pathlib import Path

import numpy as np
import pytest

import surrogate
from surrogate import data
from surrogate.core import check_t_inference
from surrogate.data import GroundTruth, Store
from surrogate.models import Surrogate
from surrogate.simulate import resolve_cells, run
from surrogate.validate import LABELS, Measured, Oracle, SimulateOracle, SyntheticOracle, TableOracle, Validator

DOCS = Path(__file__).parents[1] / "docs" / "architecture.md"


def _docs_oracle():
    """The ``LabOracle`` class of docs/architecture.md, defined by running its code block."""
    block = re.search(r"```python\n(.*?class LabOracle.*?)```", DOCS.read_text(encoding="utf-8"), re.S).group(1)
    namespace = {}
    exec(compile(block, str(DOCS), "exec"), namespace)
    return namespace["LabOracle"]


@pytest.fixture(scope="module")
def anb():
    gt = data.load_analognasbench()
    model = surrogate.load("anb-cifar10")
    cells = [c for c in gt.cells[::97] if not c.is_degenerate][:6]
    return types.SimpleNamespace(gt=gt, model=model, cells=cells)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    pool = [c for c in resolve_cells("sample:60", 3) if not c.is_degenerate]
    path = tmp_path_factory.mktemp("smoke") / "gt.sqlite"
    assert not run("smoke", pool[:20], 0, path, progress=False).failed
    with Store(path) as store:
        gt = store.load("smoke")
    model = Surrogate(members=("xgb",), n_folds=2, xgb_params=dict(n_estimators=20), progress=False).fit(gt)
    return types.SimpleNamespace(model=model, cells=pool[20:24])


def _lab(anb):
    def measure_one(cell, seed):
        t = anb.gt.subset([cell])
        return {(training, float(time)): float(t.targets(training).mean[0, j])
                for training in t.trainings for j, time in enumerate(t.times)}

    return _docs_oracle()(anb.gt.profile, anb.gt.times, measure_one)


ORACLES = {
    "table": lambda request: (TableOracle(request.getfixturevalue("anb").gt), request.getfixturevalue("anb")),
    "simulate": lambda request: (SimulateOracle(), request.getfixturevalue("smoke")),
    "synthetic": lambda request: (SyntheticOracle(request.getfixturevalue("anb").model),
                                  request.getfixturevalue("anb")),
    "user-written": lambda request: (_lab(request.getfixturevalue("anb")), request.getfixturevalue("anb")),
}
_measured: dict = {}


@pytest.fixture(params=sorted(ORACLES))
def case(request):
    oracle, setting = ORACLES[request.param](request)
    return types.SimpleNamespace(name=request.param, oracle=oracle, model=setting.model, cells=setting.cells)


def _measure(case):
    """One measurement per oracle for the tests that read it (a simulation costs seconds)."""
    if case.name not in _measured:
        case.oracle.check(case.model)
        out = case.oracle.measure(case.cells[:2], 10_000, dict(case.model.profile_))
        _measured[case.name] = out if isinstance(out, Measured) else Measured(*out)
    return _measured[case.name]


def test_is_an_oracle(case):
    assert isinstance(case.oracle, Oracle) and isinstance(case.oracle.kind, str)


def test_accepts_its_model_and_refuses_another_profile(case):
    case.oracle.check(case.model)
    other = types.SimpleNamespace(profile_={"name": "another-recipe"}, profile_hash_="0123456789abcdef",
                                  chip_=case.model.chip_, times_=case.model.times_)
    with pytest.raises(ValueError):
        case.oracle.check(other)


def test_times_are_seconds_after_programming(case):
    case.oracle.check(case.model)
    times, _ = check_t_inference(case.oracle.times(case.model))
    assert np.all(np.diff(times) > 0)


def test_can_measure_is_one_flag_per_cell(case):
    mask = np.asarray(case.oracle.can_measure(case.cells))
    assert mask.dtype == bool and mask.shape == (len(case.cells),) and mask.all()


def test_measures_the_cells_asked_under_the_model_profile(case):
    measured = _measure(case)
    asked = {c.to_str() for c in case.cells[:2]}
    gt = measured.ground_truth
    assert isinstance(gt, GroundTruth) and gt.profile_hash == case.model.profile_hash_
    assert set(gt.cell_keys) | set(measured.failed) == asked and set(gt.cell_keys) <= asked
    assert set(case.oracle.times(case.model)) <= set(gt.times)
    accuracy = gt.to_frame()["accuracy"]
    assert ((accuracy >= 0) & (accuracy <= 100)).all()
    assert gt.chips == [case.model.chip_.name]


def test_describes_itself_in_plain_json(case):
    description = case.oracle.describe()
    assert description["kind"] == case.oracle.kind
    json.dumps(description, allow_nan=False)


def test_a_validation_round_runs_on_it(case):
    report = Validator(case.model, oracle=case.oracle, sample=3, seed=0, candidates=case.cells,
                       exclude=None).run()
    assert len(report.cells) == 3 and not report.record["failed"]
    assert report.verdict in (*LABELS, "too few cells")
