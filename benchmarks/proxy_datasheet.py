"""The proxy data set's datasheet numbers: counts, spread across cells, repetition noise, noise ceiling.

Per chip, training and time: how many cells, the spread of their mean accuracies (std across
non-degenerate cells), the repetition noise (median within-cell std over the 3 programmings), and,
on the cells measured with two training seeds, our noise ceiling: Kendall tau and mean |difference|
between the seed-0 and seed-1 means of the same cells (no model can rank better than a re-run does).
Writes the "Proxy data set: spread and noise ceiling" section of BENCHMARKS.md.

    PYTHONPATH=. python benchmarks/proxy_datasheet.py [--data proxy-mnist]
"""

from __future__ import annotations

import argparse
import datetime

import numpy as np
from scipy.stats import kendalltau

from _report import write_section

from surrogate import data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="proxy-digits", help="a shipped proxy data set or a store file")
    args = parser.parse_args()
    gt = data.load(args.data)
    live_all = [c for c in gt.cells if not c.is_degenerate]
    n_nb = sum(c.is_nb201 for c in gt.cells)
    reps = gt.profile.get("repetitions", 3)
    lines = [f"Data: `{args.data}` ({gt.profile_name} [{gt.profile_hash}]): {len(gt.cells):,} cells ({n_nb:,} NB-201, "
             f"{len(gt.cells) - n_nb:,} other DAGs; {len(gt.cells) - len(live_all)} degenerate), {len(gt):,} rows; "
             f"{datetime.date.today()}. Command: `PYTHONPATH=. python benchmarks/proxy_datasheet.py --data {args.data}`. "
             "Spread: std of the cell means across non-degenerate cells; repetition noise: median within-cell "
             f"std of the {reps} programmings; twin seeds: the cells trained with seeds 0 and 1, Kendall tau and mean |difference| of "
             "their means (our noise ceiling).", "",
             "| chip | training | cells | t (s) | mean | spread | repetition noise | twin-seed tau | twin-seed MAE |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for chip in gt.chips:
        part = gt.for_chip(chip)
        live = [c for c in part.cells if not c.is_degenerate]
        part = part.subset(live)
        for training in ("hwa", "standard"):
            pooled = part.targets(training)
            seed0 = part.targets(training, seed=0)
            seeds = [seed0, part.targets(training, seed=1)] if 1 in part.seeds else None
            for j, t in enumerate(pooled.times):
                tau = mae = "—"
                if seeds is not None:
                    a, b = seeds[0].mean[:, j], seeds[1].mean[:, j]
                    ok = np.isfinite(a) & np.isfinite(b)
                    if ok.sum() > 2:
                        tau = f"{kendalltau(a[ok], b[ok]).statistic:.3f} ({ok.sum()})"
                        mae = f"{np.abs(a[ok] - b[ok]).mean():.2f}"
                lines.append(f"| {chip} | {training} | {np.isfinite(pooled.mean[:, j]).sum()} | {t:g} | "
                             f"{np.nanmean(pooled.mean[:, j]):.1f} | {np.nanstd(pooled.mean[:, j]):.2f} | "
                             f"{np.nanmedian(seed0.std[:, j]):.2f} | {tau} | {mae} |")
    text = "\n".join(lines) + "\n\n" + against_anb(gt)
    print(text)
    title = "## Proxy data set: spread and noise ceiling"
    write_section(title if args.data == "proxy-digits" else f"{title} ({args.data})", text)


def against_anb(gt) -> str:
    """Kendall tau against AnalogNAS-Bench (HWA, default chip, seed 0) on the non-degenerate NB-201
    cells, beside parameter count (the baseline of issue 18) and, for another proxy, `proxy-digits`
    on the same cells (the recipe it replaces)."""
    from surrogate import nb201

    anb = data.load("anb-cifar10")
    part = gt.for_chip(gt.chips[0])
    old = None if gt.profile_name == "proxy-digits" else data.load("proxy-digits").for_chip(gt.chips[0])
    cells = [c for c in part.cells if c.is_nb201 and not c.is_degenerate]
    if old is not None:
        both = set(old.cells)
        cells = [c for c in cells if c in both]
    ours, theirs = part.subset(cells).targets("hwa", seed=0), anb.subset(cells).targets("hwa")
    before = old.subset(cells).targets("hwa", seed=0) if old is not None else None
    params = nb201.macro_cost(cells)[0].astype(float)
    rows = ["| t (s) | cells | proxy vs AnalogNAS-Bench | parameter count vs AnalogNAS-Bench"
            + (" | proxy-digits vs AnalogNAS-Bench |" if old is not None else " |"),
            "| ---: | ---: | ---: | ---: |" + (" ---: |" if old is not None else "")]
    for j, t in enumerate(theirs.times):
        if t not in ours.times:
            continue
        a, b = ours.mean[:, list(ours.times).index(t)], theirs.mean[:, j]
        ok = np.isfinite(a) & np.isfinite(b)
        row = (f"| {t:g} | {ok.sum()} | {kendalltau(a[ok], b[ok]).statistic:.3f} | "
               f"{kendalltau(params[ok], b[ok]).statistic:.3f} |")
        if old is not None:
            row += f" {kendalltau(before.mean[ok, list(before.times).index(t)], b[ok]).statistic:.3f} |"
        rows.append(row)
    where = " (all of them also in proxy-digits)" if old is not None else ""
    return ("HWA accuracy on the default chip, seed 0, Kendall tau against AnalogNAS-Bench's HWA accuracy at the "
            f"same time, on the {len(cells)} non-degenerate NB-201 cells measured{where}:\n\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
