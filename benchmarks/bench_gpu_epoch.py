"""Seconds per training epoch of the `anb-cifar10` network (NB-201 macro network, C=16, N=5) on
synthetic CIFAR-10-shaped data, on a GPU when one is there, to estimate the cost of one
AnalogNAS-Bench cell (200 digital + 200 HWA epochs) at full scale (issue 10, part 5).

The digital epoch uses the simulator's own network and SGD recipe. The HWA epoch needs aihwkit on
the GPU machine; where it is missing, that epoch is reported as not measured.

    python benchmarks/bench_gpu_epoch.py [--device cuda] [--batches N] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F

from surrogate import Cell
from surrogate.simulate.network import build_network

CELLS = {
    "all conv3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "best ANB cell": "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    "resnet-like": "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
}
TRAIN_IMAGES, BATCH = 50_000, 128


def epoch_seconds(model, device, batches: int, analog: bool = False) -> float:
    """Seconds for ``batches`` SGD steps, scaled to one 50,000-image epoch (after 5 warm-up steps)."""
    x = torch.randn(BATCH, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (BATCH,), device=device)
    if analog:
        from aihwkit.optim import AnalogSGD

        opt = AnalogSGD(model.parameters(), lr=0.01)
        opt.regroup_param_groups(model)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(batches):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / batches * (TRAIN_IMAGES / BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--out")
    args = parser.parse_args()
    device = torch.device(args.device)
    out = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu",
           "torch": torch.__version__, "batch": BATCH, "batches_timed": args.batches, "cells": {}}
    try:
        from surrogate.simulate.rpu import make_rpu_config
        from aihwkit.nn.conversion import convert_to_analog
        have_aihwkit = True
    except ImportError:
        have_aihwkit = False
    for name, text in CELLS.items():
        torch.manual_seed(0)
        model = build_network(Cell.from_str(text), width=16, depth=5, in_channels=3, num_classes=10).to(device)
        row = {"digital_epoch_s": epoch_seconds(model, device, args.batches)}
        if have_aihwkit:
            analog = convert_to_analog(model, make_rpu_config()).to(device)
            row["hwa_epoch_s"] = epoch_seconds(analog, device, max(5, args.batches // 5), analog=True)
        row["cell_estimate_h"] = 200 * (row["digital_epoch_s"] + row.get("hwa_epoch_s", float("nan"))) / 3600
        out["cells"][name] = row
        print(name, row, flush=True)
    out["aihwkit"] = have_aihwkit
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
