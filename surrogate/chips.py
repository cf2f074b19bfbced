"""Inference chips, by their old address: everything here is defined in :mod:`surrogate.core.chips`
(and :func:`profile_chips` in :mod:`surrogate.core.profiles`)."""

from .core.chips import CHIP_FEATURES, CHIPS, DEFAULT_CHIP, DEVICES, Chip, chip_hash, get_chip
from .core.profiles import profile_chips

__all__ = ["Chip", "CHIPS", "CHIP_FEATURES", "DEFAULT_CHIP", "DEVICES", "chip_hash", "get_chip", "profile_chips"]
