"""The report's trade-off views: the zoomed front beside the full view, labels apart, importances
equal to optuna-dashboard's."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import optuna
import pytest

from mtlsearch.analysis._report import _importances, _pareto_figure

SPACE = {
    "lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
    "width": optuna.distributions.IntDistribution(8, 64),
    "arch": optuna.distributions.CategoricalDistribution(["mmoe", "ple"]),
}


def make_study(n: int = 40, seed: int = 0) -> optuna.Study:
    """AUC (up) depends mostly on lr, MSE (down) on width; a few far-off dominated trials; a dense front."""
    rng = np.random.default_rng(seed)
    study = optuna.create_study(directions=["maximize", "minimize"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["vtr/auc", "vcr/mse"])
    for k in range(n):
        params = {
            "lr": float(10 ** rng.uniform(-4, -2)),
            "width": int(rng.integers(8, 65)),
            "arch": ["mmoe", "ple"][k % 2],
        }
        auc = 0.94 - 0.02 * abs(np.log10(params["lr"]) + 3) + rng.normal(0, 1e-3)
        mse = 0.010 + 0.004 * (64 - params["width"]) / 56 + rng.normal(0, 1e-4)
        if k % 10 == 9:  # far off: what used to set the axes
            auc, mse = auc - 0.4, mse + 0.5
        study.add_trial(optuna.trial.create_trial(values=[auc, mse], params=params, distributions=SPACE))
    return study


def test_importances_are_optuna_dashboards():
    from optuna_dashboard._importance import get_param_importance_from_trials_cache
    from optuna_dashboard._inmemory_cache import InMemoryCache

    study = make_study()
    ours = _importances(study, ["vtr/auc", "vcr/mse"])
    for objective, name in enumerate(["vtr/auc", "vcr/mse"]):
        theirs = get_param_importance_from_trials_cache(
            InMemoryCache(), study._storage, study._study_id, objective, study.trials
        )
        assert ours[name] == pytest.approx({row["name"]: row["importance"] for row in theirs})
    assert next(iter(ours["vtr/auc"])) == "lr" and next(iter(ours["vcr/mse"])) == "width"


def test_pareto_zooms_to_the_front_beside_the_full_view_with_labels_apart():
    study = optuna.create_study(directions=["maximize", "minimize"])
    front_points = [(0.9400 + 0.0004 * k + 0.0001 * (k % 2), 0.0100 + 0.00005 * k) for k in range(8)]  # dense
    far = [(0.50, 0.60), (0.55, 0.40), (0.90, 0.02), (0.93, 0.011)]  # dominated; the first two far off
    for auc, mse in front_points + far:
        study.add_trial(
            optuna.trial.create_trial(values=[auc, mse], params={"lr": 1e-3}, distributions={"lr": SPACE["lr"]})
        )
    trials = study.trials
    front = sorted(study.best_trials, key=lambda t: t.number)
    assert len(front) == 8
    figure = _pareto_figure(study, trials, front)
    zoom, full = figure.axes[:2]
    xs, ys = [t.values[0] for t in front], [t.values[1] for t in front]
    (x0, x1), (y0, y1) = zoom.get_xlim(), zoom.get_ylim()
    assert x0 < min(xs) and max(xs) < x1 and y0 < min(ys) and max(ys) < y1  # every front point in view
    span = max(xs) - min(xs)
    assert x1 - x0 < 1.5 * span  # zoomed: the window is the front's, not the far-off trials'
    assert full.get_xlim()[0] <= min(t.values[0] for t in trials)  # the full view holds every trial
    assert full.get_ylim()[1] >= max(t.values[1] for t in trials)
    labels = [text for text in zoom.texts if text.get_text().isdigit()]
    assert sorted(int(t.get_text()) for t in labels) == [t.number for t in front]
    renderer = figure.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), "two front labels overlap"
