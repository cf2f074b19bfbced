"""Multi-objective NAS with Optuna over NAS-Bench-201 cells, the surrogate as the only evaluator.

Six categorical parameters (one op per edge) and two objectives: maximise the accuracy the
surrogate predicts after one year of drift (hwa, 31,536,000 s) and minimise the parameter count of
the NB-201 macro network (``surrogate.nb201.macro_cost``). The sampler is NSGA-II, seeded. One
year lies beyond the model's fitted times (60 s to 30 d): it extrapolates, with a wider interval.

At the end the Pareto front is scored against AnalogNAS-Bench at its longest time (hwa, 30 d):
each cell's measured accuracy, and its regret against the best measured cell that has no more
parameters than it.

    pip install -e '.[examples]'
    python examples/optuna_search.py [--trials 300] [--seed 0] [--model anb-cifar10]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import optuna

import surrogate
from surrogate import Cell, data, nb201
from surrogate.cells import OPS

YEAR = 31_536_000  # seconds
TABLE_T = 2_592_000  # AnalogNAS-Bench's longest drift time, 30 days
PARAMS = [f"edge_{src}_{dst}" for src, dst in nb201.EDGES]


def cell_of(params: dict) -> Cell:
    """The NB-201 cell of one trial's parameters."""
    return Cell(4, [(src, dst, params[name]) for (src, dst), name in zip(nb201.EDGES, PARAMS)])


def make_objective(model):
    def objective(trial: optuna.Trial):
        cell = cell_of({name: trial.suggest_categorical(name, OPS) for name in PARAMS})
        p = model.predict(cell, YEAR, training="hwa")
        trial.set_user_attr("cell", cell.to_str())
        trial.set_user_attr("std", p.std)
        return p.accuracy, int(nb201.macro_cost([cell])[0][0])

    return objective


def search(n_trials: int, seed: int = 0, model="anb-cifar10") -> optuna.Study:
    """Run the NSGA-II study; returns it (``study.best_trials`` is the Pareto front)."""
    model = surrogate.load(model)
    sampler = optuna.samplers.NSGAIISampler(seed=seed)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    with warnings.catch_warnings():  # one year is outside the fitted range, on purpose
        warnings.filterwarnings("ignore", message="t_inference outside the fitted range")
        study.optimize(make_objective(model), n_trials=n_trials)
    return study


def score_front(study: optuna.Study, gt=None) -> list[dict]:
    """The Pareto front, one row per distinct cell, fewest parameters first, with table values."""
    gt = data.load_analognasbench() if gt is None else gt
    tg = gt.targets("hwa")
    measured = dict(zip(tg.cells, tg.mean[:, int(np.flatnonzero(tg.times == TABLE_T)[0])]))
    params_all, _ = nb201.macro_cost(tg.cells)
    acc_all = np.array([measured[c] for c in tg.cells])
    rows = {}
    for trial in study.best_trials:
        cell = Cell.from_dag_str(trial.user_attrs["cell"])  # what the objective stored: cell.to_str()
        params = int(trial.values[1])
        best_within = float(acc_all[params_all <= params].max())
        rows[cell] = {"cell": cell.to_str(), "params": params, "predicted_1y": trial.values[0],
                      "std_1y": trial.user_attrs["std"], "table_30d": float(measured[cell]),
                      "regret_30d": best_within - float(measured[cell])}
    return sorted(rows.values(), key=lambda r: (r["params"], -r["predicted_1y"]))


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="anb-cifar10", help="a shipped model name or a saved directory")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = search(args.trials, args.seed, args.model)
    rows = score_front(study)
    print(f"Pareto front after {args.trials} trials (NSGA-II, seed {args.seed}): {len(rows)} cells.")
    print("hwa accuracy predicted at 1 year, measured (AnalogNAS-Bench) at 30 days; regret: the best "
          "measured cell with no more parameters, minus this one.\n")
    print(f"{'params':>9}  {'pred 1 y %':>12}  {'table 30 d %':>12}  {'regret':>6}  cell")
    for r in rows:
        print(f"{r['params']:>9,}  {r['predicted_1y']:6.2f} ± {r['std_1y']:<4.2f}  {r['table_30d']:>12.2f}  "
              f"{r['regret_30d']:>6.2f}  {r['cell']}")
    return rows


if __name__ == "__main__":
    main()
