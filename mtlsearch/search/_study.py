"""Study files (``studies/*.yaml``): what to search, on which data, for which objectives.

.. code-block:: yaml

    name: ple                      # the Optuna study name (default: the file's stem)
    data: {name: synthetic-video, options: {n_samples: 20000}}
    objectives:                    # one per task: metric auc|logloss|mse; direction follows the metric
      - {task: vtr, metric: auc}
      - {task: vcr, metric: mse}
    search_space: ple              # search_spaces/ple.yaml, or a path relative to this file
    training: {epochs: 5, patience: 2}   # the per-trial budget (TrainingConfig fields)
    sampler: {name: tpe, seed: 0, options: {}}
    n_trials: 20
    timeout: null                  # seconds, or null
    storage: null                  # default: sqlite:///mtlsearch.db in the working directory
    seed: 0                        # training seed of every trial
    pruning: {enabled: false, min_resource: 1, reduction_factor: 3, min_trials: 4}  # see _pruning.py
    reference_point: null          # hypervolume reference per objective, e.g. [0.5, 0.25]; null: derived
    constraints: {}                # deployment budgets, e.g. {n_parameters: {max: 200000}, latency_ms: {max: 2.0}}
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtlsearch._resources import find_yaml
from mtlsearch._strict import from_plain, read_yaml, to_plain
from mtlsearch.config import MAX_SEED, DataConfig, RunConfig, TaskConfig, TrainingConfig, resolve_file_paths
from mtlsearch.errors import MtlsearchError
from mtlsearch.search._constraints import ConstraintBound, check_constraints
from mtlsearch.search._pruning import PruningConfig

__all__ = ["SAMPLERS", "ObjectiveSpec", "SamplerConfig", "StudyConfig", "load_study_config", "study_path"]

SAMPLERS = ("tpe", "nsga2", "gp", "random")
MAX_NAME_LENGTH = 200  # characters of a study name (a storage column, a file name in reports)
# Sampler keyword arguments that take Python callables or objects: refused in a study file.
_PYTHON_OBJECT_OPTIONS = (
    "constraints_func",
    "gamma",
    "weights",
    "crossover",
    "independent_sampler",
    "after_trial_strategy",
    "elite_population_selection_strategy",
    "child_generation_strategy",
)


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective: a task's validation metric. ``direction`` defaults to the metric's own."""

    task: str
    metric: str = "auc"
    direction: str = ""  # "maximize" or "minimize"; empty: from the metric (AUC up, MSE/logloss down)

    def __post_init__(self) -> None:
        if self.metric not in _METRIC_DIRECTIONS:
            raise MtlsearchError(
                f"unknown metric {self.metric!r}",
                where=f"objectives.{self.task}.metric",
                fix=f"use one of {', '.join(_METRIC_DIRECTIONS)}",
            )
        if self.direction not in ("", "maximize", "minimize"):
            raise MtlsearchError(
                f"unknown direction {self.direction!r}",
                where=f"objectives.{self.task}.direction",
                fix="use maximize or minimize, or leave it out",
            )

    @property
    def name(self) -> str:
        """The metric name in Optuna and in ``TrainResult.validation``: ``TASK/METRIC``."""
        return f"{self.task}/{self.metric}"

    @property
    def resolved_direction(self) -> str:
        return self.direction or _METRIC_DIRECTIONS[self.metric]


@dataclass(frozen=True)
class SamplerConfig:
    """An Optuna sampler by short name, with its seed and keyword options."""

    name: str = "tpe"  # one of SAMPLERS
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in SAMPLERS:
            raise MtlsearchError(
                f"unknown sampler {self.name!r}", where="sampler.name", fix=f"use one of {', '.join(SAMPLERS)}"
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise MtlsearchError(
                f"seed must lie in 0..{MAX_SEED}, got {self.seed}", where="sampler.seed", fix="e.g. 0, or null"
            )
        if "seed" in self.options:
            raise MtlsearchError(
                "the seed goes in sampler.seed, not in its options", where="sampler.options.seed", fix="move it up"
            )
        for key in _PYTHON_OBJECT_OPTIONS:
            if key in self.options:
                raise MtlsearchError(
                    f"sampler option {key!r} needs a Python object, which a study file cannot hold",
                    where=f"sampler.options.{key}",
                    fix="write budgets as constraints: {n_parameters: {max: 200000}, latency_ms: {max: 2.0}} "
                    "at the top level of the study file"
                    if key == "constraints_func"
                    else "leave it out (a study file holds plain values only)",
                )


@dataclass(frozen=True)
class StudyConfig:
    """A whole study; ``source`` is the file it came from (for resolving relative paths)."""

    name: str
    objectives: tuple[ObjectiveSpec, ...]
    search_space: str
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    n_trials: int = 20
    timeout: float | None = None
    storage: str | None = None
    seed: int = 0
    description: str = ""
    pruning: PruningConfig = field(default_factory=PruningConfig)  # multi-objective early stopping; off
    # Hypervolume reference, one value per objective; null: each objective's worst value seen plus a margin.
    reference_point: tuple[float, ...] | None = None
    # Deployment budgets by name (see search/_constraints.py): infeasible trials never reach the front.
    constraints: dict[str, ConstraintBound] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if not self.objectives:
            raise MtlsearchError("no objectives", where="objectives", fix="list at least one {task, metric}")
        tasks = [o.task for o in self.objectives]
        if len(set(tasks)) != len(tasks):
            raise MtlsearchError("a task has two objectives", where="objectives", fix="list each task once")
        if self.n_trials < 1:
            raise MtlsearchError(f"n_trials must be >= 1, got {self.n_trials}", where="n_trials", fix="use 1 or more")
        if self.timeout is not None and not (math.isfinite(self.timeout) and self.timeout > 0):
            raise MtlsearchError(
                f"timeout must be a finite number of seconds > 0, got {self.timeout}",
                where="timeout",
                fix="use seconds or null",
            )
        if not 0 <= self.seed <= MAX_SEED:
            raise MtlsearchError(f"seed must lie in 0..{MAX_SEED}, got {self.seed}", where="seed", fix="e.g. 0")
        if not self.name or any(c in self.name for c in "/\\:") or self.name.startswith("."):
            raise MtlsearchError(
                f"study name {self.name!r} is empty or holds path characters",
                where="name",
                fix="use letters, digits, '-', '_' and '.'",
            )
        if not self.name.isprintable() or self.name != self.name.strip() or len(self.name) > MAX_NAME_LENGTH:
            raise MtlsearchError(
                f"study name {self.name[:MAX_NAME_LENGTH]!r} holds a line break, a control character or outer "
                f"spaces, or is longer than {MAX_NAME_LENGTH} characters",
                where="name",
                fix="use letters, digits, '-', '_' and '.'",
            )
        self.pruning.check_budget(self.training.epochs)
        if self.reference_point is not None and not all(map(math.isfinite, self.reference_point)):
            raise MtlsearchError(
                f"reference_point must hold finite numbers, got {list(self.reference_point)}",
                where="reference_point",
                fix="give finite values, or null",
            )
        if self.reference_point is not None and len(self.reference_point) != len(self.objectives):
            raise MtlsearchError(
                f"reference_point has {len(self.reference_point)} values for {len(self.objectives)} objectives",
                where="reference_point",
                fix="give one value per objective, in the order of objectives, or null",
            )
        check_constraints(self.constraints)

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(o.task for o in self.objectives)

    @property
    def metric_names(self) -> list[str]:
        return [o.name for o in self.objectives]

    @property
    def directions(self) -> list[str]:
        return [o.resolved_direction for o in self.objectives]

    def base_run_config(self) -> RunConfig:
        """The config every trial starts from: the search space overrides model, weights and optimiser."""
        return RunConfig(
            data=self.data,
            tasks=tuple(TaskConfig(name) for name in self.task_names),
            training=self.training,
            seed=self.seed,
        )

    def search_space_path(self) -> Path:
        """``search_space`` as a file: a path (relative to the study file), or a name in
        ``search_spaces/`` of the working directory, then of the package."""
        relative_to = Path(self.source).parent if self.source else None
        return find_yaml(
            "search_spaces",
            self.search_space,
            what="search space",
            where=f"{self.source or 'study'}: search_space",
            relative_to=relative_to,
        )

    def to_dict(self) -> dict[str, Any]:
        plain = to_plain(self)
        plain.pop("source")
        return plain

    def fingerprint(self) -> str:
        """What must not change when a study is resumed: data, objectives, training budget, seed."""
        plain = self.to_dict()
        kept = {k: plain[k] for k in ("data", "objectives", "training", "seed")}
        if plain["constraints"]:  # absent from studies stored before constraints existed
            kept["constraints"] = plain["constraints"]
        for section, fields in _LATER_FIELDS.items():  # at their defaults they change nothing
            for name, default in fields.items():
                if kept[section].get(name) == default:
                    del kept[section][name]
        return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


# The metrics' own directions (as training._metrics.METRIC_DIRECTIONS, which imports torch).
_METRIC_DIRECTIONS = {"auc": "maximize", "logloss": "minimize", "mse": "minimize"}

# Study user attributes written by optimize: the study config, its search space, the fingerprint.
STUDY_ATTR = "mtlsearch.study"
SPACE_ATTR = "mtlsearch.search_space"

# Fields added after studies were first stored, with their defaults: left out of the fingerprint
# while at the default, so that a study stored by an earlier release still resumes.
_LATER_FIELDS: dict[str, dict[str, object]] = {
    "training": {"lr_schedule": "constant", "loss_balancing": "fixed", "gradnorm_alpha": 1.5}
}


def study_path(name_or_path: str) -> Path:
    """``studies/NAME.yaml`` in the working directory, then the package's copy; or a path."""
    return find_yaml("studies", name_or_path, what="study", where="--study")


def _storage_relative_to(url: str, folder: Path) -> str:
    """A file storage URL with a relative path (``sqlite:///x.db``, ``journal:///x.log``) made
    absolute against the study file's folder; other URLs as they are."""
    for scheme in ("sqlite:///", "journal:///"):
        if url.startswith(scheme) and not url[len(scheme) :].startswith("/") and url[len(scheme) :]:
            return scheme + os.path.normpath(folder / Path(url[len(scheme) :]).expanduser())
    return url


def load_study_config(name_or_path: str) -> StudyConfig:
    """Read and validate a study file (see the module docstring for its format)."""
    path = study_path(name_or_path)
    data = read_yaml(path, what="study file")
    if not isinstance(data, dict):
        raise MtlsearchError("expected a mapping at the top level", where=str(path), fix="see studies/ple.yaml")
    data = {"name": path.stem, **resolve_file_paths(data, path), "source": str(path)}
    if isinstance(data.get("storage"), str):
        data["storage"] = _storage_relative_to(data["storage"], path.absolute().parent)
    try:
        return from_plain(StudyConfig, data, "")
    except MtlsearchError as error:
        where = (error.where or "").lstrip(".")
        raise MtlsearchError(error.message, where=f"{path}: {where}" if where else str(path), fix=error.fix) from None
