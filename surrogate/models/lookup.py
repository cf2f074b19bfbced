"""`Lookup`: what a `Surrogate` answers from for one chip, at the cost of a table look-up.

A prediction is a function of the cell's normal form, the chip, the training, the level and the
times asked, and nothing else. For one chip a `Lookup` keeps three tables:

- **rows**: the members' time-free outputs, one row per normal form. The saved ``cache.npz`` gives
  the permanent rows (the NB-201 space for the shipped models); any other cell's are computed on
  first use and kept in a least-recently-used memo of ``memo_size`` normal forms (bounded memory).
- **keys**: the row of every key a user passes, in one dict: a cell's string (a ``Cell`` keeps it
  as ``_key``: its NB-201 string, or ``"dag:"`` and that string for another DAG, so a stored string
  of another DAG, which the strict NB-201 parser refuses, never finds a row), a string, an
  AnalogNAS-Bench tuple. For a cache that indexes the NB-201
  space (``nb201`` in ``cache.npz``) the dict holds its 31,250 strings and tuples from the start;
  other keys are added as they come, and leave with their memo row.
- **answers**: per (training, level, times) asked again, or for many cells at once, the five outputs
  of every row, filled once (the arithmetic is the model's, on the distinct rows asked).

So a batch costs one dict look-up per cell, in C, and one numpy gather per output; and a new cell
asked again costs what a cached one does.
"""

from __future__ import annotations

from collections import OrderedDict
from operator import attrgetter

import numpy as np

from ..cells import Cell, as_cell
from ..nb201 import space_keys

__all__ = ["Lookup", "OUTPUTS", "MEMO_SIZE"]

#: What an answer holds per cell and time, in this order.
OUTPUTS = ("accuracy", "std", "lower", "upper", "degradation")

_KEY = attrgetter("_key")
_DEGENERATE = Cell(2, [(0, 1, "none")]).to_str()  # the normal form of every cell with no input-to-output path
#: Normal forms outside the cache that a `Lookup` keeps (about 0.4 kB each for the shipped models):
#: more than the NB-201 space's 5,425, so a chip outside the cache keeps the whole space.
MEMO_SIZE = 8192
_TABLE_COLUMNS = 32  # times held in answer tables per chip, all tables together
_SEEN = 1024  # (training, level, times) remembered to have been asked once


class Lookup:
    """The rows, keys and answers of one chip (see the module docstring).

    Args:
        cached: the chip's rows from ``cache.npz`` (:func:`~surrogate.models.persistence.read_cache`),
            or ``None``.
        members: normal forms (``Cell``) -> the members' outputs ``{kind: [n, ...]}``.
        answer: ``(entries, degenerate, novel, outside, fitted, t, k, level)`` -> the :data:`OUTPUTS`, each
            ``[n, T]``.
        novel: whether a normal form of this many nodes is novel (its interval adds the members'
            disagreement).
        memo_size: normal forms outside the cache kept at most (default :data:`MEMO_SIZE`).
        outside: normal forms (their strings) -> whether each lies outside the model's fitted domain
            (:meth:`~surrogate.models.domain.Domain.outside`), or ``None`` (none does). ``fitted``: the same
            for how many of the model's training cells compute each. Both are kept per row, so
            a cell of the table costs one gather.
    """

    def __init__(self, cached: dict | None, members, answer, novel, memo_size: int | None = None, outside=None,
                 fitted=None):
        self._members, self._answer, self._is_novel = members, answer, novel
        self._is_outside, self._is_fitted = outside, fitted
        keys = list(cached["cells"]) if cached else []
        self.size, self.memo_size = len(keys), int(MEMO_SIZE if memo_size is None else memo_size)
        n = self.size + self.memo_size
        self.keys = keys + [None] * self.memo_size  # the normal form (its string) of each row
        self.index = {key: row for row, key in enumerate(keys)}
        self.degenerate = np.zeros(n, dtype=bool)
        self.novel = np.zeros(n, dtype=bool)
        self.degenerate[:self.size] = [key == _DEGENERATE for key in keys]
        self.novel[:self.size] = [novel(key.count("+") + 2) for key in keys]
        self.outside = np.zeros(n, dtype=bool)  # per row: the normal form lies outside the fitted domain
        if outside is not None and keys:
            self.outside[:self.size] = outside(keys)
        self.fitted = np.zeros(n, dtype=int)  # per row: the model's training cells of the normal form
        if fitted is not None and keys:
            self.fitted[:self.size] = fitted(keys)
        self.entries = None
        if cached:
            self.entries = {m: np.concatenate([v, np.zeros((self.memo_size, *v.shape[1:]), v.dtype)])
                            for m, v in cached["entries"].items()}
        self._nb201 = cached.get("nb201") if cached else None
        self._reset_keys()
        self.lru: OrderedDict = OrderedDict()  # memo rows, least recently used first
        self.free = list(range(n - 1, self.size - 1, -1))
        self.tables: OrderedDict = OrderedDict()  # (k, level, times) -> (valid [rows], outputs)
        self.seen: OrderedDict = OrderedDict()

    # ------------------------------------------------------------------ keys -> rows
    def _reset_keys(self) -> None:
        self.alias = {}
        self.back = {}  # memo row -> the keys that point at it
        if self._nb201 is not None:
            strings, tuples = space_keys()
            rows = self._nb201.tolist()
            self.alias.update((s, r) for s, r in zip(strings, rows) if r >= 0)
            self.alias.update((t, r) for t, r in zip(tuples, rows) if r >= 0)
        self._alias_limit = len(self.alias) + 4 * self.memo_size

    def rows(self, items: list) -> np.ndarray | None:
        """The rows of ``items`` if every key is known (and their memo rows marked as used), else ``None``."""
        try:
            keys = map(_KEY, items) if type(items[0]) is Cell else items
            rows = np.fromiter(map(self.alias.__getitem__, keys), dtype=np.intp, count=len(items))
        except (KeyError, TypeError, AttributeError):
            return None
        self._touch(rows)
        return rows

    def resolve(self, items: list) -> np.ndarray:
        """The rows of ``items`` (at most ``memo_size`` of them), converting, simplifying and asking the
        members about what is new; bad input raises what :func:`~surrogate.cells.as_cell` raises."""
        if len(items) > self.memo_size:
            raise ValueError(f"resolve takes at most memo_size={self.memo_size} items at once")
        rows = np.full(len(items), -1, dtype=np.intp)
        new: dict = {}  # normal form key -> (normal form, [(position, keys to point at its row)])
        for i, item in enumerate(items):
            key = item._key if type(item) is Cell else item
            try:
                row = self.alias.get(key)
            except TypeError:  # unhashable (a list of op indices)
                key, row = None, None
            if row is None:
                cell = as_cell(item)
                row = self.alias.get(cell._key)
                if row is None:
                    form = cell.simplified()
                    row = self.index.get(form._str)
                    if row is None:
                        new.setdefault(form._str, (form, []))[1].append((i, (key, cell._key)))
                        continue
                    self._point(cell._key, row)
                self._point(key, row)
            rows[i] = row
        self._touch(rows[rows >= 0])
        if new:
            forms = [form for form, _ in new.values()]
            out = self._members(forms)
            if self.entries is None:
                self.entries = {m: np.zeros((self.size + self.memo_size, *v.shape[1:]), np.float32)
                                for m, v in out.items()}
            slots = self._slots(len(forms))
            for j, (slot, (form, refs)) in enumerate(zip(slots, new.values())):
                for m, v in out.items():
                    self.entries[m][slot] = v[j]
                self.keys[slot] = form._str
                self.index[form._str] = slot
                self.degenerate[slot] = form.is_degenerate
                self.novel[slot] = self._is_novel(form.num_nodes)
                self.outside[slot] = self._is_outside is not None and self._is_outside([form._str])[0]
                self.fitted[slot] = 0 if self._is_fitted is None else self._is_fitted([form._str])[0]
                self.lru[slot] = None
                for i, keys in refs:
                    rows[i] = slot
                    for key in keys:
                        self._point(key, slot)
        return rows

    def _point(self, key, row: int) -> None:
        """Let ``key`` look up ``row`` from now on (while the row lives)."""
        if key is None or self.alias.get(key) == row:
            return
        if len(self.alias) >= self._alias_limit:
            self._reset_keys()
        self.alias[key] = row
        if row >= self.size:
            self.back.setdefault(row, []).append(key)

    def _touch(self, rows: np.ndarray) -> None:
        """Mark the memo rows among ``rows`` as the most recently used."""
        if not self.lru:
            return
        memo = rows.tolist() if len(rows) <= 16 else np.unique(rows[rows >= self.size]).tolist()
        for row in memo:
            if row >= self.size:
                self.lru.move_to_end(row)

    def _slots(self, n: int) -> list[int]:
        """``n`` free memo rows, freeing the least recently used ones (never one used by this call:
        those were touched last, and a call holds at most ``memo_size`` rows)."""
        while len(self.free) < n:
            row, _ = self.lru.popitem(last=False)
            del self.index[self.keys[row]]
            self.keys[row] = None
            for key in self.back.pop(row, ()):
                if self.alias.get(key) == row:
                    del self.alias[key]
            for valid, _ in self.tables.values():
                valid[row] = False
            self.free.append(row)
        return [self.free.pop() for _ in range(n)]

    # ------------------------------------------------------------------ rows -> answers
    def answer(self, rows: np.ndarray, t: np.ndarray, k: int, level: float) -> np.ndarray:
        """The :data:`OUTPUTS` for ``rows`` at times ``t``: a new array ``[5, len(rows), len(t)]``."""
        key = (k, level, t.tobytes())
        table = self.tables.get(key)
        if table is None and len(t) <= _TABLE_COLUMNS and (key in self.seen or len(rows) >= max(64, self.size // 4)):
            table = self._table(key, len(t), t, k, level)
        if table is None:  # asked once, for a few cells: compute just those
            self.seen[key] = None
            if len(self.seen) > _SEEN:
                self.seen.popitem(last=False)
            unique, inverse = np.unique(rows, return_inverse=True)
            return self._compute(unique, t, k, level)[:, inverse]
        self.tables.move_to_end(key)
        valid, outputs = table
        if not valid[rows].all():
            unique = np.unique(rows[~valid[rows]])
            outputs[:, unique] = self._compute(unique, t, k, level)
            valid[unique] = True
        return outputs[:, rows]

    def _table(self, key, n_times: int, t, k, level):
        """A new answer table for ``key``, every permanent row filled; the oldest tables make room."""
        while self.tables and sum(out.shape[2] for _, out in self.tables.values()) + n_times > _TABLE_COLUMNS:
            self.tables.popitem(last=False)
        n = self.size + self.memo_size
        valid = np.zeros(n, dtype=bool)
        outputs = np.empty((len(OUTPUTS), n, n_times))
        if self.size:
            outputs[:, :self.size] = self._compute(np.arange(self.size), t, k, level)
            valid[:self.size] = True
        self.tables[key] = (valid, outputs)
        return self.tables[key]

    def _compute(self, rows, t, k, level) -> np.ndarray:
        entries = {m: e[rows] for m, e in self.entries.items()}
        return np.stack(self._answer(entries, self.degenerate[rows], self.novel[rows], self.outside[rows],
                                     self.fitted[rows], t, k, level))

    def predict(self, items: list, t: np.ndarray, k: int, level: float) -> tuple[np.ndarray, np.ndarray]:
        """The :data:`OUTPUTS` for ``items`` (as :func:`~surrogate.cells.split_archs` gives them),
        ``[5, len(items), len(t)]``, and whether each item lies outside the fitted domain ``[len(items)]``."""
        rows = self.rows(items)
        if rows is not None:
            return self.answer(rows, t, k, level), self.outside[rows]
        step = self.memo_size  # a call holds at most memo_size rows at once: larger ones go in parts
        parts, outside = [], []
        for i in range(0, len(items), step):
            rows = self.resolve(items[i:i + step])
            parts.append(self.answer(rows, t, k, level))
            outside.append(self.outside[rows])  # now: a later part may reuse these memo rows
        if len(parts) == 1:
            return parts[0], outside[0]
        return np.concatenate(parts, axis=1), np.concatenate(outside)

    def form(self, item) -> str:
        """The normal form (its string) of ``item``: by its key where known, computed where not."""
        key = item._key if type(item) is Cell else item
        try:
            row = self.alias.get(key)
        except TypeError:  # unhashable (a list of op indices)
            row = None
        if row is not None and self.keys[row] is not None:
            return self.keys[row]
        return as_cell(item).simplified().to_str()

    def outputs(self, items: list) -> dict:
        """The members' outputs ``{kind: [len(items), ...]}`` (float32) for ``items``."""
        step = self.memo_size
        parts = []
        for i in range(0, len(items), step):
            chunk = items[i:i + step]
            rows = self.rows(chunk)
            rows = self.resolve(chunk) if rows is None else rows
            parts.append({m: e[rows] for m, e in self.entries.items()})
        return {m: np.concatenate([p[m] for p in parts]) for m in parts[0]}
