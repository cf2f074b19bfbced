"""Pilot of CPU proxy recipes: which one carries a ranking signal, at what cost (issue 10, part 1).

Simulates the same ~40 NB-201 cells, chosen to span AnalogNAS-Bench's range, under each candidate
recipe on the default chip, then reports per recipe: CPU seconds per cell, the spread of accuracy
across cells against the repetition noise within a cell (both trainings, each time), and Kendall's
tau against AnalogNAS-Bench on the same cells. Resumable: results live in ``runs/pilot.sqlite``.
Writes the "Proxy pilot" section of BENCHMARKS.md.

    PYTHONPATH=. python benchmarks/pilot_proxy.py [--cells 40] [--workers 2] [--recipes a,b]
"""

from __future__ import annotations

import argparse
import datetime
import platform
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from _report import write_section

import surrogate.data
from surrogate.data import Store
from surrogate.simulate import get_profile, run

ROOT = Path(__file__).resolve().parents[1]
TIMES = [60, 3600, 86400, 2592000, 31536000]
_BASE = {"network": {"width": 8, "depth": 1}, "t_inference": TIMES, "repetitions": 5, "reprogram": True,
         "train": {"epochs": 12, "batch_size": 64, "lr": 0.1}, "hwa": {"epochs": 2, "batch_size": 64, "lr": 0.01}}
#: Candidate recipes: name -> (what changes, profile overrides).
RECIPES = {
    "digits-12e": ("proxy-digits as shipped before: clean digits, 12 + 2 epochs", {"dataset": {"name": "digits"}}),
    "digits-noise": ("pixel noise 0.5 (harder task), 12 + 2 epochs",
                     {"dataset": {"name": "digits", "noise": 0.5}}),
    "digits-noise-6e": ("pixel noise 0.5, 6 + 2 epochs (cheaper, less converged)",
                        {"dataset": {"name": "digits", "noise": 0.5},
                         "train": {"epochs": 6, "batch_size": 64, "lr": 0.1}}),
    "digits-noise-w12": ("pixel noise 0.5, width 12, 12 + 2 epochs (more capacity, more cost)",
                         {"dataset": {"name": "digits", "noise": 0.5}, "network": {"width": 12, "depth": 1}}),
}


def profile(name: str) -> dict:
    return {"name": f"pilot-{name}", **_BASE, **RECIPES[name][1]}


def pilot_cells(n: int):
    """``n`` cells at evenly spaced quantiles of AnalogNAS-Bench's HWA accuracy at 1 day, 2 degenerate."""
    gt = surrogate.data.load_analognasbench()
    cells, _, Y, _, _ = gt.targets("hwa")
    col = Y[:, list(gt.times).index(86400)]
    live = np.array([not c.is_degenerate for c in cells])
    order = np.flatnonzero(live)[np.argsort(col[live], kind="stable")]
    picks = order[np.unique(np.linspace(0, len(order) - 1, n - 2).round().astype(int))]
    dead = np.flatnonzero(~live)[:2]
    return [cells[i] for i in np.concatenate([picks, dead])], gt


def summarise(name: str, cells, anb) -> dict:
    with Store(ROOT / "runs" / "pilot.sqlite") as store:
        gt = store.load(get_profile(profile(name)).hash).subset(cells)
    extras = gt.extras_frame()
    secs = (extras["seconds_train"] + extras["seconds_hwa"] + extras["seconds_eval"]).to_numpy()
    out = {"seconds": float(np.median(secs)), "n": len(gt.cell_keys)}
    live = np.array([not c.is_degenerate for c in gt.cells])
    for training in ("standard", "hwa"):
        _, times, mean, std, _ = gt.targets(training)
        _, anb_times, anb_mean, _, _ = anb.subset(gt.cells).targets(training)
        per_t = []
        for j, t in enumerate(times):
            spread = float(np.std(mean[live, j]))
            noise = float(np.median(std[live, j]))
            k = list(anb_times).index(t) if t in anb_times else None
            tau = kendalltau(mean[live, j], anb_mean[live, k])[0] if k is not None else float("nan")
            per_t.append((t, float(mean[live, j].min()), float(mean[live, j].max()), spread, noise, tau))
        out[training] = per_t
    return out


def report(results: dict) -> str:
    lines = [
        f"Machine: {platform.machine()}, {platform.system()}, 2 cores; date {datetime.date.today()}. "
        f"Command: `PYTHONPATH=. python benchmarks/pilot_proxy.py`. Cells: the same {next(iter(results.values()))['n'] - 2} "
        "NB-201 cells for every recipe, at evenly spaced quantiles of AnalogNAS-Bench's HWA accuracy at 1 day, "
        "plus 2 degenerate cells (left out of the statistics); seed 0; default chip `anb-pcm`; "
        "5 repetitions (reprogrammed each).",
        "",
        "Spread = std of the cell means across cells; noise = median std over repetitions within a cell; "
        "tau = Kendall against AnalogNAS-Bench on the same cells (no 1-year column there). "
        "s/cell = median seconds per cell measured inside the worker (one torch thread) while other work "
        "shared the 2 cores, so upper bounds that are not comparable between recipes run at different loads: "
        "the three width-8 recipes do the same work per epoch (digits-noise-6e half the digital epochs).",
        "",
        "| recipe | what | s/cell | training | t | range % | spread | noise | spread/noise | tau vs ANB |",
        "| --- | --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        for training in ("standard", "hwa"):
            for t, lo, hi, spread, noise, tau in r[training]:
                lines.append(f"| {name} | {RECIPES[name][0]} | {r['seconds']:.1f} | {training} | {t:g} | "
                             f"{lo:.1f}-{hi:.1f} | {spread:.2f} | {noise:.2f} | {spread / max(noise, 1e-9):.1f} | "
                             f"{tau:.3f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--no-run", action="store_true", help="only summarise what is stored")
    args = parser.parse_args()
    cells, anb = pilot_cells(args.cells)
    names = args.recipes.split(",")
    if not args.no_run:
        for name in names:
            run(profile(name), cells, 0, ROOT / "runs" / "pilot.sqlite", workers=args.workers)
    results = {name: summarise(name, cells, anb) for name in names}
    text = report(results)
    print(text)
    write_section("## Proxy pilot (issue 10)", text)


if __name__ == "__main__":
    main()
