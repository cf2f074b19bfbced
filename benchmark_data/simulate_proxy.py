"""Simulate the proxy data set phase by phase into a store, and snapshot it for shipping (issue 10).

Resumable: each phase skips the cells already stored, so rerunning the same command after a kill
continues where it stopped. ``--snapshot`` writes a consistent copy of the store (SQLite's
``VACUUM INTO``, safe while the simulation writes) to the package (``surrogate/data/shipped/``; then
update ``checksums.json`` there).

    PYTHONPATH=. python benchmark_data/simulate_proxy.py [--store runs/proxy.sqlite] [--workers 2]
    PYTHONPATH=. python benchmark_data/simulate_proxy.py --snapshot
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHIPPED = HERE.parent / "surrogate" / "data" / "shipped" / "proxy-digits.sqlite"
#: (cell file, seed, chips): phase 1 on every chip of the profile, the rest on the default chip.
PHASES = [("all-chips", 0, None), ("nb201", 0, ["anb-pcm"]), ("dags", 0, ["anb-pcm"]), ("seed1", 1, ["anb-pcm"])]


def snapshot(store: Path, out: Path = SHIPPED) -> Path:
    tmp = out.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(store) as conn:
        conn.execute("VACUUM INTO ?", (str(tmp),))
    conn.close()
    with sqlite3.connect(tmp) as conn:  # a rollback-journal file: one self-contained file to ship
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    tmp.replace(out)
    sums = out.parent / "checksums.json"
    if sums.is_file():  # a shipped store: record what the package will check it against
        table = json.loads(sums.read_text())
        data = out.read_bytes()
        table[out.name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        sums.write_text(json.dumps(table, indent=2) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="runs/proxy.sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--snapshot", action="store_true", help="only copy the store to benchmark_data/")
    args = parser.parse_args()
    if args.snapshot:
        print(f"wrote {snapshot(Path(args.store))}")
        return
    from surrogate.simulate import run

    for name, seed, chips in PHASES:
        summary = run("proxy-digits", str(HERE / "proxy-cells" / f"{name}.txt"), seed, args.store,
                      workers=args.workers, chips=chips)
        print(f"phase {name}: {summary}", flush=True)


if __name__ == "__main__":
    main()
