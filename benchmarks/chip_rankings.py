"""How the ranking of cells changes with the chip, measured on the proxy data set (issues 10, 12).

For every chip and training: the mean accuracy at 60 s and at 1 year, the mean loss between them,
Kendall's tau of the chip's ranking against the default chip's at the same time, and whether the
default chip's best cell is still in the chip's top 5 %. Cells: those measured on every chip.
Then, for the designer: which ops a chip punishes. Per chip, the extra loss against the default chip
(default accuracy minus the chip's, same cell and time) is regressed on the cell's op counts (least
squares with an intercept; none is the reference op), so each coefficient is the extra points lost per
edge of that op. Figure: ``docs/figures/chips.png`` (tau vs the default chip over time; op
coefficients at 1 day). Writes the "Chips in the proxy data" section of BENCHMARKS.md.

    PYTHONPATH=. python benchmarks/chip_rankings.py [--data STORE]
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from _report import write_section

from surrogate import data

YEAR, MINUTE = 31536000.0, 60.0
FIGURE = Path(__file__).resolve().parent.parent / "docs" / "figures" / "chips.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="proxy-digits")
    args = parser.parse_args()
    gt = data.load(args.data)
    name = Path(args.data).stem
    own = "" if name == "proxy-digits" else f" ({name})"  # another data set's section and figure stand beside
    figure = FIGURE if not own else FIGURE.with_name(f"chips-{name}.png")
    per_chip = {c: gt.for_chip(c) for c in gt.chips}
    common = set.intersection(*(set(g.cells) for g in per_chip.values()))
    cells = [c for c in per_chip[gt.chips[0]].cells if c in common and not c.is_degenerate]
    lines = [f"Data: `{args.data}` ({gt.profile_name} [{gt.profile_hash}]), the {len(cells)} non-degenerate cells "
             f"measured on all {len(gt.chips)} chips (seed 0); date {datetime.date.today()}. Command: "
             f"`PYTHONPATH=. python benchmarks/chip_rankings.py{' --data ' + args.data if own else ''}`. "
             "Kendall tau against the default chip "
             f"(`{gt.chips[0]}`) at the same time; 'best kept' = the default chip's best cell at that time is in "
             "this chip's top 5 %.", "",
             "| chip | training | mean @60 s | mean @1 y | mean loss 60 s → 1 y | tau vs default @60 s | "
             "tau vs default @1 y | best kept @1 y |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for training in ("hwa", "standard"):
        ref = per_chip[gt.chips[0]].subset(cells).targets(training)
        for chip, g in per_chip.items():
            t = g.subset(cells).targets(training)
            j60, jy = list(t.times).index(MINUTE), list(t.times).index(YEAR)
            m = t.mean
            taus = [kendalltau(m[:, j], ref.mean[:, j]).statistic for j in (j60, jy)]
            best = int(np.argmax(ref.mean[:, jy]))
            top = set(np.argsort(-m[:, jy])[: max(1, len(cells) // 20)].tolist())
            lines.append(f"| {chip} | {training} | {m[:, j60].mean():.1f} | {m[:, jy].mean():.1f} | "
                         f"{(m[:, j60] - m[:, jy]).mean():.1f} | {taus[0]:.2f} | {taus[1]:.2f} | "
                         f"{'yes' if best in top else 'no'} |")
    ops_text, fig = _op_effects(gt, per_chip, cells)
    ops_text += "\n\n" + _insights_per_chip(per_chip, cells)
    fig.savefig(figure, dpi=90)
    text = "\n".join(lines) + "\n\n" + ops_text + f"\n\n![chips]({figure.relative_to(figure.parents[2])})"
    print(text)
    write_section("## Chips in the proxy data" + own, text)


def _insights_per_chip(per_chip, cells) -> str:
    """AnalogNAS-Bench's skip and width insights asked of each chip (measured, hwa): median loss from
    60 s to 30 days and to 1 year per number of skip edges and of input-output paths."""
    from surrogate import insights

    struct = insights.structure(cells)
    lines = ["AnalogNAS-Bench's insights on each chip (measured, hwa, the same cells): median loss from 60 s "
             "to 30 d / to 1 y, by number of skip edges and by number of input-output paths (groups of "
             ">= 10 cells).", "", "| chip | skips 0 | skips 1 | skips 2 | skips 3 | paths 1 | paths 2 | paths 3+ |",
             "| --- |" + " ---: |" * 7]
    paths = struct["paths"].clip(upper=3)
    for chip, g in per_chip.items():
        acc = insights.accuracy_frame(g.subset(cells), "hwa")
        cols = []
        for groups, keys in ((struct["skips"], (0, 1, 2, 3)), (paths, (1, 2, 3))):
            month = insights.group_summary(insights.drift_loss(acc, 60.0, 2592000.0), groups)
            year = insights.group_summary(insights.drift_loss(acc, 60.0, YEAR), groups)
            cols += [f"{month.loc[k, 'median']:.1f} / {year.loc[k, 'median']:.1f}"
                     if k in month.index and month.loc[k, "n"] >= 10 else "—" for k in keys]
        lines.append(f"| {chip} | " + " | ".join(cols) + " |")
    return "\n".join(lines)


def _op_effects(gt, per_chip, cells, at=86400.0):
    """Extra points lost per edge of each op on each chip vs the default chip (hwa, at ``at``), and the figure."""
    from matplotlib.figure import Figure

    from surrogate.cells import OPS

    ops = [o for o in OPS if o != "none"]
    X = np.column_stack([np.ones(len(cells))] + [[c.ops.count(o) for c in cells] for o in ops])
    ref = per_chip[gt.chips[0]].subset(cells).targets("hwa")
    j = list(ref.times).index(at)
    fig = Figure(figsize=(10, 3.6))
    ax_tau, ax_ops = fig.subplots(1, 2)
    lines = [f"Extra loss against the default chip per edge of each op (hwa, t = {at:g} s; least squares over the "
             f"{len(cells)} cells, an intercept plus op counts, `none` the reference): positive = this op loses more "
             "on this chip.", "", "| chip | " + " | ".join(ops) + " | R^2 |", "| --- |" + " ---: |" * (len(ops) + 1)]
    width = 0.8 / (len(per_chip) - 1)
    for i, (chip, g) in enumerate(list(per_chip.items())[1:]):
        t = g.subset(cells).targets("hwa")
        taus = [kendalltau(t.mean[:, k], ref.mean[:, k]).statistic for k in range(len(t.times))]
        ax_tau.plot(t.times, taus, marker="o", label=chip)
        extra = ref.mean[:, j] - t.mean[:, j]
        coef, *_ = np.linalg.lstsq(X, extra, rcond=None)
        r2 = 1 - np.var(extra - X @ coef) / np.var(extra)
        lines.append(f"| {chip} | " + " | ".join(f"{c:+.2f}" for c in coef[1:]) + f" | {r2:.2f} |")
        ax_ops.bar(np.arange(len(ops)) + (i - (len(per_chip) - 2) / 2) * width, coef[1:], width, label=chip)
    ax_tau.set(xscale="log", xlabel="time since programming (s)", ylabel="Kendall tau vs anb-pcm",
               title="Does the chip rank cells like the default? (hwa)")
    ax_tau.axhline(0, color="grey", lw=0.5)
    ax_ops.set_xticks(np.arange(len(ops)), [o.replace("nor_conv_", "conv").replace("_3x3", "") for o in ops])
    ax_ops.set(ylabel="extra points lost per edge", title=f"Which ops a chip punishes (hwa, {at / 86400:g} d)")
    ax_ops.axhline(0, color="grey", lw=0.5)
    ax_ops.legend(fontsize=7)
    ax_tau.legend(fontsize=7)
    fig.tight_layout()
    return "\n".join(lines), fig


if __name__ == "__main__":
    main()
