"""The store's file format: its SQLite tables, the marks of a surrogate store, and the upgrade of
older files. :class:`~surrogate.data.Store` creates, checks and upgrades its file through these.
"""

from __future__ import annotations

import json
import sqlite3

from ..core import Chip, canonical_json, default_chip

__all__ = ["SCHEMA_VERSION", "APPLICATION_ID", "create", "upgrade_from_1", "chip_id"]

#: Bumped on every change of the tables below. Version 1 files (no chips, no sources, no rounds)
#: are upgraded in place when opened; a newer version is refused.
SCHEMA_VERSION = 2

APPLICATION_ID = 0x53524754  # "SRGT": marks the file as a surrogate store (PRAGMA application_id)

SCHEMA = """
CREATE TABLE profiles (
    id      INTEGER PRIMARY KEY,
    hash    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    json    TEXT NOT NULL
);
CREATE TABLE chips (
    id      INTEGER PRIMARY KEY,
    hash    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    json    TEXT NOT NULL
);
CREATE TABLE cells (
    id          INTEGER PRIMARY KEY,
    profile_id  INTEGER NOT NULL REFERENCES profiles(id),
    cell        TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    source      TEXT NOT NULL DEFAULT 'simulation',
    UNIQUE (profile_id, cell, seed)
);
CREATE TABLE measurements (
    cell_id      INTEGER NOT NULL REFERENCES cells(id),
    chip_id      INTEGER NOT NULL REFERENCES chips(id),
    training     TEXT NOT NULL,
    t_inference  REAL NOT NULL,
    mean         REAL NOT NULL,
    std          REAL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (cell_id, chip_id, training, t_inference)
) WITHOUT ROWID;
CREATE TABLE rounds (
    id       INTEGER PRIMARY KEY,
    json     TEXT NOT NULL
);
CREATE TABLE extras (
    cell_id  INTEGER NOT NULL REFERENCES cells(id),
    key      TEXT NOT NULL,
    value    REAL NOT NULL,
    PRIMARY KEY (cell_id, key)
) WITHOUT ROWID;
"""


def create(cur: sqlite3.Cursor) -> None:
    """The tables of an empty file, and the marks of a surrogate store of this version."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            cur.execute(statement)
    cur.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def upgrade_from_1(cur: sqlite3.Cursor) -> None:
    """Version 1 -> 2: every v1 measurement is on its profile's default chip.

    A v1 profile described its chip inside ``rpu``; that chip is translated into a
    :class:`~surrogate.core.chips.Chip` (named ``anb-pcm`` when it is AnalogNAS-Bench's). The stored
    profile JSON is left as it was, so its hash, and every row's identity, stay the same.
    """
    cur.execute("ALTER TABLE measurements RENAME TO measurements_v1")
    for name in ("chips", "measurements", "rounds"):
        cur.execute(_statement(name))
    cur.execute("ALTER TABLE cells ADD COLUMN source TEXT NOT NULL DEFAULT 'simulation'")
    for pid, text in cur.execute("SELECT id, json FROM profiles").fetchall():
        cur.execute(
            "INSERT INTO measurements SELECT m.cell_id, ?, m.training, m.t_inference, m.mean, m.std, m.n "
            "FROM measurements_v1 m JOIN cells c ON c.id = m.cell_id WHERE c.profile_id = ?",
            (chip_id(cur, default_chip(json.loads(text))), pid))
    cur.execute("DROP TABLE measurements_v1")
    cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def chip_id(cur: sqlite3.Cursor, chip: Chip) -> int:
    """The row of ``chip`` in the ``chips`` table, added on first use."""
    cur.execute("INSERT OR IGNORE INTO chips (hash, name, json) VALUES (?, ?, ?)",
                (chip.hash, chip.name, canonical_json(chip.to_dict())))
    return cur.execute("SELECT id FROM chips WHERE hash = ?", (chip.hash,)).fetchone()[0]


def _statement(table: str) -> str:
    """The CREATE statement of ``table`` in :data:`SCHEMA`."""
    return next(st for st in SCHEMA.split(";") if f"CREATE TABLE {table} " in st)
