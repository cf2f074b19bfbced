"""Inference chips: what a trained network is programmed onto, defined once.

A :class:`Chip` fixes everything about the hardware that a network meets *after* training: the
device's noise and drift model, its conductance range, the converters' resolution, the output
noise and bound of the analog MVM, and whether drift is compensated. It is a validated, hashed,
immutable value. The simulator turns it into an aihwkit RPU configuration
(:func:`surrogate.simulate.make_rpu_config`); the models take its :meth:`~Chip.features` as an input
and refuse a chip they were not fitted on.

The presets are the chips of our proxy data set; ``anb-pcm`` is the chip of AnalogNAS-Bench.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .hashed import HashedValue

__all__ = ["Chip", "CHIPS", "CHIP_FEATURES", "DEFAULT_CHIP", "DEVICES", "chip_hash", "get_chip"]

#: Device families, each with its own noise and drift model in the simulator.
DEVICES = {
    "pcm": "phase-change memory (Nandakumar et al. 2019)",
    "pcm-hermes": "phase-change memory of IBM's HERMES project chip",
    "reram-cmo": "CMO/HfOx resistive memory, log-time decay",
}
_COMPENSATION = ("global", "none")

#: Field -> (default, kind, description). ``None`` defaults are filled per device.
_FIELDS: dict[str, tuple] = {
    "name": (None, str, "a short name"),
    "device": ("pcm", str, f"device family, one of {sorted(DEVICES)}"),
    "g_max": (None, float, "maximum conductance, uS (per device family default: 25, 20.7, 88.19)"),
    "prog_noise_scale": (1.0, float, "multiplies the device's programming noise"),
    "read_noise_scale": (1.0, float, "multiplies the device's read (1/f) noise"),
    "drift_scale": (1.0, float, "multiplies the device's drift"),
    "dac_bits": (8, int, "input (DAC) resolution, bits"),
    "adc_bits": (8, int, "output (ADC) resolution, bits"),
    "out_noise": (0.04, float, "additive output noise of every analog MVM (std, relative to the bound)"),
    "out_bound": (10.0, float, "output bound of the analog MVM"),
    "drift_compensation": ("global", str, f"one of {_COMPENSATION}"),
}
_G_MAX = {"pcm": 25.0, "pcm-hermes": 20.7, "reram-cmo": 88.19}
#: Names of the entries of :meth:`Chip.features`, the models' chip input.
CHIP_FEATURES: tuple[str, ...] = (*(f"device={d}" for d in DEVICES), "prog_noise_scale", "read_noise_scale",
                                  "drift_scale", "dac_bits/8", "adc_bits/8", "10*out_noise", "log10 out_bound",
                                  "log10 g_max/device default", "drift_compensation=global")
#: What the simulator, not the chip, makes of a chip's settings.
_SIMULATOR = {"noise_model": "surrogate.simulate.noise_model(chip)",
              "rpu_config": "surrogate.simulate.make_rpu_config(rpu, chip)"}


class Chip(HashedValue):
    """An inference chip. Build with ``Chip(name=..., **fields)``, :meth:`from_dict`, or :func:`get_chip`.

    Fields (all but ``name`` have defaults, the AnalogNAS-Bench PCM chip's): ``device``,
    ``g_max``, ``prog_noise_scale``, ``read_noise_scale``, ``drift_scale``, ``dac_bits``,
    ``adc_bits``, ``out_noise``, ``out_bound``, ``drift_compensation``; each is an attribute, and
    the chip reads like the dict of them. Two chips with the same fields have the same
    :attr:`hash`; the name is part of the hash, so renaming one is a new chip.
    """

    __slots__ = ()

    def __init__(self, **fields):
        self._set(fields)

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Chip:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"chip file {str(path)!r} is not valid JSON: {err}") from None
        return cls.from_dict(data)

    def __getattr__(self, key):
        if key in _SIMULATOR:
            raise AttributeError(f"Chip.{key} moved to the simulator: use {_SIMULATOR[key]}")
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._dict[key]
        except KeyError:
            raise AttributeError(f"Chip has no field {key!r}; fields: {list(_FIELDS)}") from None

    def __repr__(self) -> str:
        return f"Chip({self.name!r}, device={self.device!r}, hash={self._hash!r})"

    def features(self) -> np.ndarray:
        """The chip as a model input: ``float32[len(CHIP_FEATURES)]``, each entry of order one.

        Everything a model learns about chips comes through this vector, so two chips with the
        same settings are the same input whatever their names.
        """
        d = self._dict
        values = [float(d["device"] == device) for device in DEVICES]
        values += [d["prog_noise_scale"], d["read_noise_scale"], d["drift_scale"], d["dac_bits"] / 8,
                   d["adc_bits"] / 8, d["out_noise"] * 10, math.log10(d["out_bound"]),
                   math.log10(d["g_max"] / _G_MAX[d["device"]]), float(d["drift_compensation"] == "global")]
        return np.asarray(values, dtype=np.float32)

    @classmethod
    def _normalise(cls, fields: Mapping) -> dict:
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown chip settings {sorted(unknown)}; accepted: {list(_FIELDS)}")
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a chip needs a non-empty string 'name', got {name!r}")
        out = {}
        for key, (default, kind, what) in _FIELDS.items():
            value = fields.get(key, default)
            if value is None and key == "g_max":
                value = _G_MAX.get(out.get("device"))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ValueError(f"chip setting {key!r} must be {kind.__name__} ({what}), got {value!r}")
            out[key] = value
            if key == "device" and value not in DEVICES:
                raise ValueError(f"chip setting 'device' must be one of {sorted(DEVICES)}, got {value!r}")
        if out["drift_compensation"] not in _COMPENSATION:
            raise ValueError(f"chip setting 'drift_compensation' must be one of {_COMPENSATION}, "
                             f"got {out['drift_compensation']!r}")
        for key in ("g_max", "out_bound"):
            if not out[key] > 0:
                raise ValueError(f"chip setting {key!r} must be > 0, got {out[key]!r}")
        for key in ("prog_noise_scale", "read_noise_scale", "drift_scale", "out_noise"):
            if out[key] < 0:
                raise ValueError(f"chip setting {key!r} must be >= 0, got {out[key]!r}")
        for key in ("dac_bits", "adc_bits"):
            if not 2 <= out[key] <= 16:
                raise ValueError(f"chip setting {key!r} must be between 2 and 16 bits, got {out[key]!r}")
        if out["device"] == "pcm-hermes" and out["g_max"] > 20.7:
            raise ValueError(f"HERMES PCM is characterised up to g_max 20.7 uS, got {out['g_max']!r}")
        return out


#: The chips of our data set, by name. ``anb-pcm`` is AnalogNAS-Bench's (and every profile's default).
CHIPS: dict[str, Chip] = {c.name: c for c in (
    Chip(name="anb-pcm"),
    # aihwkit's PCM noise is relative to g_max, so a lower g_max alone changes nothing: a noisier
    # programming step is its programming noise doubled
    Chip(name="pcm-noisy", prog_noise_scale=2.0),
    Chip(name="pcm-6bit", dac_bits=6, adc_bits=6),
    Chip(name="pcm-nocomp", drift_compensation="none"),
    Chip(name="reram-cmo", device="reram-cmo"),
    Chip(name="pcm-hermes", device="pcm-hermes"),
)}
DEFAULT_CHIP = "anb-pcm"


def get_chip(chip: str | os.PathLike | Mapping | Chip | None = None) -> Chip:
    """A chip by preset name, JSON file, dict, or itself; ``None`` is :data:`DEFAULT_CHIP`."""
    if chip is None:
        return CHIPS[DEFAULT_CHIP]
    if isinstance(chip, Mapping):
        return Chip.from_dict(chip)
    if isinstance(chip, str) and chip in CHIPS:
        return CHIPS[chip]
    if isinstance(chip, (str, os.PathLike)) and Path(chip).is_file():
        return Chip.from_json(chip)
    accepted = (f"chip must be a preset name ({', '.join(CHIPS)}), a Chip, a chip dict or the path of a JSON "
                "chip file")
    if isinstance(chip, (str, os.PathLike)):
        raise ValueError(f"no chip {str(chip)!r}: {accepted}")
    raise ValueError(f"{accepted}; got {type(chip).__name__} {chip!r}")


def chip_hash(chip: Mapping) -> str:
    """The hash of a chip given as a dict (the same as ``Chip.from_dict(chip).hash``)."""
    return Chip.from_dict(chip).hash
