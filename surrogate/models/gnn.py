"""A DAG-aware graph neural network with a drift head that cannot rise with time.

The encoder visits nodes level by level (longest-path order from the input), so one pass
propagates information along every path of any length: a cell deeper than NB-201's needs no
more layers. Each level is one torch-geometric ``MessagePassing`` step over the edges that
end at that level; messages depend on the source state and the edge's op.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..cells import OPS
from ..core import TRAININGS
from ..encoding import GRAPH_FEATURES, collate, graph_features, torch_geometric_import
from ._params import ParamsMixin

with torch_geometric_import():  # without the torch.jit.script deprecation its first import emits
    from torch_geometric.nn import MessagePassing
    from torch_geometric.utils import scatter

__all__ = ["DagEncoder", "DriftHead", "GNNRegressor"]


def _mlp(dims, norm=False):
    layers = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    if norm:
        layers.append(nn.LayerNorm(dims[-1]))
    return nn.Sequential(*layers)


class _LevelConv(MessagePassing):
    """``agg_j = sum_{i->j} MLP([h_i, op_ij])``: one op-conditioned message per edge (states ``[N, hidden]``)."""

    def __init__(self, hidden: int):
        super().__init__(aggr="add", node_dim=0)
        self.mlp = _mlp([2 * hidden, hidden, hidden])

    def forward(self, h, edge_index, op_emb):
        return self.propagate(edge_index, h=h, op_emb=op_emb, size=(h.size(0), h.size(0)))

    def message(self, h_j, op_emb):
        return self.mlp(torch.cat([h_j, op_emb], dim=-1))


class DagEncoder(nn.Module):
    """Embeds each cell graph as ``[h_output, mean_nodes(h)]``: ``[graphs, 2 * hidden]``.

    Args:
        hidden: width of node states and messages.
    """

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.hidden = hidden
        self.h_input = nn.Parameter(torch.empty(hidden))
        self.op = nn.Parameter(torch.empty(len(OPS), hidden))
        self.conv = _LevelConv(hidden)
        self.update = _mlp([hidden, hidden, hidden], norm=True)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.h_input, std=0.1)
        nn.init.normal_(self.op)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.LayerNorm)):
                m.reset_parameters()

    def forward(self, edge_index, op, level, batch, ptr):
        """Args:
            edge_index: ``[2, E]`` (source, target), ``op``: ``[E]`` op index,
            level: ``[N]`` node level, batch: ``[N]`` graph of each node, ptr: ``[G + 1]``.
        """
        n, graphs = level.numel(), ptr.numel() - 1
        state = self.h_input.shape
        h = torch.zeros(n, *state, device=level.device)
        h = h.index_copy(0, ptr[:-1], self.h_input.expand(graphs, *state))
        op_emb = self.op[op]
        target_level = level[edge_index[1]]
        for lv in range(1, int(level.max()) + 1 if n else 1):
            keep = target_level == lv
            agg = self.conv(h, edge_index[:, keep], op_emb[keep])
            nodes = (level == lv).nonzero().view(-1)
            h = h.index_copy(0, nodes, self.update(agg[nodes]))
        out = h[ptr[1:] - 1]
        return torch.cat([out, scatter(h, batch, dim=0, dim_size=graphs, reduce="mean")], dim=-1)

    def __repr__(self):
        return f"{type(self).__name__}(hidden={self.hidden})"


class DriftHead(nn.Module):
    """Accuracy fraction per training at log-times ``x``, in (0, 1) and non-increasing in ``x``.

    ``a(x) = sigmoid(base - sum_m softplus(s_m) * clip(x - k_m, 0, k_{m+1} - k_m))``: the logit is
    flat before the first knot (the reference time), piecewise linear between knots, the last slope
    continued beyond; the sigmoid keeps every output a possible accuracy, however far it extrapolates.
    ``base`` and the slopes depend on the cell only (:meth:`coefficients`), so they can be cached and
    any time evaluated later, without torch, by :func:`surrogate.models._drift.drift_curve`.
    """

    def __init__(self, in_dim: int, knots, hidden: int = 64, n_outputs: int = len(TRAININGS)):
        super().__init__()
        self.register_buffer("knots", torch.as_tensor(knots, dtype=torch.float32))
        self.n_outputs = n_outputs
        self.mlp = _mlp([in_dim, hidden, n_outputs * (1 + len(knots))])

    def basis(self, x):
        k = self.knots
        width = torch.cat([k[1:] - k[:-1], torch.full((1,), float("inf"))])
        return torch.minimum(torch.relu(x.view(-1, 1) - k.view(1, -1)), width.view(1, -1))

    def coefficients(self, z):
        """``[G, n_outputs, 1 + knots]``: each cell's logit at the reference time, then its slopes."""
        o = self.mlp(z).view(z.size(0), self.n_outputs, -1)
        return torch.cat([o[..., :1], nn.functional.softplus(o[..., 1:])], dim=-1)

    def forward(self, z, x):
        """``z``: ``[G, in_dim]``, ``x``: ``[T]`` log10-times -> ``[G, n_outputs, T]``."""
        c = self.coefficients(z)
        return torch.sigmoid(c[..., :1] - torch.einsum("gkj,tj->gkt", c[..., 1:], self.basis(x)))


class _Net(nn.Module):
    """Encoder, then the head on ``[cell embedding, side features]``: the cell's standardised graph
    features (``n_graph`` of them, maybe 0) and its chip's (``n_chip``, maybe 0)."""

    def __init__(self, hidden, knots, n_chip=0, n_graph=0):
        super().__init__()
        self.n_chip, self.n_graph = n_chip, n_graph
        self.encoder = DagEncoder(hidden)
        self.head = DriftHead(2 * hidden + n_graph + n_chip, knots, hidden)
        self.register_buffer("graph_mean", torch.zeros(n_graph))
        self.register_buffer("graph_std", torch.ones(n_graph))

    def embed(self, batch, chips=None, graph=None):
        z = self.encoder(batch.edge_index, batch.op, batch.level, batch.batch, batch.ptr)
        parts = [z]
        if self.n_graph:
            parts.append((graph - self.graph_mean) / self.graph_std)
        if self.n_chip:
            parts.append(chips)
        return torch.cat(parts, dim=-1) if len(parts) > 1 else z

    def forward(self, batch, x, chips=None, graph=None):
        return self.head(self.embed(batch, chips, graph), x)


class GNNRegressor(ParamsMixin):
    """Fits :class:`DagEncoder` + :class:`DriftHead` to accuracy over (training, time).

    Chip features (:meth:`~surrogate.chips.Chip.features`, one row per cell) join the cell's
    embedding at the head when given to ``fit``; such a model needs them at prediction time.
    Settings are stored as given; ``fit`` returns ``self``; learned state ends in ``_``.
    """

    def __init__(self, hidden: int = 64, epochs: int = 200, batch_size: int = 64, lr: float = 3e-3,
                 weight_decay: float = 1e-3, rank_loss: float = 4.0, min_steps: int = 0,
                 graph_features: bool = False, random_state: int = 0):
        self.hidden = hidden
        self.graph_features = graph_features
        self.min_steps = min_steps
        self.rank_loss = rank_loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.random_state = random_state

    def fit(self, cells, times, Y, chips=None):
        """``Y``: ``[n_cells, 2, n_times]`` accuracy in percent, NaN where unmeasured; ``chips``:
        ``[n_cells, d]`` features of the chip each row was measured on, or ``None``."""
        times = np.asarray(times, dtype=float)
        gen = torch.Generator().manual_seed(self.random_state)
        torch.manual_seed(self.random_state)
        self.knots_ = np.log10(times[:-1] if len(times) > 1 else times)
        chips = None if chips is None else torch.as_tensor(np.asarray(chips, dtype=np.float32).reshape(len(Y), -1))
        cells = list(cells)
        graph = self._graph(cells)
        self.net_ = _Net(self.hidden, self.knots_, 0 if chips is None else chips.shape[1],
                         0 if graph is None else graph.shape[1])
        if graph is not None:
            self.net_.graph_mean.copy_(graph.mean(0))
            self.net_.graph_std.copy_(graph.std(0).clamp_min(1e-3))
        x = torch.tensor(np.log10(times), dtype=torch.float32)
        y = torch.tensor(np.asarray(Y, dtype=np.float32) / 100.0)
        mask = ~torch.isnan(y)
        # weight each (training, time) column by 1 / its variance: every column counts alike
        weight = mask / torch.tensor(np.nanvar(np.asarray(Y, dtype=float) / 100.0, axis=0) + 1e-4,
                                     dtype=torch.float32)
        y = torch.nan_to_num(y)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        # at least ``min_steps`` optimiser steps: fewer rows (one per network) must not mean less training
        epochs = max(self.epochs, -(-self.min_steps // -(-len(cells) // self.batch_size)))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
        self.net_.train()
        for _ in range(epochs):
            for idx in torch.randperm(len(cells), generator=gen).split(self.batch_size):
                batch = collate([cells[i] for i in idx.tolist()])
                pred = self.net_(batch, x, None if chips is None else chips[idx],
                                 None if graph is None else graph[idx])
                err = (pred - y[idx]) ** 2
                loss = (err * weight[idx]).sum() / mask[idx].sum().clamp(min=1)
                if self.rank_loss:
                    loss = loss + self.rank_loss * _pairwise_loss(pred, y[idx], mask[idx], weight[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
        self.net_.eval()
        return self

    @torch.inference_mode()
    def predict(self, cells, times, batch=None, chips=None) -> np.ndarray:
        """Accuracy in percent, ``[n_cells, 2, n_times]``; ``batch`` reuses a :func:`collate` result."""
        cells = list(cells)
        batch = collate(cells) if batch is None else batch
        x = torch.tensor(np.log10(np.asarray(times, dtype=float)), dtype=torch.float32)
        return self.net_(batch, x, self._chips(chips, batch), self._graph(cells)).numpy().astype(float) * 100.0

    @torch.inference_mode()
    def coefficients(self, cells, batch=None, chips=None) -> np.ndarray:
        """Per cell, what does not depend on time: ``[n_cells, 2, 1 + knots]`` (see :func:`~surrogate.models._drift.drift_curve`)."""
        cells = list(cells)
        batch = collate(cells) if batch is None else batch
        z = self.net_.embed(batch, self._chips(chips, batch), self._graph(cells))
        return self.net_.head.coefficients(z).numpy().astype(float)

    def _graph(self, cells):
        return torch.from_numpy(np.array(graph_features(cells))) if self.graph_features else None

    def _chips(self, chips, batch):
        if not self.net_.n_chip:
            return None
        if chips is None:
            raise ValueError("this model was fitted with chip features: pass chips=[n_cells, d]")
        return torch.as_tensor(np.asarray(chips, dtype=np.float32).reshape(batch.ptr.numel() - 1, -1))

    # persistence: a state_dict (tensors only, read with weights_only=True)
    def state_dict(self) -> dict:
        return self.net_.state_dict()

    @classmethod
    def from_state(cls, params: dict, knots, state: dict) -> "GNNRegressor":
        model = cls(**params)
        model.knots_ = np.asarray(knots, dtype=float)
        n_graph = len(GRAPH_FEATURES) if model.graph_features else 0
        n_chip = state["head.mlp.0.weight"].shape[1] - 2 * model.hidden - n_graph
        state = {"graph_mean": torch.zeros(n_graph), "graph_std": torch.ones(n_graph), **state}  # saved before v3
        model.net_ = _Net(model.hidden, model.knots_, n_chip, n_graph)
        model.net_.load_state_dict(state)
        model.net_.eval()
        return model


def _pairwise_loss(pred, y, mask, weight):
    """Logistic loss on every ordered pair of cells within a column: rewards the right order."""
    scale = weight[mask].mean().sqrt() if mask.any() else 1.0
    dp = (pred.unsqueeze(0) - pred.unsqueeze(1)) * scale  # [b, b, 2, t]
    dy = y.unsqueeze(0) - y.unsqueeze(1)
    both = mask.unsqueeze(0) & mask.unsqueeze(1) & (dy.abs() > 1e-6)
    loss = nn.functional.softplus(-torch.sign(dy) * dp)
    return (loss * both).sum() / both.sum().clamp(min=1)
