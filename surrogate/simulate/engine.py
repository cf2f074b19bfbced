"""Simulate one cell under one profile and seed: digital training, analog conversion, drift, HWA.

:func:`simulate_cell` is a pure function of ``(profile, cell, seed)``: it seeds every random source
itself, runs on one torch thread, and holds a process-wide lock (torch's RNG and thread count are
process globals), so a local process, a Dask worker thread or the caller get the same numbers.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cells import Arch, Cell, as_cell
from .datasets import DataSplit, load_dataset
from .network import build_network
from .profiles import Profile, get_profile
from .rpu import make_rpu_config

__all__ = ["Row", "CellResult", "simulate_cell", "TRAININGS"]

#: ``(training, t_inference seconds, mean %, std %, n)``: the store's row format.
Row = tuple[str, float, float, float, int]
TRAININGS = ("standard", "hwa")

_LOCK = threading.Lock()


@dataclass(frozen=True)
class CellResult:
    """What one simulation returns: rows for the store plus scalar extras (accuracies %, seconds)."""

    cell: Cell
    seed: int
    profile_hash: str
    rows: tuple[Row, ...]
    extras: dict = field(default_factory=dict)


@contextlib.contextmanager
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@functools.lru_cache(maxsize=4)
def _cached_data(spec_json: str, root: str | None) -> DataSplit:
    return load_dataset(json.loads(spec_json), root=root)


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random crop (pad 4) and horizontal flip, the standard CIFAR recipe, per image."""
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (n,), generator=gen)
    dx = torch.randint(0, 9, (n,), generator=gen)
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def _train(model: nn.Module, data: DataSplit, cfg: Mapping, seed: int, analog: bool) -> None:
    """SGD with a cosine schedule over ``cfg['epochs']``; AnalogSGD when ``analog``."""
    if cfg["epochs"] == 0:
        return
    kwargs = dict(lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"],
                  nesterov=cfg["nesterov"] and cfg["momentum"] > 0)
    if analog:
        from aihwkit.optim import AnalogSGD

        opt = AnalogSGD(model.parameters(), **kwargs)
        opt.regroup_param_groups(model)
    else:
        opt = torch.optim.SGD(model.parameters(), **kwargs)
    n = len(data.y_train)
    bs = int(cfg["batch_size"])
    steps = cfg["epochs"] * math.ceil(n / bs)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(cfg["epochs"]):
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            x = data.x_train[idx]
            if cfg["augment"]:
                x = _augment(x, gen)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), data.y_train[idx])
            loss.backward()
            opt.step()
            sched.step()


@torch.no_grad()
def _accuracy(model: nn.Module, data: DataSplit, batch_size: int = 500) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(data.y_test), batch_size):
        logits = model(data.x_test[start:start + batch_size])
        correct += int((logits.argmax(1) == data.y_test[start:start + batch_size]).sum())
    return 100.0 * correct / len(data.y_test)


def _drift_rows(analog: nn.Module, data: DataSplit, training: str, times: list[float],
                repetitions: int, reprogram: bool) -> list[Row]:
    """Accuracy at every time over repetitions; each repetition programs anew unless told not to."""
    analog.eval()
    acc = np.zeros((repetitions, len(times)))
    for rep in range(repetitions):
        if reprogram or rep == 0:
            analog.program_analog_weights()
        for j, t in enumerate(times):
            analog.drift_analog_weights(t)
            acc[rep, j] = _accuracy(analog, data)
    std = acc.std(axis=0, ddof=1) if repetitions > 1 else np.zeros(len(times))
    return [(training, float(t), float(acc[:, j].mean()), float(std[j]), repetitions)
            for j, t in enumerate(times)]


def simulate_cell(profile: str | Mapping | Profile, cell: Arch, seed: int,
                  data_root: str | os.PathLike | None = None) -> CellResult:
    """Train ``cell`` digitally, convert it to analog, measure drift; fine-tune (HWA), measure again.

    Args:
        profile: a :class:`Profile`, its dict, a built-in name or a JSON path.
        cell: the cell (anything :func:`~surrogate.cells.as_cell` accepts).
        seed: seeds weight init, batch order and every analog noise draw.
        data_root: CIFAR-10 folder for profiles that need it (not part of the recipe).

    Returns:
        :class:`CellResult` with ``standard`` then ``hwa`` rows (one per ``t_inference``) and extras
        ``digital``, ``standard_t0``, ``hwa_t0`` (accuracy %, ``t0`` = converted, before programming
        noise and drift) and ``seconds_train``, ``seconds_hwa``, ``seconds_eval``.
    """
    from aihwkit.nn.conversion import convert_to_analog

    prof = get_profile(profile)
    cell = as_cell(cell)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    p = prof.to_dict()
    root = None if data_root is None else os.fspath(data_root)
    with _LOCK, _one_thread():
        data = _cached_data(json.dumps(p["dataset"], sort_keys=True), root)
        t0 = time.perf_counter()
        _seed_all(seed)
        model = build_network(cell, width=p["network"]["width"], depth=p["network"]["depth"],
                              in_channels=data.in_channels, num_classes=data.num_classes)
        _train(model, data, p["train"], seed, analog=False)
        digital = _accuracy(model, data)
        t1 = time.perf_counter()

        rpu = make_rpu_config(p["rpu"])
        _seed_all(seed + 1)
        analog = convert_to_analog(model, rpu)
        standard_t0 = _accuracy(analog, data)
        rows = _drift_rows(analog, data, "standard", p["t_inference"], p["repetitions"], p["reprogram"])
        t2 = time.perf_counter()

        _seed_all(seed + 2)
        analog = convert_to_analog(model, rpu)
        _train(analog, data, p["hwa"], seed + 2, analog=True)
        t3 = time.perf_counter()
        _seed_all(seed + 3)
        hwa_t0 = _accuracy(analog, data)
        rows += _drift_rows(analog, data, "hwa", p["t_inference"], p["repetitions"], p["reprogram"])
        t4 = time.perf_counter()
    extras = {"digital": digital, "standard_t0": standard_t0, "hwa_t0": hwa_t0,
              "seconds_train": t1 - t0, "seconds_hwa": t3 - t2, "seconds_eval": (t2 - t1) + (t4 - t3)}
    return CellResult(cell=cell, seed=seed, profile_hash=prof.hash, rows=tuple(rows), extras=extras)
