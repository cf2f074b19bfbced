"""The `Store` contract, reads as well as writes, over every way a store file comes about (a new
file, a version-1 file upgraded in place) and every way it is read back (the store that wrote it,
another one on the same file, a read-only one)."""

import contextlib
import shutil

import pytest

from surrogate import nb201
from surrogate.data import GroundTruth, Store, StoreError

V1_FILE = "tests/data/store_v1.sqlite"  # written by surrogate 0.1.0 (schema 1)
PROFILE = {"name": "toy", "epochs": 2}
OTHER = {"name": "toy-other", "epochs": 5}
CELLS = nb201.all_cells()[100:106]


def rows(i: int):
    return [(training, t, 40.0 + i + t / 1e5, 0.5, 3) for training in ("standard", "hwa") for t in (0.0, 60.0, 3600.0)]


def write(store):
    for i, cell in enumerate(CELLS):
        assert store.write_cell(PROFILE, cell, 0, rows(i), {"digital": 90.0 + i})
    assert store.write_cell(OTHER, CELLS[0], 0, rows(9))
    assert store.write_round({"round": 1}) == 1


@pytest.fixture(params=["new", "upgraded"])
def path(request, tmp_path):
    path = tmp_path / "gt.sqlite"
    if request.param == "upgraded":
        shutil.copy(V1_FILE, path)
    return path


@pytest.fixture(params=["same", "another", "readonly"])
def read(request):
    """``read(store, path)``: a context giving a store to read with."""
    @contextlib.contextmanager
    def opened(store, path):
        if request.param == "same":
            yield store
        else:
            with Store(path, readonly=request.param == "readonly") as other:
                yield other

    return opened


def test_a_write_is_done_once(path):
    with Store(path) as store:
        write(store)
        before = store.load("toy").to_frame()
        assert not store.write_cell(PROFILE, CELLS[0], 0, rows(50))  # present: skipped, nothing changes
        assert store.load("toy").to_frame().equals(before)


def test_reads_return_what_was_written_one_profile_at_a_time(path, read):
    with Store(path) as store:
        write(store)
        with read(store, path) as reader:
            gt = reader.load("toy")
            other = reader.load(OTHER)
            assert reader.done(PROFILE, 0) == set(CELLS) and reader.done(PROFILE, 1) == set()
            assert reader.done({"name": "never-written"}, 0) == set()
            assert [p["name"] for p in reader.profiles()][-2:] == ["toy", "toy-other"]
            assert reader.rounds() == [{"round": 1}]
    assert isinstance(gt, GroundTruth) and gt.profile == PROFILE and gt.cells == CELLS
    assert gt.times.tolist() == [0.0, 60.0, 3600.0] and len(gt) == len(CELLS) * 6
    assert gt.targets("hwa").mean[:, 2].tolist() == pytest.approx([40.0 + i + 0.036 for i in range(len(CELLS))])
    assert gt.extras_frame()["digital"].tolist() == [90.0 + i for i in range(len(CELLS))]
    assert other.cells == CELLS[:1] and other.targets("hwa").mean[0, 1] == pytest.approx(49.0006)


def test_values_read_are_copies(path, read):
    with Store(path) as store:
        write(store)
        with read(store, path) as reader:
            gt = reader.load("toy")
            frame = gt.to_frame()
            frame["accuracy"] = 0.0
            gt.profile["epochs"] = 99
            assert gt.targets("hwa").mean.min() >= 40.0 and gt.profile == PROFILE
            reader.profiles()[-1]["name"] = "changed"
            reader.rounds()[0]["round"] = 7
            assert reader.load("toy").targets("hwa").mean.min() >= 40.0
            assert reader.load("toy").profile == PROFILE and reader.profiles()[-1] == OTHER
            assert reader.rounds() == [{"round": 1}]


def test_a_refused_write_writes_nothing(path):
    with Store(path) as store:
        before = store.profiles()
        with pytest.raises(ValueError):
            store.write_cell(PROFILE, CELLS[0], 0, rows(0) + [("hwa", -1.0, 50.0, 0.5, 3)])
        assert store.profiles() == before and store.done(PROFILE, 0) == set()


def test_export_holds_the_rows_read(path, read, tmp_path):
    import pandas as pd

    with Store(path) as store:
        write(store)
        with read(store, path) as reader:
            out = reader.export(tmp_path / "toy.csv", "toy")
            n = len(reader.load("toy"))
    frame = pd.read_csv(out)
    assert len(frame) == n and set(frame["profile"]) == {"toy"}


def test_a_read_only_store_refuses_writes(path):
    with Store(path) as store:
        write(store)
    with Store(path, readonly=True) as reader:
        with pytest.raises(StoreError, match="nothing was written"):
            reader.write_cell(PROFILE, nb201.all_cells()[0], 0, rows(0))
        with pytest.raises(StoreError):
            reader.write_round({"round": 2})
        assert reader.done(PROFILE, 0) == set(CELLS) and reader.rounds() == [{"round": 1}]


def test_a_closed_store_refuses_everything(path):
    store = Store(path)
    write(store)
    store.close()
    calls = [lambda: store.write_cell(PROFILE, CELLS[0], 1, rows(0)), lambda: store.write_round({}),
             lambda: store.load("toy"), lambda: store.done(PROFILE, 0), store.profiles, store.rounds]
    for call in calls:
        with pytest.raises(StoreError, match="closed"):
            call()
