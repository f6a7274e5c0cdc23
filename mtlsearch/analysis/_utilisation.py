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
from mtlsearch.training._gates import GateSums

__all__ = ["UNUSED_THRESHOLD", "UTILISATION_ATTR", "expert_utilisation", "utilisation_hook"]

UTILISATION_ATTR = "utilisation"  # trial user attr
UNUSED_THRESHOLD = 0.05  # a mean gate weight below this, in every gate that can select the expert, flags it unused
_CHUNK = 65536  # rows per forward pass


def _expert_names(n_tasks: int, m_k: int, m_s: int, tasks: Sequence[str]) -> list[str]:
    return [f"{tasks[k]}/{i}" for k in range(n_tasks) for i in range(m_k)] + [f"shared/{i}" for i in range(m_s)]


@torch.no_grad()
def expert_utilisation(
    network: MultiTaskNetwork,
    split: Split,
    tasks: Sequence[str],
    *,
    threshold: float = UNUSED_THRESHOLD,
    sums: GateSums | None = None,
) -> dict[str, Any]:
    """Mean and std of every gate's weights over ``split``, per level, and the unused experts.

    Returns ``{"threshold", "levels": [{"experts": [...], "gates": [{"gate", "experts", "mean",
    "std"}, ...]}], "unused": ["level 0: shared/1", ...]}``; gate ``"shared"`` is the level's
    shared gate (all levels but the last of PLE, ML-MMoE and AdaTT with shared experts). A gate
    lists the experts it can select (the level's ``select``): AdaTT's fusion gates list every
    expert of the level, cross-stitch's only the task's own column (its weight is 1). ``sums``,
    when given, are the gate sums of this network's forward passes over ``split`` already made
    (by training's last validation of these weights, in the same chunks): no new pass is needed.
    """
    if len(tasks) == network.n_outputs:  # funnel (product) tasks have no gates: keep the towers' names
        tasks = [tasks[k] for k in network.funnel.towers]
    if sums is None:
        was_training = network.training
        network.eval()
        sums = GateSums()
        for start in range(0, len(split), _CHUNK):
            chunk = split.take(slice(start, start + _CHUNK))
            sums.add(network.forward_with_gates(chunk.categorical, chunk.numeric)[1])
        network.train(was_training)
    rows = sums.rows
    m_k, m_s = network.config.specific_experts, network.config.shared_experts
    n_tasks = network.n_tasks
    names = _expert_names(n_tasks, m_k, m_s, tasks)
    levels, unused = [], []
    for j, level in enumerate(network.levels):
        select = level.select.tolist()  # (T, m_k + m_s) expert indices of each task gate
        best = torch.zeros(len(names), dtype=torch.float64)  # max mean weight over the gates that can select each
        gates = []
        for part, (total, square) in enumerate(zip(sums.sums[j], sums.squares[j])):
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
    """Result hook: store the trial's expert utilisation on the validation split, from the gate
    sums training recorded in the best epoch's validation when it made them in the same chunks
    (the default ``eval_batch_size``, or a split smaller than both), else from a new pass."""
    same_chunks = result.config.training.eval_batch_size == _CHUNK or len(data.validation) <= min(
        result.config.training.eval_batch_size, _CHUNK
    )
    sums = result.validation_gates if same_chunks else None
    stats = expert_utilisation(result.network, data.validation, data.task_names, sums=sums)
    trial.set_user_attr(UTILISATION_ATTR, stats)
