"""Prediction quality on AnalogNAS-Bench: the protocol of issue 5.

For N random training cells (N = 100, 781, 3125; ``sample:N`` with split seeds 0, 1, 2) fit
the ensemble on those cells only and score every remaining cell, for both trainings and the
four times. Baselines on the same splits: the ensemble's GNN members alone and XGBoost
members alone (their mean; no interval), XGBoost on one-hot edges, and the parameter count as a
zero-cost ranker, and the issue's two reference points on one-hot edges (one XGBoost per column; a
multi-task MLP, five seeds averaged). The noise ceiling: one isomorphic twin's label used to
predict the other's.

Results go to benchmarks/results/quality.json after every split, so a killed run resumes;
``--write`` renders the table into BENCHMARKS.md.

    python benchmarks/bench_quality.py [--sizes 100 781 3125] [--seeds 0 1 2] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import numpy as np

from _report import write_section
from bench_calibration import evaluate

from surrogate import data, nb201
from surrogate.encoding import FeatureSpec, features
from surrogate.metrics import score_table
from surrogate.models import Surrogate, XGBRegressor
from surrogate.models._targets import TRAININGS, targets
from surrogate.simulate.runner import resolve_cells

RESULTS = Path(__file__).parent / "results" / "quality.json"
KEYS = ("kendall", "spearman", "mae", "precision_at_1pct", "coverage")


def run_split(gt, n: int, seed: int) -> dict:
    train = resolve_cells(f"sample:{n}", seed)
    chosen = set(train)
    held = [c for c in gt.cells if c not in chosen]
    t0 = time.perf_counter()
    model = Surrogate(random_state=seed, progress=False).fit(gt.subset(train))
    fit_s = time.perf_counter() - t0
    cells, times, Y = targets(gt.subset(held))
    res = {"fit_seconds": fit_s, "n_test": len(cells)}
    P = np.stack([model.predict(cells, times, training=t).accuracy for t in TRAININGS], axis=1)
    lo = np.stack([model.predict(cells, times, training=t).lower for t in TRAININGS], axis=1)
    hi = np.stack([model.predict(cells, times, training=t).upper for t in TRAININGS], axis=1)
    res["ensemble"] = score_table(P, Y, lo, hi)
    res["calibration"] = evaluate(model, gt, held)  # top-1 % bias and coverage, deciles, NLL, CRPS
    deg = np.array([c.is_degenerate for c in cells])
    for kind in ("gnn", "xgb"):
        Pk = np.mean([m.predict(cells, times) for m in model.members_[kind]], axis=0)
        Pk[deg] = model.chance_
        res[f"{kind} alone"] = score_table(Pk, Y)
    train_cells, _, Ytr = targets(gt.subset(train))
    onehot = XGBRegressor(features="onehot", random_state=seed).fit(train_cells, times, Ytr)
    res["xgb one-hot"] = score_table(onehot.predict(cells, times), Y)
    params, _ = nb201.macro_cost(cells)
    Pp = np.broadcast_to(np.log(params)[:, None, None], Y.shape)
    res["param count"] = {t: {m: v for m, v in s.items() if m in ("kendall", "spearman", "precision_at_1pct")}
                          for t, s in score_table(Pp, Y).items()}
    return res


def reference_baselines(gt, n: int, seed: int) -> dict:
    """The two reference points of the issue, on one-hot edges: one XGBoost per (training, time)
    column, and a multi-task MLP (scikit-learn) averaged over five seeds."""
    import xgboost as xgb
    from sklearn.neural_network import MLPRegressor

    train = resolve_cells(f"sample:{n}", seed)
    chosen = set(train)
    train_cells, times, Ytr = targets(gt.subset(train))
    cells, _, Y = targets(gt.subset([c for c in gt.cells if c not in chosen]))
    width = len(FeatureSpec().pairs) * 5  # the one-hot block
    Xtr, X = features(train_cells)[:, :width], features(cells)[:, :width]
    per_column = np.zeros_like(Y)
    for k in range(Y.shape[1]):
        for j in range(Y.shape[2]):
            model = xgb.XGBRegressor(n_estimators=300, max_depth=4, learning_rate=0.05, random_state=seed)
            per_column[:, k, j] = model.fit(Xtr, Ytr[:, k, j]).predict(X)
    flat = Ytr.reshape(len(Ytr), -1)
    mu, sd = flat.mean(0), flat.std(0) + 1e-9
    mlp = np.mean([MLPRegressor(hidden_layer_sizes=(128, 128), alpha=1e-3, max_iter=800, random_state=seed * 10 + r)
                   .fit(Xtr, (flat - mu) / sd).predict(X) for r in range(5)], axis=0) * sd + mu
    return {"xgb one-hot per column": score_table(per_column, Y),
            "mlp one-hot (5 seeds)": score_table(mlp.reshape(Y.shape), Y)}


def noise_ceiling(gt) -> dict:
    """One isomorphic twin predicting the other: the best any predictor of the cell can do."""
    cells, times, Y = targets(gt)
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(cells):
        groups.setdefault(c.canonical(), []).append(i)
    pairs = np.array([g[:2] for g in groups.values() if len(g) >= 2 and not cells[g[0]].is_degenerate])
    res = score_table(Y[pairs[:, 1]], Y[pairs[:, 0]])
    res["pairs"] = len(pairs)
    return res


def render(results: dict) -> str:
    ceiling = results.get("noise_ceiling", {})
    lines = [
        "\n## Prediction quality (AnalogNAS-Bench)\n",
        f"Machine: {platform.machine()}, 2 cores, no GPU. Date: {results.get('date')}. Script: "
        "`benchmarks/bench_quality.py`. Train on N random cells (`sample:N`, split seeds "
        f"{', '.join(map(str, results.get('seeds', [])))}), test on all remaining cells; every metric is "
        "computed per time and averaged over the four times (60 s, 1 h, 1 d, 30 d); mean ± sd over the "
        "split seeds. *alone* rows are the ensemble's own members averaged (no interval); the noise "
        f"ceiling is one isomorphic twin's label scored against the other's ({ceiling.get('pairs', '?')} "
        "non-degenerate twin pairs from the whole table). Fit times: see *Prediction speed*.\n",
        "| N | model | training | Kendall | Spearman | MAE (pts) | precision@1% | 90% coverage |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    models = ("ensemble", "gnn alone", "xgb alone", "xgb one-hot", "xgb one-hot per column", "mlp one-hot (5 seeds)",
              "param count")
    for n in sorted({int(k.split("/")[0]) for k in results["splits"]}):
        runs = [v for k, v in results["splits"].items() if int(k.split("/")[0]) == n]
        for name in models:
            if any(name not in r for r in runs):
                continue
            for training in ("hwa", "standard"):
                cells = []
                for m in KEYS:
                    vals = [r[name][training][m] for r in runs if m in r[name][training]]
                    cells.append(f"{np.mean(vals):.3f} ± {np.std(vals):.3f}" if vals else "—")
                lines.append(f"| {n} ({len(runs)} splits) | {name} | {training} | " + " | ".join(cells) + " |")
    for training in ("hwa", "standard"):
        if training in ceiling:
            c = ceiling[training]
            lines.append(f"| — | isomorphic twin (noise ceiling) | {training} | {c['kendall']:.3f} | "
                         f"{c['spearman']:.3f} | {c['mae']:.3f} | {c['precision_at_1pct']:.3f} | — |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 781, 3125])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--write", action="store_true", help="render the table into BENCHMARKS.md")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the issue's reference baselines (one XGBoost per column, MLP)")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"splits": {}}
    gt = data.load_analognasbench()
    results.update(date=str(datetime.date.today()), seeds=args.seeds)
    results["noise_ceiling"] = noise_ceiling(gt)
    for n in args.sizes:
        for seed in args.seeds:
            key = f"{n}/{seed}"
            if key not in results["splits"]:
                results["splits"][key] = run_split(gt, n, seed)
            elif "mlp one-hot (5 seeds)" in results["splits"][key] or args.no_reference:
                continue
            if not args.no_reference:
                results["splits"][key].update(reference_baselines(gt, n, seed))
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=1))
            e = results["splits"][key]["ensemble"]
            print(f"N={n} seed={seed}: hwa tau {e['hwa']['kendall']:.3f} p@1 {e['hwa']['precision_at_1pct']:.3f} "
                  f"cov {e['hwa']['coverage']:.3f}; standard tau {e['standard']['kendall']:.3f}", flush=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    table = render(results)
    print(table)
    if args.write:
        write_section("## Prediction quality (AnalogNAS-Bench)", table.split("\n", 2)[2])


if __name__ == "__main__":
    main()
