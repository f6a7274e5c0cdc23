"""Choosing from the front: the knee on fronts of one and two points, table digits, the AUC warning."""

from __future__ import annotations

import warnings

import optuna
import pytest

from mtlsearch.cli import main
from mtlsearch.search import ExportWarning, column_decimals, export_trial, format_trials, pick_trial
from mtlsearch.search._pareto import _knee

X = optuna.distributions.FloatDistribution(0.0, 1.0)


def make_study(points: list[tuple[float, float]]) -> optuna.Study:
    """An in-memory study (AUC up, MSE down) holding one completed trial per point."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["vtr/auc", "vcr/mse"])
    for i, values in enumerate(points):
        study.add_trial(optuna.trial.create_trial(values=list(values), params={"x": i / 10}, distributions={"x": X}))
    return study


def test_knee_of_a_one_point_front_is_that_point():
    study = make_study([(0.7, 0.3), (0.6, 0.4), (0.5, 0.5)])  # trial 0 dominates the others
    assert [t.number for t in study.best_trials] == [0]
    assert pick_trial(study, "knee").number == 0


def test_knee_of_a_two_point_front_weighs_each_point_against_the_whole_study():
    # Trial 0 has the best MSE but the study's worst AUC (below chance); trial 1 gives up a
    # little MSE for the best AUC. Over the front alone both are at distance 1 from the ideal.
    points = [(0.45, 0.100), (0.93, 0.105), (0.80, 0.300), (0.60, 0.250)]
    study = make_study(points)
    assert sorted(t.number for t in study.best_trials) == [0, 1]
    assert pick_trial(study, "knee").number == 1
    # The same holds in the mirror image: the cheap trade-off wins whichever objective it is in.
    mirrored = make_study([(0.93, 0.300), (0.92, 0.100), (0.50, 0.250), (0.60, 0.280)])
    assert sorted(t.number for t in mirrored.best_trials) == [0, 1]
    assert pick_trial(mirrored, "knee").number == 1
    # With nothing else in the study the two are tied: the earlier trial.
    assert _knee(make_study(points[:2]), make_study(points[:2]).best_trials).number == 0


def test_knee_of_three_points_or_more_uses_the_front_range():
    study = make_study([(0.90, 0.30), (0.85, 0.12), (0.60, 0.10)])
    assert pick_trial(study, "knee").number == 1


def test_table_digits_keep_two_front_trials_apart():
    assert column_decimals([0.942512, 0.942534]) == 5
    assert column_decimals([0.94, 0.95]) == 4
    assert column_decimals([1.0, 1.0 + 3e-9]) == 9
    study = make_study([(0.9425161, 0.20), (0.9425123, 0.10)])  # both on the front; 5 digits part them
    table = format_trials(study, study.best_trials)
    assert "0.94252 " in table and "0.94251 " in table  # 4 digits would show 0.9425 twice
    assert "0.1000" in table and "0.10000" not in table  # a column far apart keeps 4


def test_export_warns_when_the_chosen_trials_auc_is_below_chance(tiny_template, tmp_path, capsys):
    study_file = tiny_template.write(tmp_path, n_trials=1)
    storage = f"sqlite:///{tmp_path / 'w.db'}"
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    study = optuna.load_study(study_name="tiny", storage=storage)
    trial = study.trials[0]
    capsys.readouterr()
    assert main(["export", "--study", "tiny", "--storage", storage, "--trial", "0", "--out", "ok.yaml"]) == 0
    assert ("below 0.5" in capsys.readouterr().err) == (trial.values[0] < 0.5)
    # Store a copy of the trial with its AUC below chance, then export that one.
    low = optuna.trial.create_trial(
        values=[0.42, trial.values[1]],
        params=trial.params,
        distributions=trial.distributions,
        user_attrs={**trial.user_attrs, "validation": {**trial.user_attrs["validation"], "vtr/auc": 0.42}},
    )
    study.add_trial(low)
    assert main(["export", "--study", "tiny", "--storage", storage, "--trial", "1", "--out", "low.yaml"]) == 0
    err = capsys.readouterr().err
    assert "mtlsearch export: warning: trial 1 has validation vtr/auc 0.4200, below 0.5 (worse than chance)" in err
    with pytest.warns(ExportWarning, match="below 0.5"):
        export_trial("tiny", "again.yaml", storage=storage, trial=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for a trial at or above chance
        fine = {**trial.user_attrs, "validation": {**trial.user_attrs["validation"], "vtr/auc": 0.5}}
        study.add_trial(optuna.trial.create_trial(values=[0.5, trial.values[1]], params=trial.params,
                                                  distributions=trial.distributions, user_attrs=fine))  # fmt: skip
        export_trial("tiny", "fine.yaml", storage=storage, trial=2)
