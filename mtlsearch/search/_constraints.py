"""Deployment budgets (a study's ``constraints:``) and the feasibility of a trial.

.. code-block:: yaml

    constraints:
      n_parameters: {max: 200000}   # parameters of the network
      latency_ms: {max: 2.0}        # serving module, batch 1, median of repeats, on this machine

Each trial stores ``value - max`` per constraint with :meth:`optuna.trial.Trial.set_constraint`
(Optuna 5's constraints interface, read by TPE, NSGA-II and GP; the older ``constraints_func``
argument is deprecated there). A trial is feasible when every value is <= 0; infeasible trials
are never on ``pareto``'s front and never picked by ``export``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial

from mtlsearch.data import MultiTaskData
from mtlsearch.errors import MtlsearchError
from mtlsearch.training import TrainResult

__all__ = ["CONSTRAINTS", "ConstraintBound", "check_constraints", "constraint_hook", "is_feasible", "measure"]

CONSTRAINTS: dict[str, str] = {
    "n_parameters": "parameters of the network",
    "latency_ms": "milliseconds of one forward pass of the serving module at batch 1 (median of 30, this machine)",
}
LATENCY_REPEATS = 30


@dataclass(frozen=True)
class ConstraintBound:
    """An upper bound on a trial's measured quantity."""

    max: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max) and self.max > 0):
            raise MtlsearchError(f"max must be a positive number, got {self.max}", where="max", fix="e.g. 2.0")


def check_constraints(constraints: Mapping[str, ConstraintBound]) -> None:
    """Refuse unknown constraint names, naming the valid ones."""
    for name in constraints:
        if name not in CONSTRAINTS:
            raise MtlsearchError(
                f"unknown constraint {name!r}",
                where=f"constraints.{name}",
                fix=f"use one of {', '.join(CONSTRAINTS)}",
            )


def measure(name: str, result: TrainResult, data: MultiTaskData) -> float:
    """The quantity ``name`` of a trained trial."""
    if name == "n_parameters":
        return float(result.n_parameters)
    if name == "latency_ms":
        from mtlsearch.serving import ServingModel, latency_ms, raw_inputs

        model = ServingModel(copy.deepcopy(result.network), data).eval()
        example = tuple(x[:1] for x in raw_inputs(data.validation, data))
        return latency_ms(model, example, repeats=LATENCY_REPEATS)
    check_constraints({name: ConstraintBound(1.0)})
    raise AssertionError(name)


def constraint_hook(
    constraints: Mapping[str, ConstraintBound],
) -> Callable[[optuna.Trial, TrainResult, MultiTaskData], None]:
    """A result hook that measures each constrained quantity and stores it: the violation
    ``value - max`` through ``trial.set_constraint`` (for the samplers and the Pareto front) and,
    readable in optuna-dashboard, the user attributes ``constraints`` and ``feasible``."""

    def hook(trial: optuna.Trial, result: TrainResult, data: MultiTaskData) -> None:
        record = {}
        for name, bound in constraints.items():
            value = measure(name, result, data)
            trial.set_constraint(name, value - bound.max)
            record[name] = {
                "value": round(value, 6),
                "max": bound.max,
                "violation": round(max(0.0, value - bound.max), 6),
            }
        trial.set_user_attr("constraints", record)
        trial.set_user_attr("feasible", all(r["violation"] <= 0 for r in record.values()))

    return hook


def is_feasible(trial: FrozenTrial) -> bool:
    """True unless a stored constraint value is > 0 (unconstrained trials are feasible)."""
    return all(value <= 0 for value in trial.constraints.values())
