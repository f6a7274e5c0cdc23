"""Export a stored trial as a self-contained training config for ``mtlsearch train``."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import optuna

from mtlsearch._outputs import check_output_file
from mtlsearch._strict import from_plain
from mtlsearch.config import RunConfig, resolve_data_paths, save_run_config
from mtlsearch.errors import MtlsearchError
from mtlsearch.search._constraints import is_feasible
from mtlsearch.search._pareto import load_study, metric_names, pick_trial
from mtlsearch.search._space import SearchSpace, params_to_config, suggest_params
from mtlsearch.search._storage import resolve_storage_url
from mtlsearch.search._study import SPACE_ATTR, STUDY_ATTR, StudyConfig

__all__ = ["ExportWarning", "export_trial", "trial_config"]


class ExportWarning(UserWarning):
    """The exported trial is probably not what was wanted (e.g. a validation AUC below chance)."""


def _check_better_than_chance(trial: optuna.trial.FrozenTrial, names: list[str]) -> None:
    """Warn when a binary task's validation AUC is below 0.5: worse than ranking at random."""
    validation = {**trial.user_attrs.get("validation", {}), **dict(zip(names, trial.values or []))}
    for name, value in validation.items():
        if name.endswith("/auc") and isinstance(value, (int, float)) and value < 0.5:
            warnings.warn(
                f"trial {trial.number} has validation {name} {value:.4f}, below 0.5 (worse than chance): "
                "its ranking is inverted or the task was not learnt; consider another --pick or --trial",
                ExportWarning,
                stacklevel=3,
            )


def trial_config(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> RunConfig:
    """Replay the trial's parameters through the same suggest-and-map functions the search used."""
    attrs = study.user_attrs
    if STUDY_ATTR not in attrs or SPACE_ATTR not in attrs:
        raise MtlsearchError(
            f"study {study.study_name!r} was not made by mtlsearch optimize",
            where="--study",
            fix="export from a study that mtlsearch created",
        )
    config = from_plain(StudyConfig, attrs[STUDY_ATTR], "stored study")
    space = SearchSpace.from_dict(attrs[SPACE_ATTR])
    params = suggest_params(optuna.trial.FixedTrial(trial.params), space, config.task_names)
    return params_to_config(params, config.base_run_config())


def export_trial(
    study_name: str,
    out: str | Path,
    *,
    storage: str | None = None,
    trial: int | None = None,
    pick: str | None = None,
) -> RunConfig:
    """Write the chosen trial (by number, or by ``pick``, see :func:`pick_trial`) to ``out``.

    Warns (:class:`ExportWarning`) when the trial's validation AUC of a binary task is below 0.5.
    Data paths are written absolute, so the file trains from any working directory.
    """
    if (trial is None) == (pick is None):
        raise MtlsearchError(
            "choose the trial with exactly one of --trial and --pick", where="export", fix="e.g. --pick knee"
        )
    check_output_file(out, where="--out")  # before the study is read: a wrong path costs nothing
    study = load_study(study_name, storage)
    if trial is not None:
        chosen = next((t for t in study.trials if t.number == trial), None)
        if chosen is None or chosen.state != optuna.trial.TrialState.COMPLETE:
            state = "does not exist" if chosen is None else f"is {chosen.state.name}"
            raise MtlsearchError(
                f"trial {trial} {state}", where="--trial", fix="pick a completed trial (see mtlsearch pareto)"
            )
        if not is_feasible(chosen):
            broken = ", ".join(f"{k} by {v:g}" for k, v in chosen.constraints.items() if v > 0)
            raise MtlsearchError(
                f"trial {trial} breaks the study's constraints ({broken})",
                where="--trial",
                fix="pick a feasible trial (see mtlsearch pareto)",
            )
    else:
        chosen = pick_trial(study, pick)
    _check_better_than_chance(chosen, metric_names(study))
    config = trial_config(study, chosen)
    stored = chosen.user_attrs.get("config")
    if stored is not None and stored != config.to_dict():
        raise MtlsearchError(
            f"trial {chosen.number}'s parameters no longer map to the config it trained",
            where=f"study {study_name!r}",
            fix="export with the mtlsearch version that ran the study",
        )
    provenance = {
        "study": study_name,
        "storage": resolve_storage_url(storage),
        "trial": chosen.number,
        "params": dict(chosen.params),
        "validation": dict(zip(metric_names(study), chosen.values)),
        "test": chosen.user_attrs.get("test", {}),
        "pick": pick or f"trial {trial}",
    }
    if "constraints" in chosen.user_attrs:
        provenance["constraints"] = chosen.user_attrs["constraints"]
    from mtlsearch.analysis import trial_gains  # analysis builds on search: import late

    gains = trial_gains(study, chosen)
    if gains is not None:  # once `mtlsearch baselines` stored single-task metrics
        provenance["gain"] = gains
    # Stored studies hold absolute data paths; one stored before they did is read from here.
    data = replace(config.data, options=resolve_data_paths(config.data.options, Path.cwd()))
    config = replace(config, data=data, provenance=provenance)
    save_run_config(config, out, where="--out")  # whole or not at all
    return config
