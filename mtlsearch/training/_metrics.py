"""Per-task metrics on a task's own sample space: AUC and logloss for binary, MSE for regression."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from mtlsearch.data import TaskSpec

__all__ = ["METRIC_DIRECTIONS", "OBJECTIVE_METRIC", "strict_metrics", "task_losses", "task_metrics", "undefined"]

OBJECTIVE_METRIC = {"binary": "auc", "regression": "mse"}  # what a study optimises per task type
METRIC_DIRECTIONS = {"auc": "maximize", "logloss": "minimize", "mse": "minimize"}


def task_losses(logits: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor, binary: torch.Tensor) -> torch.Tensor:
    """Per-task loss ``(T,)``: BCE on logits or MSE, averaged inside each task's sample space.

    ``logits``, ``labels``, ``masks``: ``(B, T)``; ``binary``: ``(T,)`` bool.
    """
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")  # (B, T)
    squared = (logits - labels).square()  # (B, T)
    per_sample = torch.where(binary, bce, squared) * masks  # (B, T), 0 outside the space
    return per_sample.sum(0) / masks.sum(0).clamp_min(1)  # (T,)


def task_metrics(
    tasks: Sequence[TaskSpec], logits: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor
) -> dict[str, float]:
    """``{"TASK/auc": ..., "TASK/logloss": ..., "TASK/mse": ..., "loss": mean task loss}``.

    AUC is NaN when a task's space holds a single class; every other value is finite for finite logits.
    """
    binary = torch.tensor([t.type == "binary" for t in tasks])
    losses = task_losses(logits.float(), labels, masks.float(), binary)
    out: dict[str, float] = {}
    for k, task in enumerate(tasks):
        inside = masks[:, k]
        if task.type == "binary":
            y = labels[inside, k].numpy()
            score = logits[inside, k].float().numpy()
            defined = 0 < y.sum() < len(y) and np.isfinite(score).all()
            out[f"{task.name}/auc"] = float(roc_auc_score(y, score)) if defined else float("nan")
            out[f"{task.name}/logloss"] = float(losses[k])
        else:
            out[f"{task.name}/mse"] = float(losses[k])
    out["loss"] = float(losses.mean())
    return out


def undefined(metrics: Mapping[str, float | None]) -> list[str]:
    """The names of metrics that are NaN, infinite or missing (None)."""
    return [name for name, value in metrics.items() if value is None or not math.isfinite(value)]


def strict_metrics(metrics: Mapping[str, float | None]) -> dict[str, float | None]:
    """``metrics`` with undefined values as ``None``: what strict JSON (``null``) can hold.

    >>> strict_metrics({"vtr/auc": float("nan"), "loss": 0.5})
    {'vtr/auc': None, 'loss': 0.5}
    """
    bad = set(undefined(metrics))
    return {name: None if name in bad else value for name, value in metrics.items()}
