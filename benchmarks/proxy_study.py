"""Studies on our own ground truth, the proxy data set (issues 10, 12, 13), one part per command.

    PYTHONPATH=. python benchmarks/proxy_study.py PART [--seed 0] [--data proxy-mnist]

``--data`` names the proxy data set (default ``proxy-digits``); another one writes its own sections (the
data set's name in their titles), results keys and shipped model (``surrogate/shipped/<data>``), so the
studies of two proxies stand side by side.

Parts (each writes its section of BENCHMARKS.md and its entry of benchmarks/results/proxy-study.json):

- ``ship``: fit the chip-aware model on the training split, score the held-out cells per chip, and save
  it as ``surrogate/shipped/proxy-digits`` (the shipped model; its model card is in the README).
- ``top``: the shipped model where a search looks: its own top 10 % of the held-out cells, per chip.
- ``anb``: (a) how the proxy ranks NB-201 cells against AnalogNAS-Bench, measured, and predicted by
  the proxy model over all 15,625 cells.
- ``shapes``: (b) non-NB-201 cells held out, with and without some non-NB-201 cells in training.
- ``time``: (c) trained on times <= 30 days, scored at 1 year, against the same model with 1 year.
- ``chips``: leave one chip out, against a model of that chip alone and the default chip's model,
  and the new-chip learning curve (issue 12).

Splits (seeded, by :func:`surrogate.research.isomorphism_split`, so equal networks never straddle):
NB-201 cells 80 % / 20 %, the other DAG cells 50 % / 50 %; the chip study uses the cells measured on
every chip, 2/3 / 1/3. Every score is on cells no model of that row saw.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import warnings
from pathlib import Path

import numpy as np

from _report import write_section

from surrogate import data, research
from surrogate.models import Surrogate
from surrogate.validate import provenance

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "proxy-study.json"
DATA = "proxy-digits"  # --data
SHIPPED = ROOT / "surrogate" / "shipped" / DATA
YEAR, MONTH = 31536000.0, 2592000.0
METRICS = ("kendall", "spearman", "mae", "coverage")


def splits(gt, seed: int = 0) -> dict:
    """The train/test cells of every part, from the default chip's cells."""
    cells = gt.for_chip(gt.chips[0]).cells
    nb = [c for c in cells if c.is_nb201]
    dags = [c for c in cells if not c.is_nb201]
    nb_train, nb_test = research.isomorphism_split(nb, 0.8, seed)
    dag_train, dag_test = research.isomorphism_split(dags, 0.5, seed) if len(dags) > 1 else ([], [])
    every = gt.for_chip(gt.chips[-1]).cells
    chip_train, chip_test = research.isomorphism_split(every, 2 / 3, seed)
    return {"nb_train": nb_train, "nb_test": nb_test, "dag_train": dag_train, "dag_test": dag_test,
            "chip_train": chip_train, "chip_test": chip_test}


def _row(scores: dict, training: str) -> dict:
    return {k: scores[training][k] for k in METRICS if k in scores[training]}


def _table(rows: list[dict], keys: list[str]) -> str:
    cols = keys + [m for m in METRICS if any(m in r for r in rows)]
    out = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" if c in keys else "---:" for c in cols) + " |"]
    for r in rows:
        out.append("| " + " | ".join(str(r[c]) if c in keys else f"{r[c]:.3f}" for c in cols) + " |")
    return "\n".join(out)


def _header(gt, seed: int, part: str, what: str) -> str:
    flag = "" if DATA == "proxy-digits" else f" --data {DATA}"
    return (f"Data: `{DATA}` ({gt.profile_name} [{gt.profile_hash}], {len(gt.cells):,} cells); split seed "
            f"{seed}; {what}. Machine: {platform.machine()}, {os.cpu_count()} cores; {datetime.date.today()}. "
            f"Command: `PYTHONPATH=. python benchmarks/proxy_study.py {part} --seed {seed}{flag}`.")


def _section(title: str, text: str) -> None:
    """``title``'s section for proxy-digits; another data set's is titled with its name."""
    if DATA != "proxy-digits":
        title = title.replace("proxy-digits", DATA) if "proxy-digits" in title else f"{title} ({DATA})"
    write_section(title, text)


def part_ship(gt, s, seed):
    train = s["nb_train"] + s["dag_train"]
    model = Surrogate(random_state=seed).fit(gt.subset(train))
    test = s["nb_test"] + s["dag_test"]
    rows = []
    for chip in gt.chips:
        part = _held_out(gt, test, chip)
        scores = model.score(part)
        model.metrics_[f"held_out@{chip}"] = scores
        rows += [{"chip": chip, "training": t, "cells": len(part.cells), **_row(scores, t)} for t in scores]
    how = (f"isomorphism split seed {seed}: 80 % of the NB-201 cells and 50 % of the other DAG cells of {DATA} "
           f"({len(train)} cells; default chip and every other chip they were measured on)")
    # the cells themselves, so that the record holds however the data set grows
    model.metrics_["train_cells"] = provenance.cell_record(train, how)
    from surrogate import nb201

    model.save(SHIPPED, precompute=nb201.all_cells())
    text = _header(gt, seed, "ship", f"trained on {len(train)} cells (all their chips), scored on the "
                   f"{len(test)} held-out cells (NB-201 and other DAGs; per chip those measured on it), averaged "
                   "over the five times") + "\n\n" + _table(rows, ["chip", "training", "cells"])
    _section("## The shipped proxy-digits model (held out)", text)
    return rows


def _held_out(gt, test, chip):
    """The ``test`` cells measured on ``chip``, that chip's rows only."""
    measured = set(gt.for_chip(chip).cells)
    return gt.subset([c for c in test if c in measured]).for_chip(chip)


def part_top(gt, s, seed):
    """Where a search looks: the shipped model's own top 10 % of the held-out cells, per chip."""
    model = Surrogate.load(SHIPPED)
    test = s["nb_test"] + s["dag_test"]
    rows = []
    for chip in gt.chips:
        part = _held_out(gt, [c for c in test if not c.is_degenerate], chip)
        for training in ("hwa", "standard"):
            t = part.targets(training)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = model.predict(t.cells, t.times, training=training, chip=chip)
            for j, time in enumerate(t.times):
                y, p = t.mean[:, j], pred.accuracy[:, j]
                top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
                inside = (pred.lower[top, j] <= y[top]) & (y[top] <= pred.upper[top, j])
                rows.append({"chip": chip, "training": training, "t": f"{time:g}", "top cells": len(top),
                             "bias": float(np.mean(p[top] - y[top])), "coverage": float(inside.mean()),
                             "measured top-10 % share": float(np.mean(y[top] >= np.quantile(y, 0.9)))})
    text = (_header(gt, seed, "top", "the shipped model's own top 10 % (by predicted accuracy) of the held-out "
                    "non-degenerate cells of each chip; bias = mean predicted minus measured; coverage of the 90 % "
                    "interval; share of them in the measured top 10 %")
            + "\n\n| chip | training | t (s) | top cells | bias | 90 % coverage | in measured top 10 % |\n"
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
            + "\n".join(f"| {r['chip']} | {r['training']} | {r['t']} | {r['top cells']} | {r['bias']:+.2f} | "
                        f"{r['coverage']:.2f} | {r['measured top-10 % share']:.2f} |" for r in rows))
    _section("## The shipped proxy-digits model where a search looks", text)
    return rows


def part_anb(gt, s, seed):
    from scipy.stats import kendalltau

    from surrogate import nb201

    anb = data.load("anb-cifar10")
    proxy = gt.for_chip(gt.chips[0])
    cells = [c for c in proxy.cells if c.is_nb201 and not c.is_degenerate]
    model = Surrogate.load(SHIPPED)
    space = [c for c in nb201.all_cells() if not c.is_degenerate]
    train = set(s["nb_train"] + s["dag_train"])
    unseen = [c for c in space if c not in train]
    rows = []
    for training in ("hwa", "standard"):
        a, p = anb.subset(cells).targets(training), proxy.subset(cells).targets(training)
        ta = anb.subset(unseen).targets(training)
        for j, t in enumerate(a.times):
            jp = list(p.times).index(t)
            pred = model.predict(unseen, t, training=training).accuracy
            rows.append({"training": training, "t": f"{t:g}",
                         "measured": kendalltau(p.mean[:, jp], a.mean[:, j], nan_policy="omit").statistic,
                         "predicted": kendalltau(pred, ta.mean[:, j], nan_policy="omit").statistic})
    text = (_header(gt, seed, "anb", f"Kendall tau against AnalogNAS-Bench; 'measured': the proxy's own "
                    f"measurements of its {len(cells)} non-degenerate NB-201 cells (default chip); 'predicted': the "
                    f"shipped proxy model over the {len(unseen):,} non-degenerate NB-201 cells it was not trained on")
            + "\n\n| training | t (s) | measured proxy vs ANB | predicted proxy vs ANB |\n| --- | ---: | ---: | ---: |\n"
            + "\n".join(f"| {r['training']} | {r['t']} | {r['measured']:.3f} | {r['predicted']:.3f} |" for r in rows))
    _section("## (a) Does the proxy rank cells like AnalogNAS-Bench?", text)
    return rows


def part_shapes(gt, s, seed):
    default = gt.for_chip(gt.chips[0])
    nb_forms = {c.simplified() for c in s["nb_train"]}
    twins = [c for c in s["dag_test"] if c.simplified() in nb_forms]
    new = [c for c in s["dag_test"] if c.simplified() not in nb_forms]
    rows = []
    for name, train in (("NB-201 only", s["nb_train"]), ("NB-201 + half the DAGs", s["nb_train"] + s["dag_train"])):
        model = Surrogate(random_state=seed).fit(default.subset(train))
        for test_name, test in (("NB-201 held out", s["nb_test"]), ("DAGs held out", s["dag_test"]),
                                ("  of which new networks", new), ("  of which NB-201 redrawings", twins)):
            if len(test) < 3:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = model.score(default.subset(test))
            rows += [{"trained on": name, "scored on": f"{test_name} ({len(test)})", "training": t, **_row(scores, t)}
                     for t in scores]
    text = (_header(gt, seed, "shapes", "default chip; 'NB-201 redrawings' are DAG cells whose network (normal form) "
                    "is an NB-201 training cell's") + "\n\n" + _table(rows, ["trained on", "scored on", "training"]))
    _section("## (b) Other DAG shapes, held out", text)
    return rows


def part_time(gt, s, seed):
    default = gt.for_chip(gt.chips[0])
    train, test = s["nb_train"] + s["dag_train"], s["nb_test"] + s["dag_test"]
    target = default.subset(test)
    rows = []
    for name, fit_on in (("all five times", default.subset(train)), ("times <= 30 d", default.subset(train).until(MONTH))):
        model = Surrogate(random_state=seed).fit(fit_on)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 1 year is outside the second model's times: it warns
            scores = model.score(target)
        for training in scores:
            per = scores[training]["per_time"]
            rows.append({"trained on": name, "training": training,
                         **{k: per[f"{YEAR:g}"][k] for k in METRICS}})
    text = (_header(gt, seed, "time", f"default chip; trained on {len(train)} cells, scored at 1 year on "
                    f"{len(test)} held-out cells") + "\n\n" + _table(rows, ["trained on", "training"]))
    _section("## (c) Extrapolation in time: 30 days to 1 year", text)
    return rows


def part_chips(gt, s, seed):
    import pandas as pd

    def factory(seed):
        return Surrogate(n_folds=3, random_state=seed, progress=False)

    # the study reads only the cells measured on every chip: a chip's saved rows stand while those rows do,
    # so a killed run resumes at the next chip, and a data set grown by other cells keeps them
    used = len(gt.subset(s["chip_train"] + s["chip_test"]).to_frame())
    frames = []
    for chip in gt.chips:
        key = _key(f"chips-partial/seed{seed}/{chip}")
        saved = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        same = key in saved and (saved[key]["profile_hash"], saved[key].get("rows_used")) == (gt.profile_hash, used)
        if same:
            frames.append(pd.DataFrame(saved[key]["rows"]))
            continue
        frames.append(research.chip_transfer(gt, chip, s["chip_train"], s["chip_test"], factory,
                                             sizes=(25, 50, 100, len(s["chip_train"])), seed=seed))
        print(frames[-1][["chip", "method", "n_new", "training", "kendall", "mae"]].to_string(index=False), flush=True)
        saved[key] = {"date": str(datetime.date.today()), "profile_hash": gt.profile_hash,
                      "n_cells": len(gt.cells), "rows_used": used, "rows": frames[-1].to_dict("records")}
        RESULTS.write_text(json.dumps(saved, indent=1, default=float))
    rows = pd.concat(frames).to_dict("records")
    _section("## Leave one chip out, and cells needed on a new chip", render_chips(gt, s, {seed: rows}))
    return rows


def render_chips(gt, s, runs: dict) -> str:
    """The chip study's table: per (chip, method, n_new, training), the mean over the split seeds run
    (with the seeds' standard deviation when there are several)."""
    import pandas as pd

    saved = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    runs = {**{int(k.split("seed")[1]): v["rows"] for k, v in saved.items() if k.startswith(_key("chips/"))},
            **runs}
    df = pd.concat([pd.DataFrame(r).assign(seed=k) for k, r in runs.items()])
    keys = ["chip", "method", "n_new", "training"]
    mean = df.groupby(keys, sort=False)[list(METRICS)].mean()
    sd = df.groupby(keys, sort=False)[list(METRICS)].std()
    seeds = sorted(runs)
    cols = keys + list(METRICS)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" if c in keys else "---:" for c in cols) + " |"]
    for key, row in mean.iterrows():
        cells = [f"{row[m]:.3f}" + (f" ± {sd.loc[key, m]:.3f}" if len(seeds) > 1 else "") for m in METRICS]
        lines.append("| " + " | ".join(map(str, key)) + " | " + " | ".join(cells) + " |")
    seed_text = ", ".join(map(str, seeds))
    head = _header(gt, seeds[0], "chips", f"the {len(s['chip_train'])} / {len(s['chip_test'])} cells measured on "
                   "every chip, split by isomorphism class; 3 folds per model; 'own': fitted on the chip alone; "
                   "'default': the default chip's model (for anb-pcm: pcm-noisy's) asked as if it were this chip; 'chip-aware' with n new "
                   "cells: fitted on the other chips plus n cells of this chip (n = 0 is leave-one-chip-out); "
                   f"split seeds {seed_text}" + (", mean ± sd over them" if len(seeds) > 1 else ""))
    return head.replace(f"--seed {seeds[0]}", "--seed S") + "\n\n" + "\n".join(lines)


def _key(key: str) -> str:
    """The results key of ``key`` for the data set studied (proxy-digits' keys carry no name)."""
    return key if DATA == "proxy-digits" else f"{DATA}/{key}"


PARTS = {"ship": part_ship, "top": part_top, "anb": part_anb, "shapes": part_shapes, "time": part_time, "chips": part_chips}


def main() -> None:
    global DATA, SHIPPED
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=list(PARTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=DATA, help="the proxy data set (a shipped name or a store file)")
    args = parser.parse_args()
    DATA, SHIPPED = args.data, ROOT / "surrogate" / "shipped" / Path(args.data).stem
    gt = data.load(args.data)
    rows = PARTS[args.part](gt, splits(gt, args.seed), args.seed)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[_key(f"{args.part}/seed{args.seed}")] = {"date": str(datetime.date.today()), "profile_hash": gt.profile_hash,
                                               "n_cells": len(gt.cells), "rows": rows}
    RESULTS.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
