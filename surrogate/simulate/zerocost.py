"""Zero-cost scores of a cell's macro network at initialisation: the cheap rankers to beat.

``synflow`` (Tanaka et al., 2020; as a NAS proxy in Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021): replace every weight by its absolute value, push an all-ones input
through the network with BatchNorm in eval mode, and sum ``|theta * dR/dtheta|`` over the weights,
where ``R`` is the sum of the outputs. Data-free, one forward and one backward pass. Computed in
float64 because the product of absolute weights over 20 layers overflows float32.
"""

from __future__ import annotations

import torch

from ..cells import Arch, as_cell
from .network import build_network

__all__ = ["synflow"]


def synflow(cell: Arch, width: int = 16, depth: int = 5, input_size: int = 32, in_channels: int = 3,
            num_classes: int = 10, seed: int = 0) -> float:
    """log10 of the synflow score of ``cell`` in the NB-201 macro network (full size by default).

    Degenerate cells (no path from input to output) score ``-inf``.
    """
    cell = as_cell(cell)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_network(cell, width=width, depth=depth, in_channels=in_channels,
                            num_classes=num_classes).double()
    net.eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad(set_to_none=True)
    out = net(torch.ones(1, in_channels, input_size, input_size, dtype=torch.float64))
    out.sum().backward()
    score = sum(float((p * p.grad).abs().sum()) for p in net.parameters() if p.grad is not None)
    return float(torch.log10(torch.tensor(score, dtype=torch.float64))) if score > 0 else float("-inf")
