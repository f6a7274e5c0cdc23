"""``MultiTaskModule``: the one LightningModule for every architecture."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins.precision import Precision
from pytorch_lightning.strategies import SingleDeviceStrategy

from mtlsearch._interrupt import raise_if_interrupted
from mtlsearch.config import TrainingConfig
from mtlsearch.data import Batch, TaskSpec
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.training._balancing import make_balancing, tower_input
from mtlsearch.training._gates import GateSums
from mtlsearch.training._metrics import METRIC_DIRECTIONS, task_losses, task_metrics

__all__ = ["EpochCallback", "MultiTaskModule", "TrainingDiverged", "cosine_schedule", "make_optimizer"]

EpochCallback = Callable[[int, dict[str, float]], None]  # (epoch, validation metrics) -> None; may raise to stop


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


class MultiTaskModule(pl.LightningModule):
    """Task losses weighted by w_k(t) = w_k0 * gamma_k ** epoch, combined into an update by the
    configured loss balancing (``training.loss_balancing``; ``fixed`` is the plain sum); per-epoch
    validation metrics.

    Optimisation is manual (Lightning's ``automatic_optimization = False``): the balancing method
    fills the gradients itself, since the gradient-level ones (GradNorm, TorchJD's aggregators)
    need more than one ``loss.backward()``.

    Keeps the network weights of the best validation epoch (by ``training.monitor``) in memory,
    with the gate sums of that epoch's validation pass (expert utilisation needs no new pass),
    stops after ``training.patience`` epochs without improvement, and records every epoch's
    validation metrics in ``history``.
    """

    def __init__(
        self,
        network: MultiTaskNetwork,
        tasks: Sequence[TaskSpec],
        training: TrainingConfig,
        weights: Sequence[float],
        decays: Sequence[float],
        epoch_callbacks: Sequence[EpochCallback] = (),
    ) -> None:
        super().__init__()
        self.network = network
        self.tasks = tuple(tasks)
        self.training_config = training
        self.register_buffer("binary", torch.tensor([t.type == "binary" for t in tasks]), persistent=False)
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32), persistent=False)  # (T,)
        self.register_buffer("decays", torch.tensor(decays, dtype=torch.float32), persistent=False)  # (T,)
        self.epoch_callbacks = tuple(epoch_callbacks)
        self.automatic_optimization = False
        self.balancing = make_balancing(training, self.tasks, network)
        monitor = training.monitor
        metric = monitor.rsplit("/", 1)[-1]
        self._monitor_sign = -1.0 if METRIC_DIRECTIONS.get(metric) == "maximize" else 1.0  # minimise sign * value
        self.history: list[dict[str, float]] = []
        self.best_score = float("inf")
        self.best_epoch = -1
        self.best_metrics: dict[str, float] = {}
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_gates: GateSums | None = None  # gate sums of the best epoch's validation pass
        self._gates = GateSums()
        self.last_metrics: dict[str, float] = {}
        self._outputs: list[torch.Tensor] = []
        self._train_loss = torch.zeros(())
        self._train_batches = 0
        self._epoch_weights = self.weights
        self._optimizer: Any = None  # set in on_train_start, with the two below
        self._step_progress: Any = None  # Lightning's count of manual optimiser steps (None: its wrapper counts)
        self._scheduler: Any = None
        self.train_loop_seconds = 0.0  # time in training epochs only: no set-up, no validation
        self._epoch_start: float | None = None

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        return self.network(categorical, numeric)

    def _common_step(self, batch: Batch, stage: str) -> torch.Tensor:
        categorical, numeric, labels, masks = batch
        if stage != "train":
            if stage == "validation":  # the gate weights come with the logits: kept for utilisation
                logits, gates = self.network.forward_with_gates(categorical, numeric)  # (B, T)
                self._gates.add(gates)
            else:
                logits = self.network(categorical, numeric)  # (B, T)
            self._outputs.append(logits.detach())
            return logits
        features = None  # the towers' input (B, T, h), captured only for a method that reads it
        if self.balancing.uses_features:
            with tower_input(self.network) as captured:
                logits = self.network(categorical, numeric)  # (B, T)
            features = captured[0]
        else:
            logits = self.network(categorical, numeric)  # (B, T)
        losses = task_losses(logits, labels, masks.to(logits.dtype), self.binary)  # (T,)
        optimizer, progress = self._optimizer, self._step_progress
        optimizer.zero_grad()
        loss = self.balancing.backward(self._epoch_weights * losses, features)
        if progress is None:
            optimizer.step()  # Lightning's wrapper: it counts the step itself
        else:
            progress.increment_ready()
            optimizer.step()
            progress.increment_completed()
        self.balancing.after_step()
        if self._scheduler is not None:
            self._scheduler.step()
        self._train_loss.add_(loss)
        self._train_batches += 1
        return loss

    def on_train_start(self) -> None:
        """Look up once per fit what every step uses: the optimiser and the lr schedule.

        With Lightning's default 32-bit precision on one device the plain optimiser is stepped
        (``self.optimizers(use_pl_optimizer=False)``) and the step counted in Lightning's manual
        optimisation progress, so ``trainer.global_step`` stays the number of optimiser steps.
        Lightning's wrapper would route each step through the strategy and the precision plugin
        (which change nothing at 32 bits) and call the ``on_before_optimizer_step`` hooks (none
        here); skipping it, and the towers' hook where the balancing method does not read it,
        saves about 0.2 ms of CPU a step (``benchmarks/RESULTS.md``, issue 15). Any other
        precision or strategy (a grad scaler, XLA) keeps the wrapper.
        """
        trainer = self.trainer
        plain = type(trainer.precision_plugin) is Precision and type(trainer.strategy) is SingleDeviceStrategy
        if plain:
            self._optimizer = self.optimizers(use_pl_optimizer=False)
            self._step_progress = trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
        else:
            self._optimizer, self._step_progress = self.optimizers(), None
        self._scheduler = self.lr_schedulers()

    def on_train_batch_start(self, batch: Batch, batch_idx: int) -> None:
        raise_if_interrupted()  # SIGINT/SIGTERM during a search: stop between batches, not mid-write

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._common_step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._common_step(batch, "validation")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._common_step(batch, "test")

    def on_train_epoch_start(self) -> None:
        self._train_loss = torch.zeros((), device=self.device)
        self._train_batches = 0
        self._epoch_weights = self.weights * self.decays.pow(self.current_epoch)  # (T,) w_k(t)
        self._epoch_start = time.perf_counter()

    def _stop_epoch_clock(self) -> None:
        if self._epoch_start is not None:
            self.train_loop_seconds += time.perf_counter() - self._epoch_start
            self._epoch_start = None

    def on_validation_epoch_start(self) -> None:
        self._stop_epoch_clock()  # in Lightning 2, validation runs before on_train_epoch_end
        self._gates = GateSums()

    def transfer_batch_to_device(self, batch: Batch, device: torch.device, dataloader_idx: int) -> Batch:
        """Batches are already tensors on the CPU: move only when the device differs."""
        if batch.labels.device == device:
            return batch
        return Batch(*(t.to(device, non_blocking=True) for t in batch))

    def on_train_epoch_end(self) -> None:
        self._stop_epoch_clock()
        self._check_finite()

    def _check_finite(self) -> None:
        if self._train_batches and not torch.isfinite(self._train_loss):
            raise TrainingDiverged(f"training loss is {float(self._train_loss)} at epoch {self.current_epoch}")

    def _epoch_metrics(self, loader_split) -> dict[str, float]:
        logits = torch.cat(self._outputs).cpu()
        self._outputs.clear()
        return task_metrics(self.tasks, logits, loader_split.labels, loader_split.masks)

    def on_validation_epoch_end(self) -> None:
        metrics = self._epoch_metrics(self.trainer.val_dataloaders.split)
        self.last_metrics = metrics
        if self.trainer.state.fn != "fit":
            return
        self._check_finite()  # validation runs before on_train_epoch_end
        epoch = self.current_epoch
        # Not passed to Lightning's self.log: no logger, checkpoint or early-stopping callback reads
        # it (the module keeps the best epoch itself), and logging cost ~2 ms per epoch (issue 15).
        self.history.append({"epoch": epoch, **metrics})
        score = self._monitor_sign * metrics[self.training_config.monitor]
        if score < self.best_score or self.best_state is None:
            self.best_score, self.best_epoch, self.best_metrics = score, epoch, metrics
            self.best_state = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
            self.best_gates = self._gates
        elif self.training_config.patience and epoch - self.best_epoch >= self.training_config.patience:
            self.trainer.should_stop = True
        for callback in self.epoch_callbacks:
            callback(epoch, metrics)

    def on_test_epoch_end(self) -> None:
        self.last_metrics = self._epoch_metrics(self.trainer.test_dataloaders.split)

    def configure_optimizers(self) -> Any:
        params: list[Any] = [{"params": list(self.network.parameters())}]
        own = list(self.balancing.parameters())
        if own:  # learned loss weights (uncertainty, GradNorm): no weight decay
            params.append({"params": own, "weight_decay": 0.0})
        optimizer = make_optimizer(self.training_config, params)
        if self.training_config.lr_schedule == "constant":
            return optimizer
        scheduler = cosine_schedule(optimizer, total_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine annealing per step: the lr falls from its set value to 0 over ``total_steps``.

    >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> schedule, lrs = cosine_schedule(optimizer, total_steps=4), []
    >>> for _ in range(5):
    ...     optimizer.step()
    ...     schedule.step()
    ...     lrs.append(round(schedule.get_last_lr()[0], 3))
    >>> lrs
    [0.854, 0.5, 0.146, 0.0, 0.0]
    """
    total = max(1, total_steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
    )


def make_optimizer(config: TrainingConfig, params) -> torch.optim.Optimizer:
    """The configured optimiser; Adam and AdamW use the fused kernels (5x faster steps on CPU)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay, momentum=0.9)
    optimizer = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return optimizer(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
