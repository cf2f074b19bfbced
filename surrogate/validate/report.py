"""The report of a validation round: its JSON record, a text summary and a PNG.

The record is plain JSON (what the store keeps with ``Store.write_round``); arrays are nested lists
``[cell][training][time]`` with ``null`` where nothing was measured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import calibration as cal

__all__ = ["ValidationReport", "round_summary"]

_ARRAYS = ("pred", "std", "lower", "upper", "measured")


def round_summary(record: dict) -> dict:
    """The few numbers of a round that its history plots: when, verdict, coverage, z, bias."""
    v = record.get("verdict", {})
    o = v.get("overall", {})
    m = record.get("model", {})
    return {"time": record.get("time"), "seed": record.get("seed"), "verdict": v.get("verdict"),
            "calibrated": v.get("calibrated"), "n_cells": o.get("n_cells"), "coverage": o.get("coverage"),
            "mean_z": o.get("mean_z"), "bias": o.get("bias"), "bias_top": o.get("bias_top"),
            "coverage_recalibrated": record.get("coverage_recalibrated"),
            "model_path": m.get("path"), "model_files": m.get("files_sha256"),
            "exhausted": record.get("sampling", {}).get("exhausted")}


@dataclass
class ValidationReport:
    """One validation round.

    Attributes:
        record: the round as JSON-ready dict (model, oracle, seed, cells, predictions, measurements,
            the verdict with every statistic and test; see :func:`surrogate.validate.judge`).
        history: :func:`round_summary` of the earlier rounds of the model's profile, oldest first,
            then of this one.
        model: the model refitted on the enlarged ground truth (``refit=True``), else ``None``.
    """

    record: dict
    history: list = field(default_factory=list)
    model: object = None

    @property
    def verdict(self) -> str:
        """``calibrated``, ``biased``, ``over-confident``, ``under-confident`` (or ``too few cells``)."""
        return self.record["verdict"]["verdict"]

    @property
    def calibrated(self) -> bool:
        return bool(self.record["verdict"]["calibrated"])

    @property
    def flags(self) -> list[str]:
        return list(self.record["verdict"]["flags"])

    @property
    def columns(self) -> list[dict]:
        """Per (training, time): n, coverage, mean and max |z|, bias (all, top), MAE, Kendall, verdict."""
        return self.record["verdict"]["columns"]

    @property
    def overall(self) -> dict:
        return self.record["verdict"]["overall"]

    @property
    def cells(self) -> list[str]:
        return list(self.record["cells"])

    def arrays(self) -> dict:
        """``pred``, ``std``, ``lower``, ``upper``, ``measured`` as ``[cells, trainings, times]`` float
        arrays (NaN where not measured), plus ``top`` ``[cells]`` booleans."""
        out = {k: np.array(self.record[k], dtype=float) for k in _ARRAYS}
        out["top"] = np.array(self.record["top"], dtype=bool)
        return out

    def to_dict(self) -> dict:
        return {"round": self.record, "history": self.history}

    @property
    def headline(self) -> str:
        """The verdict in words: the largest rejected effect, where, by how much."""
        return self.record["verdict"].get("headline", self.verdict)

    @property
    def smoke(self) -> bool:
        """Whether the oracle ran an altered recipe (a smoke check of the path, not a calibration verdict)."""
        return bool(self.record.get("oracle", {}).get("derived"))

    def warnings(self) -> list[str]:
        """What limits this round's meaning: unknown training cells, an exhausted pool, an altered recipe."""
        r, out = self.record, []
        ex = r.get("exclusion", {})
        if ex.get("known") is False:
            out.append(f"training cells unknown ({ex.get('problem')}): sampled cells may be in-sample")
        sm = r.get("sampling", {})
        if sm.get("exhausted"):
            out.append(f"pool exhausted: {sm.get('reused')} of the sampled cells were measured by earlier "
                       f"rounds (series {sm.get('series')}, round {sm.get('round')}, pool {sm.get('pool')}, "
                       f"top {sm.get('top_pool')})")
        o = r.get("oracle", {})
        if o.get("derived"):
            out.append(f"smoke check: the recipe was altered ({o.get('overrides')}), so this round checks "
                       "that the path runs, not the model's calibration")
        elif o.get("reproduces"):
            out.append(f"re-simulated with recipe {o.get('profile')!r} [{o.get('profile_hash')}], which "
                       f"reproduces the model's profile [{o.get('reproduces')}] with known differences: "
                       f"{o.get('differences')}")
        return out

    def summary(self) -> str:
        """A few lines for a terminal: the model, the verdict and its headline, then one line per
        (training, time)."""
        r, v = self.record, self.record["verdict"]
        o = v["overall"]
        m = r.get("model", {})
        head = (f"verdict: {v['verdict']}" + (f" (flags: {', '.join(v['flags'])})" if v["flags"] else "")
                + f"; {o['n_cells']} cells ({o['n_top']} in the predicted top) measured by "
                f"{r['oracle']['kind']}, "
                f"seed {r['seed']}; {v['n_tests']} tests, alpha {v['alpha']:g} per round (Bonferroni"
                + (f", z clipped at {v['clip']:g}" if v.get("clip") else ", plain Gaussian tests") + ")")
        lines = [f"model: {m.get('repr', m.get('profile'))}", head]
        if v.get("headline") and not v["calibrated"]:
            lines.append(f"  {v['headline']}")
        lines += [f"  WARNING: {w}" for w in self.warnings()]
        if r.get("measure_seconds") is not None:
            lines.append(f"measured {len(r['cells'])} cells in {r['measure_seconds']:.1f} s "
                         f"({r['seconds_per_cell']:.2f} s per cell, "
                         f"{r['oracle'].get('where', r['oracle']['kind'])})")
        lines += [f"{'training':>9} {'t s':>9} {'n':>3} {'cover':>6} {'mean z':>7} {'max|z|':>7} "
                  f"{'bias':>6} "
                  f"{'b.top':>6} {'MAE':>5} {'tau':>5}  verdict"]

        def f(x, width):
            return f"{x:{width}.2f}" if x is not None else f"{'-':>{width}}"

        for c in v["columns"]:
            lines.append(f"{c['training']:>9} {c['t_inference']:>9g} {c['n']:>3} {f(c['coverage'], 6)} "
                         f"{f(c['mean_z'], 7)} {f(c['max_abs_z'], 7)} {f(c['bias'], 6)} "
                         f"{f(c['bias_top'], 6)} {f(c['mae'], 5)} {f(c['kendall'], 5)}  {c['verdict']}")
        if r.get("failed"):
            lines.append(f"{len(r['failed'])} cell(s) could not be measured: "
                         + "; ".join(f"{k}: {e.splitlines()[-1]}" for k, e in list(r["failed"].items())[:3]))
        return "\n".join(lines)

    def save(self, out) -> tuple[Path, Path]:
        """Write ``report.json`` and ``report.png`` into the folder ``out``; returns both paths."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "report.json"
        path.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False))
        return path, self.plot(out / "report.png")

    def plot(self, path) -> Path:
        """A PNG: reliability diagram, predicted against measured with intervals, history of rounds."""
        from matplotlib.figure import Figure  # no pyplot: no global backend, safe in threads

        a = self.arrays()
        trainings = self.record["trainings"]
        fig = Figure(figsize=(15, 4.6), layout="constrained")
        ax1, ax2, ax3 = fig.subplots(1, 3)
        colors = {"standard": "tab:blue", "hwa": "tab:orange"}
        levels = np.linspace(0.05, 0.95, 19)

        ax1.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        for k, tr in enumerate(trainings):
            y, m, s = a["measured"][:, k], a["pred"][:, k], a["std"][:, k]
            ax1.plot(levels, cal.reliability(y, m, s, levels), marker=".", color=colors.get(tr), label=tr)
            cov = cal.coverage(a["lower"][:, k], a["upper"][:, k], y)
            ax1.plot([self.record["level"]], [cov], marker="s", ms=8, mfc="none", color=colors.get(tr))
        ax1.set(xlabel="nominal level of the Gaussian interval", ylabel="observed coverage", xlim=(0, 1),
                ylim=(0, 1),
                title="reliability (square: the model's own interval)")
        ax1.legend(loc="upper left")

        lo_all, hi_all = np.nanmin([np.nanmin(a["lower"]), np.nanmin(a["measured"])]), \
            np.nanmax([np.nanmax(a["upper"]), np.nanmax(a["measured"])])
        ax2.plot([lo_all, hi_all], [lo_all, hi_all], color="0.6", lw=1, ls="--")
        for k, tr in enumerate(trainings):
            for top, marker in ((False, "o"), (True, "*")):
                sel = (a["top"] == top)[:, None] & np.isfinite(a["measured"][:, k])
                if not sel.any():
                    continue
                m, y = a["pred"][:, k][sel], a["measured"][:, k][sel]
                err = np.vstack([m - a["lower"][:, k][sel], a["upper"][:, k][sel] - m])
                ax2.errorbar(y, m, yerr=np.clip(err, 0, None), fmt=marker, ms=7 if top else 4, alpha=0.7,
                             color=colors.get(tr), elinewidth=0.8,
                             label=tr + (f" (predicted top, {self.record['rank_training']})" if top else ""))
        ax2.set(xlabel="measured accuracy (%)", ylabel="predicted accuracy (%)",
                title=f"predicted vs measured, {round(100 * self.record['level'])} % intervals, all times")
        ax2.legend(loc="upper left", fontsize="small")

        h = self.history or [round_summary(self.record)]
        x = np.arange(1, len(h) + 1)
        cov = np.array([np.nan if r["coverage"] is None else r["coverage"] for r in h], dtype=float)
        ax3.plot(x, cov, marker="o", color="tab:green", label="coverage")
        rec = np.array([np.nan if r.get("coverage_recalibrated") is None else r["coverage_recalibrated"]
                        for r in h], dtype=float)
        if np.isfinite(rec).any():
            ax3.plot(x, rec, marker="^", color="tab:olive", label="coverage, recalibrated (ACI)")
        bad = np.array([not r["calibrated"] for r in h])
        ax3.scatter(x[bad], cov[bad], s=120, facecolors="none", edgecolors="red", label="not calibrated",
                    zorder=3)
        ax3.axhline(self.record["level"], color="0.6", ls="--", lw=1)
        ax3.set(xlabel="round", ylabel="coverage", ylim=(0, 1.05), title="history of rounds")
        tw = ax3.twinx()
        tw.plot(x, [np.nan if r["mean_z"] is None else r["mean_z"] for r in h], marker=".",
                color="tab:purple", label="mean z")
        tw.axhline(0, color="tab:purple", lw=0.5)
        tw.set_ylabel("mean z (measured - predicted, in stds)")
        zs = [abs(r["mean_z"]) for r in h if r["mean_z"] is not None]
        lim = max([1.0] + zs) * 1.2
        tw.set_ylim(-lim, lim)
        ax3.set_xlim(0.5, len(h) + 0.5)
        lines = ax3.get_legend_handles_labels()
        more = tw.get_legend_handles_labels()
        ax3.legend(lines[0] + more[0], lines[1] + more[1], loc="lower left", fontsize="small")
        ax3.set_xticks(x if len(x) <= 20 else x[:: int(np.ceil(len(x) / 20))])
        v = self.record["verdict"]
        r = self.record
        m = r["model"]
        where = f"{Path(m['path']).name} [files {m['files_sha256']}]" if m.get("path") else "unsaved model"
        title = (f"{where}, profile {m['profile']} [{m['profile_hash']}]: {v['verdict']} "
                 f"({v['overall']['n_cells']} cells, seed {r['seed']}, oracle {r['oracle']['kind']}"
                 + (", SMOKE CHECK: recipe altered" if self.smoke else "") + ")")
        if not v["calibrated"] and v.get("headline"):
            title += "\n" + v["headline"]
        fig.suptitle(title)
        path = Path(path)
        fig.savefig(path, dpi=100)
        return path
