"""Extraction levels beyond PLE's gating: AdaTT's task-to-task fusion and cross-stitch units.

Both levels keep the contract of the PLE level in ``_network.py``: the experts of a level are
one :class:`BatchedMLP` (stacked ``(E, d_in, d_out)`` weights, one einsum per layer), and
``forward(tasks_in, shared_in)`` returns ``(tasks_out (B, T, h), shared_out (B, h) | None,
task_weights (B, T, n), shared_weights (B, E) | None)`` where ``task_weights`` are softmax gate
weights over the experts listed in the ``select`` buffer ``(T, n)``. Expert utilisation and the
report read these, so AdaTT's fusion gates show up in the heatmaps like any other gate.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mtlsearch.models._config import ModelConfig
from mtlsearch.models._network import BatchedLinear, BatchedMLP

__all__ = ["FUSION_LEVELS", "AdaTTLevel", "CrossStitchLevel"]


class AdaTTLevel(nn.Module):
    """One AdaTT fusion level (Li et al., "AdaTT: Adaptive Task-to-Task Fusion Network for
    Multitask Learning in Recommendations", KDD 2023, section 4; reference ``mtl_lib.py``
    ``AdaTTWSharedExps`` and, with no shared experts, ``AdaTTSp``).

    The level holds ``T * m_k`` task-specific experts and ``m_s`` shared ones; expert ``e`` reads
    the input of the unit that owns it. Every fusion unit ``u`` (each task, plus the shared unit
    on every level but the last when ``m_s > 0``) outputs

        f_u = sum_e (g_u(x_u)[e] + r_u[e]) * E_e(x_owner(e)),   g_u = softmax(W_u x_u + b_u)

    where ``g_u`` weights *all* experts of the level (task-to-task fusion) and ``r_u`` is the
    residual: a learned linear combination of unit ``u``'s own experts, or the constant 1 on
    them when every unit has exactly one expert (the reference's ``self_exp_res_connect``).
    """

    def __init__(self, config: ModelConfig, n_tasks: int, d_in: int, shared_gate: bool) -> None:
        super().__init__()
        m_k, m_s = config.specific_experts, config.shared_experts
        n_experts = n_tasks * m_k + m_s
        self.experts = BatchedMLP(n_experts, d_in, config.expert_hidden, config.dropout, last_activation=True)
        self.has_shared_output = shared_gate and m_s > 0
        n_units = n_tasks + int(self.has_shared_output)
        # One gate per unit over all experts; a gate over a single expert is the constant 1.
        self.gates = BatchedLinear(n_units, d_in, n_experts) if n_experts > 1 else None
        self.gate_dropout = config.gate_dropout
        self.n_tasks = n_tasks
        # Expert e reads slot owner[e] of the stacked (task inputs..., shared input).
        owner = [k for k in range(n_tasks) for _ in range(m_k)] + [n_tasks] * m_s
        self.register_buffer("owner", torch.tensor(owner), persistent=False)  # (E,)
        # Every task gate selects every expert of the level.
        self.register_buffer("select", torch.arange(n_experts).expand(n_tasks, -1).clone(), persistent=False)
        # Residual weights: one per expert whose unit has an output at this level.
        n_own = n_tasks * m_k + (m_s if self.has_shared_output else 0)
        units = [m_k] * n_tasks + ([m_s] if m_s else [])
        own = torch.zeros(n_units, n_experts)
        own[torch.tensor(owner[:n_own], dtype=torch.long), torch.arange(n_own)] = 1.0
        self.register_buffer("own", own, persistent=False)  # (units, E): 1 where the unit owns the expert
        self.n_units, self.n_experts = n_units, n_experts
        if any(size != 1 for size in units):
            sizes = torch.tensor([m_k] * (n_tasks * m_k) + [max(m_s, 1)] * (n_own - n_tasks * m_k), dtype=torch.float)
            bound = (1.0 / sizes).sqrt()  # the reference's uniform(-sqrt(1/m), sqrt(1/m)) per unit
            self.residual = nn.Parameter((torch.rand(n_own) * 2 - 1) * bound)  # (n_own,)
        else:
            self.register_buffer("residual", torch.ones(n_own), persistent=False)  # (n_own,) unit weights

    def residual_matrix(self) -> torch.Tensor:
        """``(units, E)``: each unit's residual weights on its own experts, zero elsewhere."""
        padded = F.pad(self.residual, (0, self.n_experts - self.residual.shape[0]))  # (E,)
        return self.own * padded  # (units, E); plain ops, so torch.export and ONNX take it as is

    def forward(
        self, tasks_in: torch.Tensor, shared_in: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """``tasks_in`` ``(B, T, d)``, or ``(B, d)`` when every unit reads the same ``x``; ``shared_in`` ``(B, d)``."""
        if tasks_in.dim() == 2:  # first level: every expert and gate reads x
            expert_in, gate_in = tasks_in, tasks_in  # (B, d)
        else:
            slots = tasks_in if shared_in is None else torch.cat([tasks_in, shared_in.unsqueeze(1)], dim=1)
            expert_in = slots.index_select(1, self.owner)  # (B, E, d)
            gate_in = slots[:, : self.n_units]  # (B, units, d)
        experts = self.experts(expert_in)  # (B, E, h)
        batch = experts.shape[0]
        if self.gates is None:
            weights = experts.new_ones(batch, self.n_units, 1)  # (B, units, 1)
        else:
            weights = torch.softmax(self.gates(gate_in), dim=-1)  # (B, units, E)
            if self.gate_dropout:
                weights = F.dropout(weights, self.gate_dropout, self.training)
        fused = torch.einsum("bue,beh->buh", weights + self.residual_matrix(), experts)  # (B, units, h)
        tasks_out = fused[:, : self.n_tasks]  # (B, T, h)
        if self.has_shared_output:
            return tasks_out, fused[:, -1], weights[:, : self.n_tasks], weights[:, -1]
        return tasks_out, None, weights, None


class CrossStitchLevel(nn.Module):
    """One level of a cross-stitch network (Misra et al., "Cross-stitch Networks for Multi-task
    Learning", CVPR 2016, equation 1): one column (expert) per task, then a learned linear
    cross-stitch unit ``out_k = sum_l alpha_kl h_l`` mixing the columns' activations.

    ``alpha`` ``(T, T)`` is unconstrained; it starts at the paper's ``alpha_S = 0.9`` on the
    diagonal and shares the remaining 0.1 among the other tasks (``alpha_D``), so each row
    sums to one at initialisation. Each task's gate is the constant 1 over its own column.
    """

    def __init__(self, config: ModelConfig, n_tasks: int, d_in: int, shared_gate: bool) -> None:
        super().__init__()
        self.experts = BatchedMLP(n_tasks, d_in, config.expert_hidden, config.dropout, last_activation=True)
        off = 0.1 / (n_tasks - 1) if n_tasks > 1 else 0.0
        alpha = torch.full((n_tasks, n_tasks), off)
        alpha.fill_diagonal_(0.9 if n_tasks > 1 else 1.0)
        self.stitch = nn.Parameter(alpha)  # (T, T) alpha_kl
        self.has_shared_output = False
        self.register_buffer("owner", torch.arange(n_tasks), persistent=False)  # (T,)
        self.register_buffer("select", torch.arange(n_tasks).unsqueeze(1), persistent=False)  # (T, 1)

    def forward(
        self, tasks_in: torch.Tensor, shared_in: torch.Tensor | None
    ) -> tuple[torch.Tensor, None, torch.Tensor, None]:
        """``tasks_in`` ``(B, T, d)`` (one input per column) or ``(B, d)`` (the same ``x`` for all)."""
        columns = self.experts(tasks_in)  # (B, T, h)
        stitched = torch.einsum("kl,blh->bkh", self.stitch, columns)  # (B, T, h)
        ones = columns.new_ones(columns.shape[0], columns.shape[1], 1)  # (B, T, 1)
        return stitched, None, ones, None


# The level class of each ``ArchitectureRule.fusion`` other than PLE's "gated".
FUSION_LEVELS: dict[str, type[nn.Module]] = {"adatt": AdaTTLevel, "cross-stitch": CrossStitchLevel}
