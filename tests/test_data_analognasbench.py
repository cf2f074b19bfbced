"""AnalogNAS-Bench import: values checked against the file read independently, and refusals."""

import importlib.metadata
import os
import pickle
import pickletools
import struct
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from surrogate import Cell
from surrogate.cells import ANB_OPS
from surrogate.data import GroundTruth, RefusedFileError, load, load_analognasbench
from surrogate.data.analognasbench import cache_dir
from surrogate.nb201 import EDGES

TIMES = (60, 3600, 86400, 2592000)


def anb_file() -> Path:
    files = importlib.metadata.files("analog-nasbench")
    return next(Path(f.locate()) for f in files if f.name == "data.anb")


class _Plain:
    """Any record of the file, read back as a bag of attributes (test-only, trusted file)."""


class _IndependentReader(pickle.Unpickler):
    def find_class(self, module, name):
        assert module == "analognasbench.data", (module, name)
        return type(name, (_Plain,), {})


@pytest.fixture(scope="module")
def raw():
    with open(anb_file(), "rb") as f:
        return _IndependentReader(f).load()


@pytest.fixture(scope="module")
def gt():
    return load_analognasbench()


def test_shape(gt):
    assert isinstance(gt, GroundTruth)
    assert gt.profile_name == "anb-cifar10"
    assert gt.profile["repetitions"] == 25 and gt.profile["t_inference"] == list(TIMES)
    assert len(gt) == 125_000
    assert len(gt.cells) == 15_625 and len(set(gt.cells)) == 15_625
    assert gt.times.tolist() == list(TIMES)
    frame = gt.to_frame()
    assert (frame["n"] == 25).all() and (frame["seed"] == 0).all()
    assert frame.groupby("training").size().to_dict() == {"hwa": 62_500, "standard": 62_500}
    assert list(gt.extras_frame().columns) == ["cell", "seed", "digital", "ptq", "qat", "standard_t0", "hwa_t0"]
    assert "analognasbench" not in sys.modules  # read, never imported


def test_known_cells(gt):
    hwa = gt.targets("hwa")
    cell = Cell.from_anb((2, 2, 0, 4, 2, 1))
    assert cell == Cell.from_str(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    assert hwa.mean[hwa.cells.index(cell), TIMES.index(2592000)] == 90.0
    dead = Cell.from_anb((1, 1, 1, 1, 1, 1))
    sub = gt.subset([dead])
    assert (sub.to_frame()["accuracy"] == 10.0).all()
    assert (sub.extras_frame()[["digital", "ptq", "qat", "standard_t0", "hwa_t0"]] == 10.0).all(axis=None)


def test_degenerate_cells_score_ten_percent(gt):
    """Checks the edge-order mapping: exactly the 341 cells with no input-output path are at chance."""
    extras = gt.extras_frame()
    cells = [Cell.from_str(s) for s in extras["cell"]]
    degenerate = np.array([c.is_degenerate for c in cells])
    assert degenerate.sum() == 341
    assert (extras["digital"][degenerate] == 10.0).all()
    assert (extras["digital"][~degenerate] != 10.0).all()
    # reading the tuple in NB-201 string order instead would break this
    wrong = np.array([Cell(4, [(s, d, ANB_OPS[i]) for (s, d), i in zip(EDGES, c.to_anb())]).is_degenerate
                      for c in cells])
    assert (extras["digital"][wrong] != 10.0).any()


def test_every_value_matches_the_file(gt, raw):
    assert len(raw) == 15_625
    frame = gt.to_frame().set_index(["cell", "training", "t_inference"])
    extras = gt.extras_frame().set_index("cell")
    mean, expect_m, expect_s = [], [], []
    for key, rec in raw.items():
        s = Cell.from_anb(key).to_str()
        for training, prefix in (("standard", "baseline_drift_"), ("hwa", "analog_drift_")):
            for t in TIMES:
                m = getattr(rec, f"{prefix}{t}")
                expect_m.append(m.value)
                expect_s.append(m.uncertainty)
                mean.append((s, training, float(t)))
        e = extras.loc[s]
        assert (e["digital"], e["ptq"], e["qat"], e["standard_t0"], e["hwa_t0"]) == (
            rec.baseline_accuracy, rec.ptq_accuracy, rec.qat_accuracy, rec.noisy_accuracy, rec.analog_accuracy)
    got = frame.loc[mean]
    np.testing.assert_array_equal(got["accuracy"].to_numpy(), expect_m)
    np.testing.assert_array_equal(got["std"].to_numpy(), expect_s)


def test_cache_is_plain_and_fast(gt):
    files = list(cache_dir().glob("anb-cifar10-*.npz"))
    assert len(files) == 1
    with np.load(files[0], allow_pickle=False) as npz:  # loads without pickle
        assert set(npz.files) == {"cells", "mean", "std", "extras"}
    start = time.perf_counter()
    again = load("anb-cifar10")
    assert time.perf_counter() - start < 5  # generous: a behaviour check (cached), not a benchmark
    assert again.to_frame().equals(gt.to_frame())
    assert again.profile_hash == gt.profile_hash


def test_changed_source_rebuilds_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SURROGATE_CACHE", str(tmp_path / "cache"))
    data = bytearray(anb_file().read_bytes())
    src = tmp_path / "data.anb"
    src.write_bytes(data)
    first = load_analognasbench(src)
    # change the first float of the file (a record's digital accuracy) in place
    pos = next(p for op, _, p in pickletools.genops(bytes(data)) if op.name == "BINFLOAT")
    data[pos + 1: pos + 9] = struct.pack(">d", 12.5)
    src.write_bytes(data)
    second = load_analognasbench(src)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
    assert 12.5 in second.extras_frame()["digital"].tolist()
    assert 12.5 not in first.extras_frame()["digital"].tolist()


@pytest.fixture
def upstream(monkeypatch):
    """Classes named like the upstream ones, to write small test files (no upstream import)."""
    module = types.ModuleType("analognasbench.data")
    for name in ("Architecture", "DriftMeasurement"):
        setattr(module, name, type(name, (), {"__module__": module.__name__, "__qualname__": name}))
    package = types.ModuleType("analognasbench")  # so that pickle never imports the real one
    package.data = module
    monkeypatch.setitem(sys.modules, "analognasbench", package)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def _record(upstream, key, acc, drift_prefix="baseline_drift_"):
    rec = upstream.Architecture()
    rec.architecture = key
    for field in ("baseline_accuracy", "ptq_accuracy", "qat_accuracy", "noisy_accuracy", "analog_accuracy"):
        setattr(rec, field, acc)
    for prefix in (drift_prefix, "analog_drift_"):
        for i, t in enumerate(TIMES):
            m = upstream.DriftMeasurement()
            m.value, m.uncertainty = acc - i, 0.5
            setattr(rec, f"{prefix}{t}", m)
    return rec


def test_both_spellings_of_the_standard_drift_fields(tmp_path, upstream):
    table = {(2, 2, 2, 2, 2, 2): _record(upstream, (2, 2, 2, 2, 2, 2), 80.0),
             (0, 0, 0, 0, 0, 0): _record(upstream, (0, 0, 0, 0, 0, 0), 70.0, "noisy_drift_")}
    path = tmp_path / "data.anb"
    path.write_bytes(pickle.dumps(table, protocol=4))
    gt = load_analognasbench(path, cache=False)
    t = gt.targets("standard")
    assert len(gt) == 16 and t.mean.tolist() == [[70.0, 69.0, 68.0, 67.0], [80.0, 79.0, 78.0, 77.0]]
    # a record without either spelling is refused
    del table[(0, 0, 0, 0, 0, 0)].noisy_drift_60
    path.write_bytes(pickle.dumps(table, protocol=4))
    with pytest.raises(RefusedFileError, match="no baseline_drift_60 or noisy_drift_60"):
        load_analognasbench(path, cache=False)


def test_unexpected_record_fields_are_refused(tmp_path, upstream):
    rec = _record(upstream, (2, 2, 2, 2, 2, 2), 80.0)
    rec.payload = "something else"
    path = tmp_path / "data.anb"
    path.write_bytes(pickle.dumps({(2, 2, 2, 2, 2, 2): rec}, protocol=4))
    with pytest.raises(RefusedFileError, match="payload"):
        load_analognasbench(path, cache=False)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_hostile_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data.anb"
    path.write_bytes(pickle.dumps({(0, 0, 0, 0, 0, 0): _Evil(marker)}))
    with pytest.raises(RefusedFileError, match="refused.*not allowed"):
        load_analognasbench(path, cache=False)
    assert not marker.exists()
    with pytest.raises(ValueError):  # RefusedFileError is a ValueError (and an UnpicklingError)
        load_analognasbench(path, cache=False)


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(S'1'\ntR.",  # a builtin global
    pickle.dumps([1, 2, 3]),  # not a dict
    pickle.dumps({(0, 0, 0): 1}),  # wrong key
    pickle.dumps({(0, 0, 0, 0, 0, 0): 1.0}),  # not a record
])
def test_unexpected_content_is_refused(tmp_path, payload):
    path = tmp_path / "data.anb"
    path.write_bytes(payload)
    with pytest.raises(RefusedFileError, match="refused"):
        load_analognasbench(path, cache=False)


def test_truncated_file_is_refused(tmp_path):
    data = anb_file().read_bytes()
    path = tmp_path / "data.anb"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RefusedFileError, match="refused"):
        load_analognasbench(path, cache=False)
    with pytest.raises(FileNotFoundError):
        load_analognasbench(tmp_path / "absent.anb")
