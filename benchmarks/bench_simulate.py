"""Seconds per cell of the `smoke` and `proxy-digits` profiles, the accuracy spread of proxy-digits
across diverse cells, and the speed-up of 2 local workers over 1. Writes a section of BENCHMARKS.md.

    PYTHONPATH=. python benchmarks/bench_simulate.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from _report import write_section

from surrogate import Cell
from surrogate.data import Store
from surrogate.simulate import resolve_cells, run

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## simulate"


def diverse_cells(n: int) -> list[Cell]:
    """Uniform cells (one op everywhere), a ResNet-like cell, then a seeded sample."""
    uniform = [Cell.from_str("|{0}~0|+|{0}~0|{0}~1|+|{0}~0|{0}~1|{0}~2|".format(op))
               for op in ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect")]
    resnet = Cell.from_str("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")
    cells = list(dict.fromkeys(uniform + [resnet] + resolve_cells("sample:20", seed=0)))
    return cells[:n]


def timed_run(profile, cells, store, workers):
    start = time.perf_counter()
    summary = run(profile, cells, 0, store, workers=workers, progress=False)
    assert not summary.failed, summary.failed
    return time.perf_counter() - start


def main(quick: bool = False) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    n_smoke, n_proxy = (4, 2) if quick else (8, 8)
    cells = diverse_cells(max(n_smoke, n_proxy))
    lines = []

    # smoke, in-process (1 worker): the first cell pays imports and data loading
    t_smoke1 = timed_run("smoke", cells[:n_smoke], tmp / "smoke1.sqlite", 1)
    t_smoke2 = timed_run("smoke", cells[:n_smoke], tmp / "smoke2.sqlite", 2)

    # proxy-digits: the same cells on one core (in-process), then with 2 worker processes
    t_proxy1 = timed_run("proxy-digits", cells[:n_proxy], tmp / "proxy1.sqlite", 1)
    t_proxy2 = timed_run("proxy-digits", cells[:n_proxy], tmp / "proxy2.sqlite", 2)
    with Store(tmp / "proxy2.sqlite") as store:
        gt = store.load("proxy-digits")
    frame, extras = gt.to_frame(), gt.extras_frame().set_index("cell")
    s1, s2 = t_proxy1 / n_proxy, t_proxy2 / n_proxy
    lines += [
        SECTION,
        "",
        f"Machine: 2-core x86-64, no GPU, Python {platform.python_version()}, torch CPU, aihwkit "
        f"`TorchInferenceRPUConfig`. Date: 2026-11-22. Measured by `benchmarks/bench_simulate.py`"
        + (" --quick" if quick else "") + ".",
        "",
        "Wall-clock seconds per cell through `surrogate.simulate.run` (train, convert, drift at every time "
        "over the repetitions, HWA fine-tune, drift again), including process start-up and store writes.",
        "",
        "| profile | cells | workers | wall s | s / cell |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| smoke | {n_smoke} | 1 | {t_smoke1:.1f} | {t_smoke1 / n_smoke:.2f} |",
        f"| smoke | {n_smoke} | 2 | {t_smoke2:.1f} | {t_smoke2 / n_smoke:.2f} |",
        f"| proxy-digits | {n_proxy} | 1 | {t_proxy1:.1f} | {s1:.1f} |",
        f"| proxy-digits | {n_proxy} | 2 | {t_proxy2:.1f} | {s2:.1f} |",
        "",
        f"Speed-up of 2 workers over 1 (proxy-digits, s/cell at 1 worker over s/cell at 2): **{s1 / s2:.2f}x**. "
        f"For smoke it is {t_smoke1 / t_smoke2:.2f}x: with cells of about a second, the ~10 s start-up of "
        "spawned workers (importing torch and aihwkit) dominates.",
        "",
        f"Accuracy spread of proxy-digits across the {frame['cell'].nunique()} cells of the 2-worker run "
        "(uniform cells of each op, a ResNet-like cell, seeded sample; mean over the profile's repetitions per cell):",
        "",
        "| training | t_inference s | min % | median % | max % | std across cells % | mean std over reps % |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (training, t), g in frame.groupby(["training", "t_inference"]):
        acc = g["accuracy"].to_numpy()
        lines.append(f"| {training} | {t:g} | {acc.min():.1f} | {np.median(acc):.1f} | {acc.max():.1f} | "
                     f"{acc.std(ddof=1):.1f} | {g['std'].mean():.1f} |")
    lines.append("")
    dig = extras["digital"].to_numpy()
    lines.append(f"Digital accuracy across the same cells: min {dig.min():.1f} %, median {np.median(dig):.1f} %, "
                 f"max {dig.max():.1f} %. Per cell (mean %, and seconds of digital training, HWA, evaluation):")
    lines.append("")
    lines.append("| cell | digital | standard 60 s | standard 30 d | hwa 60 s | hwa 30 d | s train / hwa / eval |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    pivot = frame.pivot_table(index="cell", columns=["training", "t_inference"], values="accuracy")
    for cell, row in pivot.iterrows():
        e = extras.loc[cell]
        lines.append(f"| `{cell.replace('|', chr(92) + '|')}` | {e['digital']:.1f} | {row[('standard', 60.0)]:.1f} | "
                     f"{row[('standard', 2592000.0)]:.1f} | {row[('hwa', 60.0)]:.1f} | "
                     f"{row[('hwa', 2592000.0)]:.1f} | {e['seconds_train']:.0f} / {e['seconds_hwa']:.0f} / "
                     f"{e['seconds_eval']:.0f} |")
    section = "\n".join(lines) + "\n"
    print(section)
    write_section(SECTION, section[len(SECTION):])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer cells (a check of the script)")
    main(parser.parse_args().quick)
