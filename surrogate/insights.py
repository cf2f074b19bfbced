"""AnalogNAS-Bench's three insights, asked of a table or of a model (issue 13).

The paper finds that (1) post-training quantisation (PTQ) accuracy ranks cells differently from
analog accuracy, (2) wider, branched cells lose less to drift and (3) skip connections reduce the loss
from drift. A model that predicts every cell of the space should say the same; where it does, it can
also be asked about times the table never measured (1 year).

Everything here is a pure function: cell structure (:func:`skip_count`, :func:`path_count`,
:func:`output_in_degree`, :func:`structure`), per-cell accuracy from a :class:`GroundTruth` or a
fitted model in one shape (:func:`accuracy_frame`), and the statistics the insights need
(:func:`drift_loss`, :func:`group_summary`, :func:`rank_agreement`). The plotting functions return a
``matplotlib.figure.Figure`` and touch no global state (no pyplot).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .cells import Arch, as_cell

__all__ = ["skip_count", "path_count", "output_in_degree", "structure", "accuracy_frame", "extra",
           "drift_loss", "group_summary", "rank_agreement", "plot_group_summaries", "plot_rank_agreement"]


# ---------------------------------------------------------------------- cell structure
def skip_count(cell: Arch) -> int:
    """``skip_connect`` edges as drawn (out of 6 for an NB-201 cell), as the paper counts them.

    Counted on the cell, not its normal form: the normal form merges single-input skip nodes away.
    """
    return as_cell(cell).ops.count("skip_connect")


def path_count(cell: Arch) -> int:
    """Input-to-output paths of the network (how many parallel routes the signal takes); 0 when
    degenerate. Computed on the normal form, so equal networks drawn differently agree."""
    cell = as_cell(cell)
    if cell.is_degenerate:
        return 0
    norm = cell.simplified()
    count = [1] + [0] * (norm.num_nodes - 1)
    for src, dst, _ in norm.edges:  # sorted by dst, src < dst: one pass
        count[dst] += count[src]
    return count[-1]


def output_in_degree(cell: Arch) -> int:
    """Branches summed at the output: edges into the output node of the normal form (dead and
    ``none`` edges dropped, skip-only nodes merged); 0 when degenerate."""
    cell = as_cell(cell)
    if cell.is_degenerate:
        return 0
    norm = cell.simplified()
    return sum(dst == norm.num_nodes - 1 for _, dst, _ in norm.edges)


def structure(cells: Iterable[Arch]) -> pd.DataFrame:
    """One row per cell (indexed by its NB-201 string): ``skips``, ``paths``, ``out_degree``,
    ``degenerate``."""
    cells = [as_cell(c) for c in cells]
    return pd.DataFrame({"skips": [skip_count(c) for c in cells], "paths": [path_count(c) for c in cells],
                         "out_degree": [output_in_degree(c) for c in cells],
                         "degenerate": [c.is_degenerate for c in cells]},
                        index=pd.Index([c.to_str() for c in cells], name="cell"))


# ---------------------------------------------------------------------- accuracies
def accuracy_frame(source, training: str = "hwa", times: Sequence[float] | None = None,
                   cells: Iterable[Arch] | None = None) -> pd.DataFrame:
    """Accuracy (percent) per cell and time, from a table or a model, in one shape.

    Args:
        source: a :class:`~surrogate.data.GroundTruth` (measured means, seeds pooled) or a fitted
            model with ``predict(cells, times, training=...)`` (predicted means).
        training: ``"hwa"`` or ``"standard"``.
        times: seconds since programming; default the table's times (required for a model).
        cells: default the table's cells, or every NB-201 cell for a model.

    Returns:
        A DataFrame indexed by NB-201 string, one float column per time. A time the table did not
        measure is an error; a model is asked whatever it is given (it warns when extrapolating).
    """
    from .data import GroundTruth

    if isinstance(source, GroundTruth):
        t = source.targets(training)
        frame = pd.DataFrame(t.mean, index=pd.Index(source.cell_keys, name="cell"), columns=t.times.tolist())
        if times is not None:
            missing = [x for x in times if float(x) not in frame.columns]
            if missing:
                raise ValueError(f"the table has no time {missing}; it measured {t.times.tolist()}")
            frame = frame[[float(x) for x in times]]
        if cells is not None:
            keys = [as_cell(c).to_str() for c in cells]
            absent = [k for k in keys if k not in frame.index]
            if absent:
                raise ValueError(f"{len(absent)} cells are not in the table, e.g. {absent[0]!r}")
            frame = frame.loc[keys]
        return frame
    if times is None:
        raise ValueError("a model has no times of its own: pass times=[...]")
    if cells is None:
        from .nb201 import all_cells
        cells = all_cells()
    cells = [as_cell(c) for c in cells]
    times = [float(x) for x in times]
    acc = np.atleast_2d(source.predict(cells, times, training=training).accuracy)
    return pd.DataFrame(acc.reshape(len(cells), len(times)), index=pd.Index([c.to_str() for c in cells],
                        name="cell"), columns=times)


def extra(ground_truth, name: str) -> pd.Series:
    """A per-cell extra of the table (``"ptq"``, ``"digital"``...), averaged over seeds, indexed by
    NB-201 string in the table's cell order."""
    ex = ground_truth.extras_frame()
    if name not in ex.columns or name in ("cell", "seed"):
        have = [c for c in ex.columns if c not in ("cell", "seed")]
        raise ValueError(f"the table has no extra {name!r}; it has {have}")
    values = ex.groupby("cell", sort=False)[name].mean()
    return values.reindex(ground_truth.cell_keys).rename_axis("cell")


# ---------------------------------------------------------------------- statistics
def drift_loss(accuracy: pd.DataFrame, t_from: float = 60.0, t_to: float = 2592000.0) -> pd.Series:
    """Points lost between two times (positive when accuracy falls): ``accuracy[t_from] - accuracy[t_to]``."""
    for t in (t_from, t_to):
        if float(t) not in accuracy.columns:
            raise ValueError(f"no column for t = {t:g} s; columns: {list(accuracy.columns)}")
    return (accuracy[float(t_from)] - accuracy[float(t_to)]).rename(f"loss {t_from:g}->{t_to:g}")


def group_summary(values: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Per group: ``n``, ``median``, ``q25``, ``q75``, ``mean`` of ``values``.

    ``values`` and ``groups`` are aligned on their index (a value with no group, or NaN, is left
    out), so a table and a model can be summarised over exactly the same cells.
    """
    both = pd.concat({"v": values, "g": groups}, axis=1, join="inner").dropna()
    grouped = both.groupby("g")["v"]
    out = pd.DataFrame({"n": grouped.size(), "median": grouped.median(), "q25": grouped.quantile(0.25),
                        "q75": grouped.quantile(0.75), "mean": grouped.mean()})
    out.index.name = groups.name
    return out


def rank_agreement(reference: pd.Series, accuracy: pd.DataFrame) -> pd.Series:
    """Kendall tau-b between ``reference`` (e.g. PTQ accuracy) and each column of ``accuracy``, on
    the cells both have: 1 when they rank cells alike, 0 when unrelated."""
    from scipy.stats import kendalltau

    both = accuracy.join(reference.rename("_ref"), how="inner")
    return pd.Series({t: float(kendalltau(both["_ref"], both[t], nan_policy="omit").statistic)
                      for t in accuracy.columns}, name="kendall")


# ---------------------------------------------------------------------- figures
def plot_group_summaries(panels: Mapping[str, Mapping[str, pd.DataFrame]], xlabel: str, min_count: int = 20,
                         ylabel: str = "loss from drift (points)", dashed: Iterable[str] = ()):
    """Medians with inter-quartile bars, one panel per key of ``panels`` (e.g. training), one series
    per inner key (e.g. table, model; those named in ``dashed`` drawn dashed) from
    :func:`group_summary`; groups with fewer than ``min_count`` cells are not drawn."""
    from matplotlib.figure import Figure

    dashed = set(dashed)
    fig = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=False))
    for ax, (title, series) in zip(axes, panels.items()):
        for k, (label, s) in enumerate(series.items()):
            s = s[s["n"] >= min_count]
            x = np.asarray(s.index, dtype=float) + 0.08 * (k - (len(series) - 1) / 2)
            err = np.vstack([s["median"] - s["q25"], s["q75"] - s["median"]])
            ax.errorbar(x, s["median"], yerr=err, marker="o", ms=4, capsize=2, lw=1.2, label=label,
                        ls="--" if label in dashed else "-")
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    return fig


def plot_rank_agreement(curves: Mapping[str, pd.Series], title: str = "", ylabel: str = "Kendall tau",
                        dashed: Iterable[str] = ()):
    """Kendall tau against drift time (log axis), one line per key of ``curves`` (index: seconds;
    those named in ``dashed`` drawn dashed)."""
    from matplotlib.figure import Figure

    dashed = set(dashed)
    fig = Figure(figsize=(5.2, 3.4), layout="constrained")
    ax = fig.subplots()
    for label, s in curves.items():
        ax.plot(np.asarray(s.index, dtype=float), s.to_numpy(), marker="o", ms=4, label=label,
                ls="--" if label in dashed else "-")
    ax.set(xscale="log", xlabel="time since programming (s)", ylabel=ylabel, title=title, ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig
