"""Exact hypervolume of a front, a per-study reference point, and the after-each-trial history.

Optuna has no public hypervolume API, so the routine lives here: a sweep in 2-D and
hypervolume-by-slicing-objectives (HSO) in more dimensions, exact for any front size (HSO is
exponential in the number of objectives, fine for the handful of tasks a ranker has).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from mtlsearch.search._constraints import is_feasible

__all__ = [
    "HYPERVOLUME_ATTR",
    "HYPERVOLUME_PLOT_ID",
    "REFERENCE_MARGIN",
    "HypervolumeRecorder",
    "hypervolume",
    "hypervolume_history",
    "reference_point",
]

HYPERVOLUME_ATTR = "hypervolume_history"  # study user attr: {"reference": [...], "history": [[trial, hv], ...]}
HYPERVOLUME_PLOT_ID = "hypervolume-history"  # optuna-dashboard graph object id
REFERENCE_MARGIN = 0.1  # the derived reference lies this fraction of each objective's range beyond its worst value


def _as_minimisation(points: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return points * signs


def _non_dominated(points: np.ndarray) -> np.ndarray:
    """The rows of ``points`` (minimisation) that no other row dominates, duplicates once."""
    points = np.unique(points, axis=0)
    keep = np.ones(len(points), dtype=bool)
    for i, p in enumerate(points):
        dominates_p = np.all(points <= p, axis=1) & np.any(points < p, axis=1)  # (n,)
        keep[i] = not dominates_p.any()
    return points[keep]


def _hso(points: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume of minimisation ``points`` (all strictly below ``reference``) by slicing."""
    if len(points) == 0:
        return 0.0
    if points.shape[1] == 1:
        return float(reference[0] - points[:, 0].min())
    if points.shape[1] == 2:
        front = points[np.argsort(points[:, 0], kind="stable")]
        volume, best_y = 0.0, reference[1]
        for x, y in front:
            if y < best_y:  # sweep left to right: each new lower y adds a rectangle up to the reference
                volume += (reference[0] - x) * (best_y - y)
                best_y = y
        return float(volume)
    # Slice along the last objective: between consecutive values the cross-section is constant.
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    bounds = np.append(points[:, -1], reference[-1])
    volume = 0.0
    for i in range(len(points)):
        depth = bounds[i + 1] - bounds[i]
        if depth > 0:
            section = _non_dominated(points[: i + 1, :-1])
            volume += depth * _hso(section, reference[:-1])
    return float(volume)


def hypervolume(
    points: Sequence[Sequence[float]] | np.ndarray, reference: Sequence[float], directions: Sequence[str]
) -> float:
    """The exact volume dominated by ``points`` and bounded by ``reference``.

    ``directions`` holds ``"maximize"`` or ``"minimize"`` per objective. Points that do not
    strictly improve on the reference in every objective add nothing.

    >>> hypervolume([[0.8, 0.2], [0.6, 0.1]], reference=[0.5, 0.3], directions=["maximize", "minimize"])
    0.04
    """
    if len(reference) != len(directions):
        raise ValueError(f"reference has {len(reference)} values for {len(directions)} objectives")
    values = np.asarray(points, dtype=float).reshape(-1, len(directions))  # (n, k)
    ref = _as_minimisation(np.asarray(reference, dtype=float).reshape(1, -1), directions)[0]  # (k,)
    values = _as_minimisation(values, directions)
    values = values[np.all(np.isfinite(values), axis=1) & np.all(values < ref, axis=1)]
    return round(_hso(_non_dominated(values), ref), 12) if len(values) else 0.0


def reference_point(
    values: Sequence[Sequence[float]] | np.ndarray, directions: Sequence[str], margin: float = REFERENCE_MARGIN
) -> list[float]:
    """Each objective's worst value, moved ``margin`` of its range (or of its size when all values
    agree) further in the worse direction, so that the worst trials still add volume."""
    table = np.asarray(values, dtype=float).reshape(-1, len(directions))  # (n, k)
    table = table[np.all(np.isfinite(table), axis=1)]
    if not len(table):
        raise ValueError("no finite objective values to derive a reference point from")
    low, high = table.min(0), table.max(0)
    span = np.where(high > low, high - low, np.where(high != 0, np.abs(high), 1.0))
    out = [h + margin * s if d == "minimize" else lo - margin * s for d, lo, h, s in zip(directions, low, high, span)]
    return [float(v) for v in out]


def _directions(study: optuna.Study) -> list[str]:
    return [d.name.lower() for d in study.directions]


def hypervolume_history(
    trials: Sequence[FrozenTrial], directions: Sequence[str], reference: Sequence[float] | None = None
) -> dict[str, Any]:
    """``{"reference": [...], "history": [[trial number, hypervolume], ...]}``: after each completed
    feasible trial (by number), the hypervolume of the front of the completed feasible trials up to it.

    With ``reference`` None, the derived :func:`reference_point` of all completed trials is used, so
    every entry of one history shares a reference; it may move as the study grows.
    """
    # Trials that broke the study's constraints are not part of any front (see search/_constraints.py).
    feasible = (t for t in trials if t.state == TrialState.COMPLETE and t.values and is_feasible(t))
    done = sorted(feasible, key=lambda t: t.number)
    if not done:
        return {"reference": list(reference) if reference is not None else None, "history": []}
    table = np.array([t.values for t in done], dtype=float)  # (n, k)
    ref = list(reference) if reference is not None else reference_point(table, directions)
    # Incremental: keep the running front; a point it weakly dominates leaves the volume unchanged.
    points = _as_minimisation(table, directions)  # (n, k)
    bound = _as_minimisation(np.asarray(ref, dtype=float).reshape(1, -1), directions)[0]  # (k,)
    front = np.empty((0, points.shape[1]))
    volume, history = 0.0, []
    for point, trial in zip(points, done):
        useful = np.all(np.isfinite(point)) and np.all(point < bound)
        if useful and not np.any(np.all(front <= point, axis=1)):
            front = np.vstack([front[~np.all(point <= front, axis=1)], point])
            volume = round(_hso(front, bound), 12)
        history.append([trial.number, volume])
    return {"reference": [float(v) for v in ref], "history": history}


class _GraphObject:
    """A plotly figure as JSON: what ``optuna_dashboard.save_plotly_graph_object`` reads (via
    ``to_json``), so that the dashboard draws it without plotly being installed."""

    def __init__(self, figure: dict[str, Any]) -> None:
        self.figure = figure

    def to_json(self) -> str:
        return json.dumps(self.figure)


def _dashboard_figure(study_name: str, record: dict[str, Any]) -> dict[str, Any]:
    numbers = [n for n, _ in record["history"]]
    values = [v for _, v in record["history"]]
    reference = ", ".join(f"{v:.4g}" for v in record["reference"] or [])
    return {
        "data": [{"type": "scatter", "mode": "lines+markers", "x": numbers, "y": values, "name": "hypervolume"}],
        "layout": {
            "title": {"text": f"Hypervolume history ({study_name}; reference {reference})"},
            "xaxis": {"title": {"text": "trial"}},
            "yaxis": {"title": {"text": "hypervolume"}},
        },
    }


class HypervolumeRecorder:
    """Study callback: after each trial, store the hypervolume history of the study.

    The history goes to the study user attr ``hypervolume_history`` (shown in optuna-dashboard's
    study user attributes) and, as a plotly figure, to the dashboard's custom plots on the study
    page, beside its Pareto front. The whole history is recomputed each time, so every entry
    shares one reference point and workers sharing a storage cannot leave it inconsistent.
    """

    def __init__(self, reference: Sequence[float] | None = None, *, dashboard: bool = True) -> None:
        self.reference = None if reference is None else [float(v) for v in reference]
        self.dashboard = dashboard

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state != TrialState.COMPLETE:
            return
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        record = hypervolume_history(trials, _directions(study), self.reference)
        study.set_user_attr(HYPERVOLUME_ATTR, record)
        if self.dashboard:
            from optuna_dashboard import save_plotly_graph_object

            figure = _GraphObject(_dashboard_figure(study.study_name, record))
            save_plotly_graph_object(study, figure, graph_object_id=HYPERVOLUME_PLOT_ID)  # type: ignore[arg-type]
