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


GO = """
import os, sys, time
from mtlsearch.cli import main
go = sys.argv[1]
while not os.path.exists(go):  # all three start at the same instant, once imported
    time.sleep(0.01)
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    "kind",
    ["postgresql", "sqlite"],
)
def test_three_commands_started_at_once_on_a_fresh_database_all_succeed_without_repeats(
    kind, request, tiny_study, tmp_path
):
    """Three separate commands, same study file and seed, on a fresh database (no schema yet):
    all exit 0 (the schema race is retried) and their 12 trials hold 12 distinct parameter sets."""
    storage_url = (
        request.getfixturevalue("fresh_postgres") if kind == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    )
    import subprocess
    import sys

    study = str(tiny_study(sampler={"name": "tpe", "seed": 0}))
    go = tmp_path / "go"
    args = ["optimize", "--study", study, "--storage", storage_url, "--n-trials", "4", "--no-progress"]
    processes = [
        subprocess.Popen([sys.executable, "-c", GO, str(go), *args], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    go.touch()
    errors = [p.communicate(timeout=900)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], errors
    trials = load_study("tiny", storage_url).trials
    assert len(trials) == 12 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 12
    assert len({t.user_attrs["sampler_seed"] for t in trials}) == 12


def test_a_resumed_run_proposes_new_parameters(tiny_study, tmp_path):
    from mtlsearch.search import optimize

    study, storage = str(tiny_study()), f"sqlite:///{tmp_path / 'resume.db'}"
    first = [t.params for t in optimize(study, n_trials=2, storage=storage).trials]
    trials = optimize(study, n_trials=2, storage=storage).trials  # same seed, same sampler: resumed
    assert [t.params for t in trials[:2]] == first
    assert all(t.params not in first for t in trials[2:])
    assert len({t.user_attrs["sampler_seed"] for t in trials}) == 4


def test_trial_seeds_differ_per_trial_and_reseed_every_random_state():
    from mtlsearch.search._optimize import _reseed, trial_seed

    assert len({trial_seed(0, n) for n in range(1000)}) == 1000
    assert trial_seed(0, 5) == trial_seed(0, 5) != trial_seed(1, 5)
    for sampler in (optuna.samplers.TPESampler(seed=0), optuna.samplers.NSGAIISampler(seed=0)):
        _reseed(sampler, 7)
        first = sampler._rng.rng.randint(1 << 30), sampler._random_sampler._rng.rng.randint(1 << 30)
        _reseed(sampler, 7)
        assert (sampler._rng.rng.randint(1 << 30), sampler._random_sampler._rng.rng.randint(1 << 30)) == first
