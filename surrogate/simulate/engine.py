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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cells import Arch, Cell, as_cell
from ..core import TRAININGS, Profile, get_profile
from .datasets import DataSplit, load_dataset
from .network import build_network
from .rpu import make_rpu_config

__all__ = ["Row", "CellResult", "simulate_cell", "TRAININGS"]

#: ``(chip, training, t_inference seconds, mean %, std %, n)``: the store's row format.
Row = tuple[str, str, float, float, float, int]

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
    flip = (torch.rand(n, generator=gen) < 0.5).to(x.device)
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
                  data_root: str | os.PathLike | None = None, chips: Sequence[str] | None = None,
                  device: str = "cpu") -> CellResult:
    """Train ``cell`` digitally and measure it on each chip; fine-tune it (HWA) and measure again.

    One digital network and one HWA network (fine-tuned on the profile's default chip) are
    trained per cell; each is then programmed onto every chip and drifted, which is cheap next
    to training.

    Args:
        profile: a :class:`Profile`, its dict, a built-in name or a JSON path.
        cell: the cell (anything :func:`~surrogate.cells.as_cell` accepts).
        seed: seeds weight init, batch order and every analog noise draw.
        data_root: CIFAR-10 folder for profiles that need it (not part of the recipe).
        chips: names of the profile's chips to measure (default: all). The default chip is
            always measured, and each chip's numbers do not depend on which others are measured.
        device: ``"cpu"`` (the deterministic path, one thread), ``"cuda"``, or ``"auto"`` (CUDA when
            torch sees a GPU). Not part of the recipe; recorded in the extras as ``on_cuda`` (1 or 0),
            since a GPU's numbers differ from the CPU's in the last bits.

    Returns:
        :class:`CellResult` with rows ``(chip, training, t_inference, mean, std, n)``, ``standard``
        then ``hwa``, and extras ``digital``, ``standard_t0``, ``hwa_t0`` (accuracy %, ``t0`` =
        converted, before programming noise and drift; ``@chip`` suffixed for chips other than the
        default), ``seconds_train``, ``seconds_hwa`` and ``seconds_eval`` (``@chip`` likewise).
    """
    from aihwkit.nn.conversion import convert_to_analog

    prof = get_profile(profile)
    cell = as_cell(cell)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    p = prof.to_dict()
    all_chips = prof.chips
    measured = set(prof.select_chips(chips))
    dev = _device(device)
    root = None if data_root is None else os.fspath(data_root)
    rows: list = []
    extras: dict = {"on_cuda": float(dev.type == "cuda")}
    with _LOCK, _one_thread():
        data = _on(_cached_data(json.dumps(p["dataset"], sort_keys=True), root), dev)
        t0 = time.perf_counter()
        _seed_all(seed)
        model = build_network(cell, width=p["network"]["width"], depth=p["network"]["depth"],
                              in_channels=data.in_channels, num_classes=data.num_classes).to(dev)
        _train(model, data, p["train"], seed, analog=False)
        extras["digital"] = _accuracy(model, data)
        extras["seconds_train"] = time.perf_counter() - t0

        hwa_state = None
        for training in TRAININGS:
            if training == "hwa":
                t1 = time.perf_counter()
                _seed_all(seed + 2)
                trained = convert_to_analog(model, make_rpu_config(p["rpu"], all_chips[0])).to(dev)
                _train(trained, data, p["hwa"], seed + 2, analog=True)
                hwa_state = trained.state_dict()
                extras["seconds_hwa"] = time.perf_counter() - t1
            for i, chip in enumerate(all_chips):
                if chip.name not in measured:
                    continue
                t1 = time.perf_counter()
                suffix = "" if i == 0 else f"@{chip.name}"
                # each chip its own seeds, so its numbers do not depend on the other chips measured
                _seed_all(seed + 1 + 1000 * i if training == "standard" else seed + 3 + 1000 * i)
                analog = convert_to_analog(model, make_rpu_config(p["rpu"], chip)).to(dev)
                if hwa_state is not None:  # the HWA-trained weights and input ranges, on this chip
                    analog.load_state_dict(hwa_state, load_rpu_config=False)
                extras[f"{training}_t0{suffix}"] = _accuracy(analog, data)
                rows += [(chip.name, *row) for row in _drift_rows(
                    analog, data, training, p["t_inference"], p["repetitions"], p["reprogram"])]
                key = f"seconds_eval{suffix}"
                extras[key] = extras.get(key, 0.0) + time.perf_counter() - t1
    return CellResult(cell=cell, seed=seed, profile_hash=prof.hash, rows=tuple(rows), extras=extras)


def _device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no GPU here; use 'auto' or 'cpu'")
    return torch.device(device)


def _on(data: DataSplit, dev: torch.device) -> DataSplit:
    if dev.type == "cpu":
        return data
    return DataSplit(data.x_train.to(dev), data.y_train.to(dev), data.x_test.to(dev), data.y_test.to(dev),
                     data.num_classes)

