"""One extraction network for the whole family (PLE, Tang et al. 2020, figure 4).

Level j holds T * m_k task-specific experts and m_s shared experts, all stored as one
stacked weight ``(E, d_in, d_out)`` and run with one ``einsum``. Task k's gate weights its own
experts plus the shared ones; a shared gate (every level but the last) weights all experts
and feeds the next level's shared experts. Towers are batched the same way. The network
returns one logit per task; losses take logits and sigmoid is applied only to predict.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mtlsearch.data import FeatureSpec
from mtlsearch.models._config import ModelConfig
from mtlsearch.models._funnel import TaskFunnel

__all__ = ["BatchedLinear", "BatchedMLP", "GateWeights", "MultiTaskNetwork"]


class BatchedLinear(nn.Module):
    """``n`` independent linear layers applied in one einsum.

    Input ``(B, d_in)`` is shared by all ``n`` layers; input ``(B, n, d_in)`` gives each its own.
    Output ``(B, n, d_out)``. Initialised like ``nn.Linear``.
    """

    def __init__(self, n: int, d_in: int, d_out: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(n, d_in, d_out).uniform_(-bound, bound))  # (n, d_in, d_out)
        self.bias = nn.Parameter(torch.empty(n, d_out).uniform_(-bound, bound))  # (n, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return torch.einsum("bd,ndh->bnh", x, self.weight) + self.bias  # (B, n, d_out)
        return torch.einsum("bnd,ndh->bnh", x, self.weight) + self.bias  # (B, n, d_out)


class BatchedMLP(nn.Module):
    """``n`` independent MLPs of widths ``widths``: ReLU and dropout after every layer but, if
    ``last_activation`` is false, the last."""

    def __init__(self, n: int, d_in: int, widths: tuple[int, ...], dropout: float, last_activation: bool) -> None:
        super().__init__()
        sizes = (d_in, *widths)
        self.layers = nn.ModuleList(BatchedLinear(n, a, b) for a, b in itertools.pairwise(sizes))
        self.dropout = dropout
        self.last_activation = last_activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)  # (B, n, width)
            if i < last or self.last_activation:
                x = F.relu(x)
                if self.dropout:
                    x = F.dropout(x, self.dropout, self.training)
        return x


@dataclass(frozen=True)
class GateWeights:
    """Gate outputs of one forward pass, for expert-utilisation reports.

    ``tasks[j]`` is ``(B, T, m_k + m_s)``: task k's weights over its own experts then the shared
    ones at level j. ``shared[j]`` is ``(B, E)`` over all experts of level j (absent at the last level).
    """

    tasks: tuple[torch.Tensor, ...]
    shared: tuple[torch.Tensor, ...]


class _Level(nn.Module):
    """One extraction level: experts, per-task gates and (optionally) a shared gate."""

    def __init__(self, config: ModelConfig, n_tasks: int, d_in: int, shared_gate: bool) -> None:
        super().__init__()
        m_k, m_s = config.specific_experts, config.shared_experts
        n_experts = n_tasks * m_k + m_s
        self.experts = BatchedMLP(n_experts, d_in, config.expert_hidden, config.dropout, last_activation=True)
        n_select = m_k + m_s
        # A gate over a single expert is the constant 1: no parameters (shared-bottom, single-task).
        self.task_gates = BatchedLinear(n_tasks, d_in, n_select) if n_select > 1 else None
        self.shared_gate = BatchedLinear(1, d_in, n_experts) if shared_gate and n_experts > 1 else None
        self.has_shared_output = shared_gate
        self.gate_dropout = config.gate_dropout
        # Expert e reads slot owner[e] of the stacked (task inputs..., shared input).
        owner = [k for k in range(n_tasks) for _ in range(m_k)] + [n_tasks] * m_s
        self.register_buffer("owner", torch.tensor(owner), persistent=False)  # (E,)
        # Task k's gate selects its own experts, then the shared ones.
        shared_ids = list(range(n_tasks * m_k, n_experts))
        select = [list(range(k * m_k, (k + 1) * m_k)) + shared_ids for k in range(n_tasks)]
        self.register_buffer("select", torch.tensor(select), persistent=False)  # (T, m_k + m_s)

    def _gate(self, gate: BatchedLinear, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(gate(x), dim=-1)
        if self.gate_dropout:
            weights = F.dropout(weights, self.gate_dropout, self.training)
        return weights

    def forward(
        self, tasks_in: torch.Tensor, shared_in: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """``tasks_in`` is ``(B, T, d)`` or ``(B, d)`` when every input is the same ``x``; ``shared_in`` ``(B, d)``."""
        if tasks_in.dim() == 2:  # first level, shared embedding: all experts read x
            expert_in = tasks_in  # (B, d)
            gate_in_tasks, gate_in_shared = tasks_in, tasks_in
        else:
            slots = tasks_in if shared_in is None else torch.cat([tasks_in, shared_in.unsqueeze(1)], dim=1)
            expert_in = slots.index_select(1, self.owner)  # (B, E, d)
            gate_in_tasks, gate_in_shared = tasks_in, shared_in
        experts = self.experts(expert_in)  # (B, E, h)
        batch, n_tasks = experts.shape[0], self.select.shape[0]
        selected = experts.index_select(1, self.select.flatten())  # (B, T * (m_k + m_s), h)
        selected = selected.view(batch, n_tasks, self.select.shape[1], -1)  # (B, T, m_k + m_s, h)
        if self.task_gates is None:
            task_weights = selected.new_ones(batch, n_tasks, 1)  # (B, T, 1)
        else:
            task_weights = self._gate(self.task_gates, gate_in_tasks)  # (B, T, m_k + m_s)
        tasks_out = torch.einsum("btn,btnh->bth", task_weights, selected)  # (B, T, h)
        shared_out, shared_weights = None, None
        if self.has_shared_output:
            if self.shared_gate is None:
                shared_weights = experts.new_ones(batch, experts.shape[1])  # (B, E)
            else:
                shared_weights = self._gate(self.shared_gate, gate_in_shared).squeeze(1)  # (B, E)
            shared_out = torch.einsum("be,beh->bh", shared_weights, experts)  # (B, h)
        return tasks_out, shared_out, task_weights, shared_weights


class MultiTaskNetwork(nn.Module):
    """Embeddings, ``levels`` extraction levels and one tower per task; returns logits ``(B, T)``.

    >>> from mtlsearch.data import FeatureSpec
    >>> net = MultiTaskNetwork(ModelConfig.create("cgc"), FeatureSpec(numeric=("a", "b")), n_tasks=2)
    >>> net(torch.zeros(3, 0, dtype=torch.long), torch.zeros(3, 2)).shape
    torch.Size([3, 2])

    ``products`` (``MultiTaskData.products``) maps a funnel task to its parent tasks: such a task
    has no tower and its logit is that of the product of its parents' probabilities (ESMM, see
    ``_funnel.py``). Experts, gates and towers exist for the ``n_towers`` other tasks only.
    """

    def __init__(
        self,
        config: ModelConfig,
        features: FeatureSpec,
        n_tasks: int,
        *,
        products: Mapping[int, Sequence[int]] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.funnel = TaskFunnel(n_tasks, products)
        self.n_outputs = n_tasks  # all tasks: the width of the logits
        n_tasks = self.funnel.n_towers  # from here on: the tasks with a tower
        self.n_tasks = n_tasks  # tasks with a tower, gates and (single-task) embedding table
        self.per_task_embedding = config.rule.per_task_embedding
        n_tables = n_tasks if self.per_task_embedding else 1
        total_vocab = sum(features.vocab_sizes)
        self.embedding = nn.Embedding(total_vocab * n_tables, config.embedding_dim) if total_vocab else None
        starts = torch.tensor([0, *features.vocab_sizes[:-1]], dtype=torch.long).cumsum(0)[: features.n_categorical]
        table_starts = torch.arange(n_tables).unsqueeze(1) * total_vocab  # (tables, 1)
        self.register_buffer("offsets", table_starts + starts, persistent=False)  # (tables, C)
        d_in = features.n_categorical * config.embedding_dim + features.n_numeric
        from mtlsearch.models._fusion import FUSION_LEVELS  # here: _fusion builds on the layers above

        level_type = {"gated": _Level, **FUSION_LEVELS}[config.rule.fusion]
        levels = []
        for j in range(config.levels):
            levels.append(level_type(config, n_tasks, d_in, shared_gate=j < config.levels - 1))
            d_in = config.expert_hidden[-1]
        self.levels = nn.ModuleList(levels)
        self.towers = BatchedMLP(n_tasks, d_in, (*config.tower_hidden, 1), config.dropout, last_activation=False)

    def _inputs(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        """``(B, d)``, or ``(B, T, d)`` with one embedding table per task."""
        if self.embedding is None:
            x = numeric
            return x.unsqueeze(1).expand(-1, self.n_tasks, -1) if self.per_task_embedding else x
        codes = categorical.unsqueeze(1) + self.offsets  # (B, tables, C)
        # index_select instead of F.embedding: its backward (index_add) is ~4x faster on CPU.
        embedded = self.embedding.weight.index_select(0, codes.flatten())  # (B * tables * C, e)
        embedded = embedded.view(*codes.shape[:2], -1)  # (B, tables, C * e)
        tables = embedded.shape[1]
        x = torch.cat([embedded, numeric.unsqueeze(1).expand(-1, tables, -1)], dim=2)  # (B, tables, d)
        return x if self.per_task_embedding else x.squeeze(1)

    def forward_with_gates(self, categorical: torch.Tensor, numeric: torch.Tensor) -> tuple[torch.Tensor, GateWeights]:
        """Logits ``(B, T)`` and every gate's weights (gates of the tasks with a tower)."""
        tasks_in = self._inputs(categorical, numeric)  # (B, d) or (B, T, d)
        shared_in = tasks_in if tasks_in.dim() == 2 else None
        task_gates, shared_gates = [], []
        for level in self.levels:
            tasks_in, shared_in, task_w, shared_w = level(tasks_in, shared_in)
            task_gates.append(task_w)
            if shared_w is not None:
                shared_gates.append(shared_w)
        logits = self.towers(tasks_in).squeeze(-1)  # (B, towers, 1) -> (B, towers)
        logits = self.funnel(logits)  # (B, T): funnel tasks' logits from their parents'
        return logits, GateWeights(tuple(task_gates), tuple(shared_gates))

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.forward_with_gates(categorical, numeric)[0]

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
