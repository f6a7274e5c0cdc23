"""``train``: one configuration, start to finish, as a library call."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException

from mtlsearch._interrupt import Signalled, signal_label
from mtlsearch._progress import ProgressLine
from mtlsearch.config import RunConfig, TrainingConfig, load_run_config
from mtlsearch.data import BatchLoader, MultiTaskData, load_dataset
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.training._checks import build_network, build_trainer, check_run
from mtlsearch.training._gates import GateSums
from mtlsearch.training._metrics import strict_metrics, task_metrics, undefined
from mtlsearch.training._module import EpochCallback, MultiTaskModule

__all__ = ["TrainResult", "TrainingProgress", "load_run", "make_trainer", "prepare_data", "train"]


@dataclass
class TrainResult:
    """What one training run produced; the network holds the best epoch's weights."""

    config: RunConfig
    network: MultiTaskNetwork
    validation: dict[str, float]  # metrics of the best epoch (the study's objectives come from here)
    test: dict[str, float]  # computed once, with the best epoch's weights
    best_epoch: int
    epochs: int  # epochs run
    history: list[dict[str, float]] = field(default_factory=list)  # per-epoch validation metrics
    n_parameters: int = 0
    train_seconds: float = 0.0  # the training loop alone (no set-up, validation or test)
    fit_seconds: float = 0.0  # Trainer.fit: set-up, training and per-epoch validation
    # Gate sums of the best epoch's validation pass, in eval_batch_size chunks (expert utilisation)
    validation_gates: GateSums | None = None

    def summary(self) -> dict[str, Any]:
        """Plain data for ``metrics.json``: strict JSON, an undefined metric (NaN) is ``None``."""
        return {
            "validation": strict_metrics(self.validation),
            "test": strict_metrics(self.test),
            "best_epoch": self.best_epoch,
            "epochs": self.epochs,
            "n_parameters": self.n_parameters,
            "train_seconds": round(self.train_seconds, 3),
            "fit_seconds": round(self.fit_seconds, 3),
            "history": [strict_metrics(epoch) for epoch in self.history],
        }

    def undefined_metrics(self) -> list[str]:
        """Validation and test metrics that came out undefined (NaN or infinite), as ``split TASK/METRIC``."""
        return [f"{split} {name}" for split in ("validation", "test") for name in undefined(getattr(self, split))]


def prepare_data(config: RunConfig, data: MultiTaskData | None = None) -> MultiTaskData:
    """Load the config's data set (unless given) and keep its tasks in the config's order."""
    if data is None:
        data = load_dataset(config.data.name, config.data.options)
    if config.tasks:
        data = data.select_tasks([t.name for t in config.tasks])
    return data


def load_run(path: str | os.PathLike[str]) -> tuple[RunConfig, MultiTaskData]:
    """Read the training config at ``path``, load its data and check the run (:func:`check_run`):
    what ``mtlsearch train`` does before training. Errors name the file and the field.

    >>> config, data = load_run("runs/best.yaml")  # doctest: +SKIP
    """
    config = load_run_config(path)
    try:
        data = prepare_data(config)
        check_run(config, data)
    except MtlsearchError as error:
        raise error.within(os.fspath(path)) from None
    return config, data


@contextmanager
def _quiet_lightning():
    """Lightning's banner lines ("GPU available: ...") are noise inside a search."""
    loggers = [logging.getLogger(name) for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*`training_step` returned `None`.*")
        warnings.filterwarnings("ignore", message=".*number of training batches.*")
        # Lightning 2.6 calls a pytree API torch 2.13 deprecates: a warning users cannot act on
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


class TrainingProgress(pl.Callback):
    """Writes ``epoch e/E, batch b/B`` (then ``validating``, ``testing``) to a :class:`ProgressLine`.

    ``prefix`` starts the text (``"trial 3: "`` in a search); with ``epochs_are_steps`` the line's
    bar counts epochs (``mtlsearch train``), otherwise its owner counts something else (trials).
    """

    def __init__(self, line: ProgressLine, *, prefix: str = "", epochs_are_steps: bool = False) -> None:
        self.line = line
        self.prefix = prefix
        self.epochs_are_steps = epochs_are_steps

    def _epoch(self, trainer: pl.Trainer) -> str:
        return f"{self.prefix}epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        batch_idx = args[-1]
        self.line.status(f"{self._epoch(trainer)}, batch {batch_idx + 1}/{trainer.num_training_batches}")

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.line.status(f"{self._epoch(trainer)}, validating", force=True)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.epochs_are_steps:
            self.line.advance()

    def testing(self) -> None:
        self.line.status(f"{self.prefix}testing", force=True)


def make_trainer(training: TrainingConfig, *, progress: bool = False, **overrides: Any) -> pl.Trainer:
    """A lean Trainer: one device, no logger, checkpoints or sanity checks (best weights are kept
    in memory by the module); ``progress`` turns on Lightning's own bar (``train`` uses
    :class:`TrainingProgress` instead); ``overrides`` go to ``pl.Trainer`` as they are."""
    settings = {
        "max_epochs": training.epochs,
        "accelerator": training.accelerator,
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": progress,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
    }
    return pl.Trainer(**{**settings, **overrides})


@torch.inference_mode()
def _score(network: MultiTaskNetwork, tasks: Sequence[Any], loader: BatchLoader) -> dict[str, float]:
    """Metrics of ``network`` (eval mode) on ``loader``'s split: the same batches and forward as
    Lightning's test loop, without setting up a Lightning stage for one pass."""
    device = next(network.parameters()).device
    network.eval()
    logits = torch.cat([network(b.categorical.to(device), b.numeric.to(device)).cpu() for b in loader])
    return task_metrics(tasks, logits, loader.split.labels, loader.split.masks)


def train(
    config: RunConfig,
    data: MultiTaskData | None = None,
    *,
    epoch_callbacks: Sequence[EpochCallback] = (),
    progress: bool | TrainingProgress = False,
) -> TrainResult:
    """Train ``config`` and evaluate it; deterministic on CPU for a given ``config.seed``.

    ``progress``: True draws one line on stderr, counting epochs with the batch beside it (only
    on a terminal); a :class:`TrainingProgress` reports to its owner's line instead (a search's).

    >>> from mtlsearch.config import run_config_from_dict
    >>> cfg = run_config_from_dict({"data": {"name": "synthetic", "options": {"n_samples": 500}},
    ...                             "training": {"epochs": 1}})
    >>> sorted(train(cfg).validation)
    ['loss', 'y1/mse', 'y2/mse']

    Raises :class:`MtlsearchError` before training when the config does not fit the data (see
    :func:`~mtlsearch.training.check_run`).
    """
    data = prepare_data(config, data)
    check_run(config, data, build=False)  # bad settings are one MtlsearchError here, not a traceback mid-training
    if config.training.threads:
        torch.set_num_threads(config.training.threads)
    weights = {t.name: t for t in config.tasks}
    task_weights = [weights[t.name].weight if t.name in weights else 1.0 for t in data.tasks]
    task_decays = [weights[t.name].decay if t.name in weights else 1.0 for t in data.tasks]

    pl.seed_everything(config.seed, verbose=False)
    network = build_network(config, data)
    module = MultiTaskModule(network, data.tasks, config.training, task_weights, task_decays, epoch_callbacks)
    training = config.training
    train_loader = BatchLoader(data.train, training.batch_size, shuffle=True, seed=config.seed)
    val_loader = BatchLoader(data.validation, training.eval_batch_size)
    test_loader = BatchLoader(data.test, training.eval_batch_size)

    line = ProgressLine(training.epochs, "epoch") if progress is True else None
    tracker = TrainingProgress(line, epochs_are_steps=True) if line is not None else progress or None
    with _quiet_lightning(), line or contextlib.nullcontext():
        callbacks = [tracker] if tracker is not None else []
        trainer = build_trainer(config, callbacks=callbacks)
        start = time.perf_counter()
        try:
            trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader)
        except SIGTERMException:
            # Lightning catches SIGTERM itself and ends the process with SystemExit(0), which
            # would leave a search's trial RUNNING: report it as the signal it is (in a worker,
            # the signal its parent received).
            raise Signalled(signal_label("SIGTERM")) from None
        fit_seconds = time.perf_counter() - start
        if module.best_state is not None:
            network.load_state_dict(module.best_state)
        if tracker is not None:
            tracker.testing()
        test = _score(network, data.tasks, test_loader)
    network.cpu().eval()
    return TrainResult(
        config=config,
        network=network,
        validation=module.best_metrics,
        test=test,
        best_epoch=module.best_epoch,
        epochs=len(module.history),
        history=module.history,
        n_parameters=network.n_parameters,
        train_seconds=module.train_loop_seconds,
        fit_seconds=fit_seconds,
        validation_gates=module.best_gates,
    )
