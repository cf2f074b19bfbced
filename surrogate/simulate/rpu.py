"""What aihwkit makes of a chip and a profile's ``rpu`` section: the one place that knows aihwkit's
RPU configurations and noise models (the settings themselves are plain values in :mod:`surrogate.core`).

aihwkit is imported inside the functions only: ``import surrogate.simulate`` must stay free of it.
On this project's CPU machines the pure-PyTorch ``TorchInferenceRPUConfig`` tile is used; the C++
``InferenceRPUConfig`` tile fails there ("weights must be a CPU tensor").
"""

from __future__ import annotations

from collections.abc import Mapping

from ..core.chips import Chip, get_chip
from ..core.profiles import ANB_RPU, check_rpu_spec

__all__ = ["ANB_RPU", "make_rpu_config", "noise_model", "check_rpu_spec"]


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
    rpu.noise_model = noise_model(c)
    rpu.drift_compensation = GlobalDriftCompensation() if c.drift_compensation == "global" else None
    return rpu


def noise_model(chip: Chip):
    """The aihwkit inference noise model of ``chip``'s device, with its conductance and noise scales."""
    scales = {k: chip[k] for k in ("prog_noise_scale", "read_noise_scale", "drift_scale")}
    if chip.device == "pcm":
        from aihwkit.inference import PCMLikeNoiseModel

        return PCMLikeNoiseModel(g_max=chip.g_max, **scales)
    if chip.device == "pcm-hermes":
        from aihwkit.inference.noise.hermes import HermesNoiseModel

        return HermesNoiseModel(g_max=chip.g_max, **scales)
    from aihwkit.inference.noise.reram import ReRamCMONoiseModel

    return ReRamCMONoiseModel(g_max=chip.g_max, g_min=0.1 * chip.g_max, **scales)
