"""The validator: oracles, sampling, verdicts on the smoke profile (re-simulated), reports, monitor, CLI.

One small model is fitted per module on smoke-profile cells simulated here (about 20 s); rounds re-simulate
8 fresh cells once (cached) and judge the model, then shifted and rescaled copies of it, on the same
measurements (round 1 of series 0: a round in which the small model itself is judged calibrated, so that
what changes is the perturbation). False alarms are counted on a model calibrated by construction
(SyntheticOracle).
"""

import json
import threading
import types

import numpy as np
import pytest
from scipy import stats

import surrogate
from surrogate import calibration as cal
from surrogate import Cell
from surrogate.cli import main
from surrogate.data import Store
from surrogate.models import Prediction, Surrogate
from surrogate.simulate import get_profile, resolve_cells, run
from surrogate.validate import (
    SEED_OFFSET, CalibrationMonitor, Perturbed, Recalibrated, SimulateOracle, SyntheticOracle, TableOracle,
    Validator, cell_record, judge, stratified_sample, training_cells,
)

from _column_model import ColumnMeans

ALPHA = 0.05


class CachedSimulate(SimulateOracle):
    """Re-simulates each (cells, seed) once per module: shifted/rescaled models see the same numbers."""

    _cache: dict = {}
    calls = 0

    def measure(self, cells, seed, profile):
        key = (tuple(c.to_str() for c in cells), seed)
        if key not in self._cache:
            CachedSimulate.calls += 1
            self._cache[key] = super().measure(cells, seed, profile)
        return self._cache[key]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    pool = resolve_cells("sample:400", 7)
    live = [c for c in pool if not c.is_degenerate]
    degenerate = next(c for c in pool if c.is_degenerate)  # the model reads its chance level off one
    train, fresh = live[:24] + [degenerate], live[24:]
    path = tmp_path_factory.mktemp("smoke") / "gt.sqlite"
    summary = run("smoke", train, 0, path, progress=False)
    assert not summary.failed
    with Store(path) as store:
        gt = store.load("smoke")
    model = Surrogate(members=("xgb",), n_folds=2, xgb_params=dict(n_estimators=30), progress=False).fit(gt)
    model.metrics_["train_cells"] = cell_record(train, "the smoke fixture's training cells")
    return types.SimpleNamespace(model=model, gt=gt, fresh=fresh, train=train)


def smoke_round(model, smoke, seed=1, **kw):
    return Validator(model, oracle=CachedSimulate(), sample=8, seed=seed, candidates=smoke.fresh, **kw).run()


# ---------------------------------------------------------------------- verdicts on the smoke profile
def test_a_simulated_round_on_the_smoke_model_reports_every_column(smoke):
    """End to end through the simulate oracle. Whether the smoke model passes is not asserted: its top cells
    regress under another training seed (a winner's curse the round may flag, depending on the CPU's last
    bits); that a calibrated model passes is the synthetic oracle's test below."""
    report = smoke_round(smoke.model, smoke)
    assert report.verdict in ("calibrated", "biased", "over-confident", "under-confident"), report.summary()
    assert report.calibrated == (report.verdict == "calibrated") and report.calibrated == (not report.flags)
    assert len(report.cells) == 8 and not report.record["failed"]
    assert report.record["measure_seed"] == SEED_OFFSET + 1
    assert {c["training"] for c in report.columns} == {"standard", "hwa"}
    assert len(report.columns) == 2 * len(get_profile("smoke")["t_inference"])
    for c in report.columns:
        assert c["n"] == 8 and 0 <= c["coverage"] <= 1 and c["max_abs_z"] >= abs(c["mean_z"])


def test_shifted_model_is_biased(smoke):
    std = np.median(smoke.model.predict(smoke.fresh, 60).std)
    for shift in (4 * std, -4 * std):  # far outside the spread: every column sees it
        report = smoke_round(Perturbed(smoke.model, shift=shift), smoke)
        assert report.verdict == "biased", report.summary()
        assert not report.calibrated
        sign = np.sign(report.overall["bias"])
        assert sign == np.sign(shift)


def test_intervals_shrunk_tenfold_are_over_confident(smoke):
    report = smoke_round(Perturbed(smoke.model, scale=0.1), smoke)
    assert "over-confident" in report.flags, report.summary()
    assert report.overall["coverage"] < 0.5
    # the headline names the largest effect: in this round the small model's standard top is about 10 points
    # low (its own, wide, intervals absorb it), which at a tenth of the std is as large as the shrinkage
    assert report.verdict in ("over-confident", "biased")
    hwa = [c for c in report.columns if c["training"] == "hwa"]
    assert all(c["verdict"] == "over-confident" for c in hwa)


def test_intervals_widened_tenfold_are_under_confident(smoke):
    report = smoke_round(Perturbed(smoke.model, scale=10), smoke)
    assert report.verdict == "under-confident", report.summary()
    assert report.flags == ["under-confident"] and report.overall["coverage"] == 1.0


def test_rounds_reuse_one_simulation(smoke):
    """The four verdicts above judged the same re-simulated cells (the sample depends on the ranking only)."""
    smoke_round(smoke.model, smoke)
    smoke_round(Perturbed(smoke.model, shift=5.0, scale=3.0), smoke)
    assert CachedSimulate.calls == 1


def test_false_alarms_over_repeated_rounds_on_a_calibrated_model(smoke):
    """A model validated against draws from its own predictive distribution is calibrated by construction:
    its false alarms over R rounds are at most Binomial(R, alpha) (Bonferroni is conservative)."""
    rounds = 300
    oracle = SyntheticOracle(smoke.model)
    alarms = sum(not Validator(smoke.model, oracle, sample=8, seed=s, candidates=smoke.fresh).run().calibrated
                 for s in range(rounds))
    bound = stats.binom.ppf(1 - 1e-3, rounds, ALPHA)  # exceeded with probability < 0.1 % at rate alpha
    assert alarms <= bound, f"{alarms} false alarms in {rounds} rounds (bound {bound:.0f})"
    # the same rounds with a shifted model are flagged nearly always: the count is not trivially zero
    shifted = Perturbed(smoke.model, shift=3 * np.median(smoke.model.predict(smoke.fresh, 60).std))
    flagged = sum(not Validator(shifted, oracle, sample=8, seed=s, candidates=smoke.fresh).run().calibrated
                  for s in range(20))
    assert flagged >= 18


# ---------------------------------------------------------------------- the table oracle (AnalogNAS-Bench)
@pytest.fixture(scope="module")
def anb():
    return surrogate.data.load_analognasbench()


@pytest.fixture(scope="module")
def anb_model(anb):
    return ColumnMeans(anb, resolve_cells("sample:150", 0))


def test_table_oracle_round(anb_model, anb, tmp_path):
    cands = anb.cells[::25]
    report = Validator(anb_model, oracle=TableOracle(anb), sample=12, seed=3, candidates=cands).run()
    assert not set(report.cells) & {c.to_str() for c in training_cells(anb_model)}  # never in-sample
    assert len(report.cells) == 12 and sum(report.record["top"]) >= 6
    a = report.arrays()
    assert np.allclose(a["measured"][:, 1], anb.subset(report.cells).targets("hwa").mean)
    assert report.verdict in ("calibrated", "biased", "over-confident", "under-confident")
    json_path, png_path = report.save(tmp_path / "out")
    again = json.loads(json_path.read_text())
    assert again["round"]["verdict"]["verdict"] == report.verdict and png_path.stat().st_size > 10_000
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sampling_is_seeded(anb_model, anb):
    cands, table = anb.cells[1::40], TableOracle(anb)
    a = Validator(anb_model, table, sample=6, seed=5, candidates=cands, exclude=None).run()
    b = Validator(anb_model, table, sample=6, seed=5, candidates=cands, exclude=None).run()
    c = Validator(anb_model, table, sample=6, seed=6, candidates=cands, exclude=None).run()
    assert a.cells == b.cells and a.record["verdict"] == b.record["verdict"]
    assert a.cells != c.cells


def test_named_cells_are_measured(anb_model, anb):
    named = [anb.cells[7], anb.cells[8]]
    report = Validator(anb_model, TableOracle(anb), sample=3, seed=0, candidates=anb.cells[::50],
                       cells=named).run()
    assert len(report.cells) == 5 and report.record["named"] == [False] * 3 + [True] * 2
    assert report.cells[3:] == [c.to_str() for c in named]


def test_shipped_model_against_its_table(anb, tmp_path):
    try:
        shipped = surrogate.load("anb-cifar10")
    except ValueError as err:  # a predictor whose format the shipped files predate
        pytest.skip(f"the shipped model does not load: {err}")
    report = Validator(shipped, oracle="table", sample=8, seed=0, candidates=anb.cells[::10]).run()
    assert len(report.cells) == 8 and report.record["model"]["profile_hash"] == anb.profile_hash


# ---------------------------------------------------------------------- refusals
def test_table_of_another_profile_is_refused(smoke, anb, anb_model):
    with pytest.raises(ValueError, match="another recipe"):
        Validator(smoke.model, oracle=TableOracle(anb), sample=4).run()
    with pytest.raises(ValueError, match="no shipped table"):
        TableOracle.for_model(smoke.model)
    TableOracle(anb).check(anb_model)  # the same profile hash: accepted
    on_other_chip = types.SimpleNamespace(profile_=anb.profile, profile_hash_=anb.profile_hash,
                                          chip_={"name": "reram-somewhere"})
    with pytest.raises(ValueError, match="chip"):
        TableOracle(anb).check(on_other_chip)


def test_simulation_that_cannot_reproduce_the_profile_is_refused(smoke, anb_model, tmp_path):
    unlinked = dict(anb_model.profile_, source="a table nobody re-simulates")
    other = types.SimpleNamespace(profile_=unlinked, profile_hash_=surrogate.data.profile_hash(unlinked))
    with pytest.raises(ValueError, match="not a simulation recipe"):  # a table's profile, no recipe linked
        Validator(other, oracle="simulate", sample=4).run()
    with pytest.raises(ValueError, match=rf"is not the model's profile.*{other.profile_hash_}"):
        SimulateOracle(profile="anb-cifar10").check(other)  # same name, another hash
    with pytest.raises(ValueError, match="is not the model's profile"):
        SimulateOracle(profile="proxy-digits").check(smoke.model)
    cifar = get_profile("anb-cifar10")
    model = types.SimpleNamespace(profile_=cifar.to_dict(), profile_hash_=cifar.hash)
    with pytest.raises(ValueError, match="CIFAR-10"):  # the recipe matches, its data set is missing
        SimulateOracle(data_root=tmp_path).check(model)


def test_simulate_oracle_on_a_dask_scheduler_measures_what_local_workers_do(smoke):
    distributed = pytest.importorskip("distributed")
    cells, seed = smoke.fresh[:2], SEED_OFFSET + 5
    local = SimulateOracle().measure(cells, seed, smoke.model.profile_).ground_truth.to_frame()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        oracle = SimulateOracle(scheduler=cluster.scheduler_address)
        oracle.check(smoke.model)
        dask = oracle.measure(cells, seed, smoke.model.profile_).ground_truth.to_frame()
    key = ["cell", "training", "t_inference"]
    assert dask.sort_values(key)["accuracy"].tolist() == local.sort_values(key)["accuracy"].tolist()
    assert oracle.describe()["where"].startswith("dask tcp://127.0.0.1")


def test_bad_settings_are_refused(smoke):
    for bad in (dict(sample=0), dict(seed=-1), dict(alpha=1.5), dict(level=1.0), dict(refit=True)):
        with pytest.raises(ValueError):
            Validator(smoke.model, oracle=SyntheticOracle(smoke.model), **{"sample": 4, **bad}).run()


# ---------------------------------------------------------------------- store, refit, recalibration
class FakeStore:
    """The store contract the validator writes to: write_cell(..., source=), write_round, rounds, load."""

    def __init__(self):
        self.cells, self.records = [], []

    def write_cell(self, profile, cell, seed, rows, extras=None, *, source="simulation"):
        self.cells.append((surrogate.data.profile_hash(profile), cell, seed, list(rows), source))
        return True

    def write_round(self, record):
        self.records.append(json.loads(json.dumps(record, allow_nan=False)))
        return len(self.records)

    def rounds(self):
        return list(self.records)

    def load(self, profile):
        raise ValueError("empty")


def test_rows_and_rounds_go_to_the_store(smoke):
    store = FakeStore()
    oracle = SyntheticOracle(smoke.model)
    first = Validator(smoke.model, oracle, sample=4, seed=1, candidates=smoke.fresh, store=store).run()
    second = Validator(smoke.model, oracle, sample=4, seed=2, candidates=smoke.fresh, store=store).run()
    assert len(store.records) == 2 and len(second.history) == 2 and len(first.history) == 1
    assert {c[4] for c in store.cells} == {"validation"}
    assert {c[2] for c in store.cells} == {SEED_OFFSET + 1, SEED_OFFSET + 2}
    assert {c[0] for c in store.cells} == {smoke.model.profile_hash_}
    assert all(len(c[3]) == 2 * len(smoke.model.times_) for c in store.cells)
    assert second.history[0]["seed"] == 1


def test_validation_rows_and_rounds_in_a_real_store(smoke, tmp_path):
    path = tmp_path / "gt.sqlite"
    oracle = SyntheticOracle(smoke.model)
    for seed in (1, 2):
        Validator(smoke.model, oracle, sample=4, seed=seed, candidates=smoke.fresh, store=path).run()
    with Store(path) as store:
        rounds, gt = store.rounds(), store.load(smoke.model.profile_hash_)
    assert [r["seed"] for r in rounds] == [1, 2] and rounds[1]["verdict"]["n_tests"] > 0
    frame = gt.to_frame()
    assert set(frame["source"]) == {"validation"} and set(frame["seed"]) == {SEED_OFFSET + 1, SEED_OFFSET + 2}
    assert frame.groupby("seed")["cell"].nunique().tolist() == [4, 4]
    # a third round reads the first two as its history
    report = Validator(smoke.model, oracle, sample=4, seed=3, candidates=smoke.fresh, store=path).run()
    assert [h["seed"] for h in report.history] == [1, 2, 3]


def test_refit_on_enlarged_ground_truth(smoke):
    report = Validator(smoke.model, SyntheticOracle(smoke.model), sample=4, seed=0, candidates=smoke.fresh,
                       refit=True, ground_truth=smoke.gt).run()
    assert isinstance(report.model, Surrogate) and report.model is not smoke.model
    assert report.model.n_cells_ == smoke.model.n_cells_ + 4
    assert report.model.profile_hash_ == smoke.model.profile_hash_


def test_recalibration_widens_intervals_after_misses(smoke):
    cells = smoke.fresh[:20]
    recal = Recalibrated(smoke.model, level=0.9, gamma=0.05)
    before = recal.predict(cells, 60)
    # a round whose measurements all fall outside the intervals: alpha drops, intervals widen
    shifted = Validator(smoke.model, SyntheticOracle(smoke.model, shift=50), sample=8, seed=0,
                        candidates=smoke.fresh, recalibrate=recal).run()
    assert shifted.record["coverage_recalibrated"] < 0.2
    after = recal.predict(cells, 60)
    assert np.all(after.upper - after.lower > before.upper - before.lower)
    assert np.allclose(after.accuracy, before.accuracy)
    recal.reset()
    assert np.allclose(recal.predict(cells, 60).upper, before.upper)


# ---------------------------------------------------------------------- the monitor
class Gated(SyntheticOracle):
    """Holds a round inside measure() until released."""

    def __init__(self, truth):
        super().__init__(truth)
        self.entered, self.release = threading.Event(), threading.Event()

    def measure(self, cells, seed, profile):
        self.entered.set()
        assert self.release.wait(60)
        return super().measure(cells, seed, profile)


def test_monitor_predictions_never_wait_for_a_round(smoke):
    oracle = Gated(smoke.model)
    cells = smoke.fresh[:30]
    with CalibrationMonitor(smoke.model, oracle=oracle, every=10, sample=4, seed=0) as mon:
        assert mon.verdict is None and not mon.trusted()
        mon.predict(cells[:10], 60)  # the 10th predicted cell starts a round
        assert oracle.entered.wait(30)
        for i in range(10, 30):  # the round is stuck in measure(); predictions still return
            p = mon.predict(cells[i], [60, 86400])
            assert p.accuracy.shape == (2,)
        assert mon.running and mon.latest is None and mon.n_predictions == 30
        assert mon.trigger() is False  # never two rounds at once
        oracle.release.set()
        report = mon.wait(60)
        assert report is mon.latest and mon.verdict == report.verdict
        assert isinstance(mon.trusted(), bool) and mon.trusted() == report.calibrated
        assert set(report.cells) <= {c.to_str() for c in cells[:10]}  # sampled from what the search asked
        assert report.record["coverage_recalibrated"] is not None  # the ACI state learnt from it
        assert mon.model.n_updates_ == 1


def test_monitor_every_seconds_and_refit(smoke):
    mon = CalibrationMonitor(smoke.model, oracle=SyntheticOracle(smoke.model), every="1h", sample=4,
                             refit=True, ground_truth=smoke.gt)
    mon.predict(smoke.fresh[:5], 60)
    assert not mon.running  # an hour has not passed
    mon.include(smoke.fresh[40:42])
    assert mon.trigger()
    report = mon.wait(120)
    assert report.cells[-2:] == [c.to_str() for c in smoke.fresh[40:42]]
    assert mon.model.model is report.model  # predictions now come from the refitted model
    mon.close()
    assert not mon.trigger()
    with pytest.raises(ValueError, match="every"):
        CalibrationMonitor(smoke.model, oracle=SyntheticOracle(smoke.model), every="soon")


# ---------------------------------------------------------------------- the command line
def test_cli_exit_codes(smoke, tmp_path, capsys):
    model_dir = smoke.model.save(tmp_path / "smoke-model")
    cand = tmp_path / "cells.txt"
    cand.write_text("\n".join(c.to_str() for c in smoke.fresh))
    argv = ["validate", "--model", str(model_dir), "--sample", "8", "--seed", "1", "--cells", str(cand)]
    # a table drawn from the model's own predictive distribution: calibrated by construction, exit 0
    measured = smoke_round(smoke.model, smoke)  # the cells a round with this seed samples (cached)
    times = measured.record["times"]
    asked = [Cell.from_dag_str(c) for c in measured.cells]
    own = SyntheticOracle(smoke.model).measure(asked, SEED_OFFSET + 1, smoke.gt.profile)
    frame = own.ground_truth.to_frame()
    fair, low = tmp_path / "fair.sqlite", tmp_path / "low.sqlite"
    with Store(fair) as store:
        for cell in asked:
            mine = frame[frame["cell"] == cell.to_str()]
            store.write_cell(smoke.gt.profile, cell, 0, [(r.training, r.t_inference, r.accuracy, 0.0, 1)
                                                          for r in mine.itertuples()])
    assert main(argv + ["--oracle", "table", "--table", str(fair), "--out", str(tmp_path / "v")]) == 0
    assert "verdict: calibrated" in capsys.readouterr().out
    assert (tmp_path / "v" / "report.json").is_file() and (tmp_path / "v" / "report.png").is_file()
    # the simulate oracle runs from the CLI too (its verdict is the round's above)
    code = main(argv + ["--oracle", "simulate", "--out", str(tmp_path / "s")])
    assert code == (0 if measured.calibrated else 1)
    capsys.readouterr()
    # a table of the model's profile whose numbers sit 40 points below what it predicts: biased, exit 1
    with Store(low) as store:
        pred = measured.arrays()["pred"]
        for i, cell in enumerate(measured.cells):
            rows = [(tr, t, max(0.0, pred[i, k, j] - 40), 0.0, 1)
                    for k, tr in enumerate(("standard", "hwa")) for j, t in enumerate(times)]
            store.write_cell(smoke.gt.profile, cell, 0, rows)
    assert main(argv + ["--oracle", "table", "--table", str(low), "--out", str(tmp_path / "w")]) == 1
    assert "verdict: biased" in capsys.readouterr().out
    # usage errors: 2
    assert main(argv + ["--oracle", "table", "--out", str(tmp_path / "x")]) == 2  # no table holds its profile
    assert "no shipped table" in capsys.readouterr().err
    assert main(argv + ["--oracle", "table", "--workers", "2", "--out", str(tmp_path / "y")]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "--model", str(model_dir), "--out", str(tmp_path / "z")])  # --sample missing
    assert exit_.value.code == 2


# ---------------------------------------------------------------------- pieces
def test_stratified_sample():
    scores = np.arange(1000.0)
    rng = np.random.default_rng(0)
    idx, top, threshold = stratified_sample(scores, 10, rng, top_fraction=0.01, top_share=0.5)
    assert len(set(idx)) == 10 and top.sum() == 5 and threshold == 990.0
    assert np.all(scores[idx][top] >= 990) and np.all(np.diff(scores[idx]) < 0)
    rest = np.sort(scores[idx][~top])  # one from each fifth of the others
    assert np.all((rest >= np.arange(5) * 198) & (rest < (np.arange(5) + 1) * 198))
    again, _, _ = stratified_sample(scores, 10, np.random.default_rng(0))
    assert np.array_equal(idx, again)
    assert len(stratified_sample(scores[:3], 10, rng)[0]) == 3


def test_judge_labels_synthetic_rounds():
    rng = np.random.default_rng(0)
    n = 40
    mu = rng.uniform(50, 90, (n, 2, 3))
    sd = np.full_like(mu, 2.0)
    y = mu + sd * rng.standard_normal(mu.shape)
    top = np.arange(n) < 10
    args = (["standard", "hwa"], [60.0, 3600.0, 86400.0])

    def verdict(mu_, sd_, y_):
        lo, hi = cal.gaussian_interval(mu_, sd_, 0.9)
        return judge(mu_, sd_, lo, hi, y_, top, *args)

    assert verdict(mu, sd, y)["verdict"] == "calibrated"
    assert verdict(mu + 3, sd, y)["verdict"] == "biased"
    assert verdict(mu, sd / 2, y)["verdict"] == "over-confident"
    assert verdict(mu, sd * 3, y)["verdict"] == "under-confident"
    top_only = mu.copy()
    top_only[top] += 4  # the winner's curse: only the predicted top is too high
    v = verdict(top_only, sd, y)
    assert v["verdict"] == "biased" and any(t["test"] == "top bias" and t["rejected"] for t in v["tests"])
    y_missing = y.copy()
    y_missing[:38] = np.nan
    assert verdict(mu, sd, y_missing)["verdict"] == "too few cells"
