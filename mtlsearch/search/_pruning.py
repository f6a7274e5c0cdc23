"""Multi-objective early stopping: per-epoch validation vectors and successive halving by Pareto rank.

Optuna refuses ``trial.report``/``should_prune`` in multi-objective studies, so every trial would
train to the end. :class:`EpochVectorPruner` is an epoch hook (see ``study_hooks``) that

* records each trial's validation vector after every epoch as the user attribute
  ``"intermediate"``: ``{"0": [v_1, ..., v_m], "1": [...], ...}``, keyed by the 0-based epoch
  (as in ``history``), one value per objective in the study's objective order. Always on.
* when ``pruning.enabled``, stops a trial at each rung in the manner of Syne Tune's MO-ASHA:
  it continues only if it lies in the best ``1 / reduction_factor`` of the trials that reached
  the rung, compared with the vectors those trials (COMPLETE, PRUNED or RUNNING, read from the
  storage, so it works with ``--jobs`` and any sampler) had at the same epoch.

Ranking: non-dominated sorting (Pareto rank), ties within a rank broken by crowding distance
(NSGA-II's; points at an objective's extreme count as infinitely far, so the ends of each front
are kept). A trial continues when fewer than ``k = max(1, n // reduction_factor)`` of the ``n``
trials at the rung are strictly ahead of it (a lower rank, or the same rank and a larger crowding
distance): ties go in the trial's favour, as in Optuna's ``SuccessiveHalvingPruner``.

Rungs count completed epochs: rung ``r`` is decided after epoch index ``r - 1`` (rung 1: after
the first epoch). Rungs at or beyond ``training.epochs`` are skipped, since a trial that has
trained its whole budget costs nothing more to complete. A pruned trial is recorded as PRUNED
(Optuna keeps no values for it in a multi-objective study) with the user attributes
``pruned_at_epoch`` (0-based epoch index), ``pruned_rung`` and ``train_seconds``; its last vector
stays in ``intermediate``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna

from mtlsearch.errors import MtlsearchError

if TYPE_CHECKING:
    from mtlsearch.training import EpochCallback

__all__ = [
    "INTERMEDIATE_ATTR",
    "EpochVectorPruner",
    "PruningConfig",
    "crowding_distances",
    "pareto_ranks",
    "rung_order",
    "rung_resources",
    "survives_rung",
]

INTERMEDIATE_ATTR = "intermediate"  # trial user attribute: {"epoch": [one value per objective]}


@dataclass(frozen=True)
class PruningConfig:
    """The ``pruning:`` section of a study file; off by default."""

    enabled: bool = False  # prune at the rungs; the per-epoch vectors are recorded either way
    min_resource: int = 1  # first rung, in completed epochs (1: after the first epoch)
    reduction_factor: int = 3  # eta: rungs at min_resource * eta**k; keep the best 1/eta (ASHA default)
    min_trials: int = 4  # no pruning at a rung before this many trials (this one included) reached it
    rungs: tuple[int, ...] = ()  # explicit rungs in completed epochs, increasing; overrides min_resource

    def __post_init__(self) -> None:
        if self.min_resource < 1:
            raise MtlsearchError(
                f"min_resource must be >= 1, got {self.min_resource}",
                where="pruning.min_resource",
                fix="use 1 (the first rung after the first epoch) or more",
            )
        if self.reduction_factor < 2:
            raise MtlsearchError(
                f"reduction_factor must be >= 2, got {self.reduction_factor}",
                where="pruning.reduction_factor",
                fix="use 2 or 3",
            )
        if self.min_trials < 1:
            raise MtlsearchError(
                f"min_trials must be >= 1, got {self.min_trials}", where="pruning.min_trials", fix="use 1 or more"
            )
        if any(r < 1 for r in self.rungs) or list(self.rungs) != sorted(set(self.rungs)):
            raise MtlsearchError(
                f"rungs must be increasing epoch counts >= 1, got {list(self.rungs)}",
                where="pruning.rungs",
                fix="write e.g. [1, 2], or leave it out for min_resource * reduction_factor**k",
            )

    def rung_resources(self, epochs: int) -> tuple[int, ...]:
        """The rungs (completed epochs) at which a trial of ``epochs`` epochs may be stopped."""
        if self.rungs:
            return tuple(r for r in self.rungs if r < epochs)
        return rung_resources(self.min_resource, self.reduction_factor, epochs)

    def check_budget(self, epochs: int) -> None:
        """Refuse an enabled pruner that has no rung before the last epoch (it would never act)."""
        if self.enabled and not self.rung_resources(epochs):
            field = "rungs" if self.rungs else "min_resource"
            raise MtlsearchError(
                f"no rung before the last of training.epochs={epochs} epochs",
                where=f"pruning.{field}",
                fix=f"use rungs below {epochs}, or more training.epochs",
            )


def rung_resources(min_resource: int, reduction_factor: int, epochs: int) -> tuple[int, ...]:
    """Geometric rungs ``min_resource * reduction_factor**k`` below ``epochs``.

    >>> rung_resources(1, 2, 8), rung_resources(1, 3, 10), rung_resources(2, 2, 2)
    ((1, 2, 4), (1, 3, 9), ())
    """
    rungs = []
    rung = min_resource
    while rung < epochs:
        rungs.append(rung)
        rung *= reduction_factor
    return tuple(rungs)


def _minimised(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[tuple[float, ...]]:
    signs = [-1.0 if d == "maximize" else 1.0 for d in directions]
    return [tuple(s * v for s, v in zip(signs, p)) for p in points]


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_ranks(points: Sequence[Sequence[float]]) -> list[int]:
    """Non-dominated sorting of minimised ``points``: 0 for the Pareto front, 1 for the next, ...

    >>> pareto_ranks([(1, 1), (2, 2), (0, 3), (3, 3)])
    [0, 1, 0, 2]
    """
    n = len(points)
    dominated_by = [0] * n  # how many points dominate i
    dominates = [[j for j in range(n) if _dominates(points[i], points[j])] for i in range(n)]
    for i in range(n):
        for j in dominates[i]:
            dominated_by[j] += 1
    ranks = [-1] * n
    front = [i for i in range(n) if dominated_by[i] == 0]
    rank = 0
    while front:
        following = []
        for i in front:
            ranks[i] = rank
            for j in dominates[i]:
                dominated_by[j] -= 1
                if dominated_by[j] == 0:
                    following.append(j)
        front, rank = following, rank + 1
    return ranks


def crowding_distances(points: Sequence[Sequence[float]]) -> list[float]:
    """NSGA-II crowding distance of each point within one front (larger: more isolated).

    Per objective, a point adds (next larger value - next smaller value) / (max - min); a point
    with no smaller or no larger value gets infinity. Neighbours are the nearest *different*
    values, so equal points get equal distances whatever their order; an objective on which all
    points agree adds nothing.

    >>> crowding_distances([(0, 5), (1, 2), (3, 1), (4, 0)])
    [inf, 1.55, 1.15, inf]
    """
    distances = [0.0] * len(points)
    for m in range(len(points[0]) if points else 0):
        values = sorted({p[m] for p in points})
        if len(values) < 2:
            continue
        span = values[-1] - values[0]
        position = {v: i for i, v in enumerate(values)}
        for i, point in enumerate(points):
            k = position[point[m]]
            if k == 0 or k == len(values) - 1:
                distances[i] = math.inf
            else:
                distances[i] += (values[k + 1] - values[k - 1]) / span
    return distances


def rung_order(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[tuple[int, float]]:
    """Each point's sort key at a rung: (Pareto rank, -crowding distance within its rank); smaller is better."""
    minimised = _minimised(points, directions)
    ranks = pareto_ranks(minimised)
    keys: list[tuple[int, float]] = [(0, 0.0)] * len(points)
    for rank in set(ranks):
        members = [i for i, r in enumerate(ranks) if r == rank]
        for i, distance in zip(members, crowding_distances([minimised[i] for i in members])):
            keys[i] = (rank, -distance)
    return keys


def survives_rung(
    own: Sequence[float],
    others: Sequence[Sequence[float]],
    directions: Sequence[str],
    *,
    reduction_factor: int,
    min_trials: int,
) -> bool:
    """Whether a trial with vector ``own`` continues past a rung that ``others`` also reached.

    True while fewer than ``min_trials`` trials (``own`` included) reached the rung; otherwise
    True when fewer than ``max(1, n // reduction_factor)`` of the ``n`` vectors are strictly ahead
    of ``own`` by :func:`rung_order`. Non-finite vectors of others are ignored; a non-finite
    ``own`` continues (the objective reports it as failed at the end).

    >>> survives_rung((0.9, 0.1), [(0.8, 0.2), (0.7, 0.3), (0.6, 0.4)], ["maximize", "minimize"],
    ...               reduction_factor=2, min_trials=4)
    True
    >>> survives_rung((0.6, 0.4), [(0.8, 0.2), (0.7, 0.3), (0.9, 0.1)], ["maximize", "minimize"],
    ...               reduction_factor=2, min_trials=4)
    False
    """
    if not all(math.isfinite(v) for v in own):
        return True
    valid = [tuple(o) for o in others if all(math.isfinite(v) for v in o)]
    n = len(valid) + 1
    if n < min_trials:
        return True
    keys = rung_order([tuple(own), *valid], directions)
    ahead = sum(key < keys[0] for key in keys[1:])
    return ahead < max(1, n // reduction_factor)


class EpochVectorPruner:
    """Epoch hook: store each epoch's objective vector; prune at rungs when ``config.enabled``.

    >>> hook = EpochVectorPruner(["vtr/auc", "vcr/mse"], PruningConfig(enabled=True), epochs=4)
    >>> hook.rungs
    (1, 2)
    """

    def __init__(self, metric_names: Sequence[str], config: PruningConfig, *, epochs: int) -> None:
        self.metric_names = tuple(metric_names)
        self.config = config
        self.rungs = config.rung_resources(epochs) if config.enabled else ()

    def __call__(self, trial: optuna.Trial) -> EpochCallback:
        start = time.perf_counter()
        intermediate: dict[str, list[float]] = {}
        directions = [d.name.lower() for d in trial.study.directions]

        def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
            vector = [float(metrics[name]) for name in self.metric_names]
            intermediate[str(epoch)] = vector
            trial.set_user_attr(INTERMEDIATE_ATTR, intermediate)
            rung = epoch + 1  # completed epochs
            if rung not in self.rungs:
                return
            others = _vectors_at(trial, str(epoch))
            if survives_rung(
                vector,
                others,
                directions,
                reduction_factor=self.config.reduction_factor,
                min_trials=self.config.min_trials,
            ):
                return
            trial.set_user_attr("pruned_at_epoch", epoch)
            trial.set_user_attr("pruned_rung", rung)
            trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 4))
            raise optuna.TrialPruned(f"not in the best 1/{self.config.reduction_factor} at rung {rung}")

        return on_epoch


_COMPARED_STATES = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)


def _vectors_at(trial: optuna.Trial, epoch: str) -> list[list[float]]:
    """The vectors the study's other trials stored for ``epoch`` (those that reached it)."""
    vectors = []
    for other in trial.study.get_trials(deepcopy=False, states=_COMPARED_STATES):
        if other.number == trial.number:
            continue
        vector = other.user_attrs.get(INTERMEDIATE_ATTR, {}).get(epoch)
        if vector is not None:
            vectors.append(vector)
    return vectors
