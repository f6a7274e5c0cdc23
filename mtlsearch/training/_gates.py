"""Gate statistics accumulated over a split's batches (for expert utilisation, PLE figure 7)."""

from __future__ import annotations

import torch

from mtlsearch.models._network import GateWeights

__all__ = ["GateSums"]


class GateSums:
    """Per level, the sum and sum of squares (float64) of every task gate's and the shared gate's
    weights over the rows added so far: ``tasks[j]`` rows ``(T, m_k + m_s)``, shared ``(1, E)``.

    Filled batch by batch from :meth:`MultiTaskNetwork.forward_with_gates`, in the order the
    batches come, so that the same batches give the same sums wherever they are added.
    """

    def __init__(self) -> None:
        self.sums: list[list[torch.Tensor]] = []  # per level: task gates then shared gate
        self.squares: list[list[torch.Tensor]] = []
        self.rows = 0

    def add(self, gates: GateWeights) -> None:
        for j, task_weights in enumerate(gates.tasks):
            parts = [task_weights.detach().double()]  # (B, T, m_k + m_s)
            if j < len(gates.shared):
                parts.append(gates.shared[j].detach().double().unsqueeze(1))  # (B, 1, E)
            if len(self.sums) <= j:
                self.sums.append([p.sum(0).cpu() for p in parts])
                self.squares.append([p.pow(2).sum(0).cpu() for p in parts])
            else:
                self.sums[j] = [s + p.sum(0).cpu() for s, p in zip(self.sums[j], parts)]
                self.squares[j] = [s + p.pow(2).sum(0).cpu() for s, p in zip(self.squares[j], parts)]
        self.rows += gates.tasks[0].shape[0] if gates.tasks else 0
