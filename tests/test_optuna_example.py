"""examples/optuna_search.py runs end to end with a few trials (needs the `examples` extra)."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("optuna")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "optuna_search.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("optuna_search", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_optuna_example_runs_and_scores_its_front(example, capsys):
    rows = example.main(["--trials", "24", "--seed", "3"])
    out = capsys.readouterr().out
    assert "Pareto front after 24 trials" in out and rows
    for r in rows:
        assert r["cell"] in out and 10 <= r["table_30d"] <= 100 and r["regret_30d"] >= 0
    # non-dominated: fewer parameters never comes with a higher predicted accuracy
    for a in rows:
        assert not any(b["params"] <= a["params"] and b["predicted_1y"] > a["predicted_1y"]
                       and (b["params"], b["predicted_1y"]) != (a["params"], a["predicted_1y"]) for b in rows)
    again = example.score_front(example.search(24, seed=3))
    assert [r["cell"] for r in again] == [r["cell"] for r in rows]  # seeded


def test_cell_of_follows_nb201_edge_order(example):
    params = dict(zip(example.PARAMS, ["nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect",
                                       "nor_conv_3x3", "none"]))
    assert example.cell_of(params).to_anb() == (2, 2, 0, 4, 2, 1)
