"""Expert utilisation: how strongly each gate weights each expert (PLE paper, figure 7).

Per level, every task gate and the shared gate get the mean and standard deviation of their
weights over a data split (one batched forward pass per chunk). An expert is *unused* when
every gate that can select it gives it a mean weight below ``UNUSED_THRESHOLD``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
import torch

from mtlsearch.data import MultiTaskData, Split
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.training import TrainResult

__all__ = ["UNUSED_THRESHOLD", "UTILISATION_ATTR", "expert_utilisation", "utilisation_hook"]

UTILISATION_ATTR = "utilisation"  # trial user attr
UNUSED_THRESHOLD = 0.05  # a mean gate weight below this, in every gate that can select the expert, flags it unused
_CHUNK = 65536  # rows per forward pass


def _expert_names(n_tasks: int, m_k: int, m_s: int, tasks: Sequence[str]) -> list[str]:
    return [f"{tasks[k]}/{i}" for k in range(n_tasks) for i in range(m_k)] + [f"shared/{i}" for i in range(m_s)]


@torch.no_grad()
def expert_utilisation(
    network: MultiTaskNetwork, split: Split, tasks: Sequence[str], *, threshold: float = UNUSED_THRESHOLD
) -> dict[str, Any]:
    """Mean and std of every gate's weights over ``split``, per level, and the unused experts.

    Returns ``{"threshold", "levels": [{"experts": [...], "gates": [{"gate", "experts", "mean",
    "std"}, ...]}], "unused": ["level 0: shared/1", ...]}``; gate ``"shared"`` is the level's
    shared gate (all levels but the last of PLE, ML-MMoE and AdaTT with shared experts). A gate
    lists the experts it can select (the level's ``select``): AdaTT's fusion gates list every
    expert of the level, cross-stitch's only the task's own column (its weight is 1).
    """
    if len(tasks) == network.n_outputs:  # funnel (product) tasks have no gates: keep the towers' names
        tasks = [tasks[k] for k in network.funnel.towers]
    was_training = network.training
    network.eval()
    n_levels = len(network.levels)
    sums: list[list[torch.Tensor]] = []  # per level: task gates then shared gate, (gates..., n)
    squares: list[list[torch.Tensor]] = []
    rows = len(split)
    for start in range(0, rows, _CHUNK):
        chunk = split.take(slice(start, start + _CHUNK))
        _, gates = network.forward_with_gates(chunk.categorical, chunk.numeric)
        for j in range(n_levels):
            parts = [gates.tasks[j].double()]  # (B, T, m_k + m_s)
            if j < len(gates.shared):
                parts.append(gates.shared[j].double().unsqueeze(1))  # (B, 1, E)
            if len(sums) <= j:
                sums.append([p.sum(0) for p in parts])
                squares.append([p.pow(2).sum(0) for p in parts])
            else:
                sums[j] = [s + p.sum(0) for s, p in zip(sums[j], parts)]
                squares[j] = [s + p.pow(2).sum(0) for s, p in zip(squares[j], parts)]
    network.train(was_training)
    m_k, m_s = network.config.specific_experts, network.config.shared_experts
    n_tasks = network.n_tasks
    names = _expert_names(n_tasks, m_k, m_s, tasks)
    levels, unused = [], []
    for j, level in enumerate(network.levels):
        select = level.select.tolist()  # (T, m_k + m_s) expert indices of each task gate
        best = torch.zeros(len(names), dtype=torch.float64)  # max mean weight over the gates that can select each
        gates = []
        for part, (total, square) in enumerate(zip(sums[j], squares[j])):
            mean = total / max(rows, 1)  # (T, n) or (1, E)
            std = (square / max(rows, 1) - mean.pow(2)).clamp_min(0).sqrt()
            for g in range(mean.shape[0]):
                ids = select[g] if part == 0 else list(range(len(names)))
                best[ids] = torch.maximum(best[ids], mean[g])
                gates.append(
                    {
                        "gate": tasks[g] if part == 0 else "shared",
                        "experts": [names[i] for i in ids],
                        "mean": [round(float(v), 5) for v in mean[g]],
                        "std": [round(float(v), 5) for v in std[g]],
                    }
                )
        unused += [f"level {j}: {names[i]}" for i in range(len(names)) if best[i] < threshold]
        levels.append({"experts": names, "gates": gates})
    return {"threshold": threshold, "levels": levels, "unused": unused}


def utilisation_hook(trial: optuna.Trial, result: TrainResult, data: MultiTaskData) -> None:
    """Result hook: store the trial's expert utilisation on the validation split."""
    stats = expert_utilisation(result.network, data.validation, data.task_names)
    trial.set_user_attr(UTILISATION_ATTR, stats)
