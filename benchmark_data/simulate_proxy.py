"""Simulate the proxy data set phase by phase into a store, and snapshot it for shipping (issues 10, 18).

Resumable: each phase skips the cells already stored, so rerunning the same command after a kill
continues where it stopped. ``--snapshot`` writes a consistent copy of the store (SQLite's
``VACUUM INTO``, safe while the simulation writes) into the package
(``surrogate/data/shipped/``) and records its size and SHA-256 in ``checksums.json`` there.

    PYTHONPATH=. python benchmark_data/simulate_proxy.py [--profile NAME] [--store runs/NAME.sqlite] [--workers 2]
    PYTHONPATH=. python benchmark_data/simulate_proxy.py --profile NAME --snapshot
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHIPPED = HERE.parent / "surrogate" / "data" / "shipped" / "proxy-digits.sqlite"
#: profile -> phases (cell file, how many of its cells, seed, chips): the first phase on every chip
#: of the profile, the rest on the default chip. v2 profiles reuse v1's cell files (same cells, side by
#: side): 300 all-chip cells, 100 of them with a second seed, 150 other DAGs (before the NB-201 cells: the
#: shape and time studies need them), 300 more NB-201 cells.
PHASES = {
    "proxy-digits": [("all-chips", None, 0, None), ("nb201", None, 0, ["anb-pcm"]), ("dags", None, 0, ["anb-pcm"]),
                     ("seed1", None, 1, ["anb-pcm"])],
}
V2_PHASES = [("all-chips", None, 0, None), ("seed1", None, 1, ["anb-pcm"]), ("dags", 150, 0, ["anb-pcm"]),
             ("nb201", 300, 0, ["anb-pcm"])]


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


def read_cells(name: str, limit: int | None) -> list:
    """The first ``limit`` cells of a cell file (DAG strings of any number of groups, read leniently: the
    files predate the strict NB-201 reader and its ``dag:`` prefix)."""
    from surrogate.cells import Cell

    lines = [line.strip() for line in (HERE / "proxy-cells" / f"{name}.txt").read_text().splitlines() if line.strip()]
    return [Cell.from_dag_str(line) for line in lines[:limit]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="proxy-digits", help="a built-in proxy profile")
    parser.add_argument("--store", default=None, help="default: runs/<profile>.sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--snapshot", action="store_true", help="only copy the store into the package")
    args = parser.parse_args()
    store = Path(args.store or f"runs/{args.profile}.sqlite")
    if args.snapshot:
        print(f"wrote {snapshot(store, SHIPPED.with_name(f'{args.profile}.sqlite'))}")
        return
    from surrogate.simulate import run

    for name, limit, seed, chips in PHASES.get(args.profile, V2_PHASES):
        summary = run(args.profile, read_cells(name, limit), seed, store, workers=args.workers, chips=chips)
        print(f"phase {name}: {summary}", flush=True)

if __name__ == "__main__":
    main()
