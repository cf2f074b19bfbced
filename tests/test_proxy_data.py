"""The shipped proxy data sets open, keep chips apart, and one stored cell is reproduced from its recipe."""

import numpy as np
import pytest

from surrogate import data
from surrogate.chips import CHIPS
from surrogate.simulate import get_profile, simulate_cell


@pytest.fixture(scope="module", params=["proxy-digits", "proxy-mnist"])
def proxy(request):
    return data.load(request.param)


def test_opens_with_its_recipe_and_chips(proxy):
    assert proxy.profile_hash == get_profile(proxy.profile_name).hash  # the built-in profile is the recorded recipe
    assert proxy.chips == ["anb-pcm", "pcm-noisy", "pcm-6bit", "pcm-nocomp", "reram-cmo"]
    assert all(proxy.chip_spec(c) == CHIPS[c].to_dict() for c in proxy.chips)
    assert proxy.times.tolist() == [60.0, 3600.0, 86400.0, 2592000.0, 31536000.0]
    with pytest.raises(ValueError, match="chips"):
        proxy.targets("hwa")  # five chips: never pooled


def test_a_stored_cell_is_reproduced(proxy):
    cell = proxy.cells[0]
    again = simulate_cell(proxy.profile_name, cell, 0, chips=["anb-pcm"])
    stored = proxy.for_chip("anb-pcm").subset([cell]).to_frame()
    stored = stored[stored["seed"] == 0].set_index(["training", "t_inference"])
    # bit for bit on the CPU model that stored it; on another the float kernels round differently, the
    # training drifts apart, and a cell lands within its repetition noise (3 stds of the stored spread)
    for chip, training, t, mean, std, n in again.rows:
        want = stored.loc[(training, t)]
        assert abs(mean - want["accuracy"]) <= 3 * max(want["std"], 0.5), (training, t, mean, want["accuracy"])
    assert np.isfinite(again.extras["digital"])


def test_every_cell_file_of_the_data_set_plan_reads():
    """The phases' cell files predate the strict NB-201 reader: all of them must still read (the DAG
    phase once stopped on its first line), NB-201 files as NB-201 cells, the DAG file as 5-7-node DAGs."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmark_data" / "simulate_proxy.py"
    spec = importlib.util.spec_from_file_location("simulate_proxy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("all-chips", "seed1", "nb201"):
        cells = module.read_cells(name, None)
        assert cells and all(c.is_nb201 for c in cells), name
    dags = module.read_cells("dags", None)
    assert len(dags) >= 150 and all(5 <= c.num_nodes <= 7 and not c.is_nb201 for c in dags)
    assert len(module.read_cells("dags", 10)) == 10
