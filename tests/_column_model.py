"""A stand-in model for the validator's tests (shared by test_validate.py and test_validate_v2.py)."""

import numpy as np

import surrogate
from surrogate import calibration as cal
from surrogate.models import Prediction


class ColumnMeans:
    """A stand-in model of the AnalogNAS-Bench profile: per (training, time), the mean and spread of its
    training cells, nudged by the number of 3x3 convolutions. The validator only needs ``predict`` and the
    fitted attributes, so these tests do not depend on the predictor's internals. ``metrics``: record the
    training cells as `surrogate fit` does."""

    def __init__(self, gt, cells, metrics=True):
        sub = gt.subset(cells)
        self.profile_, self.profile_hash_, self.times_ = gt.profile, gt.profile_hash, gt.times
        if metrics:
            self.metrics_ = {"train_cells": f"sample:{len(cells)} (seed 0) of anb-cifar10"}
        self.columns_ = {tr: (np.nanmean(sub.targets(tr).mean, 0), np.nanstd(sub.targets(tr).mean, 0))
                         for tr in ("standard", "hwa")}

    def predict(self, archs, t_inference, training="hwa", level=0.9):
        cells = [surrogate.as_cell(a) for a in archs]
        t = np.atleast_1d(np.asarray(t_inference, dtype=float))
        mean, std = (np.interp(np.log10(t), np.log10(self.times_), v) for v in self.columns_[training])
        conv = np.array([sum(op == "nor_conv_3x3" for *_, op in c.edges) for c in cells])
        acc = mean[None, :] + 2.0 * (conv[:, None] - 2)
        std = np.broadcast_to(std, acc.shape)
        half = cal.gaussian_factor(level) * std
        return Prediction(accuracy=acc, std=std, lower=acc - half, upper=acc + half, degradation=0 * acc,
                          t_inference=t, training=training, level=level, t_ref=float(self.times_[0]))
