"""How the ranking of cells changes with the chip, measured on the proxy data set (issues 10, 12).

For every chip and training: the mean accuracy at 60 s and at 1 year, the mean loss between them,
Kendall's tau of the chip's ranking against the default chip's at the same time, and whether the
default chip's best cell is still in the chip's top 5 %. Cells: those measured on every chip.
Writes the "Chips in the proxy data" section of BENCHMARKS.md.

    PYTHONPATH=. python benchmarks/chip_rankings.py [--data benchmark_data/proxy-digits.sqlite]
"""

from __future__ import annotations

import argparse
import datetime

import numpy as np
from scipy.stats import kendalltau

from _report import write_section

from surrogate import data

YEAR, MINUTE = 31536000.0, 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="proxy-digits")
    args = parser.parse_args()
    gt = data.load(args.data)
    per_chip = {c: gt.for_chip(c) for c in gt.chips}
    common = set.intersection(*(set(g.cells) for g in per_chip.values()))
    cells = [c for c in per_chip[gt.chips[0]].cells if c in common and not c.is_degenerate]
    lines = [f"Data: `{args.data}` ({gt.profile_name} [{gt.profile_hash}]), the {len(cells)} non-degenerate cells "
             f"measured on all {len(gt.chips)} chips so far (seed 0); date {datetime.date.today()}. Command: "
             "`PYTHONPATH=. python benchmarks/chip_rankings.py`. Kendall tau against the default chip "
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
    text = "\n".join(lines)
    print(text)
    write_section("## Chips in the proxy data (preliminary)", text)


if __name__ == "__main__":
    main()
