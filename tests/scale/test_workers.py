"""``--jobs N``: worker processes share one study on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import optuna
import pytest

from mtlsearch.cli import main
from mtlsearch.search import load_study
from mtlsearch.search._workers import split_trials

JOBS = {"sqlite": 2, "postgresql": 3}
FULL_ATTRS = {"config", "validation", "test", "n_parameters", "train_seconds", "history"}


@pytest.mark.parametrize(("n_trials", "jobs"), [(7, 3), (2, 3), (1, 1), (6, 2)])
def test_split_trials_adds_up_exactly_without_idle_workers(n_trials, jobs):
    shares = split_trials(n_trials, jobs)
    assert sum(shares) == n_trials and all(shares) and len(shares) == min(n_trials, jobs)
    assert max(shares) - min(shares) <= 1


def test_workers_finish_the_study_with_every_trial_complete(storage_url, tiny_study, capsys):
    jobs = JOBS[storage_url.split(":")[0].split("+")[0]]
    n_trials = 2 * jobs + 1  # uneven shares
    args = ["optimize", "--study", str(tiny_study()), "--storage", storage_url, "--n-trials", str(n_trials)]
    assert main([*args, "--jobs", str(jobs)]) == 0, capsys.readouterr().err
    trials = load_study("tiny", storage_url).trials
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(n_trials))  # exactly n_trials, no duplicate numbers
    for trial in trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE, trial.user_attrs.get("fail_reason")
        assert set(trial.user_attrs) >= FULL_ATTRS, sorted(trial.user_attrs)
        assert trial.values == [trial.user_attrs["validation"][m] for m in ("vtr/auc", "vcr/mse")]
        assert trial.user_attrs["config"]["model"]["architecture"] == trial.params["architecture"]
    # Workers sample with different seeds: not every trial repeats the first one's parameters.
    assert len({tuple(sorted(t.params.items())) for t in trials}) > 1
