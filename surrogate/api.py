"""The one-line entry points: `surrogate.predict`, `surrogate.rank`, `surrogate.load`."""

from __future__ import annotations

from pathlib import Path

from .models import Prediction, Surrogate

__all__ = ["SHIPPED", "load", "predict", "rank"]

_HERE = Path(__file__).parent / "shipped"
#: Models that ship with the package, by name.
SHIPPED = {name: _HERE / name for name in ("anb-cifar10", "proxy-digits", "proxy-mnist")}
DEFAULT = "anb-cifar10"
_loaded: dict[str, Surrogate] = {}


def load(name_or_path=DEFAULT) -> Surrogate:
    """A shipped model by name (``"anb-cifar10"``), or a directory written by ``Surrogate.save``.

    Shipped models are read once per process and shared.
    """
    key = str(name_or_path)
    if key in SHIPPED:
        if key not in _loaded:
            _loaded[key] = Surrogate.load(SHIPPED[key])
        return _loaded[key]
    path = Path(name_or_path)
    if not path.exists():
        raise ValueError(f"no model named {key!r} and no such path; shipped models: {', '.join(SHIPPED)}")
    return Surrogate.load(path)


def predict(arch, t_inference, training: str = "hwa", level: float = 0.9, model=DEFAULT, chip=None) -> Prediction:
    """Predict with the shipped default model (loaded lazily, once); see ``Surrogate.predict``."""
    return load(model).predict(arch, t_inference, training=training, level=level, chip=chip)


def rank(archs, t_inference, training: str = "hwa", model=DEFAULT, chip=None):
    """Indices of ``archs``, best first, by the shipped default model; see ``Surrogate.rank``."""
    return load(model).rank(archs, t_inference, training=training, chip=chip)
