"""surrogate: predict how accurate a cell is on an analog in-memory-computing chip, and how
much accuracy it loses as the chip's weights drift.

Only the cell model is imported eagerly; heavier parts (torch models, the aihwkit simulator)
load on first use, so ``import surrogate`` stays cheap and never imports aihwkit. Every public
submodule is an attribute (``surrogate.insights``); docs/architecture.md shows how they stack.
"""

import pkgutil
from importlib import import_module

from .cells import OPS, Arch, Cell, as_cell

__version__ = "0.2.0"

__all__ = ["OPS", "Arch", "Cell", "as_cell", "predict", "rank", "load", "Surrogate", "Prediction", "Chip",
           "__version__"]

_SUBMODULES = frozenset(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
_LAZY = {"predict": "api", "rank": "api", "load": "api", "Surrogate": "models", "Prediction": "models",
         "Chip": "core"}


def __getattr__(name):
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'surrogate' has no attribute {name!r}")
