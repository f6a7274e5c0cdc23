"""Funnel (ESMM) tasks: a task predicted as the product of other binary tasks' probabilities.

ESMM (Ma et al., "Entire Space Multi-Task Model", SIGIR 2018) predicts
p(CTCVR) = p(CTR) * p(CVR) over all impressions, so that the CVR tower is trained on the
entire space through the product instead of on clicked samples only. Here a product task has
no tower of its own: the network computes its parents' logits and emits, for the product, the
*logit* of the product probability. Everything downstream (BCE on logits, AUC, the sigmoid of
serving) then treats it as any other binary task.

This module is the one place where that composition happens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["TaskFunnel", "product_logit"]


def product_logit(parent_logits: torch.Tensor) -> torch.Tensor:
    """``logit(prod_i sigmoid(a_i))`` for parent logits ``a`` of shape ``(..., n)``; returns ``(...)``.

    Computed in log space without cancellation, finite for every finite input:
    log p = sum_i logsigmoid(a_i), and 1 - p telescopes to sum_i (prod_{j<i} p_j)(1 - p_i), so
    log(1 - p) = logsumexp_i(sum_{j<i} logsigmoid(a_j) + logsigmoid(-a_i)); logit = log p - log(1 - p).
    Gradients reach every parent.

    >>> a = torch.tensor([[0.0, 0.0]])
    >>> torch.sigmoid(product_logit(a))  # 0.5 * 0.5
    tensor([0.2500])
    """
    log_p = F.logsigmoid(parent_logits)  # (..., n)
    log_q = F.logsigmoid(-parent_logits)  # (..., n) log(1 - p_i)
    before = torch.cat([torch.zeros_like(log_p[..., :1]), log_p[..., :-1].cumsum(-1)], dim=-1)  # (..., n)
    log_not_product = torch.logsumexp(before + log_q, dim=-1)  # (...) log(1 - prod p_i)
    return log_p.sum(-1) - log_not_product


class TaskFunnel(nn.Module):
    """Maps tower logits ``(B, n_towers)`` to task logits ``(B, T)`` in the data set's task order.

    ``products`` maps a task index to the task indices of its parents (towers, not products);
    every other task has a tower, in task order. Without products this is the identity.
    """

    def __init__(self, n_tasks: int, products: Mapping[int, Sequence[int]] | None = None) -> None:
        super().__init__()
        products = dict(products or {})
        towers = [k for k in range(n_tasks) if k not in products]
        position = {task: i for i, task in enumerate(towers)}  # task index -> tower index
        parents = []
        for task in sorted(products):
            ids = list(products[task])
            if len(ids) < 2 or any(i not in position for i in ids):
                raise ValueError(f"task {task}: parents {ids} must be two or more tasks with towers")
            parents.append([position[i] for i in ids])
        self.n_tasks = n_tasks
        self.towers = tuple(towers)  # task indices that have a tower
        self.identity = not products
        self.n_products = len(parents)
        for i, ids in enumerate(parents):  # per product task, in task order: its parents' tower indices
            self.register_buffer(f"parents_{i}", torch.tensor(ids), persistent=False)
        # Output column k reads column order[k] of cat([tower logits, product logits]).
        stacked = towers + sorted(products)
        order = [stacked.index(k) for k in range(n_tasks)]
        self.register_buffer("order", torch.tensor(order), persistent=False)  # (T,)

    @property
    def n_towers(self) -> int:
        return len(self.towers)

    def forward(self, tower_logits: torch.Tensor) -> torch.Tensor:
        if self.identity:
            return tower_logits  # (B, T)
        products = [
            product_logit(tower_logits.index_select(1, getattr(self, f"parents_{i}")))  # (B,)
            for i in range(self.n_products)
        ]
        stacked = torch.cat([tower_logits, torch.stack(products, dim=1)], dim=1)  # (B, n_towers + n_products)
        return stacked.index_select(1, self.order)  # (B, T)
