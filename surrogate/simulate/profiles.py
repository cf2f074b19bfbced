"""Profiles: complete, named, hashed simulation recipes.

A profile fixes everything that changes the numbers (data, network size, training, the RPU
configuration, inference times, repetitions, the programming protocol). Its dict form is what gets
hashed and stored with every row, so rows of two recipes never mix silently.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from .datasets import DATASETS
from ..chips import DEFAULT_CHIP, get_chip
from .rpu import check_rpu_spec

__all__ = ["Profile", "get_profile", "list_profiles", "profile_hash"]

from ..data import profile_hash

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


class Profile:
    """An immutable simulation recipe. Build with :meth:`from_dict` or :func:`get_profile`.

    Sections: ``dataset`` (see :func:`~surrogate.simulate.datasets.load_dataset`), ``network``
    (``width``, ``depth``), ``train`` and ``hwa`` (SGD epochs, batch size, lr, momentum, nesterov,
    weight decay, augment; cosine schedule), ``rpu`` (training-side analog settings, see
    :data:`~surrogate.simulate.rpu.ANB_RPU`), ``chips`` (the inference chips every trained network is
    measured on, preset names or chip dicts, see :mod:`surrogate.chips`; the first is the default,
    on which HWA training runs; default ``["anb-pcm"]``),
    ``t_inference`` (seconds), ``repetitions`` and ``reprogram`` (program anew for each repetition;
    ``false`` is the upstream protocol: program once, drift ``repetitions`` times).
    """

    __slots__ = ("_dict", "_json", "_hash")

    def __init__(self, data: Mapping):
        self._dict = _normalise(data)
        self._json = json.dumps(self._dict, sort_keys=True, separators=(",", ":"))
        self._hash = profile_hash(self._dict)

    @classmethod
    def from_dict(cls, data: Mapping) -> Profile:
        return cls(data)

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Profile:
        with open(path, encoding="utf-8") as fh:
            try:
                data = json.load(fh)
            except json.JSONDecodeError as err:
                raise ValueError(f"profile file {str(path)!r} is not valid JSON: {err}") from None
        return cls(data)

    def to_dict(self) -> dict:
        """The canonical dict (a copy): what is hashed and stored."""
        return copy.deepcopy(self._dict)

    def to_json(self) -> str:
        return json.dumps(self._dict, sort_keys=True, indent=2)

    @property
    def name(self) -> str:
        return self._dict["name"]

    @property
    def hash(self) -> str:
        return self._hash

    @property
    def chips(self) -> list:
        """The profile's chips (:class:`~surrogate.chips.Chip`), the default first."""
        from ..chips import Chip

        return [Chip.from_dict(c) for c in self._dict["chips"]]

    def __getitem__(self, key: str):
        return copy.deepcopy(self._dict[key])

    def __eq__(self, other) -> bool:
        return isinstance(other, Profile) and self._json == other._json

    def __hash__(self) -> int:
        return hash(self._json)

    def __repr__(self) -> str:
        return f"Profile({self.name!r}, hash={self._hash!r})"

    def __reduce__(self):
        return (Profile, (self._dict,))


def _normalise(data: Mapping) -> dict:
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
    times = d["t_inference"]
    if not times or any(isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0 for t in times):
        raise ValueError(f"t_inference must be a non-empty list of seconds >= 0, got {times!r}")
    if len(set(times)) != len(times):
        raise ValueError(f"t_inference has repeated times: {times!r}")
    d["t_inference"] = [float(t) for t in times]
    if d["repetitions"] < 1:
        raise ValueError(f"repetitions must be >= 1, got {d['repetitions']!r}")
    return d


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
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, Mapping):
        return Profile(profile)
    if isinstance(profile, str) and profile in list_profiles():
        return Profile(json.loads((_builtin_dir() / f"{profile}.json").read_text(encoding="utf-8")))
    if isinstance(profile, (str, os.PathLike)) and Path(profile).is_file():
        return Profile.from_json(profile)
    raise ValueError(
        f"no profile {str(profile)!r}: give a built-in name ({', '.join(list_profiles())}) "
        "or the path of a JSON profile file"
    )
