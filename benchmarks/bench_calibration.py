"""Where a search looks: calibration of a model at the top of its own ranking (issue 9).

On AnalogNAS-Bench cells the model never saw (all cells outside ``sample:N`` seed ``S``, by default
the shipped model's 12,500 held-out cells), per training and time: Kendall, MAE, the bias and the
interval coverage on the model's predicted top 1 %, the 90 % coverage in every decile of predicted
accuracy (min-max), the correlation of |error| with the predicted std, the Gaussian NLL and the
CRPS (lower is better), and the highest prediction against the table's best. Only the public API
is used, so the same script scores an older checkout of the package (``PYTHONPATH=old-checkout``).
Results go to ``benchmarks/results/calibration-<label>.json``; ``--write`` renders every stored
label into BENCHMARKS.md.

    python benchmarks/bench_calibration.py --model anb-cifar10 --label v2 [--train sample:3125 --seed 0]
"""

from __future__ import annotations

import argparse
import datetime
import json
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TRAININGS = ("standard", "hwa")


def crps_normal(mu, sigma, y):
    """Closed-form CRPS of N(mu, sigma^2) at y (Gneiting & Raftery 2007)."""
    from scipy.stats import norm

    sigma = np.maximum(sigma, 1e-9)
    z = (y - mu) / sigma
    return sigma * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))


def evaluate(model, gt, held) -> dict:
    from scipy.stats import kendalltau

    sub = gt.subset(held)
    out = {}
    for training in TRAININGS:
        t = sub.targets(training)
        live = np.array([not c.is_degenerate for c in t.cells])
        cells = [c for c, ok in zip(t.cells, live) if ok]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = model.predict(cells, t.times, training=training, level=0.9)
        rows = {}
        for j, time in enumerate(t.times):
            y, p, s = t.mean[live, j], pred.accuracy[:, j], pred.std[:, j]
            lo, hi = pred.lower[:, j], pred.upper[:, j]
            inside = (lo <= y) & (y <= hi)
            top = np.argsort(-p, kind="stable")[: max(1, len(p) // 100)]
            deciles = np.array_split(np.argsort(p, kind="stable"), 10)
            cov_dec = [float(inside[d].mean()) for d in deciles]
            rows[f"{time:g}"] = {
                "kendall": float(kendalltau(p, y).statistic), "mae": float(np.mean(np.abs(p - y))),
                "top1_bias": float(np.mean(p[top] - y[top])), "top1_coverage": float(inside[top].mean()),
                "coverage": float(inside.mean()), "decile_coverage_min": min(cov_dec),
                "decile_coverage_max": max(cov_dec),
                "corr_abs_error_std": float(np.corrcoef(np.abs(p - y), s)[0, 1]),
                "nll": float(np.mean(0.5 * np.log(2 * np.pi * np.maximum(s, 1e-9) ** 2)
                                     + (y - p) ** 2 / (2 * np.maximum(s, 1e-9) ** 2))),
                "crps": float(np.mean(crps_normal(p, s, y))),
                "mean_std": float(np.mean(s)), "max_pred": float(p.max()), "table_max": float(y.max()),
            }
        out[training] = rows
    return out


def render() -> str:
    lines = ["On AnalogNAS-Bench cells outside the model's training cells (non-degenerate), per training and "
             "time. top-1 % = the 1 % of cells the model itself ranks highest (the cells a search picks). "
             "NLL and CRPS (points) are proper scores of the Gaussian N(accuracy, std): lower is better. "
             "Command: `python benchmarks/bench_calibration.py --model M --label L` (the v1 row was computed "
             "by the same script on a checkout of commit de1211c with its shipped model).", "",
             "| model | training | t (s) | Kendall | MAE | top-1 % bias | top-1 % coverage | 90 % coverage | "
             "decile coverage | corr(abs err, std) | NLL | CRPS | max predicted / table max |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |"]
    for path in sorted(RESULTS.glob("calibration-*.json")):
        res = json.loads(path.read_text())
        for training in ("hwa", "standard"):
            for time, r in res["scores"][training].items():
                lines.append(
                    f"| {res['label']} | {training} | {float(time):g} | {r['kendall']:.3f} | {r['mae']:.2f} | "
                    f"{r['top1_bias']:+.2f} | {r['top1_coverage']:.2f} | {r['coverage']:.3f} | "
                    f"{r['decile_coverage_min']:.2f}-{r['decile_coverage_max']:.2f} | {r['corr_abs_error_std']:.2f} | "
                    f"{r['nll']:.3f} | {r['crps']:.3f} | {r['max_pred']:.1f} / {r['table_max']:.1f} |")
    dates = sorted({json.loads(p.read_text())["date"] for p in RESULTS.glob("calibration-*.json")})
    return f"Machine: x86-64, 2 cores, no GPU. Dates: {', '.join(dates)}.\n\n" + "\n".join(lines)


def main() -> None:
    import surrogate
    from surrogate import data
    from surrogate.simulate.runner import resolve_cells

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="anb-cifar10")
    parser.add_argument("--label", required=True)
    parser.add_argument("--train", default="sample:3125", help="the model's training cells (left out)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    gt = data.load_analognasbench()
    train = set(resolve_cells(args.train, args.seed))
    held = [c for c in gt.cells if c not in train]
    scores = evaluate(surrogate.load(args.model), gt, held)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"calibration-{args.label}.json").write_text(json.dumps(
        {"label": args.label, "model": str(args.model), "held_out": len(held), "date": str(datetime.date.today()),
         "scores": scores}, indent=1))
    for training in ("hwa", "standard"):
        for time, r in scores[training].items():
            print(args.label, training, time, {k: round(v, 3) for k, v in r.items()})
    if args.write:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _report import write_section

        write_section("## Calibration where a search looks (issue 9)", render())


if __name__ == "__main__":
    main()
