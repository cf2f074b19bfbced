"""Profiles: the recipe behind a table of measurements, named by its hash.

Any table names its recipe by a JSON dict with a ``"name"`` (:func:`check_profile`); the hash of
that dict (:func:`profile_hash`) is stored with every row, so rows of two recipes never mix
silently. A simulation :class:`Profile` is such a dict, complete and checked: it fixes everything
that changes the numbers (data, network size, training, the training-side RPU settings, the
chips, inference times, repetitions, the programming protocol). Plain numbers and names only:
the simulator (:mod:`surrogate.simulate`) is what makes them into networks and aihwkit settings.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from .chips import CHIPS, DEFAULT_CHIP, Chip, get_chip
from .hashed import HashedValue, canonical_json, digest
from .vocabulary import check_t_inference

__all__ = ["ANB_RPU", "DATASETS", "Profile", "check_profile", "check_rpu_spec", "default_chip", "get_profile",
           "list_profiles", "profile_chips", "profile_hash"]

#: The data sets a simulation profile may train on (loaded by :func:`surrogate.simulate.load_dataset`).
DATASETS = ("digits", "mnist", "patches", "cifar10", "synthetic")

#: Training-side settings of the AnalogNAS-Bench configuration (its ``training_script.py``). The
#: hardware side (noise model, converters, output noise, drift compensation) is a
#: :class:`~surrogate.core.chips.Chip`; AnalogNAS-Bench's is the preset ``anb-pcm``.
ANB_RPU: dict = {
    "weight_noise": 0.06,      # ADD_NORMAL weight modifier during HWA training (std, relative to max)
    "input_range": True,       # learned input ranges (replaces noise/bound management)
    "remap": "layerwise_symmetric",
    "clip_sigma": 2.0,         # LAYER_GAUSSIAN weight clipping
}
#: Settings that moved to the chip in schema 2 of the profiles; a profile that still gives them
#: is refused with a pointer to ``chips``.
_CHIP_KEYS = ("out_noise", "inp_res", "out_res", "out_bound", "g_max", "drift_compensation")
_RPU_CHOICES = {"remap": ("layerwise_symmetric", "none")}

_SECTIONS = {
    "name": str,
    "description": str,
    "dataset": dict,
    "network": dict,
    "train": dict,
    "hwa": dict,
    "rpu": dict,
    "chips": list,
    "t_inference": list,
    "repetitions": int,
    "reprogram": bool,
}
_TRAIN_DEFAULTS = {"epochs": 1, "batch_size": 64, "lr": 0.1, "momentum": 0.9, "nesterov": True,
                   "weight_decay": 5e-4, "augment": False}
_HWA_DEFAULTS = {"epochs": 1, "batch_size": 64, "lr": 0.01, "momentum": 0.0, "nesterov": False,
                 "weight_decay": 0.0, "augment": False}
_NETWORK_DEFAULTS = {"width": 16, "depth": 5}


# ---------------------------------------------------------------------- any table's recipe
def check_profile(profile: Any) -> dict:
    """``profile`` as a dict, if it is plain JSON with a non-empty ``"name"``."""
    if not isinstance(profile, Mapping):
        raise ValueError(f"a profile is a dict with at least a 'name' key, got {type(profile).__name__}")
    profile = dict(profile)
    name = profile.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a profile needs a non-empty string 'name', got {name!r}")
    try:
        canonical_json(profile)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"profile {name!r} is not plain JSON (dicts with str keys, lists, str, int, finite float, "
            f"bool, None): {err}"
        ) from None
    return profile


def profile_hash(profile: Mapping) -> str:
    """A stable 16-hex-digit name for a profile: sha256 of its canonical JSON.

    Canonical JSON sorts keys and uses compact separators, so two dicts with the same content
    hash alike whatever their key order. Any change to the recipe changes the hash.
    """
    return digest(canonical_json(check_profile(profile)))


def profile_chips(profile: Mapping) -> dict[str, Chip]:
    """The chips a profile measures on, ``name -> Chip``, the default first.

    A profile without ``chips`` (version-1 stores, hand-written tables) measured on one chip:
    the one its ``rpu`` section describes, or else AnalogNAS-Bench's.
    """
    given = profile.get("chips")
    chips = [get_chip(c) for c in given] if given else [_chip_from_v1_rpu(profile.get("rpu") or {})]
    return {c.name: c for c in chips}


def default_chip(profile: Mapping) -> Chip:
    """The profile's default chip (the first of :func:`profile_chips`)."""
    return next(iter(profile_chips(profile).values()))


def _chip_from_v1_rpu(rpu: Mapping) -> Chip:
    """The chip that a version-1 profile's ``rpu`` section described (its hardware keys)."""
    if not isinstance(rpu, Mapping):
        return CHIPS[DEFAULT_CHIP]
    base = CHIPS[DEFAULT_CHIP].to_dict()
    fields = {k: rpu[k] for k in ("g_max", "out_noise", "out_bound", "drift_compensation") if k in rpu}
    for res, bits in (("inp_res", "dac_bits"), ("out_res", "adc_bits")):
        if isinstance(rpu.get(res), (int, float)) and rpu[res] > 0:
            fields[bits] = int(round(math.log2(1 / rpu[res] + 2)))
    chip = Chip(**{**base, **fields})
    return chip if chip == CHIPS[DEFAULT_CHIP] else Chip(**{**base, **fields, "name": "v1-chip"})


# ---------------------------------------------------------------------- a simulation recipe
class Profile(HashedValue):
    """An immutable simulation recipe. Build with :meth:`from_dict` or :func:`get_profile`.

    Sections: ``dataset`` (see :func:`~surrogate.simulate.datasets.load_dataset`), ``network``
    (``width``, ``depth``), ``train`` and ``hwa`` (SGD epochs, batch size, lr, momentum, nesterov,
    weight decay, augment; cosine schedule), ``rpu`` (training-side analog settings, see
    :data:`ANB_RPU`), ``chips`` (the inference chips every trained network is measured on, preset
    names or chip dicts, see :class:`~surrogate.core.chips.Chip`; the first is the default, on
    which HWA training runs; default ``["anb-pcm"]``), ``t_inference`` (seconds),
    ``repetitions`` and ``reprogram`` (program anew for each repetition; ``false`` is the upstream
    protocol: program once, drift ``repetitions`` times).
    """

    __slots__ = ("_chips",)

    def _set(self, data: Mapping) -> None:
        super()._set(data)
        self._chips = [Chip.from_dict(c) for c in self._dict["chips"]]

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Profile:
        with open(path, encoding="utf-8") as fh:
            try:
                data = json.load(fh)
            except json.JSONDecodeError as err:
                raise ValueError(f"profile file {str(path)!r} is not valid JSON: {err}") from None
        return cls(data)

    def to_json(self) -> str:
        return json.dumps(self._dict, sort_keys=True, indent=2)

    @property
    def chips(self) -> list[Chip]:
        """The profile's chips, the default first."""
        return list(self._chips)

    def select_chips(self, names=None) -> list[str]:
        """The names of the chips to measure: ``names`` (one or several of the profile's chips) and
        the default chip, which is always measured; every chip for ``None``. In the profile's order."""
        every = [c.name for c in self._chips]
        if names is None:
            return every
        names = [names] if isinstance(names, str) else list(names)
        unknown = [c for c in names if c not in every]
        if unknown:
            raise ValueError(f"chips {unknown} are not in the profile; its chips: {every}")
        return [c for c in every if c == every[0] or c in names]

    @classmethod
    def _normalise(cls, data: Mapping) -> dict:
        """Check a profile dict, fill defaults, and return a JSON-plain copy."""
        if isinstance(data, Profile):
            return data.to_dict()
        if not isinstance(data, Mapping):
            raise ValueError(f"a profile is a mapping (or a JSON object), got {type(data).__name__}")
        unknown = set(data) - set(_SECTIONS)
        if unknown:
            raise ValueError(f"unknown profile keys {sorted(unknown)}; accepted: {sorted(_SECTIONS)}")
        missing = {"name", "dataset", "t_inference", "repetitions"} - set(data)
        if missing:
            raise ValueError(f"a profile needs {sorted(missing)}; got keys {sorted(data)}")
        d = json.loads(json.dumps(dict(data)))  # plain JSON types, deep copy
        for key, kind in _SECTIONS.items():
            if key in d and not isinstance(d[key], kind) or (kind is int and isinstance(d.get(key), bool)):
                raise ValueError(f"profile key {key!r} must be a {kind.__name__}, got {d[key]!r}")
        if not d["name"]:
            raise ValueError("a profile needs a non-empty name")
        if d["dataset"].get("name") not in DATASETS:
            raise ValueError(f"profile dataset name must be one of {DATASETS}, got {d['dataset'].get('name')!r}")
        d["network"] = _fill("network", d.get("network", {}), _NETWORK_DEFAULTS)
        d["train"] = _fill("train", d.get("train", {}), _TRAIN_DEFAULTS)
        d["hwa"] = _fill("hwa", d.get("hwa", {}), _HWA_DEFAULTS)
        d["rpu"] = check_rpu_spec(d.get("rpu", {}))
        d["chips"] = _chips(d.get("chips", [DEFAULT_CHIP]))
        d.setdefault("reprogram", True)
        d.setdefault("description", "")
        times, _ = check_t_inference(d["t_inference"], zero_ok=True)
        if len(set(times.tolist())) != len(times):
            raise ValueError(f"t_inference has repeated times: {d['t_inference']!r}")
        d["t_inference"] = times.tolist()
        if d["repetitions"] < 1:
            raise ValueError(f"repetitions must be >= 1, got {d['repetitions']!r}")
        return d


def check_rpu_spec(spec: Mapping) -> dict:
    """A profile's ``rpu`` section with defaults from :data:`ANB_RPU`; unknown keys or values refused."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"an RPU spec is a mapping of settings, got {type(spec).__name__}")
    moved = sorted(set(spec) & set(_CHIP_KEYS))
    if moved:
        raise ValueError(f"RPU settings {moved} describe the chip: give them in the profile's 'chips' "
                         "(see surrogate.chips.Chip), not in 'rpu'")
    unknown = set(spec) - set(ANB_RPU)
    if unknown:
        raise ValueError(f"unknown RPU settings {sorted(unknown)}; accepted: {sorted(ANB_RPU)}")
    out = {**ANB_RPU, **spec}
    for key, choices in _RPU_CHOICES.items():
        if out[key] not in choices:
            raise ValueError(f"RPU setting {key!r} must be one of {choices}, got {out[key]!r}")
    for key in ("weight_noise", "clip_sigma"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"RPU setting {key!r} must be a non-negative number, got {value!r}")
    if not isinstance(out["input_range"], bool):
        raise ValueError(f"RPU setting 'input_range' must be true or false, got {out['input_range']!r}")
    return out


def _chips(given: list) -> list[dict]:
    if not given:
        raise ValueError("a profile's 'chips' lists at least one chip (the first is the default)")
    chips = [get_chip(c).to_dict() for c in given]
    names = [c["name"] for c in chips]
    if len(set(names)) != len(names):
        raise ValueError(f"a profile's chips need distinct names, got {names}")
    return chips


def _fill(section: str, given: Mapping, defaults: Mapping) -> dict:
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"unknown {section} settings {sorted(unknown)}; accepted: {sorted(defaults)}")
    out = {**defaults, **given}
    for key, default in defaults.items():
        value = out[key]
        ok = (isinstance(value, bool) if isinstance(default, bool)
              else not isinstance(value, bool) and isinstance(value, (int, float)) and value >= 0)
        if isinstance(default, int) and not isinstance(default, bool) and not isinstance(value, int):
            ok = False
        if not ok:
            raise ValueError(f"{section} setting {key!r} must be like {default!r}, got {value!r}")
    return out


def _builtin_dir():
    return resources.files("surrogate") / "profiles"


def list_profiles() -> list[str]:
    """Names of the built-in profiles."""
    return sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".json"))


def get_profile(profile: str | os.PathLike | Mapping | Profile) -> Profile:
    """A built-in profile by name, a JSON file by path, or a dict."""
    if isinstance(profile, Mapping):
        return Profile.from_dict(profile)
    if isinstance(profile, str) and profile in list_profiles():
        return Profile(json.loads((_builtin_dir() / f"{profile}.json").read_text(encoding="utf-8")))
    if isinstance(profile, (str, os.PathLike)) and Path(profile).is_file():
        return Profile.from_json(profile)
    raise ValueError(
        f"no profile {str(profile)!r}: give a built-in name ({', '.join(list_profiles())}) "
        "or the path of a JSON profile file"
    )
