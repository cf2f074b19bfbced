"""Simulate cells on an analog chip model (IBM aihwkit) and fill a ground-truth store.

Pieces, each usable alone: :func:`build_network` (the NB-201 macro network around any cell),
:func:`load_dataset`, :func:`make_rpu_config` and :func:`noise_model` (the only aihwkit settings of the package),
:class:`Profile` (named, hashed recipes, defined in :mod:`surrogate.core`),
:func:`simulate_cell` (one cell, one seed) and :func:`run` (many cells, local processes or Dask,
resumable; on SLURM through :func:`slurm_cluster`). aihwkit is imported only when a simulation runs.
"""

from ..core.profiles import Profile, get_profile, list_profiles, profile_hash
from .cluster import slurm_cluster, slurm_options
from .datasets import DataSplit, load_dataset, read_cifar10
from .engine import CellResult, simulate_cell
from .network import MacroNetwork, build_network
from .rpu import ANB_RPU, make_rpu_config, noise_model
from .runner import RunSummary, resolve_cells, run

__all__ = [
    "ANB_RPU",
    "CellResult",
    "DataSplit",
    "MacroNetwork",
    "Profile",
    "RunSummary",
    "build_network",
    "get_profile",
    "list_profiles",
    "load_dataset",
    "make_rpu_config",
    "noise_model",
    "profile_hash",
    "read_cifar10",
    "resolve_cells",
    "run",
    "simulate_cell",
    "slurm_cluster",
    "slurm_options",
]
