"""The Pareto front of a stored study, and ways to pick one trial from it."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from mtlsearch.errors import MtlsearchError
from mtlsearch.search._constraints import is_feasible
from mtlsearch.search._storage import open_storage, resolve_storage_url

__all__ = [
    "KEY_PARAMS",
    "column_decimals",
    "format_trials",
    "infeasible_trials",
    "load_study",
    "metric_names",
    "pareto_trials",
    "pick_trial",
    "trial_row",
]

KEY_PARAMS = (
    "architecture",
    "levels",
    "specific_experts",
    "shared_experts",
    "expert_width",
    "expert_depth",
    "loss_balancing",
)
_THRESHOLD = re.compile(r"^\s*([\w\-.]+(?:/[\w\-.]+)?)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$")


def load_study(name: str, storage: str | None) -> optuna.Study:
    """Load a stored study by name; the error lists the names the storage holds.

    Never creates a storage: a missing file or an empty database is an error (see ``open_storage``).
    """
    url = resolve_storage_url(storage)
    backend = open_storage(url, create=False)
    names = optuna.study.get_all_study_names(backend)
    if name not in names:
        raise MtlsearchError(
            f"no study {name!r} in {url}",
            where="--study",
            fix=f"use one of {', '.join(names)}" if names else "run mtlsearch optimize first, or pass --storage",
        )
    return optuna.load_study(study_name=name, storage=backend)


def metric_names(study: optuna.Study) -> list[str]:
    names = study.metric_names
    return list(names) if names else [f"objective_{i}" for i in range(len(study.directions))]


def pareto_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Completed, feasible (within the study's ``constraints:``), non-dominated trials, by number.

    Optuna's ``best_trials`` already ranks only feasible trials once any trial stored a
    constraint; the filter states it here too, so no infeasible trial can reach the front."""
    return sorted((t for t in study.best_trials if is_feasible(t)), key=lambda t: t.number)


def infeasible_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Completed trials that broke a constraint, by number."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [t for t in complete if not is_feasible(t)]


def trial_row(study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
    """One trial as a flat row: number, objectives, test metrics, key parameters, size and time; with
    baselines stored, the validation MTL gain per objective and the seesaw mark (beaten / shown)."""
    row: dict[str, Any] = {"trial": trial.number}
    for name, value in zip(metric_names(study), trial.values or []):
        row[name] = value
    test = trial.user_attrs.get("test", {})
    for name in metric_names(study):
        if name in test:
            row[f"test {name}"] = test[name]
    for key in KEY_PARAMS:
        if key in trial.params:
            row[key] = trial.params[key]
    row["params"] = trial.user_attrs.get("n_parameters")
    row["seconds"] = trial.user_attrs.get("train_seconds")
    for name, record in trial.user_attrs.get("constraints", {}).items():
        row[name] = record["value"]
    if trial.constraints:
        row["violation"] = sum(max(0.0, v) for v in trial.constraints.values())
    from mtlsearch.analysis import seesaw, trial_gains  # analysis builds on search: import late

    gains = trial_gains(study, trial)
    if gains is not None:  # once `mtlsearch baselines` stored single-task metrics
        row.update({f"gain {name}": value for name, value in gains.items()})
        row["seesaw"] = seesaw(gains) or None
    return row


def _defined(row: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinite values as None (stored by older versions for an undefined test metric)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()}


def column_decimals(values: Sequence[Any], *, least: int = 4, most: int = 12) -> int:
    """Decimals that print a column's floats so that no two different values look equal.

    The smallest count from ``least`` up (at most ``most``) at which the column's distinct values
    stay distinct, i.e. set by the smallest gap between two of them: 0.94251 and 0.94253 need 5.

    >>> column_decimals([0.942512, 0.942534, 0.9])
    5
    >>> column_decimals([0.5, 0.25, None, "x"])
    4
    """
    floats = sorted({float(v) for v in values if isinstance(v, float) and np.isfinite(v)})
    for decimals in range(least, most):
        if len({f"{v:.{decimals}f}" for v in floats}) == len(floats):
            return decimals
    return most


def format_trials(study: optuna.Study, trials: Sequence[FrozenTrial], fmt: str = "table") -> str:
    """``table`` (aligned text), ``csv`` or ``json`` (strict: an undefined value is ``null``)."""
    rows = [_defined(trial_row(study, t)) for t in trials]
    if fmt == "json":
        return json.dumps(rows, indent=2, allow_nan=False)  # strict JSON: an undefined metric is null
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    if fmt == "csv":
        lines = [",".join(columns)]
        lines += [",".join("" if r.get(c) is None else str(r.get(c)) for c in columns) for r in rows]
        return "\n".join(lines)
    if fmt != "table":
        raise MtlsearchError(f"unknown format {fmt!r}", where="--format", fix="use table, csv or json")

    decimals = {c: column_decimals([r.get(c) for r in rows]) for c in columns}

    def cell(value: Any, column: str) -> str:
        if isinstance(value, float):
            return f"{value:.{decimals[column]}f}"
        return "-" if value is None else str(value)

    cells = [[cell(r.get(c), c) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _goodness(study: optuna.Study, trials: Sequence[FrozenTrial], scale: Sequence[FrozenTrial] = ()) -> np.ndarray:
    """Objectives of ``trials`` scaled to [0, 1] over the range of ``scale`` (default: ``trials``
    themselves), 1 the best value of each (direction-aware)."""
    signs = np.array([1.0 if d == optuna.study.StudyDirection.MAXIMIZE else -1.0 for d in study.directions])
    values = np.array([t.values for t in trials], dtype=float) * signs  # (n, k), larger is better
    ranged = np.array([t.values for t in (scale or trials)], dtype=float) * signs
    low, high = ranged.min(0), ranged.max(0)
    span = np.where(high > low, high - low, 1.0)
    return (values - low) / span


def _knee(study: optuna.Study, trials: Sequence[FrozenTrial]) -> FrozenTrial:
    """The trial nearest the ideal point (every objective at its best) after normalising.

    From three points on, each objective is normalised over the front (``trials``). One point is
    its own knee. Two points are each best in one objective and worst in the other over their own
    range, so both lie at distance 1 from the ideal point: there the objectives are normalised over
    every completed (feasible) trial of the study, which measures how far each point's weaker objective falls
    behind what the study reached (a point whose weaker objective is the study's worst loses).
    Ties go to the earlier trial.
    """
    if len(trials) == 1:
        return trials[0]
    scale: Sequence[FrozenTrial] = ()
    if len(trials) == 2:
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        scale = [t for t in complete if t.values and is_feasible(t)]
    distance = np.linalg.norm(1.0 - _goodness(study, trials, scale), axis=1)
    return trials[int(np.argmin(distance))]


def pick_trial(study: optuna.Study, pick: str) -> FrozenTrial:
    """Choose a Pareto trial: ``knee``; ``weighted:TASK=W,...`` (max weighted normalised sum);
    or a threshold ``METRIC>=VALUE`` (e.g. ``vtr/auc>=0.8``), then the knee of those that meet it."""
    front = pareto_trials(study)
    if not front:
        if infeasible_trials(study):
            raise MtlsearchError(
                f"every completed trial of study {study.study_name!r} breaks its constraints",
                where="--pick",
                fix="relax constraints: in the study file (a new study name), or run more trials",
            )
        raise MtlsearchError(
            f"study {study.study_name!r} has no completed trial", where="--pick", fix="run mtlsearch optimize first"
        )
    names = metric_names(study)
    if pick == "knee":
        return _knee(study, front)
    if pick.startswith("weighted:"):
        weights = np.zeros(len(names))
        for part in filter(None, pick[len("weighted:") :].split(",")):
            key, _, value = part.partition("=")
            matches = [i for i, n in enumerate(names) if n == key or n.split("/")[0] == key]
            try:
                weight = float(value)
            except ValueError:
                weight = float("nan")
            if not matches or not np.isfinite(weight):
                raise MtlsearchError(
                    f"bad weight {part!r}",
                    where="--pick",
                    fix=f"write weighted:TASK=W,... with TASK one of {', '.join(names)}",
                )
            weights[matches[0]] = weight
        return front[int(np.argmax(_goodness(study, front) @ weights))]
    match = _THRESHOLD.match(pick)
    if match:
        key, op, raw = match.groups()
        index = next((i for i, n in enumerate(names) if n == key or n.split("/")[0] == key), None)
        if index is None:
            raise MtlsearchError(f"unknown metric {key!r}", where="--pick", fix=f"use one of {', '.join(names)}")
        bound = float(raw)
        compare = {">=": np.greater_equal, "<=": np.less_equal, ">": np.greater, "<": np.less}[op]
        kept = [t for t in front if compare(t.values[index], bound)]
        if not kept:
            raise MtlsearchError(
                f"no Pareto trial has {names[index]} {op} {bound}", where="--pick", fix="relax the threshold"
            )
        return _knee(study, kept)
    raise MtlsearchError(f"unknown pick {pick!r}", where="--pick", fix="use knee, weighted:TASK=W,... or METRIC>=VALUE")
