"""The store under real processes: killed mid-write, and several writing at once."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from surrogate import nb201
from surrogate.data import Store

ROOT = Path(__file__).resolve().parents[1]
PROFILE = {"name": "crash-test", "repetitions": 3}
TIMES = (60.0, 3600.0, 86400.0, 2592000.0)
N_ROWS = 2 * len(TIMES)
N_EXTRAS = 3

# A writer as the simulator would be: skip what is done, write the rest cell by cell,
# report each cell it wrote (cell i scores i / 10 %). argv: store path, number of cells, shuffle seed.
CHILD = f"""
import random, sys
from surrogate import nb201
from surrogate.data import Store
PROFILE = {PROFILE!r}
TIMES = {TIMES!r}
path, n, shuffle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cells = list(enumerate(nb201.all_cells()[:n]))
random.Random(shuffle).shuffle(cells)
with Store(path) as store:
    done = store.done(PROFILE, 0)
    print("ready", flush=True)
    for i, cell in cells:
        if cell in done:
            continue
        rows = [(tr, t, i / 10, 0.1, 3) for tr in ("standard", "hwa") for t in TIMES]
        if store.write_cell(PROFILE, cell, 0, rows, {{"digital": float(i), "ptq": 1.0, "train_s": 2.0}}):
            print(i, flush=True)
"""


def spawn(path, n, shuffle=0):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(n), str(shuffle)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def check_file(path, n):
    """The file opens, passes integrity_check, and every stored cell is complete and correct."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        per_cell = conn.execute(
            "SELECT c.cell, count(DISTINCT m.rowid_), count(DISTINCT e.key) FROM cells c "
            "LEFT JOIN (SELECT cell_id, training || t_inference AS rowid_ FROM measurements) m "
            "ON m.cell_id = c.id LEFT JOIN extras e ON e.cell_id = c.id GROUP BY c.id"
        ).fetchall()
        orphans = conn.execute(
            "SELECT count(*) FROM measurements WHERE cell_id NOT IN (SELECT id FROM cells)"
        ).fetchone()[0]
    finally:
        conn.close()
    assert orphans == 0
    assert all(r == N_ROWS and e == N_EXTRAS for _, r, e in per_cell), per_cell
    with Store(path) as store:
        gt = store.load()
    index = {c.to_str(): i for i, c in enumerate(nb201.all_cells()[:n])}
    frame = gt.to_frame()
    assert (frame["accuracy"] == frame["cell"].map(index) / 10).all()  # each row belongs to its cell
    return len(per_cell)


def test_killed_writer_loses_at_most_the_cell_in_flight(tmp_path):
    path, n = tmp_path / "gt.sqlite", 1000
    rng = random.Random(0)
    stored = 0
    for _ in range(5):
        child = spawn(path, n, shuffle=rng.randrange(1000))
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate()
        assert child.returncode in (-signal.SIGKILL, 0)  # 0: it finished before the kill
        reported = len(out.split())
        now = check_file(path, n)
        # every cell the writer reported is there; at most one more (committed, not yet reported)
        assert stored + reported <= now <= stored + reported + 1
        stored = now
        print(f"killed after {reported} reported, {now} stored")
    child = spawn(path, n, shuffle=1)  # the rerun completes the rest
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert check_file(path, n) == n
    assert stored + len(out.split()) - 1 == n  # "ready" + one line per cell written


def test_concurrent_writers(tmp_path):
    path, n, k = tmp_path / "gt.sqlite", 150, 3
    children = [spawn(path, n, shuffle=s) for s in range(k)]  # same cells, different orders
    outs = [c.communicate(timeout=120) for c in children]
    for child, (_, err) in zip(children, outs):
        assert child.returncode == 0, err
    written = sorted(int(x) for out, _ in outs for x in out.split()[1:])
    assert written == list(range(n))  # every cell written by exactly one process
    assert check_file(path, n) == n
    conn = sqlite3.connect(path)
    dup = conn.execute("SELECT count(*) FROM (SELECT cell, seed FROM cells GROUP BY profile_id, cell, seed "
                       "HAVING count(*) > 1)").fetchone()[0]
    conn.close()
    assert dup == 0


def test_reader_sees_a_consistent_file_while_writing(tmp_path):
    path = tmp_path / "gt.sqlite"
    child = spawn(path, 300)
    assert child.stdout.readline().strip() == "ready"
    seen = []
    with Store(path) as store:
        while child.poll() is None:
            try:
                seen.append(len(store.load()))
            except ValueError:  # nothing written yet
                pass
    child.communicate()
    assert all(s % N_ROWS == 0 for s in seen) and seen == sorted(seen)
