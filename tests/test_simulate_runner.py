import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from surrogate import nb201
from surrogate.data import Store
from surrogate.simulate import get_profile, resolve_cells, run
from surrogate.simulate import runner as runner_mod

REPO = Path(__file__).resolve().parents[1]


def test_sample_is_seeded_and_prefix_stable():
    assert resolve_cells("sample:3", seed=5) == resolve_cells("sample:4", seed=5)[:3]
    assert resolve_cells("sample:4", seed=5) == resolve_cells("sample:4", seed=5)
    assert resolve_cells("sample:4", seed=5) != resolve_cells("sample:4", seed=6)
    assert len(resolve_cells("all")) == 15625 and resolve_cells("all") == nb201.all_cells()


def test_cell_string_and_file(tmp_path):
    a, b = nb201.all_cells()[7], nb201.all_cells()[99]
    assert resolve_cells(a.to_str()) == [a]
    f = tmp_path / "cells.txt"
    f.write_text(f"# my cells\n{a.to_str()}\n\n{b.to_str()}  # second\n{a.to_str()}\n")
    assert resolve_cells(str(f)) == [a, b]
    f.write_text("|bad~0|\n")
    with pytest.raises(ValueError, match="line 1"):
        resolve_cells(str(f))
    for bad in ("sample:0", "sample:x", "nothing-here"):
        with pytest.raises(ValueError, match="accepted|positive integer"):
            resolve_cells(bad)


def _frame(path, seed=0):
    with Store(path) as store:
        return store.load("smoke").to_frame().query("seed == @seed")


def _rows(frame):
    cols = ["cell", "training", "t_inference", "accuracy", "std", "n"]
    return sorted(map(tuple, frame[cols].itertuples(index=False)))


def test_smoke_end_to_end_resume_and_failure(tmp_path, monkeypatch):
    path = tmp_path / "gt.sqlite"
    summary = run("smoke", "sample:2", 0, path, progress=False)
    assert (summary.written, summary.skipped, summary.failed) == (2, 0, {})
    frame = _frame(path)
    assert frame["cell"].nunique() == 2 and len(frame) == 2 * 2 * len(get_profile("smoke")["t_inference"])

    # one failing cell is reported and skipped; the others are written
    bad = resolve_cells("sample:4", 0)[2]
    real = runner_mod._work

    def flaky(profile, cell, seed, root, chips=None, device="cpu"):
        if cell == bad.to_str():
            raise RuntimeError("simulated failure")
        return real(profile, cell, seed, root, chips, device)

    monkeypatch.setattr(runner_mod, "_work", flaky)
    summary = run("smoke", "sample:4", 0, path, progress=False)
    assert (summary.skipped, summary.written) == (2, 1)
    assert list(summary.failed) == [bad.to_str()] and "simulated failure" in summary.failed[bad.to_str()]
    monkeypatch.setattr(runner_mod, "_work", real)
    summary = run("smoke", "sample:4", 0, path, progress=False)
    assert (summary.skipped, summary.written, summary.failed) == (3, 1, {})
    assert _frame(path)["cell"].nunique() == 4


def test_kill_9_and_resume(tmp_path):
    path = tmp_path / "gt.sqlite"
    cmd = [sys.executable, "-m", "surrogate", "simulate", "--profile", "smoke", "--cells", "sample:6",
           "--seed", "3", "--store", str(path), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    profile = get_profile("smoke").to_dict()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists():
                with Store(path) as store:
                    if len(store.done(profile, 3)) >= 2:
                        break
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    with Store(path) as store:
        assert 2 <= len(store.done(profile, 3)) < 6
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    frame = _frame(path, seed=3)
    assert sorted(frame["cell"].unique()) == sorted(c.to_str() for c in resolve_cells("sample:6", 3))
    counts = frame.groupby(["cell", "training", "t_inference"]).size()
    assert (counts == 1).all()  # every cell once


def test_dask_local_cluster_matches_local_workers(tmp_path):
    distributed = pytest.importorskip("distributed")
    local, dask = tmp_path / "local.sqlite", tmp_path / "dask.sqlite"
    run("smoke", "sample:3", 1, local, workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        summary = run("smoke", "sample:3", 1, dask, scheduler=client, progress=False)
        assert summary.written == 3 and not summary.failed
    assert _rows(_frame(local, 1)) == _rows(_frame(dask, 1))


def test_dask_by_address_with_worker_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    local, dask = tmp_path / "local.sqlite", tmp_path / "dask.sqlite"
    run("smoke", "sample:2", 2, local, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        summary = run("smoke", "sample:2", 2, dask, scheduler=cluster.scheduler_address, progress=False)
        assert summary.written == 2
    assert _rows(_frame(local, 2)) == _rows(_frame(dask, 2))
