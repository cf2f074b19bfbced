"""A one-cell `surrogate predict` as a whole process, this tree against an earlier one (issue 19).

Both run alternately in fresh interpreters (``python -m surrogate predict 2,2,0,4,2,1 --t 86400``),
so load on the machine hits both alike; the figure is the ratio of the medians. The earlier tree
is a folder holding an older ``surrogate/`` package (``git worktree add /tmp/before COMMIT``).
Writes the "CLI: one prediction as a whole process" section of BENCHMARKS.md.

    PYTHONPATH=. python benchmarks/bench_cli.py --before /tmp/before [--runs 9]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _report import write_section

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["-m", "surrogate", "predict", "2,2,0,4,2,1", "--t", "86400"]


def once(tree: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *ARGS], env=env, check=True, capture_output=True, cwd=tree)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="a checkout of the earlier commit")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "now": ROOT}
    for tree in trees.values():  # warm the file cache and any first-run cache once
        once(tree)
    times = {k: [] for k in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():
            times[name].append(once(tree))
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    commit = subprocess.run(["git", "-C", str(args.before), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or str(args.before)
    text = "\n".join([
        f"Machine: {platform.machine()}, 2 cores, no GPU, Python {platform.python_version()}; load average at the "
        f"end {load}. Date: {datetime.date.today()}. Command: `PYTHONPATH=. python benchmarks/bench_cli.py "
        f"--before <checkout of {commit}> --runs {args.runs}`: `python -m surrogate predict 2,2,0,4,2,1 --t 86400`, "
        "a fresh process each run, the two trees alternating.",
        "",
        "| tree | median (s) | min (s) | max (s) |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {k} | {med[k]:.2f} | {min(v):.2f} | {max(v):.2f} |" for k, v in times.items()],
        "",
        f"Ratio before / now: {med['before'] / med['now']:.1f}x.",
    ])
    print(text)
    write_section("## CLI: one prediction as a whole process (issue 19)", text)


if __name__ == "__main__":
    main()
