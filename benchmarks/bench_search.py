"""Search on AnalogNAS-Bench: the surrogate as the only fitness, against the table itself.

Regret: regularised evolution (``surrogate.search``, P = 100, S = 10) over NB-201 for ``--budget``
queries and each seed, with fitness (a) the model's predicted accuracy, (b) the AnalogNAS-Bench
table; random search on the table for reference, and the surrogate's own argmax over all 15,625
cells (what an exhaustive surrogate search returns). Each run returns the best cell by its own
fitness and is scored by that cell's *table* value: regret = table best - table value.

Look-ups: how many distinct table look-ups reach within ``--tol`` points of the table best at
hwa 30 d, (1) screening with the surrogate (rank all cells by prediction, look the top ones up
one at a time), (2) regularised evolution and (3) random search on table values only.

The surrogate is asked once per (training, time) for the whole space; searches look it up.

    python benchmarks/bench_search.py [--model anb-cifar10|DIR] [--budget 1500] [--seeds 0 1 2 3 4] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from _report import write_section

import surrogate
from surrogate import data, nb201
from surrogate.search import random_search, regularized_evolution
from surrogate.simulate.runner import resolve_cells

RESULTS = Path(__file__).parent / "results" / "search.json"
TARGETS = (("hwa", 86400), ("hwa", 2592000), ("standard", 2592000))
LOOKUP_TARGET = ("hwa", 2592000)
TIME_NAMES = {86400: "1 d", 2592000: "30 d"}


def columns(gt, model, cells, index):
    """Table and predicted accuracy per target, each an array aligned with ``cells``."""
    table, pred = {}, {}
    for training, t in TARGETS:
        tg = gt.targets(training)
        j = int(np.flatnonzero(tg.times == t)[0])
        col = np.full(len(cells), np.nan)
        col[[index[c] for c in tg.cells]] = tg.mean[:, j]
        if np.isnan(col).any():
            raise ValueError(f"the table lacks {np.isnan(col).sum()} NB-201 cells at {training} {t} s")
        table[training, t] = col
        pred[training, t] = np.asarray(model.predict(cells, t, training=training).accuracy, dtype=float)
    return table, pred


def lookup(values, index):
    return lambda cs: values[[index[c] for c in cs]]


def lookups_to_reach(history, table, index, threshold):
    """Distinct cells looked up until one with table value >= threshold, or None."""
    hit = table[[index[c] for c in history.cells]] >= threshold
    if not hit.any():
        return None
    return int(history.n_unique()[int(np.argmax(hit))])


def run(model_name, budget, seeds, tol, lookup_budget, train=None):
    gt = data.load_analognasbench()
    train = set() if train is None else set(train)
    model = surrogate.load(model_name)
    cells = nb201.all_cells()
    index = {c: i for i, c in enumerate(cells)}
    out = {"model": str(model_name), "model_n_cells": model.n_cells_, "train_known": bool(train),
           "load_avg": os.getloadavg()[0], "date": str(datetime.date.today()), "budget": budget,
           "seeds": seeds, "tol": tol, "lookup_budget": lookup_budget, "regret": {}, "lookups": {}}
    t0 = time.perf_counter()
    table, pred = columns(gt, model, cells, index)
    out["predict_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    searches = (("rea_surrogate", regularized_evolution, pred), ("rea_table", regularized_evolution, table),
                ("random_table", random_search, table))
    for target in TARGETS:
        tab, prd = table[target], pred[target]
        best = float(tab.max())
        rec = {"table_best": best, "table_best_cell": cells[int(tab.argmax())].to_str(),
               "table_best_in_training": cells[int(tab.argmax())] in train,
               "surrogate_argmax": best - float(tab[int(prd.argmax())]),
               "surrogate_argmax_cell": cells[int(prd.argmax())].to_str()}
        for name, search, fitness in searches:
            runs = [search(lookup(fitness[target], index), budget, rng=seed) for seed in seeds]
            rec[name] = [best - float(tab[index[h.best]]) for h in runs]
        key = f"{target[0]} {target[1]}"
        out["regret"][key] = rec
        print(key, {k: round(float(np.mean(v)), 2) if isinstance(v, list) else v for k, v in rec.items()},
              flush=True)

    tab, prd = table[LOOKUP_TARGET], pred[LOOKUP_TARGET]
    threshold = float(tab.max()) - tol
    order = np.argsort(-prd, kind="stable")
    within = np.flatnonzero(tab >= threshold)
    screened = int(np.argmax(tab[order] >= threshold)) + 1
    look = {"n_within_tol": len(within), "within_tol_in_training": sum(cells[i] in train for i in within),
            "screened": screened, "screened_in_training": sum(cells[i] in train for i in order[:screened])}
    for name, search in (("rea_table", regularized_evolution), ("random_table", random_search)):
        runs = [search(lookup(tab, index), lookup_budget, rng=seed) for seed in seeds]
        look[name] = [lookups_to_reach(h, tab, index, threshold) for h in runs]
    out["lookups"] = look
    out["search_s"] = time.perf_counter() - t0
    print("lookups", look, flush=True)
    return out


def _ms(values):
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.2f} ± {v.std(ddof=1):.2f}" if len(v) > 1 else f"{v.mean():.2f}"


def _counts(values, cap):
    reached = [v for v in values if v is not None]
    per_seed = ", ".join(str(v) if v is not None else f">{cap}" for v in values)
    if len(reached) == len(values):
        return f"{np.median(reached):.0f} ({per_seed})"
    return f"not reached by {len(values) - len(reached)} of {len(values)} seeds ({per_seed})"


def _label(key: str) -> str:
    training, t = key.split()
    return f"{training} {TIME_NAMES.get(int(t), t + ' s')}"


def render(res) -> str:
    budget, look = res["budget"], res["lookups"]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU, Python {platform.python_version()}. "
        f"Date: {res['date']}. Script: `benchmarks/bench_search.py --model {res['model']}` (the model was "
        f"fitted on {res['model_n_cells']:,} cells of the table). Regularised evolution: population 100, "
        f"sample 10, {budget:,} queries; seeds {', '.join(map(str, res['seeds']))}. Predicting the whole "
        f"space for the three targets took {res['predict_s']:.1f} s, all searches {res['search_s']:.1f} s "
        f"(1-minute load average {res['load_avg']:.1f} at the start).",
        "",
        "Regret in points of the table's accuracy: table best minus the table value of the cell a search "
        "returns (its best by its own fitness); mean ± sd over seeds. The table-fitness searches spend "
        f"{budget:,} table look-ups (simulations, for a new space or chip); the surrogate columns spend "
        "none.",
        "",
        "| target | table best % | REA, surrogate fitness | REA, table fitness | random search, table | "
        "surrogate argmax of all cells |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, r in res["regret"].items():
        lines.append(f"| {_label(key)} | {r['table_best']:.2f} | {_ms(r['rea_surrogate'])} | "
                     f"{_ms(r['rea_table'])} | {_ms(r['random_table'])} | {r['surrogate_argmax']:.2f} |")
    if res["train_known"]:
        marks = [_label(k) for k, r in res["regret"].items() if r["table_best_in_training"]]
        lines += ["", "The table's best cell is a training cell of the model for: "
                  + (", ".join(marks) if marks else "none of the targets")
                  + " (there the surrogate has seen its label)."]
    lines += ["", "Per seed (REA surrogate / REA table / random table):", ""]
    for key, r in res["regret"].items():
        triples = zip(r["rea_surrogate"], r["rea_table"], r["random_table"])
        lines.append(f"- {_label(key)}: " + "; ".join(f"{a:.2f} / {b:.2f} / {c:.2f}" for a, b, c in triples))
    lines += [
        "",
        f"Table look-ups to reach within {res['tol']} points of the table best (hwa 30 d; "
        f"{look['n_within_tol']} of 15,625 cells are that close). Distinct cells looked up; the searches ran "
        f"up to {res['lookup_budget']:,} queries; median (per seed).",
        "",
    ]
    if res["train_known"]:
        lines += [f"Of the cells that close, {look['within_tol_in_training']} are training cells of the "
                  f"model; of the {look['screened']} cells the screen looked up, "
                  f"{look['screened_in_training']}.", ""]
    cap = res["lookup_budget"]
    lines += [
        "| strategy | look-ups |",
        "| --- | ---: |",
        f"| surrogate screen: its ranking looked up from the top, one at a time | {look['screened']} "
        "(deterministic) |",
        f"| regularised evolution on table values | {_counts(look['rea_table'], cap)} |",
        f"| random search on table values | {_counts(look['random_table'], cap)} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="anb-cifar10", help="a shipped model name or a saved directory")
    parser.add_argument("--budget", type=int, default=1500, help="queries per search run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--tol", type=float, default=0.5, help="points below the table best that count")
    parser.add_argument("--lookup-budget", type=int, default=15625, help="queries of the look-up searches")
    parser.add_argument("--train-cells", default=None,
                        help="the model's training cells (a --cells spec of `surrogate fit`), to flag "
                             "in-sample cells; default `sample:3125` (seed 0) for the shipped anb-cifar10")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="render the results into BENCHMARKS.md")
    args = parser.parse_args()
    spec = args.train_cells or ("sample:3125" if args.model == "anb-cifar10" else None)
    train = resolve_cells(spec, args.train_seed) if spec else None
    res = run(args.model, args.budget, args.seeds, args.tol, args.lookup_budget, train)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))
    text = render(res)
    print(text)
    if args.write:
        write_section("## Search on AnalogNAS-Bench (regret and table look-ups)", text)


if __name__ == "__main__":
    main()
