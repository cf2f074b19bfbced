"""The value type behind every named recipe of the package: frozen, known by its content.

A chip and a simulation profile are both a set of settings that must never change once rows were
measured with it, and that two processes must recognise as the same. Such a value keeps its
normalised settings as a plain JSON dict, and is named by the SHA-256 of that dict's canonical JSON.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping

__all__ = ["HashedValue", "canonical_json", "digest"]


def canonical_json(data: Mapping) -> str:
    """Sorted keys, compact separators, no NaN: equal content gives equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(text: str) -> str:
    """A 16-hex-digit name for ``text``: the start of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class HashedValue(Mapping):
    """Validated settings, frozen, hashed and compared by content; read like the dict they are.

    A subclass fills :meth:`_normalise` (check the settings, fill defaults, return a JSON-plain
    dict). The value equals another of its type with the same settings, and a plain mapping of
    those settings (so code that held them as a dict keeps working).
    """

    __slots__ = ("_dict", "_json", "_hash")

    def __init__(self, data: Mapping):
        self._set(data)

    def _set(self, data: Mapping) -> None:
        settings = self._normalise(data)
        try:
            self._json = canonical_json(settings)
        except (TypeError, ValueError) as err:
            what = type(self).__name__
            raise ValueError(f"{what} settings must be plain JSON (finite numbers): {err}") from None
        self._hash = digest(self._json)
        self._dict = settings

    @classmethod
    def _normalise(cls, data: Mapping) -> dict:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: Mapping):
        """The value of the settings ``data`` (``data`` itself when it is one already)."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            raise ValueError(f"a {cls.__name__} is a mapping of settings, got {type(data).__name__}")
        value = object.__new__(cls)
        value._set(data)
        return value

    def to_dict(self) -> dict:
        """The complete, normalised settings (a copy): what is hashed and stored."""
        return copy.deepcopy(self._dict)

    @property
    def name(self) -> str:
        return self._dict["name"]

    @property
    def hash(self) -> str:
        """16 hex digits of the SHA-256 of the settings' canonical JSON."""
        return self._hash

    def __getitem__(self, key: str):
        return copy.deepcopy(self._dict[key])

    def __contains__(self, key) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other) -> bool:
        if isinstance(other, HashedValue):
            return type(other) is type(self) and other._json == self._json
        if isinstance(other, Mapping):
            return self._dict == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._hash)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, hash={self._hash!r})"

    def __reduce__(self):
        return (type(self).from_dict, (self._dict,))
