"""Choose the GNN's ranking-loss weight and width on a validation split drawn from training cells only.

Protocol: the N = 781 training cells of split seed 0 (``sample:781``, as in bench_quality.py)
are split 80/20 (seed 0) into fit / validation; each candidate is fitted on the first part
with two seeds and scored on the second (mean Kendall tau over the four times, each
training). The test cells of the benchmark are never looked at.

    python benchmarks/tune_gnn.py [--write]   # --write appends the table to BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time

import numpy as np

from _report import write_section

from surrogate import data
from surrogate.metrics import kendall
from surrogate.models import GNNRegressor
from surrogate.models._targets import targets
from surrogate.simulate.runner import resolve_cells

CANDIDATES = [dict(rank_loss=r) for r in (0.0, 0.5, 2.0, 4.0)] + [dict(rank_loss=4.0, hidden=h) for h in (32, 48)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    gt = data.load_analognasbench()
    train = resolve_cells("sample:781", 0)
    cells, times, Y = targets(gt.subset(train))
    order = np.random.default_rng(0).permutation(len(cells))
    fit, val = order[: int(0.8 * len(cells))], order[int(0.8 * len(cells)):]
    lines = ["| GNN setting | val Kendall standard | val Kendall hwa | fit s |", "| --- | ---: | ---: | ---: |"]
    best = None
    for params in CANDIDATES:
        taus, seconds = [], []
        for seed in (0, 1):
            t0 = time.perf_counter()
            model = GNNRegressor(**params, random_state=seed).fit([cells[i] for i in fit], times, Y[fit])
            seconds.append(time.perf_counter() - t0)
            P = model.predict([cells[i] for i in val], times)
            taus.append([[kendall(P[:, k, j], Y[val, k, j]) for j in range(len(times))] for k in range(2)])
        tau = np.mean(taus, axis=(0, 2))
        line = f"| {params} | {tau[0]:.3f} | {tau[1]:.3f} | {np.mean(seconds):.1f} |"
        print(line, flush=True)
        lines.append(line)
        if best is None or tau.mean() > best[0]:
            best = (tau.mean(), params)
    lines.append(f"\nChosen (highest mean validation Kendall): `{best[1]}`.")
    if args.write:
        header = (f"Machine: {platform.machine()}, "
                  f"2 cores, no GPU. Date: {datetime.date.today()}. Script: `benchmarks/tune_gnn.py`. "
                  f"{len(fit)} fit / {len(val)} validation cells drawn from the 781 training cells of split "
                  "seed 0; two model seeds each.\n\n")
        write_section("## GNN tuning (validation split of training cells)", header + "\n".join(lines))
    print("\n".join(lines[-1:]))


if __name__ == "__main__":
    main()
