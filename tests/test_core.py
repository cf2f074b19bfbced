"""The ground floor: hashed values, the one check of a time and of a training, old addresses."""

import pickle
import warnings

import numpy as np
import pytest

import surrogate
from surrogate.core import CHIPS, Chip, Profile, check_t_inference, check_training, get_chip, get_profile


def test_hashes_are_those_every_store_and_saved_model_already_holds():
    assert CHIPS["anb-pcm"].hash == "3b698ab44018be4d" and CHIPS["reram-cmo"].hash == "fc51a52e19bad6cc"
    assert get_profile("smoke").hash == "84fcf4d307e1802a" and get_profile("proxy-digits").hash == "c1acacc4ec33988b"


@pytest.mark.parametrize("value", [CHIPS["pcm-6bit"], get_profile("smoke")])
def test_a_hashed_value_is_frozen_and_reads_like_its_dict(value):
    settings = value.to_dict()
    assert value == settings and dict(value) == settings and set(value) == set(settings)
    assert value["name"] == value.name and "name" in value and len(value) == len(settings)
    assert type(value).from_dict(settings) == value and type(value).from_dict(value) is value
    back = pickle.loads(pickle.dumps(value))
    assert back == value and back.hash == value.hash and hash(back) == hash(value)
    key = next(iter(settings))
    copy = value[key]
    if isinstance(copy, (dict, list)):  # a section handed out is a copy
        copy.clear()
        assert value[key] == settings[key]
    with pytest.raises((AttributeError, TypeError)):
        value["name"] = "other"
    assert Chip(name="x") != Profile({"name": "x", "dataset": {"name": "synthetic"}, "t_inference": [60],
                                      "repetitions": 1})


def test_a_chip_leaves_aihwkit_to_the_simulator():
    with pytest.raises(AttributeError, match="make_rpu_config"):
        CHIPS["anb-pcm"].rpu_config()
    with pytest.raises(AttributeError, match="surrogate.simulate.noise_model"):
        CHIPS["anb-pcm"].noise_model()
    assert get_chip(CHIPS["anb-pcm"].to_dict()) == CHIPS["anb-pcm"]


def test_a_measurement_may_be_at_zero_a_prediction_not():
    t, one = check_t_inference(0, zero_ok=True)
    assert t.tolist() == [0.0] and one
    t, one = check_t_inference([60, 3600.0])
    assert t.dtype == float and t.tolist() == [60.0, 3600.0] and not one
    for bad in (0, -1, float("nan"), float("inf"), [], [[60]], "60", True, [60, None]):
        with pytest.raises(ValueError, match="t_inference must be finite seconds > 0"):
            check_t_inference(bad)
    with pytest.raises(ValueError, match="t_ref must be finite seconds >= 0"):
        check_t_inference(-1, zero_ok=True, name="t_ref")
    profile = get_profile({"name": "p", "dataset": {"name": "synthetic"}, "t_inference": [0, 60], "repetitions": 1})
    assert profile["t_inference"] == [0.0, 60.0]


def test_one_check_of_a_training():
    assert check_training("standard") == 0 and check_training("hwa") == 1
    with pytest.raises(ValueError, match="unknown training 'digital'.*'standard'.*'hwa'"):
        check_training("digital")


def test_a_loaded_model_s_calibration_tables_keep_their_old_names():
    model = surrogate.load("anb-cifar10")
    with pytest.warns(DeprecationWarning, match="calibrator_.weights_"):
        weights = model.weights_
    assert weights is model.calibrator_.weights_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(model.times_, model.calibrator_.times_) and model.chip_ is model.chips_[0]
    with pytest.raises(AttributeError):
        model.no_such_attribute_
