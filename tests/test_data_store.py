import sqlite3
import sys

import numpy as np
import pandas as pd
import pytest

from surrogate import Cell, nb201
from surrogate.data import SCHEMA_VERSION, GroundTruth, Store, StoreError, load, profile_hash

PROFILE = {"name": "toy", "epochs": 2, "times": [60, 3600]}
OTHER = {"name": "toy-hwa", "epochs": 5, "times": [60, 3600]}
CELLS = nb201.all_cells()[:20]


def rows_for(i: int, seed: int = 0):
    return [(tr, t, 50.0 + i + 0.01 * t / 3600 + seed, 0.5, 5)
            for tr in ("standard", "hwa") for t in (60.0, 3600.0)]


def fill(store, cells=CELLS, profile=PROFILE, seed=0):
    return [store.write_cell(profile, c, seed, rows_for(i, seed), {"digital": 90.0 + i, "train_s": 1.5})
            for i, c in enumerate(cells)]


def test_round_trip(tmp_path):
    path = tmp_path / "gt.sqlite"
    with Store(path) as store:
        assert all(fill(store))
        gt = store.load()
    assert isinstance(gt, GroundTruth)
    assert gt.cells == CELLS
    assert len(gt) == 4 * len(CELLS)
    assert gt.profile == PROFILE and gt.profile_hash == profile_hash(PROFILE)
    t = gt.targets("hwa")
    assert t.times.tolist() == [60.0, 3600.0]
    np.testing.assert_allclose(t.mean[:, 0], 50.0 + np.arange(len(CELLS)) + 0.01 / 60)
    assert (t.n == 5).all()
    extras = gt.extras_frame()
    assert extras["digital"].tolist() == [90.0 + i for i in range(len(CELLS))]
    assert (extras["train_s"] == 1.5).all()
    # reopen: data persisted; load() by path, name and hash agree
    assert load(path).to_frame().equals(gt.to_frame())
    with Store(path) as store:
        assert store.load("toy").to_frame().equals(store.load(profile_hash(PROFILE)).to_frame())


def test_write_accepts_every_cell_form_and_any_dag(tmp_path):
    dag = Cell.from_edges(5, [(0, 1, "nor_conv_3x3"), (1, 2, "skip_connect"), (0, 3, "avg_pool_3x3"),
                              (2, 4, "nor_conv_1x1"), (3, 4, "nor_conv_3x3")])
    with Store(tmp_path / "gt.sqlite") as store:
        assert store.write_cell(PROFILE, (2, 2, 0, 4, 2, 1), 0, rows_for(0))
        assert not store.write_cell(PROFILE, Cell.from_anb((2, 2, 0, 4, 2, 1)).to_str(), 0, rows_for(0))
        assert store.write_cell(PROFILE, dag, 0, rows_for(1))
        assert store.load().cells == [Cell.from_anb((2, 2, 0, 4, 2, 1)), dag]


def test_duplicate_is_a_noop_and_resume(tmp_path):
    path = tmp_path / "gt.sqlite"
    with Store(path) as store:
        fill(store, CELLS[:7])
        assert store.done(PROFILE, 0) == set(CELLS[:7])
        assert store.done(PROFILE, 1) == set()
        assert store.done(OTHER, 0) == set()
        # a duplicate with other values changes nothing
        assert not store.write_cell(PROFILE, CELLS[0], 0, [("hwa", 60.0, 1.0, 0.0, 1)], {"digital": 0.0})
        before = store.load().to_frame()
    with Store(path) as store:  # "rerun": skip what is done, write the rest
        todo = [c for c in CELLS if c not in store.done(PROFILE, 0)]
        written = [store.write_cell(PROFILE, c, 0, rows_for(CELLS.index(c))) for c in todo]
        assert len(written) == len(CELLS) - 7 and all(written)
        assert all(not w for w in fill(store))
        gt = store.load()
    assert gt.cells == CELLS
    assert gt.to_frame().iloc[: len(before)].equals(before)
    assert store.path == path


def test_seeds_are_separate(tmp_path):
    with Store(tmp_path / "gt.sqlite") as store:
        fill(store, CELLS[:3], seed=0)
        assert all(fill(store, CELLS[:3], seed=1))
        gt = store.load()
    assert gt.seeds == [0, 1] and len(gt) == 24
    assert gt.targets("hwa").n[0, 0] == 10


def test_profiles_are_never_mixed(tmp_path):
    with Store(tmp_path / "gt.sqlite") as store:
        fill(store, CELLS[:3])
        fill(store, CELLS[2:5], profile=OTHER)
        assert store.profiles() == [PROFILE, OTHER]
        with pytest.raises(ValueError, match="2 profiles.*'toy'.*'toy-hwa'"):
            store.load()
        assert store.load("toy").cells == CELLS[:3]
        assert store.load(OTHER).cells == CELLS[2:5]
        with pytest.raises(ValueError, match="no profile 'nope'.*present: 'toy'"):
            store.load("nope")
        # a changed recipe under the same name is a new profile, loadable only by hash
        changed = dict(PROFILE, epochs=3)
        fill(store, CELLS[:1], profile=changed)
        with pytest.raises(ValueError, match="named 'toy'.*give the hash"):
            store.load("toy")
        assert store.load(profile_hash(changed)).profile == changed
    with pytest.raises(ValueError, match="profiles"):
        load(tmp_path / "gt.sqlite")


def test_empty_store(tmp_path):
    with Store(tmp_path / "sub" / "gt.sqlite") as store:
        assert store.profiles() == []
        with pytest.raises(ValueError, match="empty"):
            store.load()


@pytest.mark.parametrize(
    "rows, extras, match",
    [
        ([], {}, "at least one"),
        ([("analog", 60.0, 1.0, 0.0, 1)], {}, "unknown training"),
        ([("hwa", -1.0, 1.0, 0.0, 1)], {}, ">= 0"),
        ([("hwa", 60.0, float("nan"), 0.0, 1)], {}, "finite"),
        ([("hwa", 60.0, 1.0, -1.0, 1)], {}, "std"),
        ([("hwa", 60.0, 1.0, 0.0, 0)], {}, "n \\(repetitions\\)"),
        ([("hwa", 60.0, 1.0, 0.0, 1)] * 2, {}, "twice"),
        ([("hwa", 60.0, 1.0)], {}, "a row is"),
        ([("hwa", 60.0, 1.0, 0.0, 1)], {"std": 1.0}, "not allowed"),
        ([("hwa", 60.0, 1.0, 0.0, 1)], {"x": "high"}, "number"),
    ],
)
def test_bad_writes_are_refused_and_write_nothing(tmp_path, rows, extras, match):
    with Store(tmp_path / "gt.sqlite") as store:
        with pytest.raises(ValueError, match=match):
            store.write_cell(PROFILE, CELLS[0], 0, rows, extras)
        assert store.profiles() == []


def test_unknown_std_and_missing_extras(tmp_path):
    with Store(tmp_path / "gt.sqlite") as store:
        store.write_cell(PROFILE, CELLS[0], 0, [("hwa", 60.0, 1.0, None, 1)], {"digital": float("nan")})
        store.write_cell(PROFILE, CELLS[1], 0, [("hwa", 60.0, 1.0, 0.1, 1)], {"digital": 9.0})
        gt = store.load()
    assert np.isnan(gt.to_frame()["std"][0])
    assert np.isnan(gt.extras_frame()["digital"][0]) and gt.extras_frame()["digital"][1] == 9.0


def test_schema_version_is_checked(tmp_path):
    path = tmp_path / "gt.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ValueError, match=f"schema version {SCHEMA_VERSION + 1}.*newer"):
        Store(path)


def test_foreign_files_are_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(ValueError, match="not a surrogate store"):
        Store(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(ValueError, match="not a surrogate store"):
        Store(junk)
    with pytest.raises(ValueError, match="folder"):
        Store(tmp_path)


def test_closed_store_raises(tmp_path):
    store = Store(tmp_path / "gt.sqlite")
    store.close()
    store.close()
    for call in (lambda: store.load(), lambda: store.profiles(), lambda: store.done(PROFILE, 0),
                 lambda: store.write_cell(PROFILE, CELLS[0], 0, rows_for(0))):
        with pytest.raises(StoreError, match="closed"):
            call()
    assert "closed" in repr(store)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_round_trip(tmp_path, suffix):
    with Store(tmp_path / "gt.sqlite") as store:
        fill(store, CELLS[:5])
        fill(store, CELLS[3:6], profile=OTHER)
        out = store.export(tmp_path / f"gt{suffix}")
        only = store.export(tmp_path / f"toy{suffix}", profile="toy")
        gts = {p["name"]: store.load(p["name"]) for p in store.profiles()}
    back = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert set(back["profile_hash"]) == {profile_hash(PROFILE), profile_hash(OTHER)}
    for name, gt in gts.items():
        part = back[back["profile"] == name].reset_index(drop=True)
        expect = gt.to_frame()
        pd.testing.assert_frame_equal(part[expect.columns].astype(expect.dtypes.to_dict()), expect,
                                      check_dtype=False)
        assert (part["digital"].to_numpy() == part["cell"].map(
            dict(zip(gt.extras_frame()["cell"], gt.extras_frame()["digital"]))).to_numpy()).all()
    toy = pd.read_csv(only) if suffix == ".csv" else pd.read_parquet(only)
    assert set(toy["profile"]) == {"toy"} and len(toy) == 20


def test_export_needs_known_suffix_and_pyarrow(tmp_path, monkeypatch):
    with Store(tmp_path / "gt.sqlite") as store:
        fill(store, CELLS[:2])
        with pytest.raises(ValueError, match=".csv or .parquet"):
            store.export(tmp_path / "gt.xlsx")
        monkeypatch.setitem(sys.modules, "pyarrow", None)
        with pytest.raises(ImportError, match="pip install pyarrow"):
            store.export(tmp_path / "gt.parquet")


def test_load_by_name_or_path(tmp_path):
    with pytest.raises(ValueError, match="anb-cifar10"):
        load("no-such-data")
    with pytest.raises(ValueError, match="neither"):
        load(tmp_path / "absent.sqlite")


def test_groundtruth_export_and_cli(tmp_path, capsys):
    from surrogate.cli import main

    path = tmp_path / "gt.sqlite"
    with Store(path) as store:
        fill(store, CELLS[:4])
        gt = store.load()
    out = gt.export(tmp_path / "gt.csv")
    back = pd.read_csv(out)
    assert len(back) == len(gt) and set(back.columns) >= {"profile_hash", "digital", "train_s"}
    assert main(["data", str(path), "--export", str(tmp_path / "cli.parquet")]) == 0
    assert "16 rows" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cli.parquet"), gt.export_frame(),
                                  check_dtype=False)
    assert main(["data", "no-such-data"]) == 2
    assert "anb-cifar10" in capsys.readouterr().err


CHIPPED = {"name": "toy-chips", "chips": ["anb-pcm", {"name": "six", "adc_bits": 6}], "times": [60]}


def test_measurements_keep_their_chip_and_never_pool(tmp_path):
    with Store(tmp_path / "gt.sqlite") as store:
        assert store.write_cell(CHIPPED, CELLS[0], 0, [("anb-pcm", "hwa", 60.0, 80.0, 0.5, 5),
                                                       ("six", "hwa", 60.0, 70.0, 0.5, 5)])
        assert store.write_cell(CHIPPED, CELLS[1], 0, [("hwa", 60.0, 81.0, 0.5, 5)])  # 5-tuple: default chip
        gt = store.load()
    assert gt.chips == ["anb-pcm", "six"]
    with pytest.raises(ValueError, match="holds 2 chips"):
        gt.targets("hwa")
    assert gt.targets("hwa", chip="six").mean[:, 0].tolist()[0] == 70.0
    assert np.isnan(gt.targets("hwa", chip="six").mean[1, 0])
    six = gt.for_chip("six")
    assert six.cells == [CELLS[0]] and six.chip["adc_bits"] == 6
    assert gt.for_chip("anb-pcm").targets("hwa").mean[:, 0].tolist() == [80.0, 81.0]
    with pytest.raises(ValueError, match="no chip 'eight'"):
        gt.for_chip("eight")


def test_rows_are_checked_against_the_profile_and_the_percent_range(tmp_path):
    with Store(tmp_path / "gt.sqlite") as store:
        for row, match in [(("eight", "hwa", 60.0, 80.0, 0.5, 5), "not one of the profile's chips"),
                           (("hwa", 60.0, 140.0, 0.5, 5), r"in \[0, 100\]"),
                           (("hwa", 60.0, -1.0, 0.5, 5), r"in \[0, 100\]"),
                           (("hwa", 60.0, 80.0, -0.5, 5), "std must be >= 0"),
                           (("hwa", 60.0, 80.0, 0.5, 0), "n \\(repetitions\\) must be an integer >= 1")]:
            with pytest.raises(ValueError, match=match):
                store.write_cell(CHIPPED, CELLS[0], 0, [row])
        with pytest.raises(ValueError, match="source"):
            store.write_cell(CHIPPED, CELLS[0], 0, [("hwa", 60.0, 80.0, 0.5, 5)], source="")
        assert store.done(CHIPPED, 0) == set()  # nothing was written


def test_sources_and_rounds_are_kept(tmp_path):
    with Store(tmp_path / "gt.sqlite") as store:
        store.write_cell(PROFILE, CELLS[0], 0, rows_for(0))
        store.write_cell(PROFILE, CELLS[0], 7, rows_for(0, 7), source="validation")
        assert store.write_round({"round": 1, "verdict": {"hwa": "calibrated"}}) == 1
        assert store.write_round({"round": 2}) == 2
        with pytest.raises(ValueError, match="plain JSON"):
            store.write_round({"x": float("nan")})
        assert store.rounds() == [{"round": 1, "verdict": {"hwa": "calibrated"}}, {"round": 2}]
        frame = store.load().to_frame()
    assert frame.groupby("seed")["source"].first().to_dict() == {0: "simulation", 7: "validation"}
