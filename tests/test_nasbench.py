"""The AnalogNAS-Bench drop-in: upstream's query conventions, answered by the shipped model."""

import pickle
import random
import warnings

import numpy as np
import pytest

import surrogate
from surrogate.nasbench import NOT_FOUND, DriftMeasurement, MetricNotPredicted, SurrogateBench

BEST = (2, 2, 0, 4, 2, 1)  # the table's best cell, in AnalogNAS-Bench (NASLib) order
BEST_STR = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
TIMES = (60, 3600, 86400, 2592000)


@pytest.fixture(scope="module")
def bench():
    """One cell at a time (no whole-space prefetch): cheap for unit tests."""
    return SurrogateBench(prefetch=False)


@pytest.fixture(scope="module")
def wide():
    """The default: the whole NB-201 space predicted once per metric, as a long search would use."""
    return SurrogateBench()


# ---------------------------------------------------------------------- a search as upstream writes it
def _evaluate_fitness(bench, arch, metric, drift_class=DriftMeasurement):
    """Upstream's `evaluate_fitness` (examples/evolutionary_algorithm.py), re-written."""
    result = bench.query_metric(arch, metric)
    if isinstance(result, str) and result == "architecture not found":
        return float("-inf")
    if isinstance(result, drift_class):
        return result.value
    if isinstance(result, (int, float)):
        return float(result)
    return float("-inf")


def _evolve(bench, rng, pop_size=30, generations=25, metric="analog_drift_86400", k=3):
    """Tournament selection, one-point crossover and a mutation that draws op indices 0..5,
    like upstream's evolutionary example; counts queries and not-found answers."""
    archs = bench.list_available_architectures()
    population = [rng.choice(archs) for _ in range(pop_size)]
    fitness = {}
    stats = {"queries": 0, "not_found": 0}

    def fit(arch):
        if arch not in fitness:
            stats["queries"] += 1
            fitness[arch] = _evaluate_fitness(bench, arch, metric)
            stats["not_found"] += fitness[arch] == float("-inf")
        return fitness[arch]

    for arch in population:
        fit(arch)
    for _ in range(generations):
        children = []
        while len(children) < pop_size:
            p1 = max(rng.sample(population, k), key=fit)
            p2 = max(rng.sample(population, k), key=fit)
            if rng.random() < 0.8:
                cut = rng.randint(1, 5)
                p1, p2 = p1[:cut] + p2[cut:], p2[:cut] + p1[cut:]
            for child in (p1, p2):
                if rng.random() < 0.5:
                    child = list(child)
                    child[rng.randint(0, 5)] = rng.randint(0, 5)  # index 5 is no op: "architecture not found"
                    child = tuple(child)
                children.append(child)
        population = children[:pop_size]
        for arch in population:
            fit(arch)
    best = max(fitness, key=fitness.get)
    return best, fitness[best], stats


def test_upstream_style_searches_run_on_the_drop_in(wide):
    bench = wide
    rng = random.Random(42)
    best, value, stats = _evolve(bench, rng)
    assert stats["queries"] >= 200 and stats["not_found"] > 0
    assert best in set(bench.list_available_architectures())
    assert value == pytest.approx(surrogate.predict(best, 86400).accuracy, abs=1e-4)

    # their random search, with a sampler that draws op indices 0..5: skip "architecture not found"
    best_arch, best_value, skipped = None, -float("inf"), 0
    for _ in range(300):
        arch = tuple(rng.randint(0, 5) for _ in range(6))
        result = bench.query_metric(arch, "analog_drift_86400")
        if isinstance(result, str) and result == "architecture not found":
            skipped += 1
            continue
        if result.value > best_value:
            best_arch, best_value = arch, result.value
    assert skipped > 0 and best_arch is not None
    print(bench.get_architecture_details(best_arch))


def test_scripts_that_keep_upstream_driftmeasurement_read_the_float():
    """A script testing against upstream's class still gets the mean through its float branch."""

    class TheirDriftMeasurement:  # stands in for analognasbench.data.DriftMeasurement
        pass

    bench = SurrogateBench(prefetch=False)
    value = _evaluate_fitness(bench, BEST, "analog_drift_86400", drift_class=TheirDriftMeasurement)
    assert value == bench.query_metric(BEST, "analog_drift_86400").value


# ---------------------------------------------------------------------- metric names
@pytest.mark.parametrize("t", TIMES)
def test_drift_metrics_match_predict(bench, t):
    model = surrogate.load("anb-cifar10")
    hwa = bench.query_metric(BEST, f"analog_drift_{t}")
    p = model.predict(BEST, t, training="hwa")
    assert isinstance(hwa, DriftMeasurement) and isinstance(hwa, float)
    assert hwa.value == pytest.approx(p.accuracy) and hwa.std == hwa.uncertainty == pytest.approx(p.std)
    noisy = bench.query_metric(BEST, f"noisy_drift_{t}")
    assert noisy.value == pytest.approx(model.predict(BEST, t, training="standard").accuracy)
    assert bench.query_metric(BEST, f"baseline_drift_{t}") == noisy  # the older name of the same metric


def test_analog_drift_86400_agrees_with_surrogate_predict(bench, wide):
    p = surrogate.predict(BEST, 86400)
    for b in (bench, wide):
        m = b.query_metric(BEST, "analog_drift_86400")
        assert m.value == pytest.approx(p.accuracy, abs=1e-4)
        assert m.std == pytest.approx(p.std, abs=1e-4)


def test_any_integer_time(bench):
    with pytest.warns(UserWarning, match="outside the fitted range"):
        year = bench.query_metric(BEST, "analog_drift_31536000")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert year.value == pytest.approx(surrogate.predict(BEST, 31536000).accuracy)
    assert year.value <= bench.query_metric(BEST, "analog_drift_2592000").value  # drift never helps
    assert bench.query_metric(BEST, "analog_drift_600").value >= bench.query_metric(BEST, "analog_drift_86400").value


def test_undrifted_accuracies_are_the_earliest_fitted_time(bench):
    for metric, drift in (("analog_accuracy", "analog_drift_60"), ("noisy_accuracy", "noisy_drift_60")):
        value = bench.query_metric(BEST, metric)
        assert type(value) is float and value == bench.query_metric(BEST, drift).value
    later = SurrogateBench(prefetch=False, t_undrifted=3600)
    assert later.query_metric(BEST, "analog_accuracy") == later.query_metric(BEST, "analog_drift_3600").value


def test_params_and_architecture(bench):
    params = bench.query_metric(BEST, "params")
    assert type(params) is int and params == surrogate.nb201.macro_cost([BEST])[0][0]
    assert bench.query_metric(BEST_STR, "architecture") == BEST
    assert bench.metrics[:6] == ["architecture", "baseline_accuracy", "ptq_accuracy", "qat_accuracy",
                                 "analog_accuracy", "noisy_accuracy"]


def test_measured_only_metrics(bench):
    for metric in ("baseline_accuracy", "ptq_accuracy", "qat_accuracy"):
        with pytest.raises(MetricNotPredicted, match="table="):
            bench.query_metric(BEST, metric)
    with pytest.raises(ValueError):  # MetricNotPredicted is a ValueError
        bench.query_metric(BEST, "baseline_accuracy")
    gt = surrogate.data.load_analognasbench()
    with_table = SurrogateBench(table=gt, prefetch=False)
    extras = gt.extras_frame().set_index("cell")
    for metric, column in (("baseline_accuracy", "digital"), ("ptq_accuracy", "ptq"), ("qat_accuracy", "qat")):
        assert with_table.query_metric(BEST, metric) == pytest.approx(extras.loc[BEST_STR, column])
    other = surrogate.Cell.from_edges(3, [(0, 1, "nor_conv_3x3"), (1, 2, "skip_connect"), (0, 2, "nor_conv_1x1")])
    assert with_table.query_metric(other, "baseline_accuracy") == NOT_FOUND  # not a cell of the table
    assert with_table.query_metric((0, 0, 0, 0, 0, 5), "ptq_accuracy") == NOT_FOUND
    assert "(measured)" in with_table.get_architecture_details(BEST)


def test_metric_errors(bench):
    for metric in ("accuracy", "analog_drift_", "analog_drift_1.5", "analog_drift_-60", "hwa_drift_60", 86400, None):
        with pytest.raises(ValueError, match="not found. Available metrics"):
            bench.query_metric(BEST, metric)
    with pytest.raises(ValueError, match="positive integer"):
        bench.query_metric(BEST, "analog_drift_0")
    with pytest.raises(ValueError, match="not found"):  # the metric is checked before the architecture
        bench.query_metric((0, 0, 0, 0, 0, 5), "no_such_metric")


def test_table_of_another_profile_is_refused():
    gt = surrogate.data.load_analognasbench().subset([BEST])
    other = surrogate.data.GroundTruth(gt.to_frame(), {"name": "other"}, gt.extras_frame())
    with pytest.raises(ValueError, match="profile 'other'"):
        SurrogateBench(table=other)
    with pytest.raises(ValueError, match="t_undrifted"):
        SurrogateBench(t_undrifted=0)


# ---------------------------------------------------------------------- architectures
@pytest.mark.parametrize("arch", [(0, 0, 0, 0, 0, 5), (2, 2, 0, 4, 2), (2, 2, 0, 4, 2, 1, 0), (-1, 0, 0, 0, 0, 0),
                                  "not a cell", "|nor_conv_3x3~0|+|bogus~0|none~1|", None, 7, 2.5, {"a": 1}])
def test_unreadable_architectures_are_not_found(bench, arch):
    assert bench.query_metric(arch, "analog_drift_86400") == NOT_FOUND
    assert bench.query_metric(arch, "params") == NOT_FOUND
    assert bench.get_architecture_details(arch) == "Architecture not found."


def test_every_accepted_form_answers_alike(bench):
    forms = [BEST, list(BEST), np.array(BEST), BEST_STR, surrogate.Cell.from_str(BEST_STR)]
    values = {bench.query_metric(a, "analog_drift_3600").value for a in forms}
    assert len(values) == 1
    dag = surrogate.Cell.from_edges(5, [(0, 1, "nor_conv_3x3"), (1, 2, "nor_conv_3x3"), (2, 3, "skip_connect"),
                                        (3, 4, "nor_conv_1x1"), (0, 4, "skip_connect")])
    m = bench.query_metric(dag, "analog_drift_86400")
    assert isinstance(m, DriftMeasurement) and 10 <= m.value <= 100
    assert bench.query_metric(dag, "architecture") == dag.dag_str()  # a string query_metric reads back
    assert bench.query_metric(dag.dag_str(), "analog_drift_86400").value == m.value
    assert bench.query_metric(dag.to_str(), "analog_drift_86400") == NOT_FOUND  # no NB-201 string


def test_list_available_architectures(bench):
    archs = bench.list_available_architectures()
    assert len(archs) == len(set(archs)) == 15625 and BEST in archs
    assert archs == sorted(archs)
    assert {surrogate.Cell.from_anb(a) for a in archs[::97]} <= set(surrogate.nb201.all_cells())


def test_details(bench):
    text = bench.get_architecture_details(BEST)
    assert "anb-cifar10" in text and str(BEST) in text and "not predicted" in text
    assert str(bench.query_metric(BEST, "analog_drift_2592000")) in text


# ---------------------------------------------------------------------- caching
def test_predictions_are_cached(monkeypatch, wide):
    calls = []
    bench = SurrogateBench(prefetch=False)
    real = bench.model.predict
    monkeypatch.setattr(bench.model, "predict", lambda *a, **k: calls.append(a) or real(*a, **k))
    first = bench.query_metric(BEST, "analog_drift_86400")
    for arch in (BEST, BEST_STR, list(BEST)):
        assert bench.query_metric(arch, "analog_drift_86400") is first
    assert bench.query_metric(BEST, "noisy_drift_86400") is bench.query_metric(BEST, "baseline_drift_86400")
    assert len(calls) == 2  # one per (cell, training, time)

    calls.clear()
    assert wide.model is bench.model  # shipped models are loaded once: the patch covers both
    for arch in wide.list_available_architectures()[:500]:
        wide.query_metric(arch, "analog_drift_7200")
    assert len(calls) == 1 and len(calls[0][0]) == 15625  # one whole-space prediction


# ---------------------------------------------------------------------- the value type
def test_drift_measurement_value():
    m = DriftMeasurement(88.123456, 1.5)
    assert m == 88.123456 and m.value == 88.123456 and type(m.value) is float
    assert m.uncertainty == m.std == 1.5
    assert str(m) == "88.12 ± 1.50" and f"{m:.1f}" == "88.1"
    assert repr(m) == "DriftMeasurement(88.123456, 1.5)"
    back = pickle.loads(pickle.dumps(m))
    assert isinstance(back, DriftMeasurement) and back.value == m.value and back.std == 1.5
    assert DriftMeasurement(70).uncertainty == 0.0
    with pytest.raises(AttributeError):
        m.value = 3.0
