"""The ground-truth store: one SQLite file that simulations write into, cell by cell.

Why SQLite: it is in the standard library, a single file, and its transactions make a
killed run lose at most the cell it was on. Each cell is written in one transaction
(``BEGIN IMMEDIATE``, so writers queue on the lock instead of failing half-way); a cell
already present for ``(profile, cell, seed)`` is skipped, so a rerun simply resumes.
WAL mode lets readers work while a writer commits, and ``busy_timeout`` makes several
processes writing into one file wait their turn.

Contract (the simulator and the validator code against it):

- :meth:`Store.write_cell` is atomic and idempotent: True when written, False when present.
- :meth:`Store.done` lists what is stored, for resuming.
- :meth:`Store.load` returns a :class:`GroundTruth` of exactly one profile; two profiles are
  never mixed.
- Values returned are copies; changing them never changes the file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pandas as pd

from ..cells import Arch, Cell, as_cell
from ..core import Chip, canonical_json, check_profile, check_t_inference, check_training, profile_chips, profile_hash
from . import schema
from .groundtruth import COLUMNS, GroundTruth, _cell, table_suffix, write_table
from .schema import SCHEMA_VERSION

__all__ = ["Store", "StoreError", "SCHEMA_VERSION"]

_RESERVED = frozenset(COLUMNS) | {"profile_hash"}


class StoreError(RuntimeError):
    """The database failed (locked past the timeout, disk full, I/O error); nothing was written."""


class Store:
    """A ground-truth store in the SQLite file ``path`` (created if absent).

    Args:
        path: the database file; its folder is created if needed.
        timeout: seconds a write waits for another process's transaction before failing.
        readonly: open an existing file for reading only (a shipped data set): the file is never
            changed, not even its journal mode.

    Usable as a context manager; every method of a closed store raises :class:`StoreError`.
    One ``Store`` per process (and per thread): open the same path again in a worker.
    """

    def __init__(self, path: str | os.PathLike, timeout: float = 30.0, readonly: bool = False):
        self._path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._readonly = readonly
        if self._path.is_dir():
            raise ValueError(f"{self._path} is a folder; a store is a file, e.g. {self._path / 'gt.sqlite'}")
        if readonly:
            if not self._path.is_file():
                raise FileNotFoundError(f"no store at {self._path}")
            conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout,
                                   isolation_level=None)
        else:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, timeout=timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn = conn
            self._open()
        except sqlite3.DatabaseError as err:
            conn.close()
            self._conn = None
            raise ValueError(f"{self._path} is not a surrogate store (SQLite said: {err})") from None
        except BaseException:
            conn.close()
            self._conn = None
            raise

    def _open(self) -> None:
        conn = self._conn
        conn.execute("PRAGMA foreign_keys = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if self._readonly:
            if version != SCHEMA_VERSION:
                raise ValueError(f"{self._path} has store schema version {version}; read-only opening needs "
                                 f"version {SCHEMA_VERSION} (open it writable once to upgrade it)")
            return
        if version == 0:
            with self._transaction() as cur:  # re-checked under the lock: two processes may race here
                if cur.execute("PRAGMA user_version").fetchone()[0] == 0:
                    if cur.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                        raise ValueError(
                            f"{self._path} is an SQLite file with other tables, not a surrogate store; "
                            "give a new path"
                        )
                    schema.create(cur)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        if app != schema.APPLICATION_ID:
            raise ValueError(f"{self._path} is an SQLite file but not a surrogate store")
        if version == 1:
            self._upgrade_from_1()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            newer = version > SCHEMA_VERSION
            raise ValueError(
                f"{self._path} has store schema version {version}; this surrogate reads version "
                f"{SCHEMA_VERSION} only" + (" (the file comes from a newer surrogate: upgrade)" if newer else "")
            )
        # WAL: readers never block the writer, and a commit is one append. FULL: a commit
        # survives power loss too, for a cost negligible next to simulating a cell.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")

    def _upgrade_from_1(self) -> None:
        """Version 1 -> 2 in one transaction (see :func:`~surrogate.data.schema.upgrade_from_1`)."""
        with self._transaction() as cur:
            if cur.execute("PRAGMA user_version").fetchone()[0] == 1:  # else another process did it first
                schema.upgrade_from_1(cur)

    # ------------------------------------------------------------------ plumbing
    @property
    def path(self) -> Path:
        return self._path

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store {self._path} is closed")
        return self._conn

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Cursor]:
        """The one place that begins, commits and rolls back (as Optuna's ``_create_scoped_session``).

        A write takes the lock at once (``BEGIN IMMEDIATE``), or waits ``busy_timeout`` for it; a read
        (``write=False``) sees one snapshot of the file throughout, whatever writers commit meanwhile.
        """
        conn = self._db
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.OperationalError as err:
            cur.close()
            raise StoreError(f"could not lock {self._path} for {'writing' if write else 'reading'}: {err}") from err
        try:
            yield cur
            conn.commit()
        except sqlite3.Error as err:
            conn.rollback()
            done = "nothing was written" if write else "nothing was read"
            raise StoreError(f"{'writing to' if write else 'reading'} {self._path} failed, {done}: {err}") from err
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.close()

    def close(self) -> None:
        """Close the file; further calls raise :class:`StoreError`. Closing twice is allowed."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        self._db  # noqa: B018  (raises StoreError on a closed store)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"Store({str(self._path)!r}, {state})"

    # ------------------------------------------------------------------ writing
    def write_cell(
        self,
        profile: Mapping,
        cell: Arch,
        seed: int,
        rows: Iterable[tuple[str, float, float, float, int]],
        extras: Mapping[str, float] | None = None,
        *,
        source: str = "simulation",
    ) -> bool:
        """Store one cell's measurements in one transaction.

        Args:
            profile: the recipe (a JSON dict with a ``"name"``); stored on first use.
            cell: a Cell, NB-201 string or AnalogNAS-Bench tuple.
            seed: the training seed.
            rows: ``(chip, training, t_inference, mean, std, n)`` tuples, or
                ``(training, t_inference, mean, std, n)`` on the profile's default chip; ``chip``
                names one of the profile's chips; training is one of ``"standard"``, ``"hwa"``;
                mean in [0, 100] %; at least one row, no ``(chip, training, t_inference)`` twice.
            extras: other per-cell measurements (``digital``, ``ptq``, ``hwa_t0``, timings...).
            source: where the rows come from: ``"simulation"``, ``"validation"`` (re-measured by
                the validator), or another short tag; stored with the cell.

        Returns:
            True when written; False when ``(profile, cell, seed)`` was already stored (nothing
            changes then, so a rerun after a crash skips finished cells).
        """
        profile = check_profile(profile)
        key = as_cell(cell).to_str()
        seed = _check_seed(seed)
        chips = profile_chips(profile)
        rows = _check_rows(rows, chips)
        extras = _check_extras(extras or {})
        if not isinstance(source, str) or not source.strip() or len(source) > 64:
            raise ValueError(f"source is a short non-empty tag such as 'simulation', got {source!r}")
        phash = profile_hash(profile)
        with self._transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO profiles (hash, name, json) VALUES (?, ?, ?)",
                (phash, profile["name"], canonical_json(profile)),
            )
            pid = cur.execute("SELECT id FROM profiles WHERE hash = ?", (phash,)).fetchone()[0]
            cur.execute("INSERT OR IGNORE INTO cells (profile_id, cell, seed, source) VALUES (?, ?, ?, ?)",
                        (pid, key, seed, source))
            if cur.rowcount == 0:
                return False
            cid = cur.lastrowid
            chip_ids = {name: schema.chip_id(cur, chips[name]) for name in {row[0] for row in rows}}
            cur.executemany(
                "INSERT INTO measurements (cell_id, chip_id, training, t_inference, mean, std, n) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(cid, chip_ids[row[0]], *row[1:]) for row in rows],
            )
            cur.executemany(
                "INSERT INTO extras (cell_id, key, value) VALUES (?, ?, ?)",
                [(cid, k, v) for k, v in extras.items()],
            )
        return True

    def write_round(self, record: Mapping) -> int:
        """Store one validation round (a JSON-plain dict); returns its number, counting from 1."""
        if not isinstance(record, Mapping):
            raise ValueError(f"a round record is a dict, got {type(record).__name__}")
        try:
            text = json.dumps(record, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ValueError(f"a round record must be plain JSON: {err}") from None
        with self._transaction() as cur:
            cur.execute("INSERT INTO rounds (json) VALUES (?)", (text,))
            return int(cur.lastrowid)

    def rounds(self) -> list[dict]:
        """The validation rounds stored, oldest first."""
        return [json.loads(j) for (j,) in self._db.execute("SELECT json FROM rounds ORDER BY id")]

    # ------------------------------------------------------------------ reading
    def done(self, profile: Mapping, seed: int) -> set[Cell]:
        """The cells already stored for ``profile`` and ``seed`` (empty if the profile is new)."""
        phash = profile_hash(profile)
        seed = _check_seed(seed)
        found = self._db.execute(
            "SELECT c.cell FROM cells c JOIN profiles p ON p.id = c.profile_id WHERE p.hash = ? AND c.seed = ?",
            (phash, seed),
        ).fetchall()
        return {_cell(k) for (k,) in found}

    def profiles(self) -> list[dict]:
        """The profiles present, in the order they were first written."""
        return [json.loads(j) for (j,) in self._db.execute("SELECT json FROM profiles ORDER BY id")]

    def _resolve(self, profile: str | Mapping | None) -> tuple[int, dict]:
        found = self._db.execute("SELECT id, hash, name, json FROM profiles ORDER BY id").fetchall()
        listing = ", ".join(f"{name!r} [{h}]" for _, h, name, _ in found) or "none"
        if profile is None:
            if len(found) != 1:
                raise ValueError(
                    f"{self._path} holds {len(found)} profiles ({listing}); name the one to load"
                    if found else f"{self._path} is empty: no profile has been written yet"
                )
            pid, _, _, j = found[0]
            return pid, json.loads(j)
        if isinstance(profile, Mapping):
            profile = profile_hash(profile)
        if not isinstance(profile, str):
            raise ValueError(f"profile must be a name, a hash or a profile dict, got {type(profile).__name__}")
        hits = [r for r in found if r[1] == profile] or [r for r in found if r[2] == profile]
        if not hits:
            raise ValueError(f"no profile {profile!r} in {self._path}; present: {listing}")
        if len(hits) > 1:
            raise ValueError(
                f"{len(hits)} different profiles are named {profile!r} in {self._path}; "
                f"give the hash instead: {', '.join(r[1] for r in hits)}"
            )
        pid, _, _, j = hits[0]
        return pid, json.loads(j)

    def load(self, profile: str | Mapping | None = None) -> GroundTruth:
        """The ground truth of one profile (by name, hash or dict).

        ``None`` is accepted only when the store holds exactly one profile.
        """
        pid, prof = self._resolve(profile)
        with self._transaction(write=False) as cur:  # rows and extras from the same snapshot
            rows = cur.execute(
                "SELECT c.cell, k.name, m.training, m.t_inference, c.seed, m.mean, m.std, m.n, c.source "
                "FROM cells c JOIN measurements m ON m.cell_id = c.id JOIN chips k ON k.id = m.chip_id "
                "WHERE c.profile_id = ? ORDER BY c.id, m.chip_id, m.training DESC, m.t_inference",
                (pid,),
            ).fetchall()
            extras = cur.execute(
                "SELECT c.cell, c.seed, e.key, e.value FROM cells c JOIN extras e ON e.cell_id = c.id "
                "WHERE c.profile_id = ? ORDER BY c.id",
                (pid,),
            ).fetchall()
            cells = cur.execute("SELECT cell, seed FROM cells WHERE profile_id = ? ORDER BY id", (pid,)).fetchall()
        frame = pd.DataFrame.from_records(
            rows, columns=["cell", "chip", "training", "t_inference", "seed", "accuracy", "std", "n", "source"]
        )
        frame["std"] = frame["std"].astype(float)  # NULL (std unknown) -> NaN
        return GroundTruth(frame, prof, _wide_extras(cells, extras))

    def export(self, path: str | os.PathLike, profile: str | Mapping | None = None) -> Path:
        """Write the measurements to ``.csv`` or ``.parquet`` (by suffix).

        One row per measurement: the columns of :meth:`GroundTruth.to_frame` plus
        ``profile_hash``, then the cell's extras (repeated on each of its rows). With
        ``profile=None`` every profile is exported; the ``profile``/``profile_hash`` columns
        keep them apart.
        """
        table_suffix(path)  # a bad suffix or missing pyarrow fails before the work
        if profile is None:
            hashes = [profile_hash(p) for p in self.profiles()]
        else:
            hashes = [profile_hash(self._resolve(profile)[1])]
        frames = [self.load(h).export_frame() for h in hashes]
        empty = pd.DataFrame(columns=["profile", "profile_hash", *COLUMNS[1:]])
        return write_table(pd.concat(frames, ignore_index=True) if frames else empty, path)


def _wide_extras(cells: list[tuple[str, int]], extras: list[tuple[str, int, str, float]]) -> pd.DataFrame:
    base = pd.DataFrame.from_records(cells, columns=["cell", "seed"])
    if not extras:
        return base
    long = pd.DataFrame.from_records(extras, columns=["cell", "seed", "key", "value"])
    wide = long.pivot(index=["cell", "seed"], columns="key", values="value")
    wide.columns.name = None
    return base.merge(wide.reset_index(), on=["cell", "seed"], how="left")


# ---------------------------------------------------------------------- validation
def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def _check_rows(rows, chips: Mapping[str, Chip]) -> list[tuple[str, str, float, float, float | None, int]]:
    out, seen = [], set()
    default = next(iter(chips))
    for row in rows:
        if isinstance(row, (tuple, list)) and len(row) == 5:
            row = (default, *row)
        try:
            chip, training, t, mean, std, n = row
        except (TypeError, ValueError):
            raise ValueError(f"a row is ([chip,] training, t_inference, mean, std, n), got {row!r}") from None
        if chip not in chips:
            raise ValueError(f"row {row!r}: chip {chip!r} is not one of the profile's chips {list(chips)}")
        try:
            check_training(training)
            times, one = check_t_inference(t, zero_ok=True)
        except ValueError as err:
            raise ValueError(f"row {row!r}: {err}") from None
        if not one:
            raise ValueError(f"row {row!r}: t_inference is one time, in seconds since programming")
        t, mean = float(times[0]), _real(mean, "mean", row)
        if not 0.0 <= mean <= 100.0:
            raise ValueError(f"row {row!r}: mean is an accuracy in percent, in [0, 100]")
        std = None if std is None or (isinstance(std, float) and math.isnan(std)) else _real(std, "std", row)
        if std is not None and std < 0:
            raise ValueError(f"row {row!r}: std must be >= 0 (or NaN/None when unknown)")
        if isinstance(n, bool) or not hasattr(n, "__index__") or int(n) < 1:
            raise ValueError(f"row {row!r}: n (repetitions) must be an integer >= 1")
        if (chip, training, t) in seen:
            raise ValueError(f"row {row!r}: ({chip!r}, {training!r}, {t}) is given twice")
        seen.add((chip, training, t))
        out.append((chip, training, t, mean, std, int(n)))
    if not out:
        raise ValueError("write_cell needs at least one ([chip,] training, t_inference, mean, std, n) row")
    return out


def _check_extras(extras: Mapping) -> dict[str, float]:
    if not isinstance(extras, Mapping):
        raise ValueError(f"extras is a mapping of name -> float, got {type(extras).__name__}")
    out = {}
    for k, v in extras.items():
        if not isinstance(k, str) or not k or k in _RESERVED:
            raise ValueError(f"extras name {k!r} is not allowed: use a non-empty str other than {sorted(_RESERVED)}")
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue  # missing: not stored, reads back as NaN
        out[k] = _real(v, f"extras[{k!r}]", extras)
    return out


def _real(x, what: str, where) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {x!r} in {where!r}") from None
    if isinstance(x, bool) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {x!r} in {where!r}")
    return value
