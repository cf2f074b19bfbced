"""Prediction at lookup speed (issue 23): the package against a dict and the model's own curve.

Every row is measured in one worker process for the package and for the baseline, interleaved,
repeated (median). The baseline is what the issue names: a dict from the key a user holds (a
``Cell``, an NB-201 string, an AnalogNAS-Bench tuple) to its row of the shipped ``cache.npz``, built
before timing, then the model's own curve in numpy at the asked times: the GNN members' drift curve
and the XGBoost members' log-time interpolation, averaged and mixed by the model's weights (float64
copies of the cache made before timing). It computes no level map, no interval and no degradation;
the package computes all of them. Each measured unit predicts both trainings.

"Before" is the same worker on the package at ``--before`` (default: the merge base with ``main``),
extracted with ``git archive`` into a temporary folder and put first on ``PYTHONPATH``; before and
after workers alternate, ``--rounds`` of each. Cold rows are fresh interpreters (``--cold`` runs of
each, alternating): from before ``import surrogate`` to the end of the first whole-space call.

    python benchmarks/bench_lookup.py [--write] [--before REF] [--rounds 3] [--repeat 5] [--cold 7]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TIMES = [60.0, 3600.0, 86400.0, 2592000.0]
TRAININGS = ("standard", "hwa")


# ---------------------------------------------------------------------- the worker (either package)
class Baseline:
    """A dict from key to cache row, and the model's own curve in numpy (see the module docstring)."""

    def __init__(self, folder: Path):
        import numpy as np

        manifest = json.loads((folder / "manifest.json").read_text())
        self.knots = np.asarray(manifest["members"]["gnn"][0]["knots"], dtype=float)
        self.times = np.asarray(manifest["times"], dtype=float)
        self.weights = {m: np.asarray(w, dtype=float) for m, w in manifest["weights"].items()}
        with np.load(folder / "cache.npz") as f:
            self.cells = f["cells"].tolist()
            self.gnn = [f["gnn"][:, :, k].astype(float) for k in range(2)]  # [rows, M, 1 + K] per training
            self.xgb = [f["xgb"][:, :, k].astype(float) for k in range(2)]  # [rows, M, T_fit]
        self.answers = [[np.zeros((len(self.cells), len(TIMES))) for _ in range(5)] for _ in range(2)]

    def keys(self, cells):
        """Dicts from each form of ``cells`` to its row (built once, before timing)."""
        row = {text: i for i, text in enumerate(self.cells)}
        rows = [row[c.simplified().to_str()] for c in cells]
        return ({c: r for c, r in zip(cells, rows)}, {c.to_str(): r for c, r in zip(cells, rows)},
                {c.to_anb(): r for c, r in zip(cells, rows)})

    def gather(self, rows, k):
        """The floor: the five outputs gathered from answers computed beforehand (one set per training)."""
        return [a[rows] for a in self.answers[k]]

    def curve(self, rows, t, k):
        import numpy as np

        log_t = np.log10(np.asarray(t, dtype=float))
        width = np.append(np.diff(self.knots), np.inf)
        basis = np.minimum(np.maximum(log_t[:, None] - self.knots[None, :], 0.0), width[None, :])
        g = self.gnn[k][rows]
        gnn = (100.0 / (1.0 + np.exp(-(g[..., :1] - g[..., 1:] @ basis.T)))).mean(1)
        log_fit = np.log10(self.times)
        w = np.stack([np.interp(log_t, log_fit, row) for row in np.eye(len(log_fit))], 1)
        xgb = (self.xgb[k][rows] @ w.T).mean(1)
        return self.weights["gnn"][k] * gnn + self.weights["xgb"][k] * xgb


def _dags(n, seed, known):
    """Seeded DAG cells of 5 to 7 nodes whose normal form is not in the cache."""
    from surrogate import OPS, Cell

    rng, out, forms = random.Random(seed), [], set()
    while len(out) < n:
        k = rng.randint(5, 7)
        edges = {}
        for d in range(1, k):
            for s in [s for s in range(d) if rng.random() < 0.4] or [rng.randrange(d)]:
                edges[s, d] = rng.choice(OPS[1:])
        for s in range(k - 1):
            if not any(a == s for a, _ in edges):
                edges[s, rng.randrange(s + 1, k)] = rng.choice(OPS[1:])
        cell = Cell.from_edges(k, [(s, d, op) for (s, d), op in edges.items()])
        form = cell.simplified().to_str()
        if form not in known and form not in forms:
            forms.add(form)
            out.append(cell)
    return out


def worker(repeat: int) -> dict:
    import warnings

    import numpy as np

    import surrogate
    from surrogate import nb201
    from surrogate.api import SHIPPED
    from surrogate.models import Surrogate

    warnings.simplefilter("ignore")
    model = surrogate.load("anb-cifar10")
    base = Baseline(SHIPPED["anb-cifar10"])
    cells = nb201.all_cells()
    by_cell, by_str, by_tuple = base.keys(cells)
    strings = [c.to_str() for c in cells]
    tuples = [c.to_anb() for c in cells]
    ones = random.Random(0).sample(cells, 1000)
    out = {"package": surrogate.__file__}

    def both(fn):
        return lambda: [fn(k, tr) for k, tr in enumerate(TRAININGS)]

    def rows_of(table, keys):
        return np.fromiter(map(table.__getitem__, keys), np.intp, len(keys))

    # name -> (package, baseline: dict + curve, floor: dict + gather of answers computed beforehand)
    pairs = {
        "space_cells": (both(lambda k, tr: model.predict(cells, TIMES, training=tr)),
                        both(lambda k, tr: base.curve(rows_of(by_cell, cells), TIMES, k)),
                        both(lambda k, tr: base.gather(rows_of(by_cell, cells), k))),
        "space_strings": (both(lambda k, tr: model.predict(strings, TIMES, training=tr)),
                          both(lambda k, tr: base.curve(rows_of(by_str, strings), TIMES, k)),
                          both(lambda k, tr: base.gather(rows_of(by_str, strings), k))),
        "space_tuples": (both(lambda k, tr: model.predict(tuples, TIMES, training=tr)),
                         both(lambda k, tr: base.curve(rows_of(by_tuple, tuples), TIMES, k)),
                         both(lambda k, tr: base.gather(rows_of(by_tuple, tuples), k))),
        "one_cell": (lambda: [model.predict(c, 86400, training=tr) for c in ones for tr in TRAININGS],
                     lambda: [base.curve(np.array([by_cell[c]]), [86400.0], k) for c in ones for k in (0, 1)],
                     lambda: [[float(a[by_cell[c], 2]) for a in base.answers[k]] for c in ones for k in (0, 1)]),
        "rank": (both(lambda k, tr: model.rank(cells, 2592000, training=tr)),
                 both(lambda k, tr: np.argsort(-base.curve(rows_of(by_cell, cells), [2592000.0], k)[:, 0],
                                               kind="stable")),
                 both(lambda k, tr: np.argsort(-base.gather(rows_of(by_cell, cells), k)[0][:, 3], kind="stable"))),
    }
    fresh = iter(range(1, 10**6))
    pairs["space_new_times"] = (
        lambda: (lambda t: [model.predict(cells, t, training=tr) for tr in TRAININGS])(
            [x * (1 + 1e-4 * next(fresh)) for x in TIMES]),
        *pairs["space_cells"][1:])
    per = {"one_cell": len(ones)}
    times = {name: ([], [], []) for name in pairs}
    for fns in pairs.values():  # warm up: the first call of each kind is the cold row's business
        fns[0](), fns[0](), fns[1](), fns[2]()
    for _ in range(repeat):
        for name, fns in pairs.items():
            for which, f in enumerate(fns):
                t0 = time.perf_counter()
                f()
                times[name][which].append((time.perf_counter() - t0) / per.get(name, 1))
    for name, measured in times.items():
        out[name] = [statistics.median(x) for x in measured]

    # cells outside the cache: the full ensemble, batched and one at a time, then asked again
    dags = _dags(100 * repeat + 1, 1, set(base.cells))
    model.members_  # noqa: B018 (members and torch loaded before timing)
    model.predict(dags[-1], 60)
    batched, single, again = [], [], []
    for r in range(repeat):
        new = Surrogate.load(SHIPPED["anb-cifar10"])
        new._members = model.members_
        new.predict(cells[0], 60)  # the cache read before timing
        part = dags[r * 100:(r + 1) * 100]
        t0 = time.perf_counter()
        new.predict(part[:80], TIMES)
        batched.append((time.perf_counter() - t0) / 80)
        t0 = time.perf_counter()
        for c in part[80:]:
            new.predict(c, 86400)
        single.append((time.perf_counter() - t0) / 20)
        for tr in TRAININGS * 2:  # (training, time) asked twice: the answer tables are built
            new.predict(part[80:], 86400, training=tr)
        t0 = time.perf_counter()
        for _ in range(5):
            for c in part[80:]:
                new.predict(c, 86400, training="standard"), new.predict(c, 86400, training="hwa")
        again.append((time.perf_counter() - t0) / 200)
    out["dag_batched"], out["dag_single"], out["dag_again"] = (statistics.median(x) for x in (batched, single, again))
    return out


COLD = """
import itertools, sys, time
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
strings = [f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|" for a, b, c, d, e, f in itertools.product(OPS, repeat=6)]
tuples = list(itertools.product(range(5), repeat=6))
t0 = time.perf_counter()
import surrogate
archs = {"strings": strings, "tuples": tuples}.get(sys.argv[1]) or surrogate.nb201.all_cells()
surrogate.load("anb-cifar10").predict(archs, [60, 3600, 86400, 2592000])
print(time.perf_counter() - t0, "torch" in sys.modules)
"""


# ---------------------------------------------------------------------- the driver
def _run(tree: Path, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True, env=env,
                          cwd=tempfile.gettempdir()).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the section of BENCHMARKS.md")
    parser.add_argument("--before", default=None, help="git revision of 'before' (default: merge base with main)")
    parser.add_argument("--rounds", type=int, default=3, help="worker runs of each package, alternating")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions inside a worker")
    parser.add_argument("--cold", type=int, default=7, help="fresh interpreters per cold row and package")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.repeat)))
        return

    git = ["git", "-C", str(ROOT)]
    ref = args.before or subprocess.run(git + ["merge-base", "HEAD", "main"], capture_output=True, text=True,
                                        check=True).stdout.strip()
    ref = subprocess.run(git + ["rev-parse", "--short", ref], capture_output=True, text=True, check=True).stdout.strip()
    head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        before_tree = Path(tmp) / "before"
        before_tree.mkdir()
        archive = subprocess.run(git + ["archive", ref], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before_tree)], input=archive, check=True)
        trees = {"before": before_tree, "after": ROOT}
        runs = {"before": [], "after": []}
        for _ in range(args.rounds):
            for which, tree in trees.items():
                runs[which].append(json.loads(_run(tree, [str(HERE / "bench_lookup.py"), "--worker",
                                                          "--repeat", str(args.repeat)])))
                print(which, "worker done", flush=True)
        cold = {(which, form): [] for which in trees for form in ("strings", "tuples", "cells")}
        for _ in range(args.cold):
            for form in ("strings", "tuples", "cells"):
                for which, tree in trees.items():
                    seconds, torch = _run(tree, ["-c", COLD, form]).split()
                    cold[which, form].append(float(seconds))
                    assert torch == "False", f"{which} {form}: torch imported"
    for which in trees:
        assert all(r["package"].startswith(str(trees[which])) for r in runs[which]), runs[which][0]["package"]
    print(json.dumps({"runs": runs, "cold": {f"{a}|{b}": v for (a, b), v in cold.items()}}, indent=1))

    def med(which, name, i=None):
        values = [r[name] if i is None else r[name][i] for r in runs[which]]
        return statistics.median(values)

    def ms(x):
        return f"{x * 1e3:,.3f}" if x < 0.01 else f"{x * 1e3:,.1f}"

    rows = []
    labels = [
        ("space_cells", "whole space (15,625 `Cell`s) x 4 times, both trainings"),
        ("space_strings", "whole space from NB-201 strings x 4 times, both trainings"),
        ("space_tuples", "whole space from AnalogNAS-Bench tuples x 4 times, both trainings"),
        ("space_new_times", "whole space (`Cell`s) x 4 times never asked before, both trainings"),
        ("one_cell", "one cell, one time, both trainings (per cell, 1,000 distinct cells in a loop)"),
        ("rank", "`rank` over the whole space at 30 d, both trainings"),
    ]
    for name, label in labels:
        before, after = med("before", name, 0), med("after", name, 0)
        baseline = statistics.median([r[name][1] for w in runs for r in runs[w]])
        floor = statistics.median([r[name][2] for w in runs for r in runs[w]])

        def ratio(which, i):
            return statistics.median([r[name][0] / r[name][i] for r in runs[which]])

        rows.append(f"| {label} | {ms(before)} | {ms(after)} | {ms(baseline)} | {ratio('before', 1):,.1f}x | "
                    f"**{ratio('after', 1):.2f}x** | {ms(floor)} | {ratio('after', 2):.1f}x |")
    table = ["| call (ms) | before | after | baseline | before / baseline | after / baseline | floor | "
             "after / floor |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"] + rows
    cold_rows = ["| fresh process: `import surrogate` + the first whole-space call (4 times, s) | before | after |",
                 "| --- | ---: | ---: |"]
    for form, label in (("strings", "from NB-201 strings"), ("tuples", "from AnalogNAS-Bench tuples"),
                        ("cells", "from `Cell`s (`nb201.all_cells()` included)")):
        cold_rows.append(f"| {label} | {statistics.median(cold['before', form]):.3f} | "
                         f"{statistics.median(cold['after', form]):.3f} |")
    one = med("after", "one_cell", 0) / 2
    dag_rows = ["| cells outside the cache (5-7-node DAGs, full ensemble; ms per cell) | before | after |",
                "| --- | ---: | ---: |",
                f"| batched: 80 new cells in one call, 4 times | {ms(med('before', 'dag_batched'))} | "
                f"{ms(med('after', 'dag_batched'))} |",
                f"| single: one new cell per call, one time | {ms(med('before', 'dag_single'))} | "
                f"{ms(med('after', 'dag_single'))} |",
                f"| the same new cell asked again, one time, one training | {ms(med('before', 'dag_again'))} | "
                f"{ms(med('after', 'dag_again'))} ({med('after', 'dag_again') / one:.2f}x a cached cell's "
                f"{ms(one)}) |"]
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work (load average at the end "
        f"{load}), no GPU, Python {platform.python_version()}, `OMP_NUM_THREADS=1`. Date: {datetime.date.today()}. "
        f"Script: `benchmarks/bench_lookup.py`; model: the shipped `anb-cifar10`. Before: `{ref}` (main before "
        f"issue 23), after: `{head}`; {args.rounds} worker processes of each, alternating, each the median of "
        f"{args.repeat} repetitions, package and baseline interleaved; the table gives the median over workers "
        "(ratios: the median of each worker's own ratio). Baseline: a dict from the key a user holds to its "
        "row of `cache.npz`, built before timing, then the model's own curve in numpy at the asked times "
        "(GNN drift curves and XGBoost log-time interpolation, averaged and mixed by the model's weights); no "
        "level map, interval or degradation, which the package computes. Floor: the same dict, then a gather "
        "of the five outputs from arrays filled beforehand (a table look-up and nothing else). The answer of a "
        "(training, level, times) asked before is a table look-up; \"never asked before\" shows the cost "
        "without it.\n\n" + "\n".join(table) + "\n\n"
        f"Cold: the median of {args.cold} fresh interpreters each; the clock starts before `import surrogate` "
        "(the strings and tuples are made before it with plain Python); torch was imported in none.\n\n"
        + "\n".join(cold_rows) + "\n\n"
        "Cells outside the cache: a freshly loaded model whose members are already in memory (torch and "
        "xgboost imported), 100 new cells per repetition; then the same cells asked again, each from the "
        "memo (normal forms, least recently used, 8,192 at most), against the cached NB-201 cell above.\n\n"
        + "\n".join(dag_rows) + "\n")
    print(text)
    if args.write:
        from _report import write_section

        write_section("## Prediction at lookup speed (issue 23)", text)


if __name__ == "__main__":
    main()
