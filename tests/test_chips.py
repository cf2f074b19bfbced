import shutil

import numpy as np
import pytest

from surrogate.chips import CHIPS, DEFAULT_CHIP, Chip, get_chip, profile_chips
from surrogate.data import SCHEMA_VERSION, Store
from surrogate.simulate import get_profile, make_rpu_config

V1_FILE = "tests/data/store_v1.sqlite"  # written by surrogate 0.1.0 (schema 1), kept to prove the upgrade


def test_presets_are_the_data_sets_chips():
    assert DEFAULT_CHIP == "anb-pcm" and len(CHIPS) >= 5
    assert {c.device for c in CHIPS.values()} >= {"pcm", "reram-cmo"}
    assert get_chip() is CHIPS["anb-pcm"] and get_chip("pcm-6bit").adc_bits == 6
    assert len({c.hash for c in CHIPS.values()}) == len(CHIPS)


def test_hash_follows_content_not_construction(tmp_path):
    a = Chip(name="x", adc_bits=6, g_max=25)
    b = Chip.from_dict({"g_max": 25.0, "adc_bits": 6, "name": "x"})
    path = tmp_path / "chip.json"
    path.write_text('{"name": "x", "adc_bits": 6}')
    assert a == b == get_chip(path) and a.hash == b.hash == get_chip(path).hash
    assert Chip(name="x", adc_bits=7).hash != a.hash and Chip(name="y", adc_bits=6).hash != a.hash
    assert Chip.from_dict(a.to_dict()) == a and a.to_dict()["dac_bits"] == 8


@pytest.mark.parametrize("fields, match", [
    ({}, "non-empty string 'name'"),
    ({"name": "x", "device": "sram"}, "'device' must be one of"),
    ({"name": "x", "adc_bits": 20}, "between 2 and 16"),
    ({"name": "x", "adc_bits": 6.0}, "'adc_bits' must be int"),
    ({"name": "x", "g_max": -1.0}, "'g_max' must be > 0"),
    ({"name": "x", "drift_scale": -0.5}, "'drift_scale' must be >= 0"),
    ({"name": "x", "drift_compensation": "local"}, "'drift_compensation' must be one of"),
    ({"name": "x", "device": "pcm-hermes", "g_max": 25.0}, "up to g_max 20.7"),
    ({"name": "x", "colour": "red"}, "unknown chip settings"),
])
def test_bad_chips(fields, match):
    with pytest.raises(ValueError, match=match):
        Chip(**fields)


def test_unknown_chip_name():
    with pytest.raises(ValueError, match="no chip 'tpu'.*anb-pcm"):
        get_chip("tpu")


def test_rpu_config_is_the_chip_with_the_training_settings():
    from aihwkit.inference import PCMLikeNoiseModel
    from aihwkit.inference.noise.reram import ReRamCMONoiseModel

    anb = make_rpu_config({}, "anb-pcm")
    assert isinstance(anb.noise_model, PCMLikeNoiseModel) and anb.drift_compensation is not None
    assert anb.forward.inp_res == anb.forward.out_res == pytest.approx(1 / 254)  # AnalogNAS-Bench's 8 bits
    six = make_rpu_config({"weight_noise": 0.1}, "pcm-6bit")
    assert six.forward.out_res == pytest.approx(1 / 62) and six.modifier.std_dev == pytest.approx(0.1)
    assert make_rpu_config({}, "pcm-nocomp").drift_compensation is None
    assert make_rpu_config({}, "pcm-noisy").noise_model.prog_noise_scale == 2.0
    assert isinstance(make_rpu_config({}, "reram-cmo").noise_model, ReRamCMONoiseModel)


def test_profiles_carry_full_chip_definitions():
    prof = get_profile({"name": "p", "dataset": {"name": "synthetic"}, "t_inference": [60], "repetitions": 1,
                        "chips": ["anb-pcm", {"name": "mine", "adc_bits": 5}]})
    assert [c.name for c in prof.chips] == ["anb-pcm", "mine"] and prof.chips[1].adc_bits == 5
    assert prof["chips"][0] == CHIPS["anb-pcm"].to_dict()
    plain = get_profile({"name": "p", "dataset": {"name": "synthetic"}, "t_inference": [60], "repetitions": 1})
    assert [c.name for c in plain.chips] == ["anb-pcm"] and plain.hash != prof.hash


def test_v1_profiles_name_the_chip_their_rpu_described():
    rpu = {"g_max": 25.0, "out_noise": 0.04, "inp_res": 1 / 254, "out_res": 1 / 254, "drift_compensation": "global"}
    assert list(profile_chips({"name": "p", "rpu": rpu})) == ["anb-pcm"]
    assert list(profile_chips({"name": "p"})) == ["anb-pcm"]
    other = profile_chips({"name": "p", "rpu": dict(rpu, inp_res=1 / 62)})
    assert list(other) == ["v1-chip"] and other["v1-chip"]["dac_bits"] == 6


def test_version_1_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(V1_FILE, path)
    with Store(path) as store:
        profiles = store.profiles()
        gt = store.load("proxy-digits")
        other = store.load("proxy-6bit")
        assert store.rounds() == []
    assert [p["name"] for p in profiles] == ["proxy-digits", "proxy-6bit"]  # stored JSON untouched
    assert len(gt) == 12 and gt.chips == ["anb-pcm"] and set(gt.to_frame()["source"]) == {"simulation"}
    assert other.chips == ["v1-chip"] and other.chip_spec("v1-chip")["adc_bits"] == 6
    _, times, mean, _, _ = gt.targets("hwa")
    assert times.tolist() == [60.0, 86400.0] and mean[0].tolist() == pytest.approx([60.0 - 60 / 86400, 59.0])
    assert gt.extras_frame()["digital"].tolist() == [90.0, 91.0, 92.0]
    import sqlite3

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    conn.close()
    with Store(path) as store:  # a second open finds version 2 and changes nothing
        assert np.array_equal(store.load("proxy-digits").targets("hwa").mean, mean)
