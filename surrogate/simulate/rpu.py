"""aihwkit RPU configurations from a plain dict, so that a profile can hash and store them.

aihwkit is imported inside the functions only: ``import surrogate.simulate`` must stay free of it.
On this project's CPU machines the pure-PyTorch ``TorchInferenceRPUConfig`` tile is used; the C++
``InferenceRPUConfig`` tile fails there ("weights must be a CPU tensor").
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ANB_RPU", "make_rpu_config", "check_rpu_spec"]

#: Training-side settings of the AnalogNAS-Bench configuration (its ``training_script.py``). The
#: hardware side (noise model, converters, output noise, drift compensation) is a
#: :class:`surrogate.chips.Chip`; AnalogNAS-Bench's is the preset ``anb-pcm``.
ANB_RPU: dict = {
    "weight_noise": 0.06,      # ADD_NORMAL weight modifier during HWA training (std, relative to max)
    "input_range": True,       # learned input ranges (replaces noise/bound management)
    "remap": "layerwise_symmetric",
    "clip_sigma": 2.0,         # LAYER_GAUSSIAN weight clipping
}
#: Settings that moved to the chip in schema 2 of the profiles; a profile that still gives them
#: is refused with a pointer to ``chips``.
_CHIP_KEYS = ("out_noise", "inp_res", "out_res", "out_bound", "g_max", "drift_compensation")

_CHOICES = {"remap": ("layerwise_symmetric", "none")}


def check_rpu_spec(spec: Mapping) -> dict:
    """Fill defaults from :data:`ANB_RPU` and refuse unknown keys or values."""
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
    for key, choices in _CHOICES.items():
        if out[key] not in choices:
            raise ValueError(f"RPU setting {key!r} must be one of {choices}, got {out[key]!r}")
    for key in ("weight_noise", "clip_sigma"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"RPU setting {key!r} must be a non-negative number, got {value!r}")
    if not isinstance(out["input_range"], bool):
        raise ValueError(f"RPU setting 'input_range' must be true or false, got {out['input_range']!r}")
    return out


def make_rpu_config(spec: Mapping | None = None, chip=None):
    """A ``TorchInferenceRPUConfig``: training settings ``spec`` (default :data:`ANB_RPU`) on ``chip``.

    ``chip`` is a :class:`~surrogate.chips.Chip` or anything :func:`~surrogate.chips.get_chip`
    takes (default: the AnalogNAS-Bench PCM chip).
    """
    from aihwkit.inference import GlobalDriftCompensation
    from aihwkit.simulator.configs import TorchInferenceRPUConfig
    from aihwkit.simulator.parameters.enums import (
        BoundManagementType,
        NoiseManagementType,
        WeightClipType,
        WeightModifierType,
        WeightNoiseType,
        WeightRemapType,
    )

    from ..chips import get_chip

    s = check_rpu_spec(spec or {})
    c = get_chip(chip)
    rpu = TorchInferenceRPUConfig()
    rpu.modifier.type = WeightModifierType.ADD_NORMAL
    rpu.modifier.std_dev = float(s["weight_noise"])
    rpu.forward.out_noise = float(c.out_noise)
    rpu.forward.w_noise_type = WeightNoiseType.NONE
    rpu.forward.inp_res = 1.0 / (2 ** c.dac_bits - 2)   # 8 bits: 1/254, as upstream
    rpu.forward.out_res = 1.0 / (2 ** c.adc_bits - 2)
    rpu.forward.out_bound = float(c.out_bound)
    if s["input_range"]:
        rpu.pre_post.input_range.enable = True
        rpu.forward.noise_management = NoiseManagementType.NONE
        rpu.forward.bound_management = BoundManagementType.NONE
    rpu.remap.type = (WeightRemapType.LAYERWISE_SYMMETRIC if s["remap"] == "layerwise_symmetric"
                      else WeightRemapType.NONE)
    rpu.clip.type = WeightClipType.LAYER_GAUSSIAN
    rpu.clip.sigma = float(s["clip_sigma"])
    rpu.noise_model = c.noise_model()
    rpu.drift_compensation = GlobalDriftCompensation() if c.drift_compensation == "global" else None
    return rpu
