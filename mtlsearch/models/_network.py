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
from typing import NamedTuple

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


class _Column(NamedTuple):
    """One embedded input column, as the input layer lays it out."""

    name: str
    vocab_size: int  # rows of the table it owns (unused when it shares another's)
    width: int  # embedding width
    table: str  # the column whose table it reads (itself unless share_embedding)
    first_slot: int  # its first column in the categorical input
    slots: int  # 0: single-valued; else max_len slots pooled by ``pooling``
    pooling: str


class _EmbeddingInputs(nn.Module):
    """Every categorical and multi-valued column embedded, batched by embedding width.

    Columns whose tables have the same width ``e`` live in one weight ``(copies * rows, e)``
    (``copies`` is T with per-task embeddings, else 1) at fixed row offsets, so each width costs
    one gather for its single-valued columns and one gather plus one ``index_add`` for the
    slots of its multi-valued columns: the slots of column m are summed into m (padding, code
    < 0, weighs 0) and divided by the count of real values for ``mean`` pooling (an empty
    row pools to zeros). A column with ``share_embedding`` reads its owner's rows.
    Input ``(B, C + slots)`` integer codes; output ``(B, copies, sum of widths)``.
    """

    def __init__(self, features: FeatureSpec, default_dim: int, copies: int) -> None:
        super().__init__()
        dims = features.embedding_dims or (0,) * features.n_categorical
        shares = features.share_embedding or ("",) * features.n_categorical
        columns = [
            _Column(name, size, dim or default_dim, share or name, j, 0, "sum")
            for j, (name, size, dim, share) in enumerate(zip(features.categorical, features.vocab_sizes, dims, shares))
        ]
        slot = features.n_categorical
        for m in features.multi_valued:
            width = m.embedding_dim or default_dim
            columns.append(
                _Column(m.name, m.vocab_size, width, m.share_embedding or m.name, slot, m.max_len, m.pooling)
            )
            slot += m.max_len
        owners = {c.name: c for c in columns if c.table == c.name}  # the columns that own a table
        self.copies = copies
        self.tables = nn.ModuleList()
        self._groups: list[tuple[int, bool, bool]] = []  # (width, has single-valued, has multi-valued)
        self.d_out = 0
        for width in sorted({owners[c.table].width for c in columns}):
            starts, rows = {}, 0  # each owner's first row in this width's weight
            for owner in (o for o in owners.values() if o.width == width):
                starts[owner.name] = rows
                rows += owner.vocab_size
            group = [c for c in columns if owners[c.table].width == width]
            single = [c for c in group if not c.slots]
            multi = [c for c in group if c.slots]
            g = len(self.tables)
            self.tables.append(nn.Embedding(rows * copies, width))
            copy_starts = torch.arange(copies).unsqueeze(1) * rows  # (copies, 1)
            if single:
                self.register_buffer(
                    f"single_slots_{g}", torch.tensor([c.first_slot for c in single]), persistent=False
                )
                offsets = copy_starts + torch.tensor([starts[c.table] for c in single])  # (copies, C_g)
                self.register_buffer(f"single_offsets_{g}", offsets, persistent=False)
            if multi:
                slots = [c.first_slot + i for c in multi for i in range(c.slots)]
                column_of_slot = [m for m, c in enumerate(multi) for _ in range(c.slots)]
                self.register_buffer(f"multi_slots_{g}", torch.tensor(slots), persistent=False)  # (S_g,)
                offsets = copy_starts + torch.tensor([starts[multi[m].table] for m in column_of_slot])  # (copies, S_g)
                self.register_buffer(f"multi_offsets_{g}", offsets, persistent=False)
                self.register_buffer(f"multi_column_{g}", torch.tensor(column_of_slot), persistent=False)  # (S_g,)
                mean = torch.tensor([c.pooling == "mean" for c in multi])
                self.register_buffer(f"multi_mean_{g}", mean, persistent=False)  # (M_g,)
            self._groups.append((width, bool(single), bool(multi)))
            self.d_out += width * len(group)

    def forward(self, categorical: torch.Tensor) -> torch.Tensor:
        batch = categorical.shape[0]
        out = []
        for g, (width, has_single, has_multi) in enumerate(self._groups):
            weight = self.tables[g].weight
            if has_single:
                codes = categorical.index_select(1, getattr(self, f"single_slots_{g}")).long()  # (B, C_g)
                codes = codes.unsqueeze(1) + getattr(self, f"single_offsets_{g}")  # (B, copies, C_g)
                # index_select instead of F.embedding: its backward (index_add) is ~4x faster on CPU.
                embedded = weight.index_select(0, codes.flatten())  # (B * copies * C_g, e)
                out.append(embedded.view(batch, self.copies, -1))  # (B, copies, C_g * e)
            if has_multi:
                codes = categorical.index_select(1, getattr(self, f"multi_slots_{g}")).long()  # (B, S_g)
                present = (codes >= 0).to(weight.dtype)  # (B, S_g): 0 on padding
                rows = codes.clamp_min(0).unsqueeze(1) + getattr(self, f"multi_offsets_{g}")  # (B, copies, S_g)
                embedded = weight.index_select(0, rows.flatten()).view(batch, self.copies, -1, width)
                embedded = embedded * present[:, None, :, None]  # (B, copies, S_g, e)
                column = getattr(self, f"multi_column_{g}")  # (S_g,) slot -> its column
                mean = getattr(self, f"multi_mean_{g}")  # (M_g,)
                pooled = embedded.new_zeros(batch, self.copies, mean.shape[0], width)
                pooled = pooled.index_add(2, column, embedded)  # (B, copies, M_g, e): sums
                counts = present.new_zeros(batch, mean.shape[0]).index_add(1, column, present)  # (B, M_g)
                divisor = torch.where(mean, counts.clamp_min(1.0), torch.ones_like(counts))  # (B, M_g)
                pooled = pooled / divisor[:, None, :, None]
                out.append(pooled.view(batch, self.copies, -1))  # (B, copies, M_g * e)
        return torch.cat(out, dim=2) if len(out) > 1 else out[0]


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
        self.inputs = _EmbeddingInputs(features, config.embedding_dim, n_tasks if self.per_task_embedding else 1)
        d_in = self.inputs.d_out + features.n_numeric
        levels = []
        for j in range(config.levels):
            levels.append(_Level(config, n_tasks, d_in, shared_gate=j < config.levels - 1))
            d_in = config.expert_hidden[-1]
        self.levels = nn.ModuleList(levels)
        self.towers = BatchedMLP(n_tasks, d_in, (*config.tower_hidden, 1), config.dropout, last_activation=False)

    def _inputs(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        """``(B, d)``, or ``(B, T, d)`` with one embedding table per task."""
        if not self.inputs.d_out:
            x = numeric
            return x.unsqueeze(1).expand(-1, self.n_tasks, -1) if self.per_task_embedding else x
        embedded = self.inputs(categorical)  # (B, tables, sum of embedding widths)
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
