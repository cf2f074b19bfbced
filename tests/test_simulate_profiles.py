import json
import subprocess
import sys

import pytest

from surrogate.data import profile_hash
from surrogate.simulate import ANB_RPU, Profile, get_profile, list_profiles


def test_builtins():
    assert {"anb-cifar10", "proxy-digits", "smoke"} <= set(list_profiles())
    anb = get_profile("anb-cifar10")
    assert anb["train"]["epochs"] == 200 and anb["hwa"]["epochs"] == 200
    assert anb["repetitions"] == 25 and anb["rpu"] == ANB_RPU
    assert anb["t_inference"] == [60.0, 3600.0, 86400.0, 2592000.0]


def test_hash_is_the_store_definition_and_stable():
    p = get_profile("smoke")
    assert p.hash == profile_hash(p.to_dict())
    again = Profile(json.loads(json.dumps(p.to_dict())[::1]))
    assert again == p and again.hash == p.hash
    changed = p.to_dict()
    changed["repetitions"] += 1
    assert Profile(changed).hash != p.hash


def test_to_dict_is_a_copy():
    p = get_profile("smoke")
    d = p.to_dict()
    d["train"]["epochs"] = 99
    assert p["train"]["epochs"] == 1


def test_user_profile_from_json(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "dataset": {"name": "synthetic"},
                                "t_inference": [60], "repetitions": 1}))
    p = get_profile(str(path))
    assert p.name == "mine" and p["network"] == {"width": 16, "depth": 5} and p["reprogram"] is True


@pytest.mark.parametrize("change, match", [
    ({"epochs": 3}, "unknown profile keys"),
    ({"train": {"epoch": 3}}, "unknown train settings"),
    ({"train": {"epochs": 1.5}}, "train setting 'epochs'"),
    ({"rpu": {"weight_noise": -1}}, "'weight_noise' must be a non-negative"),
    ({"rpu": {"g_max": 25.0}}, "describe the chip"),
    ({"chips": []}, "at least one chip"),
    ({"chips": ["anb-pcm", "anb-pcm"]}, "distinct names"),
    ({"chips": ["no-such-chip"]}, "no chip 'no-such-chip'"),
    ({"chips": [{"name": "c", "adc_bits": 1}]}, "'adc_bits' must be between"),
    ({"rpu": {"remap": "other"}}, "'remap' must be one of"),
    ({"t_inference": []}, "t_inference"),
    ({"repetitions": 0}, "repetitions"),
    ({"dataset": {"name": "imagenet"}}, "dataset name"),
])
def test_bad_profiles(change, match):
    base = {"name": "x", "dataset": {"name": "synthetic"}, "t_inference": [60], "repetitions": 1}
    with pytest.raises(ValueError, match=match):
        Profile({**base, **change})


def test_unknown_profile_lists_builtins():
    with pytest.raises(ValueError, match="built-in name.*smoke"):
        get_profile("no-such-profile")


def test_import_surrogate_does_not_import_aihwkit():
    code = ("import sys, surrogate, surrogate.simulate, surrogate.cli; "
            "surrogate.simulate.get_profile('smoke'); surrogate.cli.build_parser(); "
            "assert 'aihwkit' not in sys.modules, 'aihwkit imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
