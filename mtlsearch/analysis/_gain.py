"""MTL gain over single-task baselines, and the seesaw (paper-notes: "MTL gain").

gain = M_MTL - M_single for a higher-is-better metric (AUC), M_single - M_MTL for a
lower-is-better one (MSE, logloss): positive always means multi-task learning helped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from mtlsearch.search._study import _METRIC_DIRECTIONS as METRIC_DIRECTIONS  # no torch: read by pareto

__all__ = ["BASELINES_ATTR", "SEESAW_BEATEN", "SEESAW_SHOWN", "mtl_gain", "seesaw", "stored_baselines", "trial_gains"]

BASELINES_ATTR = "mtlsearch.baselines"  # study user attr written by `mtlsearch baselines`
SEESAW_BEATEN = "beaten"  # every task gains
SEESAW_SHOWN = "shown"  # some task gains while another loses


def mtl_gain(mtl: Mapping[str, float], single: Mapping[str, float], metrics: list[str]) -> dict[str, float]:
    """Gain per ``TASK/METRIC`` name in ``metrics`` present in both ``mtl`` and ``single``.

    >>> mtl_gain({"vtr/auc": 0.70, "vcr/mse": 0.12}, {"vtr/auc": 0.68, "vcr/mse": 0.10}, ["vtr/auc", "vcr/mse"])
    {'vtr/auc': 0.02, 'vcr/mse': -0.02}
    """
    out: dict[str, float] = {}
    for name in metrics:
        if name in mtl and name in single:
            sign = 1.0 if METRIC_DIRECTIONS[name.rsplit("/", 1)[-1]] == "maximize" else -1.0
            out[name] = round(sign * (float(mtl[name]) - float(single[name])), 10)
    return out


def seesaw(gains: Mapping[str, float]) -> str:
    """``"beaten"`` when every gain is positive, ``"shown"`` when some are positive and some
    negative, ``""`` otherwise (no task gains, or fewer than two tasks)."""
    values = list(gains.values())
    if len(values) < 2:
        return ""
    if all(v > 0 for v in values):
        return SEESAW_BEATEN
    if any(v > 0 for v in values) and any(v < 0 for v in values):
        return SEESAW_SHOWN
    return ""


def stored_baselines(study: optuna.Study) -> dict[str, Any] | None:
    """What ``mtlsearch baselines`` stored: ``{"model": ..., "validation": {...}, "test": {...}}``."""
    return study.user_attrs.get(BASELINES_ATTR)


def trial_gains(study: optuna.Study, trial: FrozenTrial, split: str = "validation") -> dict[str, float] | None:
    """The trial's gain per objective on ``split`` (``validation`` or ``test``); None without baselines."""
    baselines = stored_baselines(study)
    if not baselines:
        return None
    metrics = list(study.metric_names or [])
    return mtl_gain(trial.user_attrs.get(split, {}), baselines.get(split, {}), metrics)
