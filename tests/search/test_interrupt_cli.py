"""Ctrl-C during ``optimize``: one line on stderr, and a resume command that finishes the request."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import optuna

from mtlsearch.cli import _interrupted as interrupted_line
from mtlsearch.cli import build_parser
from mtlsearch.search import load_study
from mtlsearch.search._workers import Interrupted

ROOT = Path(__file__).resolve().parents[2]

# Runs the real CLI in a fresh process (Optuna's log handler writes to the real stderr there),
# with training interrupted on the second trial as Ctrl-C would.
DRIVER = textwrap.dedent(
    """
    import sys
    import mtlsearch.search._optimize as runner
    from mtlsearch.cli import main

    calls, real_train = [], runner.train

    def interrupt_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(*args, **kwargs)

    runner.train = interrupt_second
    sys.exit(main(sys.argv[1:]))
    """
)

# The same, with Ctrl-C as the first trial's training ends: the signal comes between two trials.
BETWEEN_TRIALS = textwrap.dedent(
    """
    import os, signal, sys
    import mtlsearch.search._optimize as runner
    from mtlsearch.cli import main

    real_train = runner.train

    def train_then_ctrl_c(*args, **kwargs):
        result = real_train(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return result

    runner.train = train_then_ctrl_c
    sys.exit(main(sys.argv[1:]))
    """
)


def test_ctrl_c_prints_one_line_with_a_command_that_finishes_the_request(tiny_template, tmp_path):
    study_file = tiny_template.write(tmp_path)
    storage = f"sqlite:///{tmp_path / 'int.db'}"
    options = ["--n-trials", "3", "--timeout", "3600", "--seed", "7", "--no-progress", "--grace-period", "90"]
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, "optimize", "--study", str(study_file), "--storage", storage, *options],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 130, run.stderr
    assert "[W " not in run.stderr and "failed with" not in run.stderr  # no Optuna "Trial 1 failed ..." warnings
    lines = [line for line in run.stderr.splitlines() if line.strip() and not line.startswith("[I ")]
    assert lines[0].startswith("study tiny: storage ")  # the stored name
    assert len(lines) == 2, run.stderr  # then our one line
    last = lines[1]
    assert last.startswith(
        "mtlsearch optimize: interrupted by SIGINT; trial 1 of study 'tiny' was running and was marked failed; "
    )
    command = last.split("resume with: ", 1)[1].split()
    assert command[:6] == ["mtlsearch", "optimize", "--study", str(study_file), "--storage", storage]
    assert command[command.index("--n-trials") + 1] == "2"  # 3 asked, 1 finished, the interrupted one reruns
    assert 3500 < float(command[command.index("--timeout") + 1]) <= 3600  # what is left of it
    assert command[command.index("--seed") + 1] == "7"
    assert command[command.index("--grace-period") + 1] == "90"
    assert "--no-progress" in command and "--heartbeat-interval" not in command  # only what was given
    states = [t.state for t in load_study("tiny", storage).trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL]


def test_ctrl_c_between_trials_claims_no_failed_trial(tiny_template, tmp_path):
    """The trial that was training when the signal came finishes (the run stops at the next safe
    point, after it): no trial was marked failed, so the line says nothing about failed trials."""
    study_file = tiny_template.write(tmp_path)
    storage = f"sqlite:///{tmp_path / 'int.db'}"
    options = ["--storage", storage, "--n-trials", "3", "--no-progress"]
    run = subprocess.run(
        [sys.executable, "-c", BETWEEN_TRIALS, "optimize", "--study", str(study_file), *options],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 130, run.stderr
    assert [t.state for t in load_study("tiny", storage).trials] == [optuna.trial.TrialState.COMPLETE]
    last = run.stderr.strip().splitlines()[-1]
    resume = f"mtlsearch optimize --study {study_file} --storage {storage} --n-trials 2 --no-progress"
    assert last == f"mtlsearch optimize: interrupted by SIGINT; resume with: {resume}", run.stderr
    assert "failed" not in run.stderr


def test_the_interrupted_line_names_each_trial_marked_failed():
    """With --jobs N, several trials can be marked failed; the line names them all (numbers
    counted in the storage by optimize), and names none when it could not count them."""
    args = build_parser().parse_args(["optimize", "--study", "s.yaml", "--storage", "sqlite:///s.db"])
    error = Interrupted("SIGTERM", study_name="s", storage_url="sqlite:///s.db")
    error.remaining_trials = 4
    error.failed_trials = (3, 5)
    assert interrupted_line(args, error).startswith(
        "interrupted by SIGTERM; trials 3, 5 of study 's' were running and were marked failed; resume with: "
    )
    error.failed_trials = None  # the storage could not be read
    assert interrupted_line(args, error).startswith("interrupted by SIGTERM; resume with: ")
