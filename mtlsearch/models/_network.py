"""One extraction network for the whole family (PLE, Tang et al. 2020, figure 4).

Level j holds T * m_k task-specific experts and m_s shared experts, all stored as one
stacked weight ``(E, d_in, d_out)`` and run as fused batched matmuls (``addmm``/``baddbmm``,
bias included; at the first level one GEMM serves the experts and both gates, at later levels
one ``baddbmm`` serves each task's experts and gate). Task k's gate weights its own experts
plus the shared ones (a broadcast multiply and sum); a shared gate (every level but the last) weights all experts
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
    """``n`` independent linear layers applied in one fused matmul (``addmm``/``baddbmm``, bias included).

    Input ``(B, d_in)`` is shared by all ``n`` layers; input ``(B, n, d_in)`` gives each its own.
    Output ``(B, n, d_out)``. :meth:`forward_layer_major` takes and returns the layer-major
    layout ``(n, B, d)`` that ``baddbmm`` works in, without the two transposes. Initialised like
    ``nn.Linear``.
    """

    def __init__(self, n: int, d_in: int, d_out: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(n, d_in, d_out).uniform_(-bound, bound))  # (n, d_in, d_out)
        self.bias = nn.Parameter(torch.empty(n, d_out).uniform_(-bound, bound))  # (n, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            n, d_in, d_out = self.weight.shape
            stacked = self.weight.transpose(0, 1).reshape(d_in, n * d_out)  # (d_in, n * d_out)
            return torch.addmm(self.bias.flatten(), x, stacked).view(-1, n, d_out)  # (B, n, d_out)
        return self.forward_layer_major(x.transpose(0, 1)).transpose(0, 1)  # (B, n, d_out)

    def forward_layer_major(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, B, d_in)`` -> ``(n, B, d_out)``: one ``baddbmm``."""
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)


class BatchedMLP(nn.Module):
    """``n`` independent MLPs of widths ``widths``: ReLU and dropout after every layer but, if
    ``last_activation`` is false, the last.

    Input ``(B, d_in)`` (shared) or ``(B, n, d_in)``; output ``(B, n, widths[-1])``.
    :meth:`forward_layer_major` works in the layout ``(n, B, d)``.
    """

    def __init__(self, n: int, d_in: int, widths: tuple[int, ...], dropout: float, last_activation: bool) -> None:
        super().__init__()
        sizes = (d_in, *widths)
        self.layers = nn.ModuleList(BatchedLinear(n, a, b) for a, b in itertools.pairwise(sizes))
        self.dropout = dropout
        self.last_activation = last_activation

    def activate(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """What follows layer ``layer`` (0-based): ReLU and dropout, or nothing after the last if
        ``last_activation`` is false."""
        if layer < len(self.layers) - 1 or self.last_activation:
            x = F.relu(x)
            if self.dropout:
                x = F.dropout(x, self.dropout, self.training)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = self.activate(self.layers[0](x), 0)  # (B, n, width)
            if len(self.layers) == 1:
                return x
            return self.forward_layer_major(x.transpose(0, 1), start=1).transpose(0, 1)  # (B, n, width)
        return self.forward_layer_major(x.transpose(0, 1)).transpose(0, 1)  # (B, n, width)

    def forward_layer_major(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """``(n, B, d)`` -> ``(n, B, widths[-1])``, from layer ``start`` on (its input is ``x``)."""
        for i in range(start, len(self.layers)):
            x = self.activate(self.layers[i].forward_layer_major(x), i)  # (n, B, width)
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
    """One extraction level: experts, per-task gates and (optionally) a shared gate.

    Experts are ordered task 0's ``m_k``, ..., task T-1's ``m_k``, then the ``m_s`` shared ones.
    The interface is batch-major like every level's (``(B, T, d)`` in, ``(B, T, h)`` out); inside,
    work is task-major ``(T, B, d)``, reached through transposed views: the ``(T, B, h)`` output
    is contiguous, so the next level's ``baddbmm`` reads it without a copy.
    """

    def __init__(self, config: ModelConfig, n_tasks: int, d_in: int, shared_gate: bool) -> None:
        super().__init__()
        m_k, m_s = config.specific_experts, config.shared_experts
        n_experts = n_tasks * m_k + m_s
        self.n_tasks, self.m_k, self.m_s = n_tasks, m_k, m_s
        self.experts = BatchedMLP(n_experts, d_in, config.expert_hidden, config.dropout, last_activation=True)
        n_select = m_k + m_s
        # A gate over a single expert is the constant 1: no parameters (shared-bottom, single-task).
        self.task_gates = BatchedLinear(n_tasks, d_in, n_select) if n_select > 1 else None
        self.shared_gate = BatchedLinear(1, d_in, n_experts) if shared_gate and n_experts > 1 else None
        self.has_shared_output = shared_gate
        self.gate_dropout = config.gate_dropout
        # Task k's gate selects its own experts, then the shared ones.
        shared_ids = list(range(n_tasks * m_k, n_experts))
        select = [list(range(k * m_k, (k + 1) * m_k)) + shared_ids for k in range(n_tasks)]
        self.register_buffer("select", torch.tensor(select), persistent=False)  # (T, m_k + m_s)

    def _gate(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax over the last dim, then gate dropout."""
        if logits.shape[-1] < 16:
            # On CPU a softmax over a short innermost dim runs row by row: 5-10x slower (forward
            # and backward) than over an outer dim, where it vectorises across rows.
            weights = torch.softmax(logits.movedim(-1, 0), dim=0).movedim(0, -1)
        else:
            weights = torch.softmax(logits, dim=-1)
        if self.gate_dropout:
            weights = F.dropout(weights, self.gate_dropout, self.training)
        return weights

    def _first_layer(
        self, tasks_in: torch.Tensor, shared_in: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """The experts' first layer and the gates, in as few fused matmuls as the inputs allow.

        Returns task experts ``(T, B, m_k * h)``, shared experts ``(B, m_s * h)`` (before their
        activation), task gate weights ``(T, B, m_k + m_s)`` and shared gate logits ``(B, E)``
        (``None`` where absent).
        """
        n_tasks, m_k, m_s = self.n_tasks, self.m_k, self.m_s
        first = self.experts.layers[0]
        _, d_in, width = first.weight.shape  # (E, d, h)
        n_task_experts = n_tasks * m_k
        task_w = first.weight[:n_task_experts]  # (T * m_k, d, h)
        task_b = first.bias[:n_task_experts]  # (T * m_k, h)
        shared_w = first.weight[n_task_experts:].transpose(0, 1).reshape(d_in, m_s * width)  # (d, m_s * h)
        shared_b = first.bias[n_task_experts:].flatten()  # (m_s * h,)
        task_weights = shared_logits = None
        if tasks_in.dim() == 2:
            # Every expert and both gates read x: one GEMM over their stacked weights.
            weights = [task_w.transpose(0, 1).reshape(d_in, n_task_experts * width), shared_w]
            biases = [task_b.flatten(), shared_b]
            sizes = [n_task_experts * width, m_s * width]
            for gate in (self.task_gates, self.shared_gate):
                if gate is not None:
                    weights.append(gate.weight.transpose(0, 1).flatten(1))  # (d, gates * n)
                    biases.append(gate.bias.flatten())
                    sizes.append(gate.bias.numel())
            out = torch.addmm(torch.cat(biases), tasks_in, torch.cat(weights, 1))  # (B, E * h + T * n + E)
            parts = list(out.split(sizes, dim=1))
            task_h = parts[0].unflatten(1, (n_tasks, m_k * width)).transpose(0, 1)  # (T, B, m_k * h)
            shared_h = parts[1]  # (B, m_s * h)
            if self.task_gates is not None:
                # Softmax before the transpose keeps the weights batch-major, like the experts: the
                # mixing's elementwise ops then see one memory order (mixed orders cost ~30%).
                task_weights = self._gate(parts[2].unflatten(1, (n_tasks, -1))).transpose(0, 1)  # (T, B, m_k + m_s)
            if self.shared_gate is not None:
                shared_logits = parts[-1]  # (B, E)
            return task_h, shared_h, task_weights, shared_logits
        # Task-major input: task k's experts and gate read slot k (one baddbmm); the shared experts
        # and the shared gate read shared_in (one addmm).
        task_h = None
        weights = [task_w.unflatten(0, (n_tasks, m_k)).transpose(1, 2).flatten(2)]  # (T, d, m_k * h)
        biases = [task_b.view(n_tasks, 1, m_k * width)]  # (T, 1, m_k * h)
        if self.task_gates is not None:
            weights.append(self.task_gates.weight)  # (T, d, m_k + m_s)
            biases.append(self.task_gates.bias.unsqueeze(1))  # (T, 1, m_k + m_s)
        if m_k or self.task_gates is not None:
            out = torch.baddbmm(torch.cat(biases, 2), tasks_in, torch.cat(weights, 2))  # (T, B, m_k * h + n)
            task_h, gate_part = out.split([m_k * width, out.shape[2] - m_k * width], dim=2)
            task_weights = self._gate(gate_part) if self.task_gates is not None else None
        shared_h = None
        if shared_in is None and (m_s or self.shared_gate is not None):
            raise ValueError("shared experts or a shared gate need shared_in")  # no architecture builds this
        if shared_in is not None:
            weights, biases = [shared_w], [shared_b]
            if self.shared_gate is not None:
                weights.append(self.shared_gate.weight[0])  # (d, E)
                biases.append(self.shared_gate.bias[0])  # (E,)
            out = torch.addmm(torch.cat(biases), shared_in, torch.cat(weights, 1))  # (B, m_s * h + E)
            shared_h, gate_part = out.split([m_s * width, out.shape[1] - m_s * width], dim=1)
            shared_logits = gate_part if self.shared_gate is not None else None
        return task_h, shared_h, task_weights, shared_logits

    def forward(
        self, tasks_in: torch.Tensor, shared_in: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """Mix the experts through the gates.

        ``tasks_in`` is ``(B, d)`` when every input is the same ``x`` (first level, shared
        embedding), else ``(B, T, d)``; ``shared_in`` is ``(B, d)`` or ``None``. Returns the
        task outputs ``(B, T, h)``, the shared output ``(B, h)`` (or ``None`` at the last level),
        the task gate weights ``(B, T, m_k + m_s)`` and the shared gate's ``(B, E)`` (or ``None``).
        Mixing is a broadcast multiply and sum (its backward is elementwise too), not a batched
        matmul over tiny matrices.
        """
        tasks_out, shared_out, task_weights, shared_weights = self._mix(
            tasks_in if tasks_in.dim() == 2 else tasks_in.transpose(0, 1), shared_in
        )
        return tasks_out.transpose(0, 1), shared_out, task_weights.transpose(0, 1), shared_weights

    def _mix(
        self, tasks_in: torch.Tensor, shared_in: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """:meth:`forward` in task-major layout: ``tasks_in`` ``(B, d)`` or ``(T, B, d)``; returns
        ``(T, B, h)``, ``(B, h)`` or ``None``, ``(T, B, m_k + m_s)``, ``(B, E)`` or ``None``."""
        n_tasks, m_k, m_s = self.n_tasks, self.m_k, self.m_s
        task_h, shared_h, task_weights, shared_logits = self._first_layer(tasks_in, shared_in)
        experts = self.experts
        task_e = shared_e = None  # (T, B, m_k, h), (B, m_s, h)
        if len(experts.layers) == 1:
            if m_k:
                task_e = experts.activate(task_h, 0).unflatten(2, (m_k, -1))  # (T, B, m_k, h)
            if m_s:
                shared_e = experts.activate(shared_h, 0).unflatten(1, (m_s, -1))  # (B, m_s, h)
        else:
            stacked = []  # expert-major (E, B, h1) for the remaining layers
            if m_k:
                stacked.append(experts.activate(task_h, 0).unflatten(2, (m_k, -1)).permute(0, 2, 1, 3).flatten(0, 1))
            if m_s:
                stacked.append(experts.activate(shared_h, 0).unflatten(1, (m_s, -1)).transpose(0, 1))
            out = experts.forward_layer_major(torch.cat(stacked), start=1)  # (E, B, h)
            if m_k:
                task_e = out[: n_tasks * m_k].unflatten(0, (n_tasks, m_k)).transpose(1, 2)  # (T, B, m_k, h)
            if m_s:
                shared_e = out[n_tasks * m_k :].transpose(0, 1)  # (B, m_s, h)
        batch = (task_e if task_e is not None else shared_e).shape[-3]

        if task_weights is None:  # one expert per task: its gate is the constant 1
            task_weights = (task_e if task_e is not None else shared_e).new_ones(n_tasks, batch, 1)  # (T, B, 1)
            tasks_out = task_e[:, :, 0] if m_k else shared_e[:, 0].expand(n_tasks, -1, -1)  # (T, B, h)
        else:
            own, shared = task_weights.split([m_k, m_s], dim=2)
            tasks_out = None
            if m_k:
                tasks_out = (own.unsqueeze(-1) * task_e).sum(2)  # (T, B, h)
            if m_s:
                mixed = (shared.unsqueeze(-1) * shared_e).sum(2)  # (T, B, m_s, h) -> (T, B, h)
                tasks_out = mixed if tasks_out is None else tasks_out + mixed

        shared_out, shared_weights = None, None
        if self.has_shared_output:
            if shared_logits is None:  # a single expert
                shared_weights = (task_e if task_e is not None else shared_e).new_ones(batch, 1)  # (B, 1)
                shared_out = task_e[0, :, 0] if m_k else shared_e[:, 0]  # (B, h)
            else:
                shared_weights = self._gate(shared_logits)  # (B, E)
                on_task, on_shared = shared_weights.split([n_tasks * m_k, m_s], dim=1)
                if m_k:
                    per_task = on_task.unflatten(1, (n_tasks, m_k)).transpose(0, 1)  # (T, B, m_k)
                    shared_out = (per_task.unsqueeze(-1) * task_e).sum((0, 2))  # (B, h)
                if m_s:
                    mixed = (on_shared.unsqueeze(-1) * shared_e).sum(1)  # (B, h)
                    shared_out = mixed if shared_out is None else shared_out + mixed
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
        self._register_load_state_dict_pre_hook(self._rename_single_table)
        from mtlsearch.models._fusion import FUSION_LEVELS  # here: _fusion builds on the layers above

        level_type = {"gated": _Level, **FUSION_LEVELS}[config.rule.fusion]
        levels = []
        for j in range(config.levels):
            levels.append(level_type(config, n_tasks, d_in, shared_gate=j < config.levels - 1))
            d_in = config.expert_hidden[-1]
        self.levels = nn.ModuleList(levels)
        self.towers = BatchedMLP(n_tasks, d_in, (*config.tower_hidden, 1), config.dropout, last_activation=False)

    def _rename_single_table(self, state_dict: dict, prefix: str, *args) -> None:
        """Checkpoints from before per-column tables stored one ``embedding.weight``; with one
        embedding width and no multi-valued column it is the same table, row for row."""
        old = f"{prefix}embedding.weight"
        if old in state_dict and len(self.inputs.tables) == 1:
            state_dict[f"{prefix}inputs.tables.0.weight"] = state_dict.pop(old)

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
            tasks_in, shared_in, task_w, shared_w = level(tasks_in, shared_in)  # (B, T, h), (B, h)
            task_gates.append(task_w)  # (B, T, m_k + m_s)
            if shared_w is not None:
                shared_gates.append(shared_w)
        logits = self.towers(tasks_in).squeeze(-1)  # (B, towers, 1) -> (B, towers)
        logits = self.funnel(logits.contiguous())  # (B, T): funnel tasks' logits from their parents'
        return logits, GateWeights(tuple(task_gates), tuple(shared_gates))

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.forward_with_gates(categorical, numeric)[0]

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
