"""Simulation profiles, by their old address: defined in :mod:`surrogate.core.profiles`, where they
are read without torch or aihwkit."""

from ..core.profiles import Profile, get_profile, list_profiles, profile_hash

__all__ = ["Profile", "get_profile", "list_profiles", "profile_hash"]
