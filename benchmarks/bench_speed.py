"""Speed targets of issue 9, measured on this machine, with a baseline timed in the same run.

- all 15,625 NB-201 cells at four times through the full ensemble, warm (median of 5);
- the same, as the first call of a fresh process (model load included, ``import surrogate`` and
  building the cell list not; median of 3 processes);
- one warm ``surrogate.predict(cell, t)`` call (median of 1,000);
- baseline: a plain XGBoost on one-hot edges (150 trees, fitted on 781 cells) predicting the same
  15,625 x 2 trainings x 4 times rows, warm (median of 5);
- fitting the ensemble on 781 cells (``sample:781``, seed 0; one fit), unless ``--no-fit``;
- ``import surrogate`` does not import aihwkit, and how long it takes (fresh interpreter).

    python benchmarks/bench_speed.py [--write] [--no-fit]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

from _report import write_section

import surrogate
from surrogate import data, nb201
from surrogate.models import Surrogate, XGBRegressor
from surrogate.models._targets import targets
from surrogate.simulate.runner import resolve_cells

TIMES = [60, 3600, 86400, 2592000]


def timed(fn, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


FIRST_CALL = """
import sys, time
import surrogate
from surrogate import nb201
cells = nb201.all_cells()
t = time.perf_counter()
surrogate.load("anb-cifar10").predict(cells, [60, 3600, 86400, 2592000])
print(time.perf_counter() - t, "torch" in sys.modules)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--no-fit", action="store_true")
    args = parser.parse_args()
    rows = []
    code = "import sys, time; t = time.perf_counter(); import surrogate; print(time.perf_counter() - t, 'aihwkit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    rows.append(("`import surrogate` (fresh interpreter)", f"{float(out[0]) * 1e3:.0f} ms", f"imports aihwkit: {out[1]}"))

    firsts = [subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True, check=True)
              .stdout.split() for _ in range(3)]
    first = statistics.median(float(f[0]) for f in firsts)
    rows.append(("15,625 cells x 4 times, first call in a fresh process (median of 3)", f"{first:.2f} s",
                 f"target <= 1 s; model load included; torch imported: {firsts[0][1]}"))

    cells = nb201.all_cells()
    bare = surrogate.load("anb-cifar10")
    bare._cache_file = None  # as a model saved without a cache: members computed on first use
    uncached = timed(lambda: bare.predict(cells, TIMES), 1)
    rows.append(("15,625 cells x 4 times, first call without the shipped cache", f"{uncached:.2f} s",
                 "members loaded and evaluated (torch, xgboost); later calls are warm"))
    model = surrogate.load("anb-cifar10")
    model.predict(cells, TIMES)
    warm = timed(lambda: model.predict(cells, TIMES), 5)
    rows.append(("15,625 cells x 4 times, full ensemble, warm (median of 5)", f"{warm:.3f} s", "target <= 0.3 s"))
    surrogate.predict(cells[1234], 86400)
    one = timed(lambda: surrogate.predict(cells[1234], 86400), 1000)
    rows.append(("one warm `surrogate.predict(cell, t)` (median of 1,000)", f"{one * 1e3:.2f} ms", "target <= 1 ms"))

    gt = data.load_analognasbench().subset(resolve_cells("sample:781", 0))
    cells781, times, Y = targets(gt)
    onehot = XGBRegressor(features="onehot").fit(cells781, times, Y)
    rows_onehot = onehot.design(cells, TIMES)
    base = timed(lambda: onehot.predict_rows(rows_onehot), 5)
    rows.append(("baseline: one-hot XGBoost, the same 15,625 x 2 x 4 rows, warm (median of 5)", f"{base:.3f} s",
                 f"ensemble (one training) / baseline (both trainings): {warm / base:.2f}x"))
    if not args.no_fit:
        fit = timed(lambda: Surrogate(progress=False).fit(gt), 1)
        rows.append(("fit on 781 cells (5 GNN + 5 XGBoost, cross-fitted)", f"{fit:.0f} s", ""))

    table = ["| what | measured | note |", "| --- | ---: | --- |"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = (f"Machine: {platform.machine()}, 2 cores, no GPU, Python {platform.python_version()}; load average "
            f"at the end {load}. Date: {datetime.date.today()}. Script: `benchmarks/bench_speed.py`; "
            "model: the shipped `anb-cifar10` (its `cache.npz` holds the member outputs of the NB-201 space).\n\n"
            + "\n".join(table) + "\n")
    print(text)
    if args.write:
        write_section("## Prediction speed", text)


if __name__ == "__main__":
    main()
