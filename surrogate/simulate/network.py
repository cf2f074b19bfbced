"""The NAS-Bench-201 macro network around any :class:`~surrogate.cells.Cell`.

Stem (3x3 conv + BN), three stages of ``depth`` cells at ``C``, ``2C`` and ``4C`` channels with a
residual reduction block between stages, BN-ReLU, global average pooling and a linear classifier
(Dong & Yang, 2020). Ops follow NB-201 exactly, so that the parameter count equals
:func:`surrogate.nb201.macro_cost` and analog conversion sees the same layers as upstream.
"""

from __future__ import annotations

import torch
from torch import nn

from ..cells import OPS, Arch, as_cell

__all__ = ["ReLUConvBN", "Zero", "CellBlock", "ResNetBasicBlock", "MacroNetwork", "build_network"]


class ReLUConvBN(nn.Sequential):
    """ReLU, Conv (no bias), BN (affine): NB-201's ``nor_conv_kxk``."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(cout, affine=True),
        )


class Zero(nn.Module):
    """NB-201's ``none``: a zero tensor of the input's shape (keeps the graph connected)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _make_op(op: str, channels: int) -> nn.Module:
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown op {op!r}; accepted ops: {', '.join(OPS)}")


class CellBlock(nn.Module):
    """One cell: node ``j`` is the sum over its incoming edges ``(i, j, op)`` of ``op(node i)``."""

    def __init__(self, cell: Arch, channels: int):
        super().__init__()
        self.cell = as_cell(cell)
        self.edge_ops = nn.ModuleList(_make_op(op, channels) for _, _, op in self.cell.edges)
        self._edges = [(src, dst) for src, dst, _ in self.cell.edges]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list = [x] + [None] * (self.cell.num_nodes - 1)
        for (src, dst), op in zip(self._edges, self.edge_ops):  # sorted by dst: inputs are ready
            out = op(nodes[src])
            nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
        return nodes[-1]


class ResNetBasicBlock(nn.Module):
    """NB-201's reduction block: two ReLUConvBN (the first with stride 2) plus a pooled 1x1 shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, stride=2)
        self.conv_b = ReLUConvBN(cout, cout, 3)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(cin, cout, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class MacroNetwork(nn.Module):
    """The NB-201 skeleton; ``forward`` takes ``(batch, in_channels, H, W)`` and returns logits."""

    def __init__(self, cell: Arch, width: int = 16, depth: int = 5, in_channels: int = 3,
                 num_classes: int = 10):
        super().__init__()
        for key, value in (("width", width), ("depth", depth), ("in_channels", in_channels),
                           ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        self.cell = as_cell(cell)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)
        )
        layers: list[nn.Module] = []
        for stage in range(3):
            channels = width * 2**stage
            if stage:
                layers.append(ResNetBasicBlock(channels // 2, channels))
            layers.extend(CellBlock(self.cell, channels) for _ in range(depth))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * width), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(out).flatten(1))


def build_network(cell: Arch, width: int = 16, depth: int = 5, in_channels: int = 3,
                  num_classes: int = 10) -> MacroNetwork:
    """The NB-201 macro network around ``cell`` (defaults: NB-201 on CIFAR-10).

    The network is size-agnostic (global pooling); the input size only matters for the data.
    """
    return MacroNetwork(cell, width=width, depth=depth, in_channels=in_channels, num_classes=num_classes)
