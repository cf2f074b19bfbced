"""AnalogNAS-Bench's three insights, re-derived from a surrogate's predictions and checked on the table.

1. PTQ accuracy ranks cells unlike analog accuracy: Kendall tau of PTQ accuracy against analog
   accuracy per training and time, measured (table) and predicted (surrogate), over all 15,625 cells.
2. Wider, branched cells lose less to drift: median loss 60 s -> 30 days per number of input-output
   paths and per number of branches into the output (of the cell's normal form).
3. Skip connections reduce the loss: the same per count of skip_connect edges among the 6.
Groups are over non-degenerate cells. The surrogate is also asked about 1 year (extrapolated: the
table stops at 30 days). Writes benchmarks/results/insights.json, docs/figures/insight_*.png and the
section "AnalogNAS-Bench insights, re-derived" of BENCHMARKS.md.

    PYTHONPATH=. python benchmarks/insights.py [--model anb-cifar10]
"""

from __future__ import annotations

import argparse
import datetime
import json
import warnings
from pathlib import Path

import pandas as pd

from _report import write_section

import surrogate
from surrogate import data
from surrogate.insights import (accuracy_frame, drift_loss, extra, group_summary, plot_group_summaries,
                                plot_rank_agreement, rank_agreement, structure)
from surrogate.validate import training_cells

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "insights.json"
FIGURES = ROOT / "docs" / "figures"
MINUTE, MONTH, YEAR = 60.0, 2592000.0, 31536000.0
TRAININGS = ("hwa", "standard")
GROUPINGS = {"skips": "skip_connect edges (of 6)", "paths": "input-output paths",
             "out_degree": "branches into the output"}
LABELS = {60: "60 s", 3600: "1 h", 86400: "1 d", 2592000: "30 d", 31536000: "1 y"}


def _json(frame: pd.DataFrame | pd.Series) -> dict:
    """A Series by time, or a group summary, as plain JSON (string keys, floats)."""
    if isinstance(frame, pd.Series):
        return {str(int(t)): float(v) for t, v in frame.items()}
    return {str(i): {c: float(x) for c, x in row.items()} for i, row in frame.iterrows()}


def _frame(summary: dict) -> pd.DataFrame:
    return pd.DataFrame.from_dict(summary, orient="index").set_axis([int(k) for k in summary])


def compute(model_name: str) -> dict:
    """Every number of the three insights, JSON-ready."""
    gt = data.load("anb-cifar10")
    model = surrogate.load(model_name)
    cells = gt.cells
    train = training_cells(model)
    train = None if train is None else set(train)
    held = None if train is None else [c.to_str() for c in cells if c not in train]
    table = {tr: accuracy_frame(gt, tr) for tr in TRAININGS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1 year is beyond the fitted 30 days: extrapolated, and said so
        pred = {tr: accuracy_frame(model, tr, [*gt.times.tolist(), YEAR], cells) for tr in TRAININGS}
    st = structure(cells)
    live = st.index[~st["degenerate"]]
    ptq, digital = extra(gt, "ptq"), extra(gt, "digital")
    res = {"date": str(datetime.date.today()), "model": model_name,
           "table": f"{gt.profile_name} [{gt.profile_hash}]", "n_cells": len(cells), "n_live": len(live),
           "n_held_out": None if held is None else len(held), "times": [*gt.times.tolist(), YEAR],
           "ptq_vs_digital": float(rank_agreement(ptq, digital.to_frame(0.0)).iloc[0]),
           "ptq": {}, "groups": {}}
    for tr in TRAININGS:
        r = {"table": rank_agreement(ptq, table[tr]), "surrogate": rank_agreement(ptq, pred[tr]),
             "digital_vs_table": rank_agreement(digital, table[tr]),
             "surrogate_vs_table": pd.Series({t: rank_agreement(pred[tr][t], table[tr][[t]])[t]
                                              for t in table[tr].columns})}
        if held is not None:
            r["table_held_out"] = rank_agreement(ptq, table[tr].loc[held])
            r["surrogate_held_out"] = rank_agreement(ptq, pred[tr].loc[held])
        res["ptq"][tr] = {k: _json(v) for k, v in r.items()}
    for g in GROUPINGS:
        groups = st.loc[live, g]
        res["groups"][g] = {}
        for tr in TRAININGS:
            loss, loss_pred = drift_loss(table[tr], MINUTE, MONTH), drift_loss(pred[tr], MINUTE, MONTH)
            s = {"table": group_summary(loss, groups), "surrogate": group_summary(loss_pred, groups),
                 "surrogate_1y": group_summary(drift_loss(pred[tr], MINUTE, YEAR), groups),
                 "table_accuracy_60s": group_summary(table[tr][MINUTE], groups),
                 "table_accuracy_30d": group_summary(table[tr][MONTH], groups)}
            if held is not None:
                h = groups[groups.index.isin(held)]
                s["table_held_out"] = group_summary(loss, h)
                s["surrogate_held_out"] = group_summary(loss_pred, h)
            res["groups"][g][tr] = {k: _json(v) for k, v in s.items()}
    return res


def _groups_table(res: dict, g: str) -> list[str]:
    lines = [f"| training | {GROUPINGS[g]} | cells | median acc. @60 s (table) | loss 60 s→30 d, median: "
             "table | surrogate | mean: table | surrogate | loss 60 s→1 y, surrogate (extrapolated): median "
             "| mean |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for tr in TRAININGS:
        s = res["groups"][g][tr]
        for k, row in s["table"].items():
            pred, year, acc = s["surrogate"][k], s["surrogate_1y"][k], s["table_accuracy_60s"][k]
            values = (acc["median"], row["median"], pred["median"], row["mean"], pred["mean"], year["median"],
                      year["mean"])
            lines.append(f"| {tr} | {k} | {row['n']:.0f} | " + " | ".join(f"{v:.1f}" for v in values) + " |")
    return lines


def agreement(res: dict, min_count: int = 100) -> list[str]:
    """How far the surrogate's group medians and means are from the table's (loss 60 s -> 30 d), pooled
    over the three groupings, on groups of at least ``min_count`` cells."""
    lines = ["| training | cells | groups | surrogate − table, median | surrogate − table, mean |",
             "| --- | --- | ---: | --- | --- |"]
    for tr in TRAININGS:
        for suffix, name in (("", "all"), ("_held_out", "held-out")):
            table, model = "table" + suffix, "surrogate" + suffix
            summaries = [res["groups"][g][tr] for g in GROUPINGS]
            pairs = [(x[table][k], x[model][k]) for x in summaries if table in x
                     for k, row in x[table].items() if row["n"] >= min_count]
            if pairs:
                gaps = [[p[stat] - t[stat] for t, p in pairs] for stat in ("median", "mean")]
                lines.append(f"| {tr} | {name} | {len(pairs)} | "
                             + " | ".join(f"{min(g):+.1f} to {max(g):+.1f}" for g in gaps) + " |")
    return lines


def render(res: dict) -> str:
    held = res["n_held_out"] is not None
    fitted = (f", fitted on {res['n_cells'] - res['n_held_out']:,} of them ({res['n_held_out']:,} held out)"
              if held else "")
    lines = [f"Data: `{res['table']}`, all {res['n_cells']:,} cells (groups: the {res['n_live']:,} "
             f"non-degenerate ones). Model: `{res['model']}`{fitted}. Date {res['date']}. Command: "
             "`PYTHONPATH=. python benchmarks/insights.py`. 1 year is beyond the table: the surrogate "
             "extrapolates there, and nothing checks it.", "",
             "**1. PTQ accuracy vs analog accuracy.** Kendall tau of PTQ accuracy against analog accuracy "
             "(table, and surrogate prediction). For reference: PTQ vs digital "
             f"{res['ptq_vs_digital']:.3f}, digital vs analog (table), and the surrogate's own tau against "
             "the table.", "",
             "| training | time | PTQ vs table | PTQ vs surrogate | held-out: PTQ vs table | "
             "held-out: PTQ vs surrogate | digital vs table | surrogate vs table |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    keys = ("table", "surrogate", "table_held_out", "surrogate_held_out", "digital_vs_table",
            "surrogate_vs_table")
    for tr in TRAININGS:
        r = res["ptq"][tr]
        for t in res["times"]:
            cells = [r.get(k, {}).get(str(int(t))) for k in keys]
            lines.append(f"| {tr} | {LABELS[int(t)]} | "
                         + " | ".join("–" if v is None else f"{v:.3f}" for v in cells) + " |")
    lines += ["", "**2. Width: input-output paths** (of the normal form). Points lost to drift.", "",
              *_groups_table(res, "paths"), "",
              "**2b. Branches summed at the output** (edges into the output node of the normal form).", "",
              *_groups_table(res, "out_degree"), "",
              "**3. Skip connections** (skip_connect edges among the 6, as drawn).", "",
              *_groups_table(res, "skips")]
    lines += ["", "**Surrogate against table, per group** (loss 60 s→30 d; groups of 100 cells or more, the "
                  "three groupings pooled).", "", *agreement(res)]
    lines += ["", "Figures: `docs/figures/insight_ptq.png`, `insight_width.png`, `insight_skips.png`."]
    return "\n".join(lines)


def save_figures(res: dict) -> list[Path]:
    """Drawn from the JSON results alone."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    curves = {f"{tr}, {src}": pd.Series({float(t): v for t, v in res["ptq"][tr][src].items()})
              for tr in TRAININGS for src in ("table", "surrogate")}
    figs = {"insight_ptq.png": plot_rank_agreement(
        curves, title="PTQ vs analog accuracy (1 y: extrapolated)", ylabel="Kendall tau, PTQ vs analog",
        dashed=[k for k in curves if k.endswith("surrogate")])}
    series = {"table": "table, 60 s→30 d", "surrogate": "surrogate, 60 s→30 d",
              "surrogate_1y": "surrogate, 60 s→1 y (extrapolated)"}
    for g, name in (("paths", "insight_width.png"), ("skips", "insight_skips.png")):
        panels = {tr: {label: _frame(res["groups"][g][tr][k]) for k, label in series.items()}
                  for tr in TRAININGS}
        figs[name] = plot_group_summaries(panels, xlabel=GROUPINGS[g], dashed=[series["surrogate_1y"]],
                                          ylabel="median loss from 60 s (points)")
    for name, fig in figs.items():
        fig.savefig(FIGURES / name, dpi=80)
    return [FIGURES / name for name in figs]


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="anb-cifar10", help="a shipped model name or a saved directory")
    args = parser.parse_args()
    res = compute(args.model)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=1))
    for path in save_figures(res):
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.0f} KB)")
    hwa = res["groups"]["skips"]["hwa"]["table"]
    print("table, hwa, median loss 60 s→30 d for 0 / 2 / 4 skips: "
          + " / ".join(f"{hwa[k]['median']:.2f}" for k in ("0", "2", "4"))
          + " (the issue: 6.3 / 4.4 / 6.7)\n")
    text = render(res)
    print(text)
    write_section("## AnalogNAS-Bench insights, re-derived", text)


if __name__ == "__main__":
    main()
