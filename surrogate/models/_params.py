"""scikit-learn's parameter protocol without importing scikit-learn: ``get_params`` / ``set_params``
read the constructor's signature, so ``sklearn.base.clone`` works on every model here."""

from __future__ import annotations

import inspect


class ParamsMixin:
    """Constructor arguments are the parameters; ``__init__`` must store each under its own name."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; valid: {valid}")
            setattr(self, name, value)
        return self
