"""Single-task baselines of a study: the reference every trial's MTL gain is measured against."""

from __future__ import annotations

import dataclasses
from typing import Any

import optuna

from mtlsearch._strict import from_plain
from mtlsearch.analysis._gain import BASELINES_ATTR
from mtlsearch.config import RunConfig, TaskConfig
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import ModelConfig
from mtlsearch.search import StudyConfig, load_study, pick_trial, trial_config
from mtlsearch.search._optimize import STUDY_ATTR
from mtlsearch.training import prepare_data, train

__all__ = ["baseline_config", "train_baselines"]

_SIZE_FIELDS = ("expert_hidden", "tower_hidden", "embedding_dim", "dropout")


def _study_config(study: optuna.Study) -> StudyConfig:
    plain = study.user_attrs.get(STUDY_ATTR)
    if plain is None:
        raise MtlsearchError(
            f"study {study.study_name!r} was not made by mtlsearch optimize",
            where="--study",
            fix="train baselines for a study that mtlsearch created",
        )
    return from_plain(StudyConfig, plain, "stored study")


def baseline_config(study: optuna.Study, task: str) -> RunConfig:
    """The single-task run for ``task``: the study's data, seed and training budget.

    Sizes (expert and tower widths, embedding size, dropout) and the optimiser settings come
    from the study's knee trial, so the baseline is "the same network, trained alone"; without
    a completed trial they are the :class:`ModelConfig` defaults and the study's training block.
    Early stopping watches the task's own loss unless the study monitors a metric of this task.
    """
    config = _study_config(study)
    base = config.base_run_config()
    model = ModelConfig.create("single-task")
    training = base.training
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if complete:
        knee = trial_config(study, pick_trial(study, "knee"))
        model = ModelConfig.create("single-task", **{f: getattr(knee.model, f) for f in _SIZE_FIELDS})
        training = knee.training
    if not training.monitor.startswith(f"{task}/"):
        training = dataclasses.replace(training, monitor="loss")
    return dataclasses.replace(base, tasks=(TaskConfig(task),), model=model, training=training)


def train_baselines(study_name: str, *, storage: str | None = None) -> dict[str, Any]:
    """Train the single-task model of every task of the study once and store its validation and
    test metrics as the study user attr ``mtlsearch.baselines``; returns what was stored.

    >>> train_baselines("ple", storage="sqlite:///mtlsearch.db")  # doctest: +SKIP
    """
    study = load_study(study_name, storage)
    config = _study_config(study)
    data = prepare_data(config.base_run_config())
    record: dict[str, Any] = {"validation": {}, "test": {}, "tasks": {}}
    for objective in config.objectives:
        run = baseline_config(study, objective.task)
        result = train(run, data)
        for split, metrics in (("validation", result.validation), ("test", result.test)):
            record[split].update({k: v for k, v in metrics.items() if k.startswith(f"{objective.task}/")})
        record["tasks"][objective.task] = {
            "model": dataclasses.asdict(run.model),
            "training": dataclasses.asdict(run.training),
            "best_epoch": result.best_epoch,
            "n_parameters": result.n_parameters,
            "train_seconds": round(result.train_seconds, 4),
        }
    study.set_user_attr(BASELINES_ATTR, record)
    return record
