"""The ground floor: what the package names, with nothing above it (the standard library and numpy).

- :mod:`~surrogate.core.hashed`: the frozen value known by its content (canonical JSON, SHA-256).
- :mod:`~surrogate.core.vocabulary`: the trainings, and what a time since programming may be.
- :mod:`~surrogate.core.chips`: :class:`Chip` and its presets.
- :mod:`~surrogate.core.profiles`: a table's recipe, its hash, and the simulation :class:`Profile`.
- :mod:`~surrogate.core.anb`: AnalogNAS-Bench's field names in this package's words.
"""

from .chips import CHIP_FEATURES, CHIPS, DEFAULT_CHIP, DEVICES, Chip, chip_hash, get_chip
from .hashed import HashedValue, canonical_json, digest
from .profiles import (
    ANB_RPU, DATASETS, Profile, check_profile, check_rpu_spec, default_chip, get_profile, list_profiles,
    profile_chips, profile_hash,
)
from .vocabulary import TRAININGS, check_level, check_t_inference, check_training

__all__ = [
    "ANB_RPU", "CHIPS", "CHIP_FEATURES", "DATASETS", "DEFAULT_CHIP", "DEVICES", "TRAININGS", "Chip",
    "HashedValue",
    "Profile", "canonical_json", "check_profile", "check_rpu_spec", "check_level", "check_t_inference", "check_training",
    "chip_hash", "default_chip", "digest", "get_chip", "get_profile", "list_profiles", "profile_chips",
    "profile_hash",
]
