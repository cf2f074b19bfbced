"""The ground-truth table: measured accuracies of cells under one simulation profile.

:class:`GroundTruth` is the plain value that the store, the AnalogNAS-Bench import, the
models and the validator pass to each other. It holds one row per
``(cell, training, t_inference, seed)`` and never mixes two profiles, so a model always
knows exactly which recipe its labels came from (:attr:`GroundTruth.profile_hash`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..cells import Arch, Cell, as_cell
from ..core import TRAININGS, Chip, check_profile, check_training, profile_chips, profile_hash
from ..core import chip_hash, default_chip  # noqa: F401  (re-exported from their old address)

__all__ = ["TRAININGS", "COLUMNS", "GroundTruth", "Targets", "profile_hash", "check_profile", "table_suffix",
           "write_table", "chip_hash", "default_chip", "profile_chips"]

#: Columns of :meth:`GroundTruth.to_frame`, in order.
COLUMNS: tuple[str, ...] = ("profile", "cell", "chip", "training", "t_inference", "seed", "accuracy", "std", "n",
                            "source")

_ROW_COLUMNS = COLUMNS[1:]  # what the constructor takes; the profile name comes from `profile`


def table_suffix(path: str | os.PathLike) -> str:
    """``".csv"`` or ``".parquet"`` from ``path``; checked before any work is done."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"cannot export to {Path(path).name!r}: the suffix must be .csv or .parquet")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError(
                "Parquet export needs pyarrow: pip install pyarrow (or surrogate[parquet]); or export to .csv"
            ) from None
    return suffix


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` to ``.csv`` or ``.parquet``, chosen by the suffix of ``path``."""
    suffix = table_suffix(path)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@lru_cache(maxsize=1 << 17)
def _cell(text: str) -> Cell:
    # Parsing 15,625 strings costs ~0.3 s; models ask for `gt.cells` often, subsets share them.
    return Cell.from_dag_str(text)  # what `Cell.to_str` wrote: any DAG


class Targets(NamedTuple):
    """Labels as matrices, one row per cell and one column per time (see :meth:`GroundTruth.targets`)."""

    cells: list[Cell]
    times: np.ndarray  # (n_times,) seconds since programming, sorted
    mean: np.ndarray  # (n_cells, n_times) accuracy in percent; NaN where not measured
    std: np.ndarray  # (n_cells, n_times) std over all repetitions; NaN where not measured
    n: np.ndarray  # (n_cells, n_times) repetitions; 0 where not measured


class GroundTruth:
    """Accuracies of cells measured under one profile.

    Args:
        rows: a DataFrame with columns ``cell`` (NB-201 string, see :meth:`Cell.to_str`),
            ``training`` (one of :data:`TRAININGS`), ``t_inference`` (seconds since programming),
            ``seed``, ``accuracy`` (mean over repetitions, percent), ``std`` and ``n``
            (number of repetitions); optionally ``chip`` (one of the profile's chips; default its
            first) and ``source`` (``"simulation"``, ``"validation"``...; default ``"simulation"``).
            A ``profile`` column, if present, is ignored.
        profile: the recipe that produced the rows; a JSON dict with a ``"name"``.
        extras: optional per-``(cell, seed)`` measurements: a DataFrame with columns ``cell``,
            ``seed`` and one float column per quantity (``digital``, ``ptq``, ``standard_t0``...).

    The value is treated as immutable: methods return new objects or copies.
    """

    def __init__(self, rows: pd.DataFrame, profile: Mapping, extras: pd.DataFrame | None = None):
        self._profile = check_profile(profile)
        self._hash = profile_hash(self._profile)
        self._chips = profile_chips(self._profile)
        optional = {"chip": next(iter(self._chips)), "source": "simulation"}
        missing = [c for c in _ROW_COLUMNS if c not in rows.columns and c not in optional]
        if missing:
            raise ValueError(f"rows lack the columns {missing}; required: {list(_ROW_COLUMNS)}")
        rows = rows.assign(**{k: v for k, v in optional.items() if k not in rows.columns})
        rows = rows.loc[:, list(_ROW_COLUMNS)].reset_index(drop=True)
        rows = rows.astype(
            {"cell": object, "chip": object, "training": object, "t_inference": float, "seed": "int64",
             "accuracy": float, "std": float, "n": "int64", "source": object}
        )
        for training in pd.unique(rows["training"]):
            check_training(training)
        bad = sorted(set(pd.unique(rows["chip"])) - set(self._chips))
        if bad:
            raise ValueError(f"rows on chips {bad} that the profile does not describe; its chips: {list(self._chips)}")
        if extras is None:
            extras = pd.DataFrame({"cell": pd.Series([], dtype=object), "seed": pd.Series([], dtype="int64")})
        for col in ("cell", "seed"):
            if col not in extras.columns:
                raise ValueError(f"extras lack the column {col!r}; required: 'cell', 'seed', then values")
        self._rows = rows
        self._extras = extras.reset_index(drop=True)
        self._cell_keys: list[str] | None = None

    # ------------------------------------------------------------------ description
    @property
    def profile(self) -> dict:
        """The recipe (a copy)."""
        return json.loads(json.dumps(self._profile))

    @property
    def profile_name(self) -> str:
        return self._profile["name"]

    @property
    def profile_hash(self) -> str:
        return self._hash

    @property
    def cell_keys(self) -> list[str]:
        """NB-201 strings of the cells, unique, in order of first appearance."""
        if self._cell_keys is None:
            self._cell_keys = list(pd.unique(pd.concat([self._rows["cell"], self._extras["cell"]])))
        return list(self._cell_keys)

    @property
    def cells(self) -> list[Cell]:
        """The cells, unique, in order of first appearance."""
        return [_cell(k) for k in self.cell_keys]

    @property
    def times(self) -> np.ndarray:
        """Sorted unique ``t_inference`` values (seconds)."""
        return np.unique(self._rows["t_inference"].to_numpy())

    @property
    def trainings(self) -> list[str]:
        present = set(self._rows["training"])
        return [t for t in TRAININGS if t in present]

    @property
    def chips(self) -> list[str]:
        """Names of the chips with rows here, in the profile's order (the default first)."""
        present = set(self._rows["chip"])
        return [c for c in self._chips if c in present]

    @property
    def chip(self) -> Chip:
        """The one chip of this table; an error if it holds several (see :meth:`for_chip`)."""
        chips = self.chips or list(self._chips)[:1]
        if len(chips) != 1:
            raise ValueError(f"this ground truth holds {len(chips)} chips {chips}: pick one with for_chip(name)")
        return self._chips[chips[0]]

    def chip_spec(self, name: str) -> Chip:
        """The profile's chip ``name``."""
        if name not in self._chips:
            raise ValueError(f"no chip {name!r} in profile {self.profile_name!r}; its chips: {list(self._chips)}")
        return self._chips[name]

    def for_chip(self, *names: str) -> GroundTruth:
        """The rows measured on chip ``name`` (or on any of several), with the extras of those cells."""
        if not names:
            raise ValueError(f"name at least one chip; this ground truth holds {self.chips}")
        for name in names:
            self.chip_spec(name)
        rows = self._rows[self._rows["chip"].isin(names)]
        return GroundTruth(rows, self._profile, self._extras[self._extras["cell"].isin(set(rows["cell"]))])

    def until(self, t_max: float) -> GroundTruth:
        """The rows measured at most ``t_max`` seconds after programming (to study extrapolation in time)."""
        rows = self._rows[self._rows["t_inference"] <= t_max]
        if rows.empty:
            raise ValueError(f"no rows at t_inference <= {t_max:g} s; times here: {self.times.tolist()}")
        return GroundTruth(rows, self._profile, self._extras[self._extras["cell"].isin(set(rows["cell"]))])

    @property
    def seeds(self) -> list[int]:
        return sorted(set(self._rows["seed"].tolist()) | set(self._extras["seed"].tolist()))

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return (
            f"GroundTruth(profile={self.profile_name!r} [{self._hash}], {len(self.cell_keys):,} cells, "
            f"{len(self):,} rows, chips={self.chips}, trainings={self.trainings}, times={self.times.tolist()})"
        )

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """One row per ``(cell, training, t_inference, seed)``; columns :data:`COLUMNS`."""
        frame = self._rows.copy()
        frame.insert(0, "profile", self.profile_name)
        return frame

    def extras_frame(self) -> pd.DataFrame:
        """Per-``(cell, seed)`` extra measurements, wide: ``cell``, ``seed``, then one column each."""
        return self._extras.copy()

    @property
    def extras(self) -> pd.DataFrame:
        """Same as :meth:`extras_frame`."""
        return self.extras_frame()

    def export_frame(self) -> pd.DataFrame:
        """One flat table: :meth:`to_frame`, ``profile_hash``, and each row's extras."""
        frame = self.to_frame()
        frame.insert(1, "profile_hash", self._hash)
        if len(self._extras.columns) > 2:
            frame = frame.merge(self._extras, on=["cell", "seed"], how="left")
        return frame

    def export(self, path: str | os.PathLike) -> Path:
        """Write :meth:`export_frame` to ``.csv`` or ``.parquet`` (by suffix)."""
        return write_table(self.export_frame(), path)

    # ------------------------------------------------------------------ selection
    def subset(self, cells: Iterable[Arch]) -> GroundTruth:
        """A new GroundTruth holding only ``cells`` (Cells, cell strings or ANB tuples).

        A string may be any cell's string as this table holds it (:meth:`~surrogate.cells.Cell.to_str`,
        e.g. from :meth:`to_frame`'s ``cell`` column), an NB-201 string or a ``"dag:"`` string.
        The result lists its cells in the order given. A cell that is not here is an error,
        not a silent drop, so a split cannot quietly lose its test set.
        """
        if isinstance(cells, (Cell, str)):
            raise ValueError("subset() takes a collection of cells; wrap a single cell in a list")
        keys = list(dict.fromkeys((_cell(c) if isinstance(c, str) else as_cell(c)).to_str() for c in cells))
        have = set(self.cell_keys)
        absent = [k for k in keys if k not in have]
        if absent:
            raise ValueError(
                f"{len(absent)} of the {len(keys)} requested cells are not in this ground truth "
                f"(profile {self.profile_name!r}), e.g. {absent[0]!r}"
            )
        order = {k: i for i, k in enumerate(keys)}

        def pick(frame: pd.DataFrame) -> pd.DataFrame:
            pos = frame["cell"].map(order)
            frame = frame[pos.notna()].assign(_pos=pos[pos.notna()])
            return frame.sort_values("_pos", kind="stable").drop(columns="_pos")

        return GroundTruth(pick(self._rows), self._profile, pick(self._extras))

    # ------------------------------------------------------------------ model targets
    def targets(self, training: str = "hwa", seed: int | None = None, chip: str | None = None) -> Targets:
        """Labels as ``(n_cells, n_times)`` matrices for one training (and chip), combined over seeds.

        ``chip`` may be left out only when the table holds one chip: measurements of two chips are
        never pooled.

        With ``seed=None`` each cell's repetitions from every seed are pooled: ``mean`` is the
        ``n``-weighted mean, ``std`` the standard deviation of all pooled repetitions (within-seed
        spread plus between-seed spread, population form), ``n`` their count. Rows are the cells of
        :attr:`cells` (those with no row for ``training`` get NaN), columns :attr:`times`.
        """
        check_training(training)
        rows = self._rows
        chip = self.chip.name if chip is None else self.chip_spec(chip).name
        mask = ((rows["training"] == training) & (rows["chip"] == chip)).to_numpy()
        if seed is not None:
            mask = mask & (rows["seed"] == int(seed)).to_numpy()
        keys = self.cell_keys
        times = self.times
        cell_index = pd.Index(keys)
        ci = cell_index.get_indexer(rows["cell"][mask])
        ti = np.searchsorted(times, rows["t_inference"].to_numpy()[mask])
        m = rows["accuracy"].to_numpy()[mask]
        s = rows["std"].to_numpy()[mask]
        n = rows["n"].to_numpy()[mask].astype(float)
        shape = (len(keys), len(times))
        flat = ci * len(times) + ti
        size = shape[0] * shape[1]
        count = np.bincount(flat, weights=n, minlength=size)
        total = np.bincount(flat, weights=n * m, minlength=size)
        sq = np.bincount(flat, weights=n * (np.nan_to_num(s) ** 2 + m**2), minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
            var = np.maximum(sq / count - mean**2, 0.0)
        # a single group keeps its own std exactly (avoids cancellation error in sq - mean^2)
        groups = np.bincount(flat, minlength=size)
        single = groups == 1
        own = np.full(size, np.nan)
        own[flat] = s
        std = np.where(single, own, np.sqrt(var))
        mean[count == 0] = np.nan
        std[count == 0] = np.nan
        return Targets(
            cells=self.cells,
            times=times,
            mean=mean.reshape(shape),
            std=std.reshape(shape),
            n=count.reshape(shape).astype(np.int64),
        )
