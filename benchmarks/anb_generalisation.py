"""How the ensemble generalises on AnalogNAS-Bench beyond a random split (issue 13), with seeds.

For split seeds 0, 1, 2 and N = 781 training cells:

- ``isomorphism``: the training cells are whole classes of equal networks
  (:func:`surrogate.research.isomorphism_split`), so no test cell has a twin in training;
- ``time``: the cells of ``sample:781`` (the random split of ``bench_quality.py``), fitted on times
  <= 1 day only and scored at 30 days, against the same cells' all-times model (from
  ``benchmarks/results/quality.json``, same split, same test cells);
- zero-cost rankers on each test set: parameter count and multiply-adds of the macro network.

Every score is on the remaining 14,844 cells (all cells outside training). Results go to
``benchmarks/results/anb-generalisation.json`` after every fit (a killed run resumes); the table goes
to BENCHMARKS.md, "Generalisation on AnalogNAS-Bench, with seeds". Means ± 95 % confidence interval
(t distribution over the seeds).

    PYTHONPATH=. python benchmarks/anb_generalisation.py [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from _report import write_section

from surrogate import data, nb201, research
from surrogate.metrics import kendall
from surrogate.models import Surrogate
from surrogate.simulate.runner import resolve_cells

RESULTS = Path(__file__).parent / "results" / "anb-generalisation.json"
QUALITY = Path(__file__).parent / "results" / "quality.json"
N, DAY, MONTH = 781, 86400.0, 2592000.0
KEYS = ("kendall", "mae", "coverage")


def _scores(model, test_gt, only=None) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 30 days is outside a <= 1 day model's times: it warns
        scores = model.score(test_gt)
    if only is None:
        return {t: {k: s[k] for k in KEYS} for t, s in scores.items()}
    return {t: {k: s["per_time"][f"{only:g}"][k] for k in KEYS} for t, s in scores.items()}


def _zero_cost(gt, test) -> dict:
    params, flops = nb201.macro_cost(test)
    out = {}
    for training in ("hwa", "standard"):
        t = gt.subset(test).targets(training)
        out[training] = {name: float(np.mean([kendall(v, t.mean[:, j]) for j in range(len(t.times))]))
                         for name, v in (("params", params), ("flops", flops))}
    return out


def run(seeds) -> dict:
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    gt = data.load("anb-cifar10")
    cells = gt.cells
    for seed in seeds:
        key = f"isomorphism/{seed}"
        if key not in results:
            train, test = research.isomorphism_split(cells, N / len(cells), seed)
            model = Surrogate(random_state=seed, progress=False).fit(gt.subset(train))
            results[key] = {"n_train": len(train), "n_test": len(test), **_scores(model, gt.subset(test)),
                            "zero_cost": _zero_cost(gt, test)}
            RESULTS.write_text(json.dumps(results, indent=1))
        key = f"time/{seed}"
        if key not in results:
            train = resolve_cells(f"sample:{N}", seed)
            chosen = set(train)
            test = [c for c in cells if c not in chosen]
            model = Surrogate(random_state=seed, progress=False).fit(gt.subset(train).until(DAY))
            results[key] = {"n_train": len(train), "n_test": len(test), **_scores(model, gt.subset(test), MONTH),
                            "zero_cost": _zero_cost(gt, test)}
            RESULTS.write_text(json.dumps(results, indent=1))
        print(f"seed {seed} done", flush=True)
    results["date"] = str(datetime.date.today())
    RESULTS.write_text(json.dumps(results, indent=1))
    return results


def _ci(values) -> str:
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return f"{v.mean():.3f}"
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return f"{v.mean():.3f} ± {half:.3f}"


def report(results, seeds) -> str:
    quality = json.loads(QUALITY.read_text())["splits"]
    rows = []
    for training in ("hwa", "standard"):
        rnd = [quality[f"{N}/{s}"]["ensemble"][training] for s in seeds]
        rnd30 = [quality[f"{N}/{s}"]["calibration"][training][f"{MONTH:g}"] for s in seeds]
        iso = [results[f"isomorphism/{s}"][training] for s in seeds]
        tim = [results[f"time/{s}"][training] for s in seeds]
        rows.append((training, "random split (bench_quality), all times", *(_ci([r[k] for r in rnd]) for k in KEYS)))
        rows.append((training, "isomorphism split, all times", *(_ci([r[k] for r in iso]) for k in KEYS)))
        rows.append((training, "random split, scored at 30 d, trained on all four times",
                     *(_ci([r[k] for r in rnd30]) for k in KEYS)))
        rows.append((training, "random split, scored at 30 d, trained on times <= 1 d",
                     *(_ci([r[k] for r in tim]) for k in KEYS)))
        for name in ("params", "flops"):
            z = [results[f"isomorphism/{s}"]["zero_cost"][training][name] for s in seeds]
            rows.append((training, f"zero-cost: {name} (isomorphism test sets)", _ci(z), "—", "—"))
    head = (f"Data: AnalogNAS-Bench, all 15,625 cells; N = {N} training cells, the rest scored; split seeds "
            f"{', '.join(map(str, seeds))}; full ensemble (5 GNN + 5 XGBoost, defaults). Mean ± 95 % CI over the "
            f"seeds (t distribution). Metrics averaged over the four times unless a time is named. Machine: "
            f"{platform.machine()}; {results.get('date')}. Command: `PYTHONPATH=. python benchmarks/anb_generalisation.py`.")
    table = ["| training | split | Kendall | MAE (points) | 90 % coverage |", "| --- | --- | ---: | ---: | ---: |"]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    return head + "\n\n" + "\n".join(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    results = run(args.seeds)
    text = report(results, args.seeds)
    print(text)
    write_section("## Generalisation on AnalogNAS-Bench, with seeds", text)


if __name__ == "__main__":
    main()
