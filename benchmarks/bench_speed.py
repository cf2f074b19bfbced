"""Speed targets of issue 5, measured on this machine.

- all 15,625 NB-201 cells at four times through the full ensemble (warm; median of 5);
- one warm ``surrogate.predict(cell, t)`` call (median of 300);
- fitting the ensemble on 781 cells (``sample:781``, seed 0; one fit);
- ``import surrogate`` does not import aihwkit, and how long it takes (fresh interpreter).

    python benchmarks/bench_speed.py [--write]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import subprocess
import sys
import time

from _report import write_section

import surrogate
from surrogate import data, nb201
from surrogate.models import Surrogate
from surrogate.simulate.runner import resolve_cells

TIMES = [60, 3600, 86400, 2592000]


def timed(fn, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = []
    code = "import sys, time; t = time.perf_counter(); import surrogate; print(time.perf_counter() - t, 'aihwkit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    rows.append(("`import surrogate` (fresh interpreter)", f"{float(out[0]) * 1e3:.0f} ms", f"imports aihwkit: {out[1]}"))

    cells = nb201.all_cells()
    model = surrogate.load("anb-cifar10")
    surrogate.predict(cells[0], 86400)  # load once
    cold = timed(lambda: model.predict(cells, TIMES), 1)
    warm = timed(lambda: model.predict(cells, TIMES), 5)
    rows.append(("15,625 cells x 4 times, full ensemble, first call", f"{cold:.2f} s", "features built and cached"))
    rows.append(("15,625 cells x 4 times, full ensemble, warm (median of 5)", f"{warm:.2f} s", "target <= 1 s"))
    one = timed(lambda: surrogate.predict(cells[1234], 86400), 300)
    rows.append(("one warm `surrogate.predict(cell, t)` (median of 300)", f"{one * 1e3:.1f} ms", "target <= 5 ms"))

    gt = data.load_analognasbench().subset(resolve_cells("sample:781", 0))
    fit = timed(lambda: Surrogate(progress=False).fit(gt), 1)
    rows.append(("fit on 781 cells (5 GNN + 5 XGBoost, cross-fitted)", f"{fit:.0f} s", "target <= 120 s"))

    table = ["| what | measured | note |", "| --- | ---: | --- |"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = (f"Machine: {platform.machine()}, 2 cores, no GPU, Python "
            f"{platform.python_version()}. Date: {datetime.date.today()}. Script: `benchmarks/bench_speed.py`; "
            "model: the shipped `anb-cifar10`.\n\n" + "\n".join(table) + "\n")
    print(text)
    if args.write:
        write_section("## Prediction speed", text)


if __name__ == "__main__":
    main()
