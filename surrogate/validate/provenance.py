"""What a validation round must know about the model it judges: which cells it was fitted (or
recalibrated) on, so that those in-sample cells are never sampled, and which model it is (the path
of its directory and a hash of its files), so that two models are never confused in a report.

Cell records live in the model's ``metrics_`` (saved in its manifest) under :data:`CELL_RECORDS`.
Three forms are read:

- ``"sample:N (seed S) of DATA"``: what ``surrogate fit`` writes (the first N of a seeded
  permutation of the NB-201 space, :func:`~surrogate.simulate.resolve_cells`);
- ``"isomorphism split seed S: P % of the NB-201 cells and Q % of the other DAG cells of DATA
  (N cells; ...)"``: what ``benchmarks/proxy_study.py`` wrote for the shipped ``proxy-digits``
  model; reproduced from the data set and :func:`~surrogate.research.isomorphism_split`, and
  checked against N;
- a dict ``{"how": text, "n": N, "anb": "220421,...", "cells": [...]}``: the cells written out
  (``anb``: AnalogNAS-Bench op tuples as digit strings, compact for NB-201 cells; ``cells``: cell
  strings for any other DAG). What :func:`cell_record` builds; checked against N.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..cells import Cell, as_cell
from .wrappers import unwrap

__all__ = ["CELL_RECORDS", "TrainingCellsWarning", "cell_record", "fitted_cells", "training_cells",
           "model_identity", "files_hash"]

#: Keys of ``metrics_`` that list cells whose errors are in-sample for the model.
CELL_RECORDS = ("train_cells", "recalibration_cells")

_SAMPLE = re.compile(r"(sample:\d+) \(seed (\d+)\) of .+")
_ISO = re.compile(r"isomorphism split seed (\d+): (\d+(?:\.\d+)?) % of the NB-201 cells and "
                  r"(\d+(?:\.\d+)?) % of the other DAG cells of (\S+) \((\d+) cells")


class TrainingCellsWarning(UserWarning):
    """The model's training cells are unknown: a round may sample cells the model was fitted on."""


def _base(model):
    """The model under wrappers: :func:`unwrap`, then any ``.model`` / ``._model`` chain a foreign
    wrapper keeps, until an object that carries ``metrics_`` (or the end of the chain)."""
    seen = set()
    obj = unwrap(model)
    while id(obj) not in seen and not _has(obj, "metrics_"):
        seen.add(id(obj))
        inner = next((_get(obj, n) for n in ("model", "_model") if _get(obj, n) is not None), None)
        if inner is None:
            break
        obj = unwrap(inner)
    return obj


def _has(obj, name) -> bool:
    """``name`` is the object's own (instance or class), not passed through a ``__getattr__``."""
    try:
        return name in vars(obj) or hasattr(type(obj), name)
    except TypeError:  # no __dict__
        return hasattr(obj, name)


def _get(obj, name):
    try:
        return vars(obj).get(name)
    except TypeError:
        return None


def cell_record(cells: Iterable, how: str) -> dict:
    """A record of ``cells`` for ``metrics_`` that :func:`fitted_cells` reads back exactly: NB-201
    cells as AnalogNAS-Bench digit strings, any other DAG as its cell string."""
    cells = list(dict.fromkeys(as_cell(c) for c in cells))
    nb = [c for c in cells if c.is_nb201]
    other = [c for c in cells if not c.is_nb201]
    out = {"how": str(how), "n": len(cells), "anb": ",".join("".join(map(str, c.to_anb())) for c in nb)}
    if other:
        out["cells"] = [c.to_str() for c in other]
    return out


def _from_text(note: str) -> list[Cell]:
    from ..simulate.runner import resolve_cells

    m = _SAMPLE.fullmatch(note)
    if m:
        return resolve_cells(m.group(1), int(m.group(2)))
    m = _ISO.match(note)
    if m:
        from .. import data, research

        seed, f_nb, f_dag = int(m.group(1)), float(m.group(2)), float(m.group(3))
        name, n = m.group(4), int(m.group(5))
        gt = data.load(name)
        pool = gt.for_chip(gt.chips[0]).cells if gt.chips else gt.cells
        nb = [c for c in pool if c.is_nb201]
        dags = [c for c in pool if not c.is_nb201]
        cells = research.isomorphism_split(nb, f_nb / 100, seed)[0]
        if len(dags) > 1:
            cells += research.isomorphism_split(dags, f_dag / 100, seed)[0]
        if len(cells) != n:
            raise ValueError(f"reproducing {note!r} gives {len(cells)} cells, the record says {n}")
        return cells
    raise ValueError(f"not a cell record this version reads: {note!r}")


def _from_dict(record: dict) -> list[Cell]:
    codes = [c for c in str(record.get("anb", "")).split(",") if c]
    cells = [Cell.from_anb(tuple(int(d) for d in code)) for code in codes]
    cells += [Cell.from_dag_str(s) for s in record.get("cells", [])]  # what cell_record wrote
    if "n" in record and len(cells) != int(record["n"]):
        raise ValueError(f"the record {record.get('how')!r} lists {len(cells)} cells but says {record['n']}")
    return cells


def fitted_cells(model) -> tuple[list[Cell] | None, dict]:
    """The cells ``model`` was fitted or recalibrated on, and what was found.

    Returns ``(cells or None, info)``; ``cells`` is ``None`` when no record is found or one cannot
    be read, and ``info`` says why (``known``, ``records``: key -> number of cells, ``problem``).
    """
    base = _base(model)
    metrics = getattr(base, "metrics_", None)
    if not isinstance(metrics, dict):
        return None, {"known": False, "records": {},
                      "problem": f"the model ({type(base).__name__}) carries no metrics_, so its training "
                                 "cells are unknown (a wrapper that hides the fitted model?)"}
    records, cells, problems = {}, [], []
    for key in CELL_RECORDS:
        note = metrics.get(key)
        if note is None:
            continue
        try:
            got = _from_dict(note) if isinstance(note, dict) else _from_text(str(note))
        except (ValueError, FileNotFoundError, KeyError) as err:
            problems.append(f"{key}: {err}")
            continue
        records[key] = len(got)
        cells += got
    if "train_cells" not in metrics:
        problems.append("its metrics_ record no 'train_cells'")
    if problems:
        return None, {"known": False, "records": records, "problem": "; ".join(problems)}
    return list(dict.fromkeys(cells)), {"known": True, "records": records, "problem": None}


def training_cells(model) -> list[Cell] | None:
    """The cells ``model`` was fitted on, and those it was recalibrated on (every record of
    :data:`CELL_RECORDS`); ``None`` when unknown."""
    return fitted_cells(model)[0]


# ---------------------------------------------------------------------- which model
_HASHES: dict = {}


def files_hash(path) -> str:
    """SHA-256 (16 hex digits) over the names and contents of every file under ``path``."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    key = (str(path.resolve()), tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if key not in _HASHES:
        h = hashlib.sha256()
        for p in files:
            h.update(p.relative_to(path).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(p.read_bytes()).digest())
        _HASHES[key] = h.hexdigest()[:16]
    return _HASHES[key]


def model_identity(model, path=None) -> dict:
    """``{"path", "files_sha256", "repr"}`` of ``model``: the directory it was loaded from (``path``
    when given, else what the loaded model remembers), a hash of that directory's files, and a repr
    that carries both. An unsaved model has neither (``None``), and says so."""
    base = _base(model)
    if path is None:
        path = getattr(base, "path_", None)
        member_files = _get(base, "_member_files")
        if path is None and isinstance(member_files, tuple) and member_files:
            path = member_files[0]
    digest = None
    if path is not None and Path(path).is_dir():
        path = os.fspath(Path(path).resolve())
        digest = files_hash(path)
    else:
        path = None
    where = f"loaded from {path} [files {digest}]" if path else "not saved (no files to identify it by)"
    return {"path": path, "files_sha256": digest, "repr": f"{model!r}, {where}"}
