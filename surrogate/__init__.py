"""surrogate: predict how accurate a cell is on an analog in-memory-computing chip, and how
much accuracy it loses as the chip's weights drift.

Only the cell model is imported eagerly; heavier parts (torch models, the aihwkit simulator)
load on first use, so ``import surrogate`` stays cheap and never imports aihwkit.
"""

from importlib import import_module

from .cells import OPS, Arch, Cell, as_cell

__version__ = "0.2.0"

__all__ = ["OPS", "Arch", "Cell", "as_cell", "predict", "rank", "load", "Surrogate", "Prediction", "Chip",
           "__version__"]

_SUBMODULES = {"nb201", "encoding", "data", "models", "metrics", "simulate", "calibration", "validate",
               "research", "cli", "api", "nasbench", "search", "chips", "plots"}
_LAZY = {"predict": "api", "rank": "api", "load": "api", "Surrogate": "models", "Prediction": "models",
         "Chip": "chips"}


def __getattr__(name):
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'surrogate' has no attribute {name!r}")
