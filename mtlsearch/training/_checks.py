"""The pre-flight check of a run: everything that can fail on bad input, before anything trains.

``train`` calls :func:`check_run` first, and ``optimize`` calls it on the study's base config and
on the extreme values of its search space before the storage is touched, so that a bad setting
is one line naming the field, never a traceback at the first epoch or a failed trial.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pytorch_lightning as pl
import torch

from mtlsearch.config import RunConfig
from mtlsearch.data import MultiTaskData
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.training._metrics import OBJECTIVE_METRIC

__all__ = ["MONITORS", "build_network", "build_trainer", "check_data", "check_run", "check_training", "monitors"]

MONITORS = {"binary": ("auc", "logloss"), "regression": ("mse",)}  # the metrics each task type has
_EVALUATED = ("validation", "test")  # the splits whose metrics are reported
_FLOAT32_MAX = 3.4e38


def monitors(data: MultiTaskData) -> list[str]:
    """What ``training.monitor`` may name for ``data``: ``loss`` and every ``TASK/METRIC``."""
    return ["loss"] + [f"{t.name}/{m}" for t in data.tasks for m in MONITORS[t.type]]


def check_data(data: MultiTaskData) -> None:
    """Refuse data that cannot train or on which a task's metric is undefined: NaN or infinite
    numeric features or labels (inside a task's sample space), and a binary task whose validation
    or test split holds one class only (AUC needs both). Empty splits and empty sample spaces are
    refused when the data is built (see ``MultiTaskData``).

    Raises :class:`MtlsearchError` naming the task and the split, with ``where="data"``.
    """
    for split_name in ("train", *_EVALUATED):
        split = getattr(data, split_name)
        finite = torch.isfinite(split.numeric).all(0)  # (F,)
        if not finite.all():
            feature = data.features.numeric[int((~finite).nonzero()[0])]
            raise MtlsearchError(
                f"numeric feature {feature!r} has NaN or infinite values in the {split_name} split of {data.name!r}",
                where="data",
                fix="check the data set's options (e.g. scale) or clean the column",
            )
        for k, task in enumerate(data.tasks):
            if not torch.isfinite(split.labels[split.masks[:, k], k]).all():
                raise MtlsearchError(
                    f"task {task.name!r} has NaN or infinite labels in the {split_name} split of {data.name!r}",
                    where="data",
                    fix="check the data set's options (e.g. scale) or clean the label column",
                )
    for split_name in _EVALUATED:
        split = getattr(data, split_name)
        for k, task in enumerate(data.tasks):
            if task.type != "binary":
                continue
            labels = split.labels[split.masks[:, k], k]  # (n_k,) the task's sample space
            positives = int((labels == 1).sum())
            if 0 < positives < len(labels):
                continue
            only = "1 (positive)" if positives else "0 (negative)"
            raise MtlsearchError(
                f"task {task.name!r} has a single class in the {split_name} split of {data.name!r}: all "
                f"{len(labels)} labels in its sample space are {only}, so its {OBJECTIVE_METRIC['binary']} "
                "is undefined",
                where="data",
                fix=f"use more rows (data.options) or a larger {split_name} share, or drop the task",
            )


def check_training(config: RunConfig, data: MultiTaskData) -> None:
    """Check ``config.training`` against ``data`` and build what training builds from it: the
    monitor names a metric of a task the run trains, each task's loss weight stays a float32
    number over the epochs, and the optimiser accepts the settings."""
    training = config.training
    if training.monitor not in monitors(data):
        raise MtlsearchError(
            f"unknown monitor {training.monitor!r}",
            where="training.monitor",
            fix=f"use one of {', '.join(monitors(data))}",
        )
    for task in config.tasks:  # w(t) = weight * decay ** epoch must stay a float32 number
        last = training.epochs - 1
        with contextlib.suppress(OverflowError):
            if math.isfinite(task.weight * task.decay**last) and task.weight * task.decay**last <= _FLOAT32_MAX:
                continue
        raise MtlsearchError(
            f"the loss weight of task {task.name!r} grows past float32 ({task.weight} * {task.decay} ** {last})",
            where=f"tasks.{task.name}.decay",
            fix="use a decay <= 1 or fewer epochs",
        )
    from mtlsearch.training._module import make_optimizer

    try:
        make_optimizer(training, [torch.zeros(1, requires_grad=True)])
    except (ValueError, RuntimeError) as error:
        raise MtlsearchError(
            f"the {training.optimizer} optimiser refuses these settings: {error}",
            where="training",
            fix="check lr and weight_decay",
        ) from None


def check_run(config: RunConfig, data: MultiTaskData, *, build: bool = True) -> None:
    """Everything ``train(config, data)`` needs, checked before training: the data's metrics are
    defined (:func:`check_data`), the training settings fit the data (:func:`check_training`), and,
    with ``build``, the network and Lightning's Trainer (the accelerator) can be built.

    Raises :class:`MtlsearchError` with ``where`` naming the config field (``training.monitor``,
    ``model``, ``data``...), for the caller to prefix with its file.
    """
    check_data(data)
    check_training(config, data)
    if build:
        build_network(config, data)
        build_trainer(config)


def build_network(config: RunConfig, data: MultiTaskData) -> MultiTaskNetwork:
    """The run's network; a size that cannot be allocated is an :class:`MtlsearchError` at ``model``."""
    try:
        return MultiTaskNetwork(config.model, data.features, len(data.tasks), products=data.products)
    except MtlsearchError:
        raise
    except (ValueError, RuntimeError, MemoryError) as error:
        raise MtlsearchError(
            f"cannot build the {config.model.architecture} network: {error.__class__.__name__}: {error}",
            where="model",
            fix="use smaller sizes",
        ) from None


def build_trainer(config: RunConfig, **settings: Any) -> pl.Trainer:
    """Lightning's Trainer for the run (see ``make_trainer``); an accelerator this machine lacks is an
    :class:`MtlsearchError` at ``training.accelerator``."""
    from mtlsearch.training._train import _quiet_lightning, make_trainer

    try:
        with _quiet_lightning():
            return make_trainer(config.training, **settings)
    except Exception as error:  # Lightning's MisconfigurationException for an unavailable accelerator
        raise MtlsearchError(
            f"accelerator {config.training.accelerator!r} cannot run here: {error}",
            where="training.accelerator",
            fix="use cpu, or auto to take what this machine has",
        ) from None
