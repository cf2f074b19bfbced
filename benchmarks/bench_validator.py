"""The validator's verdict: false-alarm rate and power (simulated), and online recalibration on a
simulated search. Writes the section "Validator: false alarms, power, recalibration" of BENCHMARKS.md.

Everything starts from the shipped model `anb-cifar10` and its held-out AnalogNAS-Bench cells (those
it was not fitted on). Simulated rounds sample cells exactly as `Validator` does (seeded, stratified
over the predicted hwa accuracy, the predicted top 1 % taking half of the sample), take the model's
own predicted means and stds for them, draw "measurements" y ~ N(mean, std^2) and judge them with
`surrogate.validate.judge`:

- false alarms: the model is calibrated by construction; every flag is a false alarm.
- power: the model judged predicts 3 points too high (the draws stay at the true mean), or claims
  intervals (and stds) half as wide as the spread of the draws.

Draws of one cell are independent across its 8 (training, time) columns, or correlated like the
shipped model's real held-out z-scores (a cell it gets wrong at 60 s it gets wrong at 1 d).

The simulated search (real table, no draws): 40 rounds of 8 cells, round r drawing uniformly from
the predicted top fraction f_r of the held-out cells, f_r falling geometrically from 100 % to 0.5 %;
coverage of the model's 90 % intervals as served, and as recalibrated online by adaptive conformal
inference (`Recalibrated.update` after every round).

    PYTHONPATH=. python benchmarks/bench_validator.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time

import numpy as np

from _report import write_section

import surrogate
from surrogate import calibration as cal
from surrogate.data import load_analognasbench
from surrogate.models._targets import TRAININGS, targets
from surrogate.validate import Recalibrated, judge, stratified_sample, training_cells

SECTION = "## Validator: false alarms, power, recalibration"
ALPHA = 0.05
LEVEL = 0.9


def held_out(model, gt):
    """Predictions and table values ``[cells, training, time]`` for the held-out, non-degenerate cells."""
    train = set(training_cells(model))
    cells = [c for c in gt.cells if c not in train and not c.is_degenerate]
    cells, times, Y = targets(gt.subset(cells))
    preds = [model.predict(cells, times, training=t, level=LEVEL) for t in TRAININGS]
    P = {k: np.stack([getattr(p, k) for p in preds], axis=1) for k in ("accuracy", "std", "lower", "upper")}
    return cells, times, Y, P


def rounds(P, times, k, reps, seed, *, shift=0.0, scale=1.0, chol=None, alpha=ALPHA):
    """Share of ``reps`` simulated rounds of ``k`` cells whose verdict is not calibrated, and the labels."""
    rng = np.random.default_rng(seed)
    score = P["accuracy"][:, TRAININGS.index("hwa")].mean(axis=1)
    labels = {}
    for _ in range(reps):
        idx, top, _ = stratified_sample(score, k, rng, 0.01, 0.5)
        mu, sd = P["accuracy"][idx], P["std"][idx]
        e = rng.standard_normal((k, mu[0].size))
        if chol is not None:
            e = e @ chol.T
        y = mu + sd * e.reshape(mu.shape)  # the truth
        # the model judged: its mean moved by `shift`, its std and interval scaled by `scale`
        m = mu + shift
        lo, hi = cal.scale_interval(m, P["lower"][idx] + shift, P["upper"][idx] + shift, scale)
        v = judge(m, sd * scale, lo, hi, y, top, TRAININGS, times, alpha=alpha)
        labels[v["verdict"]] = labels.get(v["verdict"], 0) + 1
    flagged = reps - labels.get("calibrated", 0)
    return flagged / reps, labels


def binom_ci(p, n):
    half = 1.96 * np.sqrt(max(p * (1 - p), 1e-12) / n)
    return max(0.0, p - half), min(1.0, p + half)


def search(cells, Y, P, times, model, n_rounds, k, seeds, gamma):
    """Coverage per round of the served intervals, raw and ACI-recalibrated, over `seeds` searches."""
    score = P["accuracy"][:, TRAININGS.index("hwa")].mean(axis=1)
    order = np.argsort(-score, kind="stable")
    fractions = np.geomspace(1.0, 0.005, n_rounds)
    raw = np.zeros((len(seeds), n_rounds, len(TRAININGS)))
    aci = np.zeros_like(raw)
    width = np.zeros((len(seeds), n_rounds, 2))
    for s, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        recal = Recalibrated(model, level=LEVEL, gamma=gamma)
        for r, f in enumerate(fractions):
            pool = order[: max(k, int(round(f * len(order))))]
            idx = rng.choice(pool, k, replace=False)
            mu, lo, hi, y = P["accuracy"][idx], P["lower"][idx], P["upper"][idx], Y[idx]
            scale = np.stack([recal.width_scale(tr, times) for tr in TRAININGS])[None]
            slo, shi = cal.scale_interval(mu, lo, hi, scale)  # the intervals served this round
            miss = recal.update(mu, lo, hi, y, times)  # their misses; steers the next round
            raw[s, r] = ((lo <= y) & (y <= hi)).mean(axis=(0, 2))
            aci[s, r] = 1 - np.nanmean(miss, axis=(0, 2))
            width[s, r] = [(hi - lo).mean(), (shi - slo).mean()]
    return fractions, raw, aci, width


def main(quick: bool = False) -> None:
    t0 = time.perf_counter()
    model = surrogate.load("anb-cifar10")
    gt = load_analognasbench()
    cells, times, Y, P = held_out(model, gt)
    z = cal.z_scores(Y, P["accuracy"], P["std"]).reshape(len(cells), -1)
    R = np.corrcoef(z[np.isfinite(z).all(axis=1)].T)
    chol = np.linalg.cholesky(R + 1e-9 * np.eye(len(R)))
    within = [R[i, j] for i in range(8) for j in range(8) if i < j and i // 4 == j // 4]
    across = [R[i, j] for i in range(8) for j in range(8) if i // 4 != j // 4]
    kurt = ((z - np.nanmean(z, 0)) ** 4).mean(0) / np.nanvar(z, 0) ** 2
    reps_fa, reps_pow = (400, 200) if quick else (10000, 2000)
    sizes = (4, 8, 16, 32)

    lines = [f"Machine: 2-core x86-64, no GPU, Python {platform.python_version()}. "
             f"Date: {datetime.date.today()}. Measured by `benchmarks/bench_validator.py`"
             + (" --quick" if quick else "") + ".", ""]
    lines += [
        f"Setup: the shipped `anb-cifar10` model and its {len(cells):,} held-out, non-degenerate "
        "AnalogNAS-Bench cells. A round samples K cells as `Validator` does (half from the predicted top "
        "1 %, the rest stratified), takes the model's predicted mean and std for their 8 (training, time) "
        "columns and draws y ~ N(mean, std^2): a model calibrated by construction. Verdict: "
        f"`surrogate.validate.judge`, alpha = {ALPHA} per round, Bonferroni over all tests of the round "
        "(per column: z-test of mean z, two-sided chi-square of the squared residuals about their common "
        "shift in points, in units of the predicted std; per training: pooled and top z-tests of each cell's "
        "mean z over its times).",
        "",
        "Correlation of the real held-out z-scores between the (training, time) columns: "
        f"{np.mean(within):.2f} on average between two times of one training (from {min(within):.2f} to "
        f"{max(within):.2f}), {np.mean(across):.2f} across trainings; kurtosis {kurt[:4].mean():.1f} "
        f"(standard) and {kurt[4:].mean():.1f} (hwa), against 3 for a normal. Draws are made independent, or "
        "with exactly this correlation.", "",
        "| draws | K | false alarms / round (95 % CI) | power: +3 points | power: intervals / 2 | "
        "power: +3 points, alpha 0.01 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    results = {}
    for name, ch in (("independent", None), ("correlated", chol)):
        for k in sizes:
            fa, fa_labels = rounds(P, times, k, reps_fa if k == 8 else reps_pow, 1, chol=ch)
            shift, shift_labels = rounds(P, times, k, reps_pow, 2, shift=3.0, chol=ch)
            half, half_labels = rounds(P, times, k, reps_pow, 3, scale=0.5, chol=ch)
            strict, _ = rounds(P, times, k, reps_pow, 4, shift=3.0, chol=ch, alpha=0.01)
            n_fa = reps_fa if k == 8 else reps_pow
            lo, hi = binom_ci(fa, n_fa)
            results[(name, k)] = dict(shift_labels=shift_labels, half_labels=half_labels, fa_labels=fa_labels)
            lines.append(f"| {name} | {k} | {fa:.3f} ({lo:.3f}-{hi:.3f}), n = {n_fa:,} | {shift:.2f} "
                         f"| {half:.2f} | {strict:.2f} |")
            print(lines[-1], flush=True)
    fa_strict, _ = rounds(P, times, 8, reps_fa, 5, chol=chol, alpha=0.01)
    c8 = results[("correlated", 8)]
    lines += [
        "",
        f"Power is over {reps_pow:,} rounds per cell of the table, false alarms over {reps_fa:,} rounds at "
        f"K = 8 and {reps_pow:,} otherwise. At alpha 0.01 (K = 8, correlated) the false-alarm rate is "
        f"{fa_strict:.3f} ({reps_fa:,} rounds). Labels at K = 8, correlated draws: the +3 shift is called "
        + ", ".join(f"{k} {v / reps_pow:.2f}" for k, v in sorted(c8["shift_labels"].items()))
        + "; halved intervals "
        + ", ".join(f"{k} {v / reps_pow:.2f}" for k, v in sorted(c8["half_labels"].items())) + ".",
        "",
    ]

    # the real table, no draws: how often the shipped model is flagged, on what
    score = P["accuracy"][:, TRAININGS.index("hwa")].mean(axis=1)
    n_real = 100 if quick else 1000
    lines += [f"The shipped model against the real table (no draws; {n_real:,} rounds per K of held-out "
              "cells): share of rounds per verdict, and the mean over rounds of the bias (predicted minus "
              "measured, points) of the hwa predicted top.", "",
              "| K | calibrated | biased | over-confident | under-confident | hwa bias on the top (points) |",
              "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for k in (8, 16, 32, 64):
        rng = np.random.default_rng(7)
        real, top_bias = {}, []
        for _ in range(n_real):
            idx, top, _ = stratified_sample(score, k, rng, 0.01, 0.5)
            v = judge(P["accuracy"][idx], P["std"][idx], P["lower"][idx], P["upper"][idx], Y[idx], top,
                      TRAININGS, times, alpha=ALPHA)
            real[v["verdict"]] = real.get(v["verdict"], 0) + 1
            top_bias.append(v["trainings"][TRAININGS.index("hwa")]["bias_top"])
        lines.append(f"| {k} | " + " | ".join(f"{real.get(lab, 0) / n_real:.2f}" for lab in
                                              ("calibrated", "biased", "over-confident", "under-confident"))
                     + f" | {np.mean(top_bias):+.2f} |")
        print(lines[-1], flush=True)
    lines.append("")

    # the simulated search: coverage with and without ACI
    n_rounds, k = 40, 8
    seeds = range(5 if quick else 50)
    lines += [
        f"Simulated search ({len(seeds)} searches of {n_rounds} rounds x {k} cells, the real table; round r "
        "draws from the predicted top fraction f_r, 100 % down to 0.5 %): coverage of the 90 % intervals "
        "served, without and with adaptive conformal inference (`Recalibrated`, gamma per point; its state "
        "is updated after each round and used for the next), and the mean interval width (points).",
        "",
        "| gamma | rounds (f_r) | coverage standard: raw / ACI | coverage hwa: raw / ACI | width raw / ACI |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for gamma in (0.005, 0.02, 0.05):
        fr, raw, aci, width = search(cells, Y, P, times, model, n_rounds, k, seeds, gamma)
        for a, b in ((0, 10), (10, 20), (20, 30), (30, 40), (0, 40)):
            rr, aa, ww = (x[:, a:b].mean(axis=(0, 1)) for x in (raw, aci, width))
            lines.append(f"| {gamma:g} | {a + 1}-{b} ({100 * fr[a]:.1f}-{100 * fr[b - 1]:.1f} %) | "
                         f"{rr[0]:.3f} / {aa[0]:.3f} | {rr[1]:.3f} / {aa[1]:.3f} | "
                         f"{ww[0]:.1f} / {ww[1]:.1f} |")
            print(lines[-1], flush=True)
    lines += ["", f"Total time: {time.perf_counter() - t0:.0f} s."]
    write_section(SECTION, "\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, to check the script runs")
    main(parser.parse_args().quick)
