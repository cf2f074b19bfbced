"""Predictor v3 (issue 21): how the ensemble generalises to networks it never saw, per setting.

Splits of AnalogNAS-Bench's 15,625 cells, N training cells, split seeds 0-4:

- ``iso``: :func:`surrogate.research.isomorphism_split`, whole classes of equal networks drawn until N
  cells (the v2 protocol of finding 9). N cells can be 135 networks or 319: one class holds 460 cells.
- ``iso-net``: N cells drawn at random (as a user samples a space), tested on every cell whose network
  (normal form) is not among them: no test cell has a twin in training, and N cells are N draws.
- ``random``: ``sample:N`` (the random split of ``bench_quality.py``), tested on all other cells.

Per (split, setting, seed): per training, Kendall tau and 90 % coverage and width averaged over the
four times, coverage per decile of the prediction, and the top of the model's own ranking (0.1 %, 1 %):
coverage, bias (predicted - measured) and the largest prediction against the largest measurement, at
1 day. Results go to ``benchmarks/results/predictor-v3.json`` after every fit (a killed run resumes).

    PYTHONPATH=. python benchmarks/predictor_v3.py --settings v2,grouped --splits iso,iso-net --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from _report import write_section

from surrogate import data, research
from surrogate.metrics import kendall
from surrogate.models import Surrogate
from surrogate.simulate.runner import resolve_cells

RESULTS = Path(__file__).parent / "results" / "predictor-v3.json"
PART = ""  # --part: a run beside another writes its own file, merged on reading
DAY = 86400.0
#: setting -> (what it is, Surrogate keyword arguments)
_V2 = {"gnn_params": {"min_steps": 0}, "xgb_params": {"features": "all"}}  # v2's members
_XGB_V2 = {"members": ("xgb",), "xgb_params": {"features": "all"}}
SETTINGS = {
    "v2": ("v2 as shipped: 5 GNN + 5 XGBoost, every twin a row, folds over cells", {"twins": "cell", **_V2}),
    "grouped": ("every twin a row, twins share a fold", {"twins": "fold", **_V2}),
    "mean": ("one row per network (twins' mean), folds over networks", {"twins": "mean", **_V2}),
    "mean-steps": ("one row per network, GNN trained for at least 2,000 steps (v2's at N = 781)",
                   {"twins": "mean", "gnn_params": {"min_steps": 2000}, "xgb_params": {"features": "all"}}),
    "graph": ("one row per network, GNN >= 2,000 steps, neural graph features in both kinds",
              {"twins": "mean", "gnn_params": {"min_steps": 2000, "graph_features": True}}),
    "v2-graph": ("v2 (every twin a row, folds over cells) + neural graph features in XGBoost",
                 {"twins": "cell", "gnn_params": {"min_steps": 0}}),
    "mean-graph": ("one row per network, GNN >= 2,000 steps, neural graph features in XGBoost",
                   {"twins": "mean", "gnn_params": {"min_steps": 2000}}),
    "novelty": ("v2's members and folds + graph features in XGBoost, error calibrated on rows whose network "
                "the member never saw, scaled down by the twins a cell has in training", {"novelty": True}),
    "novelty-cap": ("novelty as first built (replaced): a fitted network's twin capped at the in-sample "
                    "error of one", None),  # its code is gone: its results are kept, it cannot run again
    "v3": ("v3 defaults: v2's members, folds and calibration + neural graph features in XGBoost", {}),
    "xgb-v2": ("XGBoost members alone, folds over cells", {"twins": "cell", **_XGB_V2}),
    "xgb-grouped": ("XGBoost members alone, twins share a fold", {"twins": "fold", **_XGB_V2}),
    "xgb-mean": ("XGBoost members alone, one row per network", {"twins": "mean", **_XGB_V2}),
    "xgb-graph": ("XGBoost alone, one row per network, + neural graph features", {"members": ("xgb",), "twins": "mean"}),
    "xgb-graph-fitted": ("xgb-graph, novelty on", {"members": ("xgb",), "twins": "mean", "novelty": True}),
    "xgb-graph-cell": ("XGBoost alone, every twin a row, + neural graph features (the zero-cost rows' base)",
                       {"members": ("xgb",), "twins": "cell"}),
}


#: settings whose XGBoost members also see zero-cost scores of the cell's normal form (an ablation only:
#: the scores come from ``benchmarks/results/zerocost-nb201.json``, written by ``zerocost_table.py``)
ZERO_COST = {"xgb-zc": ("synflow", "noise"), "xgb-synflow": ("synflow",), "xgb-noise": ("noise",)}
SETTINGS.update({
    "xgb-zc": ("xgb-graph-cell + synflow + noise sensitivity at init", {"members": ("xgb",), "twins": "cell"}),
    "xgb-synflow": ("xgb-graph-cell + synflow at init", {"members": ("xgb",), "twins": "cell"}),
    "xgb-noise": ("xgb-graph-cell + noise sensitivity at init", {"members": ("xgb",), "twins": "cell"}),
})


def _with_zero_cost(scores: tuple):
    """Make Surrogate's XGBoost members append the zero-cost columns ``scores`` (monkeypatched for the
    ablation; nothing in the package computes them at prediction time)."""
    import surrogate.models.xgb as xgb_module

    table = json.loads((RESULTS.parent / "zerocost-nb201.json").read_text())
    base = xgb_module.__dict__.setdefault("_BASE_XGB", xgb_module.XGBRegressor)

    class ZeroCostXGB(base):
        def design(self, cells, times, trainings=(0, 1), chips=None):
            cells = list(cells)
            zc = np.array([[table[c.simplified().to_str()][k] for k in scores] for c in cells], dtype=float)
            zc[~np.isfinite(zc)] = np.nan
            rows = super().design(cells, times, trainings, chips)
            per = rows.shape[0] // max(len(cells), 1)
            return np.column_stack([rows[:, :-2], np.repeat(zc, per, axis=0), rows[:, -2:]]).astype(np.float32)

    xgb_module.XGBRegressor = ZeroCostXGB if scores else base


#: settings whose members differ by more than their folds and seeds (an ablation only: member f of each kind
#: takes entry f of its grid, so five folds span it)
DIVERSE = {"gnn": {"hidden": (32, 48, 64, 96, 128), "rank_loss": (0.0, 2.0, 4.0, 6.0, 8.0)},
           "xgb": {"max_depth": (3, 4, 5, 6, 8), "colsample_bytree": (0.3, 0.4, 0.5, 0.6, 0.8)}}
SETTINGS["diverse"] = ("v3 with diverse members: GNN width 32-128 and rank-loss weight 0-8, XGBoost depth 3-8 "
                       "and column share 0.3-0.8, one grid entry per fold", {})


def _with_diverse_members(on: bool):
    """Make each fold's members take their own entry of :data:`DIVERSE` (monkeypatched for the ablation)."""
    base = Surrogate.__dict__.get("_base_new_member") or Surrogate._new_member
    Surrogate._base_new_member = base

    def new_member(self, kind, fold):
        member = base(self, kind, fold)
        return member.set_params(**{k: grid[fold % len(grid)] for k, grid in DIVERSE[kind].items()})

    Surrogate._new_member = new_member if on else base


def split(name: str, cells, n: int, seed: int):
    if name == "iso":
        return research.isomorphism_split(cells, n / len(cells), seed)
    train = resolve_cells(f"sample:{n}", seed)
    chosen = set(train)
    if name == "random":
        return train, [c for c in cells if c not in chosen]
    if name == "iso-net":
        seen = {c.simplified() for c in train}
        return train, [c for c in cells if c.simplified() not in seen]
    raise ValueError(f"unknown split {name!r}")


def _predicted(model, sub, training):
    """``(targets, accuracy, lower, upper)`` of ``model`` on the cells and times of ``sub`` (warnings about
    cells outside the domain or times outside the fitted ones are the point of a held-out test)."""
    t = sub.targets(training)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = model.predict(list(t.cells), list(t.times), training=training)
    return (t, *(np.asarray(getattr(p, k)).reshape(len(t.cells), -1) for k in ("accuracy", "lower", "upper")))


def evaluate(model, gt, test) -> dict:
    sub = gt.subset(test)
    out = {}
    for training in ("standard", "hwa"):
        t, acc, lo, hi = _predicted(model, sub, training)
        y = t.mean
        inside = (y >= lo) & (y <= hi)
        j = list(t.times).index(DAY)
        order = np.argsort(-acc[:, j], kind="stable")
        res = {"kendall": float(np.mean([kendall(acc[:, k], y[:, k]) for k in range(y.shape[1])])),
               "coverage": float(inside.mean()), "width": float((hi - lo).mean()), "n_test": len(test)}
        edges = np.quantile(acc[:, j], np.linspace(0, 1, 11))
        dec = np.clip(np.searchsorted(edges, acc[:, j], side="right") - 1, 0, 9)
        res["decile_coverage"] = [float(inside[dec == d, j].mean()) for d in range(10)]
        for frac in (0.001, 0.01):
            top = order[: max(1, int(round(frac * len(test))))]
            res[f"top{frac:g}"] = {"n": len(top), "coverage": float(inside[top, j].mean()),
                                   "bias": float((acc[top, j] - y[top, j]).mean())}
        res["max_pred"], res["max_true"] = float(acc[:, j].max()), float(y[:, j].max())
        out[training] = res
    return out


def top_table(models: dict, gt, test) -> str:
    """Per model, training and time, on ``test``: Kendall, coverage and width, the model's own top 0.1 %
    and 1 % (coverage, bias), and its largest prediction beside the largest measurement and the largest
    network mean (a network's twins averaged: what a prediction of the network can reach)."""
    sub = gt.subset(test)
    lines = ["| model | training | t (s) | Kendall | 90 % coverage | width | top 1 %: n, coverage, bias | "
             "top 0.1 %: n, coverage, bias | max predicted | max measured | max network mean |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for name, model in models.items():
        for training in ("hwa", "standard"):
            t, acc, lo, hi = _predicted(model, sub, training)
            groups: dict = {}
            for i, c in enumerate(t.cells):
                groups.setdefault(c.simplified(), []).append(i)
            for j, time_s in enumerate(t.times):
                y = t.mean[:, j]
                inside = (y >= lo[:, j]) & (y <= hi[:, j])
                order = np.argsort(-acc[:, j], kind="stable")
                tops = []
                for frac in (0.01, 0.001):
                    top = order[: max(1, int(round(frac * len(y))))]
                    tops.append(f"{len(top)}, {inside[top].mean():.2f}, {(acc[top, j] - y[top]).mean():+.2f}")
                net_max = max(float(np.mean(y[g])) for g in groups.values())
                lines.append(f"| {name} | {training} | {time_s:g} | {kendall(acc[:, j], y):.3f} | {inside.mean():.3f} | "
                             f"{(hi[:, j] - lo[:, j]).mean():.2f} | {tops[0]} | {tops[1]} | {acc[:, j].max():.2f} | "
                             f"{y.max():.2f} | {net_max:.2f} |")
    return "\n".join(lines)


def final(out: Path, setting: str = "v3", n: int = 3125, seed: int = 0, recalibrate: bool = False) -> str:
    """Fit ``setting`` on ``sample:n`` (the shipped model's cells), save it to ``out`` with the NB-201
    cache, and compare it with the shipped model on every other cell."""
    import surrogate
    from surrogate import nb201

    gt = data.load("anb-cifar10")
    train = resolve_cells(f"sample:{n}", seed)
    chosen = set(train)
    test = [c for c in gt.cells if c not in chosen]
    if (out / "manifest.json").is_file():
        model = Surrogate.load(out)
        if recalibrate:  # this code's calibration, as the setting asks, on the saved members (untouched)
            model.novelty = SETTINGS[setting][1].get("novelty", False)
            model.recalibrate(gt.subset(train))
            model.metrics_.pop("train_cells", None)
    else:
        start = time.process_time()
        model = Surrogate(random_state=seed, **SETTINGS[setting][1]).fit(gt.subset(train))
        print(f"fitted in {time.process_time() - start:.0f} CPU-s", flush=True)
        model.save(out, precompute=nb201.all_cells())
    if "train_cells" not in model.metrics_:  # what `surrogate fit --evaluate` records, for the validator
        model.metrics_["held_out"] = model.score(gt.subset(test))
        model.metrics_["train_cells"] = f"sample:{n} (seed {seed}) of anb-cifar10"
        model.save(out, precompute=nb201.all_cells())
        model = Surrogate.load(out)
    seen = {c.simplified() for c in train}
    new = [c for c in test if c.simplified() not in seen]
    text = [f"Data: AnalogNAS-Bench; both models fitted on `sample:{n}` (seed {seed}); scored on the other "
            f"{len(test):,} cells, and on the {len(new):,} of them whose network no training cell computes. "
            f"{SETTINGS[setting][0]}. v2: the shipped model (recalibrated by the validator on 6,112 of these cells: its rows "
            f"are not held out for its calibration). Machine: {platform.machine()}; {datetime.date.today()}. "
            "Command: `PYTHONPATH=. python benchmarks/predictor_v3.py --final runs/anb-v3`.", "",
            "All held-out cells:", "", top_table({setting: model, "v2": surrogate.load("anb-cifar10")}, gt, test),
            "", "New networks only:", "", top_table({setting: model, "v2": surrogate.load("anb-cifar10")}, gt, new)]
    return "\n".join(text)


def run(settings, splits, seeds, n) -> dict:
    mine = json.loads(_part_file().read_text()) if _part_file().is_file() else {}
    results = {**(json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}), **_merge(), **mine}
    gt = data.load("anb-cifar10")
    cells = gt.cells
    for seed in seeds:
        for sp in splits:
            train, test = split(sp, cells, n, seed)
            for name in settings:
                key = f"{sp}/{n}/{name}/{seed}"
                if key in results:
                    continue
                _with_zero_cost(ZERO_COST.get(name, ()))
                _with_diverse_members(name == "diverse")
                start = time.process_time()
                model = Surrogate(random_state=seed, progress=False, **SETTINGS[name][1]).fit(gt.subset(train))
                fit_s = time.process_time() - start
                results[key] = mine[key] = {"n_train": len(train), "networks": len({c.simplified() for c in train}),
                                            "fit_cpu_s": fit_s, **evaluate(model, gt, test)}
                _save(mine)
                h = results[key]["hwa"]
                print(f"{key}: hwa tau {h['kendall']:.3f} cov {h['coverage']:.3f} width {h['width']:.2f} "
                      f"top1% cov {h['top0.01']['coverage']:.2f} bias {h['top0.01']['bias']:+.2f} "
                      f"({fit_s:.0f} CPU-s)", flush=True)
    results["date"] = mine["date"] = str(datetime.date.today())
    _save(mine)
    return results


def _merge() -> dict:
    """What other runs (started with another ``--part``) stored: several runs may share the machine."""
    out = {}
    for f in sorted(RESULTS.parent.glob(RESULTS.stem + ".*.json")):
        out.update(json.loads(f.read_text()))
    return out


def _part_file() -> Path:
    return RESULTS.with_name(f"{RESULTS.stem}.{PART}.json") if PART else RESULTS


def _save(mine: dict) -> None:
    """This run's results only: a part file holds what its run computed, the merge puts them together."""
    _part_file().write_text(json.dumps(mine, indent=1))


def report(results, settings, splits, seeds, n) -> str:
    head = (f"Data: AnalogNAS-Bench, 15,625 cells; N = {n} training cells; split seeds "
            f"{', '.join(map(str, seeds))}; mean ± sd over the seeds (sd, not a CI). Kendall, coverage and width "
            f"(of the 90 % interval, points) averaged over the four times; decile coverage: the lowest and highest "
            f"of the ten deciles of the prediction at 1 d; top: the model's own top 1 % / 0.1 % of the test cells "
            f"at 1 d. Machine: {platform.machine()}, 2 cores shared with other work; {results.get('date')}. "
            "Command: `PYTHONPATH=. python benchmarks/predictor_v3.py`.")
    lines = [head, "", "| split | setting | training | networks in training | Kendall | 90 % coverage | width | "
             "decile coverage min-max | top 1 %: coverage, bias | top 0.1 %: coverage, bias | max pred / max measured |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |"]
    for sp in splits:
        for name in settings:
            rs = [results[f"{sp}/{n}/{name}/{s}"] for s in seeds if f"{sp}/{n}/{name}/{s}" in results]
            if not rs:
                continue
            for training in ("hwa", "standard"):
                r = [x[training] for x in rs]
                ms = lambda k: f"{np.mean([x[k] for x in r]):.3f} ± {np.std([x[k] for x in r]):.3f}"  # noqa: E731
                dec = np.array([x["decile_coverage"] for x in r]).mean(0)
                top = {f: (np.mean([x[f]["coverage"] for x in r]), np.mean([x[f]["bias"] for x in r]))
                       for f in ("top0.01", "top0.001")}
                lines.append(
                    f"| {sp} | {name}: {SETTINGS[name][0]} ({len(rs)} seeds) | {training} | "
                    f"{np.mean([x['networks'] for x in rs]):.0f} | {ms('kendall')} | {ms('coverage')} | "
                    f"{np.mean([x['width'] for x in r]):.2f} | {dec.min():.2f}-{dec.max():.2f} | "
                    f"{top['top0.01'][0]:.2f}, {top['top0.01'][1]:+.2f} | {top['top0.001'][0]:.2f}, "
                    f"{top['top0.001'][1]:+.2f} | {np.mean([x['max_pred'] for x in r]):.2f} / "
                    f"{np.mean([x['max_true'] for x in r]):.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="v2,grouped")
    parser.add_argument("--splits", default="iso,iso-net,random")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n", type=int, default=781)
    parser.add_argument("--no-run", action="store_true")
    parser.add_argument("--final", type=Path, metavar="DIR", help="fit v3 on sample:3125, save it to DIR, "
                        "and compare it with the shipped model on the held-out cells")
    parser.add_argument("--recalibrate", action="store_true", help="with --final: recalibrate the model "
                        "saved in DIR with this code (members untouched) before scoring it")
    parser.add_argument("--part", default="", help="write to predictor-v3.PART.json (a run beside another)")
    args = parser.parse_args()
    global PART
    PART = args.part
    if args.final:
        text = final(args.final, args.settings, recalibrate=args.recalibrate)
        print(text)
        write_section(f"## Predictor v3 at N = 3,125: {args.settings} against the shipped v2 (issue 21)", text)
        return
    settings, splits = args.settings.split(","), args.splits.split(",")
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        parser.error(f"unknown settings {sorted(unknown)}; known: {', '.join(SETTINGS)}")
    gone = [s for s in settings if SETTINGS[s][1] is None]
    if gone and not args.no_run:
        parser.error(f"settings {gone} were replaced: only their stored results can be reported (--no-run)")
    results = ({**json.loads(RESULTS.read_text()), **_merge()} if args.no_run
               else run(settings, splits, args.seeds, args.n))
    text = report(results, settings, splits, args.seeds, args.n)
    print(text)
    write_section(f"## Predictor v3: new networks (issue 21), N = {args.n}", text)


if __name__ == "__main__":
    main()
