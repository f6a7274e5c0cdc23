"""Loss balancing: how one batch's per-task losses become a parameter update.

Every method is a small ``nn.Module`` behind one interface, :class:`LossBalancing`: it receives
the task losses ``(T,)`` (already multiplied by the fixed weights ``w_k(t) = w_k0 * gamma_k ** t``
of the training config) and the shared representation the towers read, and fills the
``.grad`` fields of the network's parameters (and of its own, if it learns any). The trainer
steps the optimiser; nothing in it depends on the method.

Methods (``training.loss_balancing``):

- ``fixed``: sum_k w_k(t) L_k (PLE, Tang et al. 2020, section 4.3).
- ``uncertainty``: learned log-variances s_k (Kendall, Gal & Cipolla, CVPR 2018):
  sum_k c_k exp(-s_k) L_k + s_k / 2, with c_k = 1/2 for regression and 1 for binary tasks.
- ``gradnorm``: learned weights w_k (Chen et al., ICML 2018), ``gradnorm_alpha`` searchable.
- ``upgrad``, ``pcgrad``, ``mgda``, ``aligned_mtl``, ``dualproj``, ``imtl_g``: TorchJD aggregators
  of the task Jacobian w.r.t. the shared parameters (``torchjd.autojac.mtl_backward`` with the
  towers' input as the features, then ``jac_to_grad``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from mtlsearch.config import TrainingConfig
from mtlsearch.data import TaskSpec

__all__ = [
    "AGGREGATORS",
    "BALANCING",
    "FixedBalancing",
    "GradNormBalancing",
    "JacobianBalancing",
    "LossBalancing",
    "UncertaintyBalancing",
    "make_balancing",
    "tower_input",
]


class LossBalancing(nn.Module):
    """One way of turning the per-task losses of a batch into gradients."""

    # Whether ``backward`` reads ``features``: when not, the trainer does not capture the towers'
    # input (a forward hook registered and removed every step) and passes None.
    uses_features = True

    def backward(self, losses: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        """Fill ``.grad`` from ``losses`` ``(T,)``; ``features`` ``(B, T, h)`` is the towers' input
        (None for a method whose ``uses_features`` is False).

        Returns the scalar that was minimised (detached), for logging and divergence checks.
        """
        raise NotImplementedError

    def after_step(self) -> None:
        """Called after every optimiser step (e.g. to renormalise learned weights)."""

    def task_weights(self) -> torch.Tensor:
        """``(T,)``: the current multiplier of each task's loss (1 where the method has none)."""
        raise NotImplementedError


class FixedBalancing(LossBalancing):
    """The plain weighted sum sum_k w_k(t) L_k: the weights come in with ``losses``."""

    uses_features = False

    def __init__(self, n_tasks: int) -> None:
        super().__init__()
        self.n_tasks = n_tasks

    def backward(self, losses: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        total = losses.sum()
        total.backward()
        return total.detach()

    def task_weights(self) -> torch.Tensor:
        return torch.ones(self.n_tasks)


class UncertaintyBalancing(LossBalancing):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, "Multi-Task Learning Using
    Uncertainty to Weigh Losses", CVPR 2018, equations 7 and 10).

    With s_k = log sigma_k^2 learned per task: regression (Gaussian likelihood)
    ``0.5 * exp(-s_k) * L_k + s_k / 2``; binary (a logit scaled by 1/sigma^2, approximated as
    in the paper) ``exp(-s_k) * L_k + s_k / 2``. The optimum is exp(-s_k) = 1 / (2 c_k L_k):
    a noisier task (larger loss) gets a lower weight.
    """

    uses_features = False

    def __init__(self, binary: Sequence[bool]) -> None:
        super().__init__()
        self.log_variance = nn.Parameter(torch.zeros(len(binary)))  # (T,) s_k
        self.register_buffer("scale", torch.tensor([1.0 if b else 0.5 for b in binary]), persistent=False)  # (T,)

    def backward(self, losses: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
        total = (self.scale * torch.exp(-self.log_variance) * losses + 0.5 * self.log_variance).sum()
        total.backward()
        return total.detach()

    def task_weights(self) -> torch.Tensor:
        return (self.scale * torch.exp(-self.log_variance)).detach()


class GradNormBalancing(LossBalancing):
    """GradNorm (Chen et al., "GradNorm: Gradient Normalization for Adaptive Loss Balancing in
    Deep Multitask Networks", ICML 2018, equations 1-2 and algorithm 1).

    The network minimises sum_k w_k L_k; the weights w_k minimise
    L_grad = sum_k |G_k - mean(G) * r_k ** alpha| with G_k = ||d(w_k L_k)/dW||, the inverse
    training rate r_k = (L_k / L_k(0)) / mean_j(L_j / L_j(0)) and the target held constant, so
    dL_grad/dw_k = sign(G_k - target_k) * ||dL_k/dW||. After each step the weights are
    renormalised to sum to T. W here is the shared representation the towers read (its
    gradient per task is one batched vector-Jacobian product through the towers), not the
    last shared layer's weights as in the paper: cheaper, and the same quantity TorchJD's
    methods aggregate.
    """

    def __init__(self, n_tasks: int, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha
        self.weights = nn.Parameter(torch.ones(n_tasks))  # (T,) w_k
        self.register_buffer("initial_losses", torch.zeros(n_tasks), persistent=False)  # (T,) L_k(0)
        self.register_buffer("eye", torch.eye(n_tasks), persistent=False)  # (T, T)
        self.last_gradient_norms = torch.zeros(n_tasks)  # (T,) G_k of the last step, for inspection

    def backward(self, losses: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        if not self.initial_losses.any():
            self.initial_losses.copy_(losses.detach())
        # Per-task gradients w.r.t. the shared representation in one batched backward pass.
        (grads,) = torch.autograd.grad(
            losses, features, grad_outputs=self.eye, is_grads_batched=True, retain_graph=True
        )  # (T, B, T, h)
        norms = grads.flatten(1).norm(dim=1)  # (T,) ||dL_k/dW||
        weights = self.weights.detach()
        gradient_norms = weights * norms  # (T,) G_k
        ratios = losses.detach() / self.initial_losses.clamp_min(1e-12)  # (T,) L_k / L_k(0)
        target = gradient_norms.mean() * (ratios / ratios.mean()).pow(self.alpha)  # (T,), a constant
        total = (weights * losses).sum()
        total.backward()
        self.weights.grad = torch.sign(gradient_norms - target) * norms
        self.last_gradient_norms = gradient_norms
        return total.detach()

    @torch.no_grad()
    def after_step(self) -> None:
        self.weights.clamp_(min=1e-6)
        self.weights.mul_(len(self.weights) / self.weights.sum())

    def task_weights(self) -> torch.Tensor:
        return self.weights.detach().clone()


def _aggregators() -> dict[str, Callable[[], Any]]:
    from torchjd import aggregation as agg  # only the gradient methods need torchjd

    return {
        "upgrad": agg.UPGrad,  # Quinton & Rey 2024, "Jacobian Descent for Multi-Objective Optimization"
        "pcgrad": agg.PCGrad,  # Yu et al. 2020, "Gradient Surgery for Multi-Task Learning"
        "mgda": agg.MGDA,  # Sener & Koltun 2018, "Multi-Task Learning as Multi-Objective Optimization"
        "aligned_mtl": agg.AlignedMTL,  # Senushkin et al. 2023, "Independent Component Alignment for MTL"
        "dualproj": agg.DualProj,  # Quinton & Rey 2024 (projection onto the dual cone of the mean)
        "imtl_g": agg.IMTLG,  # Liu et al. 2021, "Towards Impartial Multi-task Learning" (gradient part)
    }


AGGREGATORS: tuple[str, ...] = ("upgrad", "pcgrad", "mgda", "aligned_mtl", "dualproj", "imtl_g")


class JacobianBalancing(LossBalancing):
    """Jacobian descent with a TorchJD aggregator (the library's ``mtl_backward``).

    Each tower gets its own task's gradient; the shared parameters (everything before the
    towers) get the aggregation of the ``(T, n_shared)`` Jacobian of the task losses, computed
    through the shared representation ``features``. Cost: about one backward pass per task.
    """

    def __init__(self, name: str, heads: Sequence[nn.Parameter], shared: Sequence[nn.Parameter]) -> None:
        super().__init__()
        self.method = name
        self.aggregator = _aggregators()[name]()
        self._heads = list(heads)  # plain lists: the network owns these parameters
        self._shared = list(shared)
        self.n_tasks = 0
        self.last_weights: torch.Tensor | None = None  # (T,) the aggregator's weights of the last step

    def backward(self, losses: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        from torchjd.autojac import jac_to_grad, mtl_backward

        tasks = losses.unbind()
        self.n_tasks = len(tasks)
        # retain_graph: the towers are one batched module, so every task's graph runs through it
        mtl_backward(
            tasks,
            features=features,
            tasks_params=[self._heads] * len(tasks),
            shared_params=self._shared,
            retain_graph=True,
        )
        self.last_weights = jac_to_grad(self._shared, self.aggregator)
        return losses.detach().sum()

    def task_weights(self) -> torch.Tensor:
        if self.last_weights is None:
            return torch.ones(self.n_tasks)
        return self.last_weights.detach().clone()


def _fixed(training: TrainingConfig, tasks: Sequence[TaskSpec], network: nn.Module) -> LossBalancing:
    return FixedBalancing(len(tasks))


def _uncertainty(training: TrainingConfig, tasks: Sequence[TaskSpec], network: nn.Module) -> LossBalancing:
    return UncertaintyBalancing([t.type == "binary" for t in tasks])


def _gradnorm(training: TrainingConfig, tasks: Sequence[TaskSpec], network: nn.Module) -> LossBalancing:
    return GradNormBalancing(len(tasks), training.gradnorm_alpha)


def _jacobian(training: TrainingConfig, tasks: Sequence[TaskSpec], network: nn.Module) -> LossBalancing:
    heads = list(network.towers.parameters())
    head_ids = {id(p) for p in heads}
    shared = [p for p in network.parameters() if id(p) not in head_ids]
    return JacobianBalancing(training.loss_balancing, heads, shared)


# ``training.loss_balancing`` -> builder(training, tasks, network); the names are config.LOSS_BALANCING.
BALANCING: dict[str, Callable[[TrainingConfig, Sequence[TaskSpec], nn.Module], LossBalancing]] = {
    "fixed": _fixed,
    "uncertainty": _uncertainty,
    "gradnorm": _gradnorm,
    **dict.fromkeys(AGGREGATORS, _jacobian),
}


def make_balancing(training: TrainingConfig, tasks: Sequence[TaskSpec], network: nn.Module) -> LossBalancing:
    """The configured method for ``network`` (whose ``towers`` are the task-specific heads)."""
    return BALANCING[training.loss_balancing](training, tasks, network)


@contextmanager
def tower_input(network: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Capture the input of ``network.towers`` (the shared representation, ``(B, T, h)``)
    during the forward passes run inside the block; the hook is removed on exit."""
    captured: list[torch.Tensor] = []
    handle = network.towers.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
    try:
        yield captured
    finally:
        handle.remove()
