import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import surrogate
from surrogate import data
from surrogate.plots import (YEAR, drift_curve, learning_curve_summary, plot_drift, plot_learning_curve,
                             plot_reliability, plot_scatter, reliability, scatter_frame)

CELL = surrogate.Cell.from_anb((2, 2, 0, 4, 2, 1))
LEVELS = (0.5, 0.7, 0.9, 0.95)


@pytest.fixture(scope="module")
def model():
    return surrogate.load("anb-cifar10")


@pytest.fixture(scope="module")
def table():
    """40 live cells and 3 degenerate ones of AnalogNAS-Bench."""
    gt = data.load("anb-cifar10")
    cells = gt.cells
    live = [c for c in cells[:200] if not c.is_degenerate][:40]
    dead = [c for c in cells if c.is_degenerate][:3]
    return gt.subset(live + dead)


def test_drift_curve_default_grid_and_interval(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # extrapolating is said by the column, not by a warning
        frame = drift_curve(model, CELL)
    assert list(frame.columns) == ["t_inference", "accuracy", "std", "lower", "upper", "degradation",
                                   "extrapolated"]
    t = frame["t_inference"].to_numpy()
    assert t[0] == 1.0 and t[-1] == YEAR and (np.diff(t) > 0).all()
    assert set(model.times_) <= set(t)
    assert (frame["lower"] <= frame["accuracy"]).all() and (frame["accuracy"] <= frame["upper"]).all()
    assert (frame["degradation"] >= 0).all() and (np.diff(frame["accuracy"]) <= 1e-9).all()
    assert frame["extrapolated"].tolist() == [not model.times_[0] <= x <= model.times_[-1] for x in t]
    at = frame.set_index("t_inference").loc[86400.0]
    p = model.predict(CELL, 86400.0)
    assert at["accuracy"] == pytest.approx(p.accuracy) and at["upper"] == pytest.approx(p.upper)
    short = drift_curve(model, CELL.to_str(), "standard", times=[3600, 60], level=0.5)
    assert short["t_inference"].tolist() == [60.0, 3600.0] and not short["extrapolated"].any()


@pytest.mark.parametrize("kwargs, match", [(dict(cell=CELL, training="digital"), "training"),
                                           (dict(cell=[CELL, CELL]), "one cell"),
                                           (dict(cell=[]), "no architectures")])
def test_drift_curve_bad_input(model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        drift_curve(model, **kwargs)


def test_plot_drift_draws_each_cell_and_the_measurements(model, table):
    cells = table.cells[:3]
    fig = plot_drift(model, cells, truth=table)
    assert isinstance(fig, Figure) and len(fig.get_axes()) == 1
    ax = fig.get_axes()[0]
    assert ax.get_xscale() == "log"
    points = {id(line) for c in ax.containers for line in (c.lines[0], *c.lines[1])}
    assert len([line for line in ax.lines if id(line) not in points]) == 2 * len(cells)  # dashed + solid
    assert len(ax.containers) == 3  # measured points of each cell
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("fitted times") and str(cells[0].to_anb()) in labels
    # a cell the table does not hold gets its curve, no points; labels are the caller's
    other = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|"
    if other not in table.cell_keys:
        fig = plot_drift(model, [other], truth=table, labels=["mine"])
        assert len(fig.get_axes()[0].containers) == 0
        assert "mine" in [t.get_text() for t in fig.get_axes()[0].get_legend().get_texts()]


def test_plot_drift_into_given_axes_and_bad_input(model):
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert plot_drift(model, CELL, ax=axes[1]) is fig
    assert len(axes[1].lines) == 2 and len(axes[0].lines) == 0
    with pytest.raises(ValueError, match="no architectures"):
        plot_drift(model, [])
    with pytest.raises(ValueError, match="training"):
        plot_drift(model, [CELL], training="qat")
    with pytest.raises(ValueError, match="labels"):
        plot_drift(model, [CELL], labels=["a", "b"])


def test_intervals_nest(model, table):
    live = [c for c in table.cells if not c.is_degenerate]
    preds = [model.predict(live, table.times, level=L) for L in LEVELS]
    for narrow, wide in zip(preds, preds[1:]):
        assert (wide.lower <= narrow.lower + 1e-9).all() and (narrow.upper <= wide.upper + 1e-9).all()


def test_reliability_frame(model, table):
    frame = reliability(model, table, levels=LEVELS)
    assert list(frame.columns) == ["training", "level", "t_inference", "coverage", "width", "n"]
    assert len(frame) == len(LEVELS) * len(table.times)
    assert (frame["n"] == 40).all()  # degenerate cells left out
    assert frame["coverage"].between(0, 1).all()
    for _, per_time in frame.groupby("t_inference"):
        per_time = per_time.sort_values("level")
        assert (np.diff(per_time["coverage"]) >= 0).all() and (np.diff(per_time["width"]) >= 0).all()
    # coverage as computed by hand at one level and time
    t = table.targets("hwa")
    live = [i for i, c in enumerate(t.cells) if not c.is_degenerate]
    p = model.predict([t.cells[i] for i in live], t.times, level=0.7)
    y = t.mean[live]
    expected = np.mean((p.lower[:, 1] <= y[:, 1]) & (y[:, 1] <= p.upper[:, 1]))
    got = frame[(frame.level == 0.7) & (frame.t_inference == t.times[1])]["coverage"].item()
    assert got == pytest.approx(expected)
    both = reliability(model, table, "standard", levels=(0.9,), include_degenerate=True)
    assert (both["n"] == 43).all() and set(both["training"]) == {"standard"}


def test_reliability_bad_input(model, table):
    dead = [c for c in table.cells if c.is_degenerate]
    with pytest.raises(ValueError, match="degenerate"):
        reliability(model, table.subset(dead))
    with pytest.raises(ValueError, match="training"):
        reliability(model, table, training="digital")
    with pytest.raises(ValueError, match="levels"):
        reliability(model, table, levels=(0.5, 1.0))


def test_plot_reliability(model, table):
    frame = reliability(model, table, levels=LEVELS)
    fig = plot_reliability(frame)
    (ax,) = fig.get_axes()
    assert len(ax.lines) == len(table.times) + 1  # one per time, the diagonal
    assert ax.get_title() == "reliability: hwa, 40 cells"
    fig = Figure()
    ax = fig.subplots()
    two = pd.concat([frame, reliability(model, table, "standard", levels=LEVELS)])
    assert plot_reliability(two, ax=ax) is fig and len(ax.lines) == 2 * len(table.times) + 1
    with pytest.raises(ValueError, match="reliability"):
        plot_reliability(frame.drop(columns="coverage"))


def test_scatter_frame_and_plot(model, table):
    frame = scatter_frame(model, table)
    assert list(frame.columns) == ["cell", "measured", "accuracy", "std", "lower", "upper"]
    assert len(frame) == 40 and frame.attrs["t_inference"] == table.times[-1]
    assert (frame["lower"] <= frame["accuracy"]).all() and (frame["accuracy"] <= frame["upper"]).all()
    assert len(scatter_frame(model, table, t_inference=60, include_degenerate=True)) == 43
    with pytest.raises(ValueError, match="no time"):
        scatter_frame(model, table, t_inference=7200)
    with pytest.raises(ValueError, match="training"):
        scatter_frame(model, table, training="ptq")

    fig = plot_scatter(model, table, t_inference=3600)
    (ax,) = fig.get_axes()
    assert "Kendall tau" in ax.get_title() and "MAE" in ax.get_title() and "1 h" in ax.get_title()
    assert len(ax.containers) == 1 and len(ax.lines) == 2  # points with bars, the diagonal
    fig = Figure()
    ax = fig.subplots()
    assert plot_scatter(model, table, hexbin=True, ax=ax) is fig
    assert len(ax.collections) == 1 and len(fig.get_axes()) == 2  # hexbin and its colour bar


def _curve():
    rows = [{"size": s, "seed": seed, "training": tr, "kendall": 0.6 + 0.05 * np.log10(s) + 0.01 * seed,
             "mae": 4.0 - np.log10(s)}
            for s in (50, 150, 450) for seed in (0, 1, 2) for tr in ("standard", "hwa")]
    return pd.DataFrame(rows)


def test_learning_curve_summary_and_plot():
    summary = learning_curve_summary(_curve(), "kendall")
    assert list(summary.columns) == ["training", "size", "mean", "sd", "n_seeds"] and len(summary) == 6
    row = summary[(summary.training == "hwa") & (summary["size"] == 150)].iloc[0]
    assert row["mean"] == pytest.approx(0.6 + 0.05 * np.log10(150) + 0.01)
    assert row["sd"] == pytest.approx(0.01) and row["n_seeds"] == 3
    assert (learning_curve_summary(_curve()[lambda f: f.seed == 0], "mae")["sd"] == 0).all()
    fig = plot_learning_curve(_curve(), "mae")
    (ax,) = fig.get_axes()
    assert ax.get_xscale() == "log" and len(ax.lines) == 2 and ax.get_ylabel() == "MAE (points)"
    fig = Figure()
    ax = fig.subplots()
    assert plot_learning_curve(_curve(), ax=ax) is fig and len(ax.lines) == 2
    with pytest.raises(ValueError, match="unknown metric"):
        plot_learning_curve(_curve(), "r2")
    with pytest.raises(ValueError, match="columns"):
        plot_learning_curve(_curve().drop(columns="seed"))
    with pytest.raises(ValueError, match="empty"):
        learning_curve_summary(_curve().iloc[:0])
