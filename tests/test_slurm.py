"""On a real SLURM: `surrogate simulate --cluster slurm`, one job killed mid-run, nothing lost.

Runs where SLURM answers (`.ci/slurm-up.sh` starts a single-node one; `.ci/run` calls it) and is
skipped elsewhere, with the reason (`pytest -ra` prints it).
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from surrogate.data import Store
from surrogate.simulate import get_profile, run

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

CELLS, SEED = 6, 5
START_S = 300   # until the first cell is stored (jobs queued, started, workers importing torch)
FINISH_S = 300  # from the kill to the end of the run


def _slurm_or_skip() -> None:
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        pytest.skip("no SLURM here (sbatch/sinfo not on PATH); .ci/slurm-up.sh starts a single-node one")
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.skip("SLURM is installed but sinfo did not answer in 20 s (slurmctld down?); .ci/slurm-up.sh starts it")
    if out.returncode != 0:
        pytest.skip(f"SLURM is installed but not running: sinfo says {out.stderr.strip()!r}; .ci/slurm-up.sh starts it")
    states = {s.rstrip("*~#!%$@^-") for s in out.stdout.split()}
    if not states & {"idle", "mixed"}:
        pytest.skip(f"SLURM answers but no node can take a job (node states: {sorted(states) or 'none'})")
    pytest.importorskip("dask_jobqueue", reason="dask-jobqueue is not installed: pip install 'surrogate[cluster]'")


def _jobs(name: str, states: str = "PENDING,RUNNING,CONFIGURING,COMPLETING") -> list[str]:
    out = subprocess.run(["squeue", "-h", "-n", name, "-t", states, "-o", "%i"], capture_output=True,
                         text=True, timeout=20)
    return out.stdout.split()


def _log(logs: Path, name: str, job: str) -> str:
    """The worker's log of a job (dask-jobqueue's log directory: <name>-<jobid>.err)."""
    return "".join(p.read_text(errors="replace") for p in logs.glob(f"{name}-{job}.*err"))


def _rows(path, seed):
    with Store(path) as store:
        frame = store.load("smoke").to_frame().query("seed == @seed")
    cols = ["chip", "cell", "training", "t_inference", "accuracy", "std", "n"]
    return sorted(map(tuple, frame[cols].itertuples(index=False)))


def test_slurm_job_killed_mid_run_loses_nothing(tmp_path):
    _slurm_or_skip()
    name = f"surrogate-test-{uuid.uuid4().hex[:8]}"
    store, logs = tmp_path / "slurm.sqlite", tmp_path / "logs"
    cmd = [sys.executable, "-m", "surrogate", "simulate", "--profile", "smoke", "--cells", f"sample:{CELLS}",
           "--seed", str(SEED), "--store", str(store), "--cluster", "slurm", "--jobs", "2",
           "--cores-per-job", "1", "--memory", "2G", "--walltime", "00:15:00"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           # the site configuration (~/.config/dask/jobqueue.yaml) by environment: a job name to find our
           # jobs by, their logs, and workers that give up on a vanished scheduler soon
           "DASK_JOBQUEUE__SLURM__NAME": name, "DASK_JOBQUEUE__SLURM__LOG_DIRECTORY": str(logs),
           "DASK_JOBQUEUE__SLURM__DEATH_TIMEOUT": "30"}
    output = tmp_path / "cli.log"
    profile = get_profile("smoke").to_dict()
    seen: set[str] = set()
    killed = None
    with open(output, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_S
        while killed is None and proc.poll() is None and time.monotonic() < deadline:
            running = _jobs(name, "RUNNING")
            seen.update(running)
            done = 0
            if store.exists():
                with Store(store) as db:
                    done = len(db.done(profile, SEED))
            working = [job for job in running if "Registered to" in _log(logs, name, job)]
            if 1 <= done < CELLS and working:  # under way: kill a job whose worker computes cells
                killed = working[-1]
                subprocess.run(["scancel", killed], check=True, timeout=20)
            time.sleep(0.2)
        log = output.read_text()
        assert killed is not None, f"no job was killed (run ended: {proc.poll() is not None}); output:\n{log}"
        try:
            proc.wait(FINISH_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run did not finish {FINISH_S} s after scancel {killed}; output:\n{output.read_text()}")
        log = output.read_text()
        assert proc.returncode == 0, log
        assert f"{CELLS} cells requested, 0 already stored, {CELLS} written, 0 failed" in log, log
        assert killed not in _jobs(name), f"job {killed} still there after scancel"
        assert "signal-15" in _log(logs, name, killed), _log(logs, name, killed)  # its worker got SIGTERM
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        subprocess.run(["scancel", "-n", name], timeout=20)
    # the same cells in this process: the very same rows, each once
    local = tmp_path / "local.sqlite"
    run("smoke", f"sample:{CELLS}", SEED, local, progress=False)
    got, want = _rows(store, SEED), _rows(local, SEED)
    assert len(got) == len(set(got)) == CELLS * 2 * len(profile["t_inference"])  # no duplicate, no loss
    assert got == want
    print(f"SLURM jobs seen running: {sorted(seen, key=int)}; killed {killed}; {len(got)} rows equal a local run's")
