"""Faults with real processes: kill -9 mid-trial, SIGTERM/SIGINT, the dashboard reading while
trials are written, and a changed study file with ``--force-new-version``."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from mtlsearch.cli import main
from mtlsearch.search import load_study, open_storage

# Slow enough trials (a few seconds) to be caught mid-training.
SLOW = {
    "data": {"name": "synthetic-video", "options": {"n_samples": 1500, "dim": 8}},
    "training": {"epochs": 3, "patience": 3},
}
FULL_ATTRS = {"config", "validation", "test", "n_parameters", "train_seconds", "history"}
CLI = [sys.executable, "-c", "import sys; from mtlsearch.cli import main; sys.exit(main())"]


def start(*args: str) -> subprocess.Popen:
    """``mtlsearch ARGS`` in a child process (stderr captured)."""
    return subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def states(db: Path) -> dict[int, str]:
    """Trial number -> state, read straight from the SQLite file."""
    if not db.exists():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as connection:
        try:
            return dict(connection.execute("select number, state from trials"))
        except sqlite3.OperationalError:  # tables not created yet
            return {}


# Waits follow events (a trial row appearing, a process ending); the limits are far above what a
# machine under heavy load needs (load 10 on 2 cores), so that load alone never fails a test.
PATIENCE = 600.0


def wait_for(condition, timeout: float = PATIENCE, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def running_after_one_complete(db: Path) -> int | None:
    """The number of a RUNNING trial that is training (it has its config) and started after the
    first trial completed: with --jobs 2 a trial that ran beside the first one is nearly done."""
    if "COMPLETE" not in states(db).values():
        return None
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as connection:
        (first_done,) = connection.execute(
            "select min(datetime_complete) from trials where state = 'COMPLETE'"
        ).fetchone()
        row = connection.execute(
            "select number from trials join trial_user_attributes using (trial_id) "
            "where key = 'config' and state = 'RUNNING' and datetime_start > ? order by number",
            (first_done,),
        ).fetchone()
    return None if row is None else row[0]


def training_trial(storage: optuna.storages.BaseStorage) -> int | None:
    """The number of a RUNNING trial that is training (it has its config), once one has completed."""
    try:
        trials = storage.get_all_trials(storage.get_study_id_from_name("tiny"))
    except KeyError:  # not created yet
        return None
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in trials):
        return None
    return next((t.number for t in trials if t.state.name == "RUNNING" and "config" in t.user_attrs), None)


def test_a_killed_workers_trial_fails_after_the_grace_period_and_is_retried(storage_url, tiny_study):
    beat = ["--heartbeat-interval", "1", "--grace-period", "2", "--no-progress"]
    study_file = str(tiny_study(**SLOW))
    victim = start("optimize", "--study", study_file, "--storage", storage_url, "--n-trials", "4", *beat)
    storage = open_storage(storage_url)
    killed = wait_for(lambda: training_trial(storage), what="a running second trial")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(30)
    before = {t.number: t for t in load_study("tiny", storage_url).trials}
    assert before[killed].state == optuna.trial.TrialState.RUNNING  # nobody marked it: the worker died
    time.sleep(2.5)  # past the grace period
    rescuer = start("optimize", "--study", study_file, "--storage", storage_url, "--n-trials", "1", *beat)
    assert rescuer.wait(PATIENCE) == 0, rescuer.stderr.read()

    trials = {t.number: t for t in load_study("tiny", storage_url).trials}
    assert trials[killed].state == optuna.trial.TrialState.FAIL
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state == optuna.trial.TrialState.COMPLETE
    assert retries[0].params == trials[killed].params
    for number, trial in before.items():  # no completed trial lost
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert trials[number].state == optuna.trial.TrialState.COMPLETE
            assert set(trials[number].user_attrs) >= FULL_ATTRS
    assert set(retries[0].user_attrs) >= FULL_ATTRS
    assert not [t for t in trials.values() if t.state == optuna.trial.TrialState.RUNNING]


@pytest.mark.parametrize(("sig", "jobs"), [(signal.SIGTERM, "1"), (signal.SIGINT, "2")])
def test_a_signal_fails_the_running_trial_and_says_how_to_resume(tiny_study, tmp_path, sig, jobs):
    db = tmp_path / "signal.db"
    storage = f"sqlite:///{db}"
    study_file = str(tiny_study(**{**SLOW, "training": {"epochs": 8, "patience": 8}}))  # the trial outlasts the signal
    process = start("optimize", "--study", study_file, "--storage", storage, "--n-trials", "6", "--jobs", jobs)
    wait_for(lambda: running_after_one_complete(db), what="a running trial")
    os.kill(process.pid, sig)  # the parent only: it stops its workers itself
    assert process.wait(PATIENCE) == 128 + sig
    err = process.stderr.read().strip().splitlines()
    resume = f"resume with: mtlsearch optimize --study {study_file} --storage {storage}"
    assert len(err) >= 1 and resume in err[-1] and "Traceback" not in "\n".join(err), err
    trials = load_study("tiny", storage).trials
    assert trials and not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    # the signal the user sent, also in --jobs workers (which their parent stops with SIGTERM)
    expected = f"interrupted by {sig.name}"
    assert failed and all(t.user_attrs.get("fail_reason") == expected for t in failed), (
        [(t.number, t.state.name, t.user_attrs.get("fail_reason")) for t in trials],
        err,
    )
    numbers = [t.number for t in failed]  # the line names exactly the trials marked failed
    named = (
        f"trial {numbers[0]} of study 'tiny' was"
        if len(numbers) == 1
        else f"trials {', '.join(map(str, numbers))} of study 'tiny' were"
    )
    assert f"interrupted by {sig.name}; {named} running and " in err[-1], err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_dashboard_reads_while_optimize_writes(tiny_study, tmp_path):
    db = tmp_path / "dash.db"
    storage = f"sqlite:///{db}"
    study_file = str(tiny_study())
    assert main(["optimize", "--study", study_file, "--storage", storage, "--n-trials", "1", "--no-progress"]) == 0
    port = free_port()
    dashboard = start("dashboard", "--study", "tiny", "--storage", storage, "--port", str(port))
    writer = start("optimize", "--study", study_file, "--storage", storage, "--n-trials", "6", "--no-progress")
    try:
        replies = []
        while writer.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/1?after=0", timeout=10) as reply:
                    replies.append(json.loads(reply.read())["trials"])
            except OSError:  # the server is still starting
                assert dashboard.poll() is None, dashboard.stderr.read()
            time.sleep(0.05)
        assert writer.returncode == 0, writer.stderr.read()
        assert dashboard.poll() is None  # the dashboard survived too
        assert len(replies) >= 3 and len({len(trials) for trials in replies}) >= 2  # it saw trials arrive
    finally:
        dashboard.terminate()
        dashboard.wait(PATIENCE)
        writer.kill()
    assert list(states(db).values()) == ["COMPLETE"] * 7


def test_a_changed_study_starts_a_new_version_only_when_forced(tiny_study, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'v.db'}"
    args = ["optimize", "--storage", storage, "--n-trials", "1", "--no-progress", "--study"]
    assert main([*args, str(tiny_study())]) == 0
    old = load_study("tiny", storage)
    before = (old.trials, old.user_attrs)
    changed = str(tiny_study(training={"epochs": 2, "patience": 1}))
    assert main([*args, changed]) == 1
    assert "--force-new-version" in capsys.readouterr().err
    assert main([*args, changed, "--force-new-version"]) == 0
    assert main([*args, changed, "--force-new-version"]) == 0  # resumes v2, no v3
    names = optuna.study.get_all_study_names(storage)
    assert sorted(names) == ["tiny", "tiny-v2"]
    assert len(load_study("tiny-v2", storage).trials) == 2
    old = load_study("tiny", storage)
    assert (old.trials, old.user_attrs) == before


def test_a_database_lost_under_running_workers_gives_one_line_per_worker(fresh_postgres, postgres_url, tiny_study):
    import psycopg2

    study_file = str(tiny_study(**{**SLOW, "training": {"epochs": 8, "patience": 8}}))
    process = start("optimize", "--study", study_file, "--storage", fresh_postgres, "--n-trials", "6", "--jobs", "2")
    storage = open_storage(fresh_postgres)
    wait_for(lambda: training_trial(storage), what="a training trial")
    storage.engine.dispose()
    connection = psycopg2.connect(postgres_url.replace("postgresql+psycopg2", "postgresql"))
    connection.autocommit = True
    with connection.cursor() as cursor:  # the database goes away under both workers
        cursor.execute(f"drop database {fresh_postgres.rsplit('/', 1)[1]} with (force)")
    connection.close()
    assert process.wait(PATIENCE) == 1
    skip = ("study ", "[I ")  # the start line, Optuna's "A new study created" note
    err = [line for line in process.stderr.read().splitlines() if line.strip() and not line.startswith(skip)]
    assert "Traceback" not in "\n".join(err), err
    resume = f"resume with: mtlsearch optimize --study {study_file} --storage {fresh_postgres}"
    workers = [line for line in err if line.startswith("mtlsearch worker")]
    assert len(workers) == 2 and all("the storage was lost" in line and resume in line for line in workers), err
    assert len(err) == 3 and err[-1].startswith("mtlsearch optimize: error:") and resume in err[-1], err
