import math

import pytest

from surrogate import Cell
from surrogate.simulate import get_profile, simulate_cell

CELL = Cell.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")


@pytest.fixture(scope="module")
def smoke_result():
    return simulate_cell("smoke", CELL, 0)


def test_rows_and_extras(smoke_result):
    prof = get_profile("smoke")
    times = prof["t_inference"]
    assert [r[:3] for r in smoke_result.rows] == [("anb-pcm", tr, t) for tr in ("standard", "hwa") for t in times]
    for chip, training, t, mean, std, n in smoke_result.rows:
        assert 0 <= mean <= 100 and std >= 0 and n == prof["repetitions"]
    assert set(smoke_result.extras) == {"digital", "standard_t0", "hwa_t0", "seconds_train",
                                        "seconds_hwa", "seconds_eval", "on_cuda"}
    assert smoke_result.extras["on_cuda"] == 0.0
    assert all(math.isfinite(v) for v in smoke_result.extras.values())
    assert smoke_result.profile_hash == prof.hash and smoke_result.cell == CELL


def test_same_inputs_same_numbers(smoke_result):
    again = simulate_cell(get_profile("smoke").to_dict(), CELL.to_str(), 0)
    assert again.rows == smoke_result.rows
    timings = {"seconds_train", "seconds_hwa", "seconds_eval"}
    assert {k: v for k, v in again.extras.items() if k not in timings} == \
        {k: v for k, v in smoke_result.extras.items() if k not in timings}


def test_seed_and_protocol_change_the_numbers(smoke_result):
    assert simulate_cell("smoke", CELL, 1).rows != smoke_result.rows
    once = get_profile("smoke").to_dict()
    once["reprogram"] = False
    assert simulate_cell(once, CELL, 0).rows != smoke_result.rows


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        simulate_cell("smoke", CELL, -1)


def _two_chips(**second):
    prof = get_profile("smoke").to_dict()
    prof["chips"] = [{"name": "a", "out_noise": 0.0}, {"name": "b", "out_noise": 0.0, **second}]
    return prof


def test_every_chip_measures_the_same_trained_networks():
    """Two chips with equal settings see the same digital and HWA weights: equal noiseless t0 accuracy."""
    result = simulate_cell(_two_chips(), CELL, 0)
    assert {r[0] for r in result.rows} == {"a", "b"}
    assert result.extras["standard_t0"] == result.extras["standard_t0@b"]
    assert result.extras["hwa_t0"] == result.extras["hwa_t0@b"]
    assert {"seconds_eval", "seconds_eval@b"} <= set(result.extras)


def test_a_chips_numbers_do_not_depend_on_the_others_measured():
    prof = _two_chips(drift_compensation="none", dac_bits=4)
    both = simulate_cell(prof, CELL, 0)
    alone = simulate_cell(prof, CELL, 0, chips=["a"])
    assert {r[0] for r in alone.rows} == {"a"}
    assert [r for r in both.rows if r[0] == "a"] == list(alone.rows)
    assert [r[3] for r in both.rows if r[0] == "b"] != [r[3] for r in alone.rows]
    with pytest.raises(ValueError, match="not in the profile"):
        simulate_cell(prof, CELL, 0, chips=["c"])


def test_device_choice():
    import torch

    with pytest.raises(ValueError, match="device must be"):
        simulate_cell("smoke", CELL, 0, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no GPU"):
            simulate_cell("smoke", CELL, 0, device="cuda")
        auto = simulate_cell("smoke", CELL, 0, device="auto")  # no GPU: the CPU path, same numbers
        assert auto.rows == simulate_cell("smoke", CELL, 0).rows and auto.extras["on_cuda"] == 0.0
