"""Zero-cost scores of a cell's macro network at initialisation: the cheap rankers to beat.

``synflow`` (Tanaka et al., 2020; as a NAS proxy in Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021): replace every weight by its absolute value, push an all-ones input
through the network with BatchNorm in eval mode, and sum ``|theta * dR/dtheta|`` over the weights,
where ``R`` is the sum of the outputs. Data-free, one forward and one backward pass. Computed in
float64 because the product of absolute weights over 20 layers overflows float32.

``noise_sensitivity``: an analog-aware score of the same network at initialisation, how far its
output moves when every weight gets the additive Gaussian noise of hardware-aware training
(std = ``w_noise`` times the layer's largest absolute weight, AnalogNAS-Bench's ``ADD_NORMAL`` 0.06).
A network whose output barely moves under that noise has less to lose on a chip.
"""

from __future__ import annotations

import torch

from ..cells import Arch, as_cell
from .network import build_network

__all__ = ["synflow", "noise_sensitivity"]


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
    score = sum(float((p * p.grad).abs().sum().detach()) for p in net.parameters() if p.grad is not None)
    return float(torch.log10(torch.tensor(score, dtype=torch.float64))) if score > 0 else float("-inf")


def noise_sensitivity(cell: Arch, w_noise: float = 0.06, width: int = 16, depth: int = 5, input_size: int = 32,
                      in_channels: int = 3, num_classes: int = 10, batch: int = 8, draws: int = 2,
                      seed: int = 0) -> float:
    """log10 of the relative output change ``||f_noisy(x) - f(x)|| / ||f(x)||`` at initialisation, averaged
    over ``draws`` noise draws, on a fixed Gaussian batch (BatchNorm in eval mode).

    Degenerate cells (no path from input to output: the output does not depend on the input) score NaN.
    """
    cell = as_cell(cell)
    if cell.is_degenerate:
        return float("nan")
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_network(cell, width=width, depth=depth, in_channels=in_channels, num_classes=num_classes)
    net.eval()
    x = torch.randn(batch, in_channels, input_size, input_size, generator=gen)
    weights = [p for name, p in net.named_parameters() if p.dim() > 1]
    with torch.no_grad():
        clean = net(x)
        saved = [w.clone() for w in weights]
        change = []
        for _ in range(draws):
            for w, w0 in zip(weights, saved):
                w.copy_(w0 + w_noise * w0.abs().max() * torch.randn(w0.shape, generator=gen))
            change.append(float((net(x) - clean).norm() / clean.norm().clamp_min(1e-12)))
        for w, w0 in zip(weights, saved):
            w.copy_(w0)
    return float(torch.log10(torch.tensor(sum(change) / draws)))
