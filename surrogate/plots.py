"""Plots of a model's predictions: drift curves, reliability, predicted against measured, learning
curves (issue 13).

Each plot comes as a pair where the numbers are worth having on their own: a function that returns
them (a pandas DataFrame: :func:`drift_curve`, :func:`reliability`, :func:`scatter_frame`,
:func:`learning_curve_summary`) and one that draws them (``plot_*``). A plotting function draws into
the ``ax`` it is given, or else into a new ``matplotlib.figure.Figure``, and returns the figure; none
uses pyplot or touches global state, so they work in threads and without a display.

Degenerate cells (no path from input to output, :attr:`Cell.is_degenerate
<surrogate.cells.Cell.is_degenerate>`) are predicted at chance with zero spread by construction:
:func:`reliability`, :func:`scatter_frame` and :func:`plot_scatter` leave them out unless
``include_degenerate=True``, so they do not flatter the scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .cells import Arch, Cell, as_cells
from .core import check_training, get_chip

__all__ = ["drift_curve", "plot_drift", "reliability", "plot_reliability", "scatter_frame", "plot_scatter",
           "learning_curve_summary", "plot_learning_curve"]

#: One year in seconds (365 days): the end of :func:`drift_curve`'s default grid.
YEAR = 31_536_000.0
_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
_TIME_TICKS = {1.0: "1 s", 60.0: "1 min", 3600.0: "1 h", 86400.0: "1 d", 2592000.0: "30 d", YEAR: "1 y"}
_METRIC_LABELS = {"kendall": "Kendall tau", "spearman": "Spearman rho", "mae": "MAE (points)",
                  "precision_at_1pct": "precision@1 %", "coverage": "interval coverage"}
_EXTRAPOLATING = "t_inference outside the fitted range"


# ---------------------------------------------------------------------- helpers
def _axes(ax, figsize):
    """``(figure, axes)``: the figure of ``ax``, or a new Figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots()


def _time_label(t: float) -> str:
    """``60`` -> ``"1 min"``, ``2592000`` -> ``"30 d"``: seconds in the largest unit that divides them."""
    for unit, size in (("y", YEAR), ("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if t >= size and abs(t / size - round(t / size)) < 1e-9:
            return f"{round(t / size):g} {unit}"
    return f"{t:g} s"


def _percent(level: float) -> str:
    return f"{100 * level:.3g} %"


def _time_axis(ax, lo: float, hi: float) -> None:
    """Log time axis with ticks at 1 s, 1 min, 1 h, 1 d, 30 d, 1 y (those within ``[lo, hi]``)."""
    ax.set_xscale("log")
    ticks = [t for t in _TIME_TICKS if lo <= t <= hi]
    if len(ticks) >= 2:
        ax.set_xticks(ticks, [_TIME_TICKS[t] for t in ticks])
        ax.minorticks_off()
    ax.set_xlabel("time since programming (log scale)")


def _one_chip(ground_truth, chip):
    """``(table, chip)``: the rows of one chip (``chip`` names it; needed if the table holds several)."""
    if chip is not None:
        ground_truth = ground_truth.for_chip(chip if isinstance(chip, str) else get_chip(chip).name)
    return ground_truth, ground_truth.chip


def _measured(model, ground_truth, training, level, chip, include_degenerate, levels=None):
    """Measured means and predictions on the table's cells and times: ``(cells, times, Y, {level: P})``."""
    check_training(training)
    ground_truth, spec = _one_chip(ground_truth, chip)
    t = ground_truth.targets(training)
    keep = [i for i, c in enumerate(t.cells) if include_degenerate or not c.is_degenerate]
    if not keep:
        raise ValueError("no cells to score (the table is empty, or holds degenerate cells only: "
                         "include_degenerate=True keeps them)")
    cells, Y = [t.cells[i] for i in keep], t.mean[keep]
    preds = {L: model.predict(cells, t.times, training=training, level=L, chip=spec)
             for L in (levels if levels is not None else (level,))}
    return cells, np.asarray(t.times, dtype=float), Y, preds


# ---------------------------------------------------------------------- drift curves
def drift_curve(model, cell: Arch, training: str = "hwa", times: Sequence[float] | None = None,
                level: float = 0.9, chip=None) -> pd.DataFrame:
    """A cell's predicted accuracy over drift time, with its interval.

    Args:
        model: a fitted :class:`~surrogate.models.Surrogate` (or anything with its ``predict`` and
            ``times_``).
        cell: one architecture (``Cell``, NB-201 string or AnalogNAS-Bench tuple).
        training: ``"hwa"`` or ``"standard"``.
        times: seconds since programming; default 61 log-spaced times from 1 s to 1 year plus the
            model's fitted times.
        level, chip: as in :meth:`Surrogate.predict <surrogate.models.Surrogate.predict>`.

    Returns:
        One row per time, sorted: ``t_inference`` (s), ``accuracy``, ``std``, ``lower``, ``upper``,
        ``degradation`` (percent and points) and ``extrapolated`` (the time lies outside the fitted
        times, where the model follows its members' drift and widens the interval). The model's
        warning about extrapolating is not repeated: the column says it.
    """
    check_training(training)
    cells = as_cells(cell)[0]
    if len(cells) != 1:
        raise ValueError(f"drift_curve takes one cell, got {len(cells)}; plot_drift draws several")
    fitted = np.asarray(model.times_, dtype=float)
    if times is None:
        times = np.union1d(np.geomspace(1.0, YEAR, 61), fitted)
    t = np.unique(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError("times must hold at least one time in seconds")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_EXTRAPOLATING)
        p = model.predict(cells, t, training=training, level=level, chip=chip)
    frame = pd.DataFrame({"t_inference": t, **{k: np.asarray(getattr(p, k))[0] for k in
                                               ("accuracy", "std", "lower", "upper", "degradation")}})
    frame["extrapolated"] = (t < fitted[0]) | (t > fitted[-1])
    return frame


def _cell_label(cell: Cell, i: int) -> str:
    return str(cell.to_anb()) if cell.is_nb201 else f"cell {i + 1}"


def plot_drift(model, cells, training: str = "hwa", times: Sequence[float] | None = None, level: float = 0.9,
               chip=None, truth=None, labels: Sequence[str] | None = None, ax=None):
    """Predicted drift curves, one per cell, with their ``level`` interval as a band (log time axis).

    The fitted range of times (``model.times_``) is shaded and each curve is solid inside it, dashed
    outside it, where the model extrapolates. With ``truth`` (a
    :class:`~surrogate.data.GroundTruth`), the measured means of the cells it holds are drawn as
    points with the spread of their repetitions (cells it does not hold are drawn without points).
    ``labels`` name the curves; default the AnalogNAS-Bench tuple of NB-201 cells, else ``cell i``.
    Returns the figure (``ax.figure`` when ``ax`` is given).
    """
    cells = as_cells(cells)[0]
    if labels is not None and len(labels) != len(cells):
        raise ValueError(f"{len(labels)} labels for {len(cells)} cells")
    curves = [drift_curve(model, c, training, times, level, chip) for c in cells]
    fitted = np.asarray(model.times_, dtype=float)
    measured = None
    if truth is not None:
        if chip is None and len(truth.chips) > 1:
            chip = model.chip_.name
        truth, _ = _one_chip(truth, chip)
        keys = set(truth.cell_keys)
        present = [c for c in dict.fromkeys(cells) if c.to_str() in keys]
        if present:
            tg = truth.subset(present).targets(training)
            measured = {c: (tg.times, tg.mean[i], tg.std[i]) for i, c in enumerate(tg.cells)}

    fig, ax = _axes(ax, (7.0, 3.6))
    ax.axvspan(fitted[0], fitted[-1], color="0.92", zorder=0,
               label=f"fitted times ({_time_label(fitted[0])}-{_time_label(fitted[-1])})")
    first_point = True
    for i, (cell, frame) in enumerate(zip(cells, curves)):
        color = f"C{i % 10}"
        t = frame["t_inference"].to_numpy()
        inside = ~frame["extrapolated"].to_numpy()
        ax.fill_between(t, frame["lower"], frame["upper"], color=color, alpha=0.18, lw=0)
        ax.plot(t, frame["accuracy"], color=color, ls="--", lw=1.2)
        ax.plot(t[inside], frame["accuracy"].to_numpy()[inside], color=color, lw=1.8,
                label=labels[i] if labels is not None else _cell_label(cell, i))
        if measured is not None and cell in measured:
            mt, mm, ms = measured[cell]
            ok = np.isfinite(mm)
            ax.errorbar(mt[ok], mm[ok], yerr=np.nan_to_num(ms[ok]), fmt="o", ms=4, color=color, mec="k",
                        mew=0.6, capsize=2, lw=1, label="measured (± std)" if first_point else None)
            first_point = False
    t_all = np.concatenate([c["t_inference"].to_numpy() for c in curves])
    _time_axis(ax, t_all.min(), t_all.max())
    ax.set(ylabel="accuracy (%)",
           title=f"{training}: predicted, {_percent(level)} interval; dashed: extrapolated")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return fig


# ---------------------------------------------------------------------- reliability
def reliability(model, ground_truth, training: str = "hwa", levels: Iterable[float] = _LEVELS, chip=None,
                include_degenerate: bool = False) -> pd.DataFrame:
    """Observed coverage of the model's intervals, per nominal level and measured time.

    For each ``level``, ``model.predict(cells, times, level=level)`` on every cell of
    ``ground_truth`` (at the times it measured), and the share of measured means inside
    ``[lower, upper]``. Degenerate cells (at chance with a zero-width interval by construction) are
    left out unless ``include_degenerate=True``. ``chip`` picks one chip of a table that holds several.
    Pass cells the model was not fitted on (``ground_truth.subset(held_out)``) to judge it as a
    search would meet it; its training cells are scored too if the table holds them.

    Returns:
        One row per (level, time): ``training``, ``level``, ``t_inference`` (s), ``coverage`` (in
        [0, 1]), ``width`` (mean interval width, points) and ``n`` (cells measured at that time).
    """
    levels = sorted({float(x) for x in levels})
    if not levels or not all(0 < x < 1 for x in levels):
        raise ValueError(f"levels must be in (0, 1), got {levels!r}")
    cells, times, Y, preds = _measured(model, ground_truth, training, None, chip, include_degenerate, levels)
    ok = np.isfinite(Y)
    rows = []
    for L, p in preds.items():
        lower, upper = np.atleast_2d(p.lower), np.atleast_2d(p.upper)
        inside = (lower <= Y) & (Y <= upper)
        for j, t in enumerate(times):
            n = int(ok[:, j].sum())
            rows.append({"training": training, "level": L, "t_inference": float(t),
                         "coverage": float(inside[ok[:, j], j].mean()) if n else np.nan,
                         "width": float((upper - lower)[ok[:, j], j].mean()) if n else np.nan, "n": n})
    return pd.DataFrame(rows)


def plot_reliability(frame: pd.DataFrame, ax=None):
    """Observed against nominal coverage, one line per measured time (per training if the frame holds
    several), with the diagonal of perfect calibration; ``frame`` is :func:`reliability`'s output.
    Above the diagonal the intervals are too wide, below it too narrow."""
    need = {"level", "t_inference", "coverage"}
    if not need <= set(frame.columns) or frame.empty:
        raise ValueError(f"frame must be reliability()'s output with columns {sorted(need)}, non-empty")
    fig, ax = _axes(ax, (4.4, 4.0))
    trainings = list(dict.fromkeys(frame["training"])) if "training" in frame else [None]
    styles = ["-", "--", ":", "-."]
    for k, training in enumerate(trainings):
        part = frame if training is None else frame[frame["training"] == training]
        for j, (t, rows) in enumerate(part.groupby("t_inference", sort=True)):
            rows = rows.sort_values("level")
            name = _time_label(float(t)) if len(trainings) == 1 else f"{training}, {_time_label(float(t))}"
            ax.plot(rows["level"], rows["coverage"], marker="o", ms=3.5, color=f"C{j % 10}",
                    ls=styles[k % len(styles)], label=name)
    lo = min(float(frame["level"].min()), float(frame["coverage"].min())) - 0.05
    ax.plot([0, 1], [0, 1], color="0.4", lw=1, ls=":", label="ideal")
    ax.set(xlim=(lo, 1.0), ylim=(lo, 1.0), aspect="equal", xlabel="nominal coverage (interval level)",
           ylabel="observed coverage")
    title = "reliability"
    if len(trainings) == 1 and trainings[0] is not None:
        title += f": {trainings[0]}"
    if "n" in frame and frame["n"].nunique() == 1:
        title += f", {int(frame['n'].iloc[0]):,} cells"
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", title="time since programming" if len(trainings) == 1 else None,
              title_fontsize="small")
    return fig


# ---------------------------------------------------------------------- predicted against measured
def _pick_time(times: np.ndarray, t_inference) -> int:
    if t_inference is None:
        return len(times) - 1
    hit = np.flatnonzero(np.isclose(times, float(t_inference)))
    if not hit.size:
        raise ValueError(f"the table has no time {t_inference!r}; it measured {times.tolist()}")
    return int(hit[0])


def scatter_frame(model, ground_truth, training: str = "hwa", t_inference: float | None = None,
                  level: float = 0.9, chip=None, include_degenerate: bool = False) -> pd.DataFrame:
    """Predicted and measured accuracy of every measured cell of ``ground_truth`` at one time.

    ``t_inference`` must be a time the table measured; default its latest. Degenerate cells (at
    chance by construction) are left out unless ``include_degenerate=True``.

    Returns:
        One row per cell with a measurement: ``cell`` (NB-201 string), ``measured``, ``accuracy``,
        ``std``, ``lower``, ``upper`` (the ``level`` interval), all percent.
    """
    check_training(training)
    ground_truth, _ = _one_chip(ground_truth, chip)
    j = _pick_time(np.asarray(ground_truth.times, dtype=float), t_inference)
    cells, times, Y, preds = _measured(model, ground_truth, training, level, chip, include_degenerate)
    p = preds[level]
    frame = pd.DataFrame({"cell": [c.to_str() for c in cells], "measured": Y[:, j],
                          **{k: np.atleast_2d(getattr(p, k))[:, j]
                             for k in ("accuracy", "std", "lower", "upper")}})
    frame.attrs.update(t_inference=float(times[j]), training=training, level=level)
    return frame[np.isfinite(frame["measured"])].reset_index(drop=True)


def plot_scatter(model, ground_truth, training: str = "hwa", t_inference: float | None = None,
                 level: float = 0.9, chip=None, include_degenerate: bool = False, hexbin: bool | None = None,
                 ax=None):
    """Predicted (with its ``level`` interval as error bars) against measured accuracy at one time,
    with the diagonal; Kendall tau and MAE in the title.

    The cells are those of :func:`scatter_frame` (degenerate cells left out unless
    ``include_degenerate=True``). ``hexbin``: draw point density instead of points and bars; default
    when there are more than 2,000 cells.
    """
    from .metrics import kendall, mae

    frame = scatter_frame(model, ground_truth, training, t_inference, level, chip, include_degenerate)
    if len(frame) < 2:
        raise ValueError(f"need at least 2 measured cells, got {len(frame)}")
    x, y = frame["measured"].to_numpy(), frame["accuracy"].to_numpy()
    fig, ax = _axes(ax, (4.6, 4.4))
    if hexbin is None:
        hexbin = len(frame) > 2000
    if hexbin:
        art = ax.hexbin(x, y, gridsize=50, bins="log", mincnt=1, cmap="viridis")
        ax.figure.colorbar(art, ax=ax, label="cells")
    else:
        yerr = np.vstack([y - frame["lower"], frame["upper"] - y])
        ax.errorbar(x, y, yerr=yerr, fmt="o", ms=3, lw=0.7, alpha=0.7, capsize=0,
                    label=f"predicted, {_percent(level)} interval")
    lo = float(min(x.min(), frame["lower"].min() if not hexbin else y.min())) - 1
    hi = float(max(x.max(), frame["upper"].max() if not hexbin else y.max())) + 1
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, ls="--", label="predicted = measured")
    t = frame.attrs["t_inference"]
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="measured accuracy (%)", ylabel="predicted accuracy (%)",
           title=f"{training}, t = {_time_label(t)}, {len(frame):,} cells\n"
                 f"Kendall tau {kendall(y, x):.3f}, MAE {mae(y, x):.2f} points")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    return fig


# ---------------------------------------------------------------------- learning curves
def learning_curve_summary(frame: pd.DataFrame, metric: str = "kendall") -> pd.DataFrame:
    """Mean and standard deviation over seeds of ``metric`` per (training, size), from
    :func:`surrogate.research.learning_curve`'s output; columns ``training``, ``size``, ``mean``,
    ``sd`` (0 for a single seed) and ``n_seeds``."""
    need = {"size", "seed", "training"}
    if not need <= set(frame.columns):
        raise ValueError(f"frame must have columns {sorted(need)} (research.learning_curve's output); "
                         f"it has {list(frame.columns)}")
    if metric not in frame.columns or metric in need:
        have = [c for c in frame.columns if c not in need]
        raise ValueError(f"unknown metric {metric!r}; the frame has {have}")
    if frame.empty:
        raise ValueError("the learning-curve frame is empty")
    g = frame.groupby(["training", "size"], sort=True)[metric]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1).fillna(0.0), "n_seeds": g.count()})
    return out.reset_index()


def plot_learning_curve(frame: pd.DataFrame, metric: str = "kendall", ax=None):
    """``metric`` against the number of training cells (log axis): the mean over seeds per training,
    a band of ± one standard deviation; ``frame`` is :func:`surrogate.research.learning_curve`'s output."""
    summary = learning_curve_summary(frame, metric)
    fig, ax = _axes(ax, (4.8, 3.4))
    for k, (training, part) in enumerate(summary.groupby("training", sort=False)):
        color = f"C{k % 10}"
        size, mean, sd = part["size"].to_numpy(float), part["mean"].to_numpy(), part["sd"].to_numpy()
        ax.fill_between(size, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
        ax.plot(size, mean, marker="o", ms=4, color=color, label=training)
    seeds = int(summary["n_seeds"].max())
    sizes = np.unique(summary["size"].to_numpy(float))
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{x:,.0f}" for x in sizes])
    ax.minorticks_off()
    ax.set(xlabel="training cells (log scale)", ylabel=_METRIC_LABELS.get(metric, metric),
           title=f"learning curve: mean ± sd over {seeds} seed{'s' if seeds != 1 else ''}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", title="training", title_fontsize="small")
    return fig
