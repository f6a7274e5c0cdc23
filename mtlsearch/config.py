"""The training config: what ``mtlsearch train`` reads and ``mtlsearch export`` writes.

One YAML file holds everything needed to reproduce a model: data set and options, tasks
with their loss weights, the network, training settings and the seed. Unknown keys are
errors; the architecture fills in the sizes it fixes.

.. code-block:: yaml

    data: {name: synthetic-video, options: {n_samples: 20000}}
    tasks:
      - {name: vtr, weight: 1.0, decay: 1.0}
      - {name: vcr, weight: 2.0, decay: 0.9}
    model: {architecture: ple, levels: 2, specific_experts: 1, shared_experts: 1}
    training: {epochs: 10, batch_size: 1024, lr: 0.001}
    seed: 0
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mtlsearch._outputs import write_text_atomic
from mtlsearch._strict import from_plain, read_yaml, to_plain
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import ModelConfig

__all__ = [
    "ACCELERATORS",
    "LOSS_BALANCING",
    "LR_SCHEDULES",
    "MAX_SEED",
    "MONITOR_METRICS",
    "OPTIMIZERS",
    "DataConfig",
    "RunConfig",
    "TaskConfig",
    "TrainingConfig",
    "load_run_config",
    "resolve_data_paths",
    "resolve_file_paths",
    "run_config_from_dict",
    "save_run_config",
]

OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("constant", "cosine")  # cosine: lr * (1 + cos(pi * step / total_steps)) / 2, per batch
ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "auto")  # Lightning accelerator names
MONITOR_METRICS = ("auc", "logloss", "mse")  # TASK/METRIC; which fit which task is checked against the data
MAX_SEED = 2**32 - 1  # numpy's and Lightning's seeds are unsigned 32-bit integers
# training.loss_balancing: how task losses become an update (mtlsearch/training/_balancing.py)
LOSS_BALANCING = ("fixed", "uncertainty", "gradnorm", "upgrad", "pcgrad", "mgda", "aligned_mtl", "dualproj", "imtl_g")


@dataclass(frozen=True)
class DataConfig:
    """A data set by name (see ``mtlsearch.data.DATASETS``) and its loader's options."""

    name: str = "synthetic-video"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskConfig:
    """A task to train and its dynamic loss weight w(t) = weight * decay ** epoch (PLE 4.3)."""

    name: str
    weight: float = 1.0  # w_k0
    decay: float = 1.0  # gamma_k

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise MtlsearchError(
                f"weight must be >= 0, got {self.weight}",
                where=f"tasks.{self.name}.weight",
                fix="use a non-negative number",
            )
        if not (math.isfinite(self.decay) and self.decay > 0):
            raise MtlsearchError(
                f"decay must be > 0, got {self.decay}",
                where=f"tasks.{self.name}.decay",
                fix="use a positive number, 1.0 for a constant weight",
            )


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings of one training run."""

    epochs: int = 10  # upper bound; early stopping may end sooner
    batch_size: int = 1024
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"  # one of OPTIMIZERS
    lr_schedule: str = "constant"  # one of LR_SCHEDULES; cosine anneals to 0 over ``epochs``
    patience: int = 3  # epochs without validation improvement before stopping; 0 disables early stopping
    monitor: str = "loss"  # validation quantity for early stopping: "loss" (mean task loss) or "TASK/METRIC"
    eval_batch_size: int = 65536
    accelerator: str = "cpu"  # Lightning accelerator: "cpu", "gpu" or "auto"
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    loss_balancing: str = "fixed"  # one of LOSS_BALANCING; the tasks' weight/decay apply first in every method
    gradnorm_alpha: float = 1.5  # GradNorm's restoring-force strength alpha (used by loss_balancing: gradnorm)

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "eval_batch_size": self.eval_batch_size}
        for name, value in positive.items():
            if value < 1:
                raise MtlsearchError(f"{name} must be >= 1, got {value}", where=f"training.{name}", fix="use 1 or more")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise MtlsearchError(
                f"lr must be a finite number > 0, got {self.lr}", where="training.lr", fix="e.g. 0.001"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise MtlsearchError(
                f"weight_decay must be a finite number >= 0, got {self.weight_decay}",
                where="training.weight_decay",
                fix="e.g. 0.0 or 1e-5",
            )
        for name in ("patience", "threads"):
            if getattr(self, name) < 0:
                raise MtlsearchError(
                    f"{name} must be >= 0, got {getattr(self, name)}", where=f"training.{name}", fix="use 0 or more"
                )
        named = {
            "optimizer": OPTIMIZERS,
            "loss_balancing": LOSS_BALANCING,
            "lr_schedule": LR_SCHEDULES,
            "accelerator": ACCELERATORS,
        }
        for name, choices in named.items():
            if getattr(self, name) not in choices:
                raise MtlsearchError(
                    f"unknown {name} {getattr(self, name)!r}",
                    where=f"training.{name}",
                    fix=f"use one of {', '.join(choices)}",
                )
        if not (math.isfinite(self.gradnorm_alpha) and self.gradnorm_alpha >= 0):
            raise MtlsearchError(
                f"gradnorm_alpha must be a number >= 0, got {self.gradnorm_alpha}",
                where="training.gradnorm_alpha",
                fix="e.g. 1.5 (the GradNorm paper uses 0.12 to 3.0)",
            )
        task, slash, metric = self.monitor.rpartition("/")
        if self.monitor != "loss" and not (slash and task and metric in MONITOR_METRICS):
            raise MtlsearchError(
                f"unknown monitor {self.monitor!r}",
                where="training.monitor",
                fix=f"use loss or TASK/METRIC with METRIC one of {', '.join(MONITOR_METRICS)}, e.g. vtr/auc",
            )


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs; ``provenance`` records where an exported config came from."""

    data: DataConfig = field(default_factory=DataConfig)
    tasks: tuple[TaskConfig, ...] = ()  # empty: every task of the data set, weight 1
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    seed: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise MtlsearchError("a task is listed twice", where="tasks", fix="list each task once")
        if not 0 <= self.seed <= MAX_SEED:
            raise MtlsearchError(f"seed must lie in 0..{MAX_SEED}, got {self.seed}", where="seed", fix="e.g. 0")

    def to_dict(self) -> dict[str, Any]:
        plain = to_plain(self)
        if not plain["provenance"]:
            del plain["provenance"]
        return plain


def run_config_from_dict(data: Any, where: str = "config") -> RunConfig:
    """Build a :class:`RunConfig` from plain data, strictly."""
    if not isinstance(data, dict):
        raise MtlsearchError("expected a mapping at the top level", where=where, fix="see README: Training config")
    data = dict(data)
    model = data.get("model", {})
    if isinstance(model, dict):
        architecture = model.get("architecture", ModelConfig.architecture)
        if not isinstance(architecture, str):
            raise MtlsearchError(
                f"expected a string, got {architecture!r}", where=f"{where}: model.architecture", fix="e.g. ple"
            )
        try:
            data["model"] = {**ModelConfig.preset(architecture), **model}
        except MtlsearchError as error:
            raise error.within(where) from None
    try:
        return from_plain(RunConfig, data, "")
    except MtlsearchError as error:
        error = MtlsearchError(error.message, where=(error.where or "").lstrip("."), fix=error.fix)
        raise error.within(where) from None


def _is_path_option(name: str) -> bool:
    """A data option that names a file or folder: ``path``, ``schema``, ``*_path``."""
    return name in ("path", "schema") or name.endswith("_path")


def resolve_data_paths(options: Any, base: str | Path) -> Any:
    """``options`` with every relative file option (``path``, ``schema``, ``*_path``) made absolute
    against the folder ``base``; ``~`` is expanded, URLs (``scheme://``), absolute paths and
    non-string values (an inline schema mapping) are kept as they are.

    Files name their data relative to themselves, so a study file or training config works from
    any working directory, and what is stored or exported holds absolute paths.

    >>> resolve_data_paths({"path": "clicks.csv", "schema": {"numeric": ["x"]}}, "/data")
    {'path': '/data/clicks.csv', 'schema': {'numeric': ['x']}}
    """
    if not isinstance(options, dict):
        return options
    out = dict(options)
    for name, value in options.items():
        if _is_path_option(str(name)) and isinstance(value, str) and value and "://" not in value:
            path = Path(value).expanduser()
            out[name] = str(path if path.is_absolute() else Path(os.path.normpath(Path(base).absolute() / path)))
    return out


def resolve_file_paths(plain: Any, source: str | Path) -> Any:
    """A parsed config or study file with its ``data.options`` paths resolved against the file's folder."""
    if isinstance(plain, dict) and isinstance(plain.get("data"), dict) and "options" in plain["data"]:
        base = Path(source).expanduser().absolute().parent
        plain = {**plain, "data": {**plain["data"], "options": resolve_data_paths(plain["data"]["options"], base)}}
    return plain


def load_run_config(path: str | Path) -> RunConfig:
    """Read a training config YAML file (see the module docstring for the format).

    Relative data paths (``data.options.path``, ``schema``, ``*_path``) are relative to the file.
    """
    return run_config_from_dict(resolve_file_paths(read_yaml(path, what="training config"), path), str(path))


def save_run_config(config: RunConfig, path: str | Path, *, where: str = "output") -> None:
    """Write ``config`` as YAML to ``path`` (creating its folder), whole or not at all.

    Raises :class:`MtlsearchError` naming ``where`` if ``path`` is a folder or cannot be written.
    """
    write_text_atomic(path, yaml.safe_dump(config.to_dict(), sort_keys=False), where=where)
