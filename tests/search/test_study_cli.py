"""End to end on a tiny study: optimize, resume, pareto, export, train the export, bad input."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
import yaml

from mtlsearch.cli import main
from mtlsearch.search import load_study, load_study_config


def storage_snapshot(db: Path) -> list:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        return (
            connection.execute("select trial_id, number, state from trials order by trial_id").fetchall()
            + connection.execute("select * from study_user_attributes order by study_user_attribute_id").fetchall()
        )


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory, tiny_template):
    """One optimize run of 3 trials and a resume of 2 more, shared by the read-only tests."""
    folder = tmp_path_factory.mktemp("study")
    study_file = tiny_template.write(folder)
    storage = f"sqlite:///{folder / 'tiny.db'}"
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--n-trials", "2", "--no-progress"]) == 0
    return folder, storage, study_file


def test_optimize_stores_full_trials_and_resume_adds_without_duplicates(finished_study):
    _, storage, _ = finished_study
    study = load_study("tiny", storage)
    assert len(optuna.study.get_all_study_names(study._storage)) == 1
    assert [t.number for t in study.trials] == [0, 1, 2, 3, 4]
    assert study.metric_names == ["vtr/auc", "vcr/mse"]
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        attrs = trial.user_attrs
        assert {"config", "validation", "test", "n_parameters", "train_seconds", "history"} <= set(attrs)
        assert trial.values == [attrs["validation"]["vtr/auc"], attrs["validation"]["vcr/mse"]]
        assert attrs["config"]["model"]["architecture"] == trial.params["architecture"]
        assert attrs["n_parameters"] > 0 and 0 < attrs["validation"]["vtr/auc"] <= 1


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_pareto_formats_list_the_non_dominated_trials(finished_study, fmt, capsys):
    _, storage, _ = finished_study
    assert main(["pareto", "--study", "tiny", "--storage", storage, "--format", fmt]) == 0
    out = capsys.readouterr().out
    front = sorted(t.number for t in load_study("tiny", storage).best_trials)
    if fmt == "json":
        rows = json.loads(out)
        assert [r["trial"] for r in rows] == front
        assert {"vtr/auc", "vcr/mse", "test vtr/auc", "architecture"} <= set(rows[0])
    elif fmt == "csv":
        lines = out.strip().splitlines()
        assert lines[0].startswith("trial,vtr/auc,vcr/mse") and len(lines) == len(front) + 1
    else:
        assert "vtr/auc" in out.splitlines()[0] and len(out.strip().splitlines()) == len(front) + 1


@pytest.mark.parametrize("pick", ["--trial=1", "--pick=knee", "--pick=weighted:vtr=3,vcr=1", "--pick=vtr/auc>=0"])
def test_export_then_train_reproduces_the_trial(finished_study, pick, tmp_path, capsys):
    _, storage, _ = finished_study
    out = tmp_path / "best.yaml"
    assert main(["export", "--study", "tiny", "--storage", storage, pick, "--out", str(out)]) == 0
    exported = yaml.safe_load(out.read_text())
    number = exported["provenance"]["trial"]
    if pick == "--trial=1":
        assert number == 1
    else:
        assert number in {t.number for t in load_study("tiny", storage).best_trials}
    trial = load_study("tiny", storage).trials[number]
    assert exported["model"] == trial.user_attrs["config"]["model"]
    assert exported["provenance"]["validation"] == {"vtr/auc": trial.values[0], "vcr/mse": trial.values[1]}
    assert main(["train", "--config", str(out), "--out", str(tmp_path / "run")]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["validation"]
    assert metrics["vtr/auc"] == pytest.approx(trial.values[0], abs=1e-3)
    assert metrics["vcr/mse"] == pytest.approx(trial.values[1], abs=1e-3)
    serving = torch.export.load(str(tmp_path / "run" / "model.pt2")).module()
    assert serving(torch.zeros(3, 0, dtype=torch.long), torch.randn(3, 8)).shape == (3, 2)
    card = json.loads((tmp_path / "run" / "model_card.json").read_text())
    assert card["provenance"]["study"] == "tiny" and card["provenance"]["trial"] == number


def test_weighted_pick_follows_the_weights(finished_study, tmp_path):
    _, storage, _ = finished_study
    study = load_study("tiny", storage)
    best_auc = max(study.best_trials, key=lambda t: t.values[0]).number
    best_mse = min(study.best_trials, key=lambda t: t.values[1]).number
    for weights, expected in (("vtr=1,vcr=0", best_auc), ("vtr=0,vcr=1", best_mse)):
        assert (
            main(
                [
                    "export",
                    "--study",
                    "tiny",
                    "--storage",
                    storage,
                    f"--pick=weighted:{weights}",
                    "--out",
                    str(tmp_path / "w.yaml"),
                ]
            )
            == 0
        )
        assert yaml.safe_load((tmp_path / "w.yaml").read_text())["provenance"]["trial"] == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pareto", "--study", "nope"], "no study 'nope' in sqlite:///"),
        (["export", "--study", "tiny", "--trial", "99", "--out", "x.yaml"], "trial 99 does not exist"),
        (["export", "--study", "tiny", "--pick", "bogus", "--out", "x.yaml"], "unknown pick 'bogus'"),
        (
            ["export", "--study", "tiny", "--pick", "vtr/auc>=2", "--out", "x.yaml"],
            "no Pareto trial has vtr/auc >= 2.0",
        ),
        (["export", "--study", "tiny", "--pick", "weighted:ctr=1", "--out", "x.yaml"], "bad weight 'ctr=1'"),
        (["optimize", "--study", "unknown-study"], "unknown study 'unknown-study'"),
        (["optimize", "--study", "ple", "--storage", "redis://localhost"], "unsupported storage URL"),
    ],
)
def test_bad_commands_fail_with_one_line(finished_study, args, message, capsys):
    _, storage, _ = finished_study
    if "--storage" not in args:
        args = [*args, "--storage", storage]
    db = Path(storage.split("sqlite:///")[1])
    before = storage_snapshot(db)
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert storage_snapshot(db) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"space": {"params": {"architecture": "transformer"}}}, "unknown architecture"),
        ({"params": {"lr": {"type": "float", "low": 0.1, "high": 0.01}}}, "params.lr"),
        ({"params": {"levels": {"type": "int", "low": 1, "high": 0}}}, "params.levels"),
        ({"search_space": "missing.yaml"}, "search space not found"),
        ({"objectives": [{"task": "vtr", "metric": "mse"}]}, "metric 'mse' does not fit the binary task 'vtr'"),
        ({"objectives": [{"task": "ctr", "metric": "auc"}]}, "unknown task 'ctr'"),
        ({"sampler": {"name": "cmaes"}}, "unknown sampler 'cmaes'"),
        (
            {"data": {"name": "synthetic-video", "options": {"n_samples": 600, "dim": 8, "colour": 1}}},
            "unknown option 'colour'",
        ),
        ({"training": {"epochs": 0}}, "training.epochs"),
        ({"n_trial": 3}, "unknown key 'n_trial'"),
    ],
)
def test_bad_study_files_leave_the_storage_untouched(finished_study, tiny_template, tmp_path, changes, message, capsys):
    _, storage, _ = finished_study
    db = Path(storage.split("sqlite:///")[1])
    before = storage_snapshot(db)
    study_file = tiny_template.write(tmp_path, **changes)
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert storage_snapshot(db) == before


def test_resuming_with_a_changed_study_is_refused(finished_study, tiny_template, tmp_path, capsys):
    _, storage, _ = finished_study
    db = Path(storage.split("sqlite:///")[1])
    before = storage_snapshot(db)
    changed = tiny_template.write(tmp_path, training={"epochs": 3, "patience": 1})
    assert main(["optimize", "--study", str(changed), "--storage", storage, "--no-progress"]) == 1
    err = capsys.readouterr().err.splitlines()  # one line: no "study ...: storage ..." announcement before it
    assert len(err) == 1 and err[0].startswith("mtlsearch optimize: error: "), err
    assert "different data, objectives, training budget or seed" in err[0]
    changed = tiny_template.write(tmp_path, params={"tower_width": 8})
    assert main(["optimize", "--study", str(changed), "--storage", storage, "--jobs", "2"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "different search space" in err[0], err
    assert storage_snapshot(db) == before


def test_diverging_trials_fail_with_a_reason_and_the_study_goes_on(tiny_template, tmp_path):
    study_file = tiny_template.write(
        tmp_path,
        params={"architecture": "mmoe", "optimizer": "sgd", "lr": {"type": "categorical", "choices": [1.0e30, 0.01]}},
        drop=("levels", "specific_experts"),
        n_trials=6,
    )
    storage = f"sqlite:///{tmp_path / 'nan.db'}"
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    trials = load_study("tiny", storage).trials
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(trials) == 6 and failed and len(failed) < 6
    assert all(t.params["lr"] == 1e30 for t in failed)
    assert all("TrainingDiverged: training loss is nan" in t.user_attrs["fail_reason"] for t in failed)


def test_every_trial_failing_stops_the_study_with_a_clear_message(tiny_template, tmp_path, capsys):
    study_file = tiny_template.write(tmp_path, params={"optimizer": "sgd", "lr": 1.0e30}, n_trials=10)
    storage = f"sqlite:///{tmp_path / 'nan.db'}"
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 1
    assert "the first 5 trials all failed; last reason: TrainingDiverged" in capsys.readouterr().err
    assert len(load_study("tiny", storage).trials) == 5


def test_ctrl_c_leaves_no_running_trial(tiny_template, tmp_path, monkeypatch, capsys):
    import mtlsearch.search._optimize as runner

    calls = []
    real_train = runner.train

    def interrupt_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(*args, **kwargs)

    monkeypatch.setattr(runner, "train", interrupt_second)
    storage = f"sqlite:///{tmp_path / 'int.db'}"
    study_file = tiny_template.write(tmp_path)
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 130
    states = [t.state for t in load_study("tiny", storage).trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL]
    assert "interrupted" in capsys.readouterr().err


def test_fields_added_later_keep_older_studies_resumable():
    """A study stored before ``training.lr_schedule`` existed has the fingerprint of its config
    without that field: at the default it must not change the fingerprint; set, it must."""
    config = load_study_config("ple")
    plain = config.to_dict()
    earlier = {k: plain[k] for k in ("data", "objectives", "training", "seed")}
    for name in ("lr_schedule", "loss_balancing", "gradnorm_alpha"):
        del earlier["training"][name]
    assert config.fingerprint() == hashlib.sha256(json.dumps(earlier, sort_keys=True).encode()).hexdigest()[:16]
    for name, value in (("lr_schedule", "cosine"), ("loss_balancing", "upgrad"), ("gradnorm_alpha", 2.0)):
        changed = dataclasses.replace(config, training=dataclasses.replace(config.training, **{name: value}))
        assert changed.fingerprint() != config.fingerprint()


@pytest.mark.parametrize(
    "sampler",
    [
        {"name": "gp", "seed": 0, "options": {"n_startup_trials": 2}},
        {"name": "nsga2", "seed": 0, "options": {"population_size": 2}},
    ],
    ids=["gp", "nsga2"],
)
def test_model_based_samplers_run_past_their_random_start_quietly(tiny_template, tmp_path, sampler):
    """GP and NSGA-II (shipped choices) reach their model-based steps; a fresh process, so Optuna's
    import-time warnings (the GP sampler's "greenlet is unavailable") would show on stderr."""
    study_file = tiny_template.write(tmp_path, sampler=sampler, n_trials=4)
    storage = f"sqlite:///{tmp_path / 'samplers.db'}"
    cli = [sys.executable, "-c", "import sys; from mtlsearch.cli import main; sys.exit(main())"]
    done = subprocess.run(
        [*cli, "optimize", "--study", str(study_file), "--storage", storage, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    trials = load_study("tiny", storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 4
    assert "[W " not in done.stderr and "Warning" not in done.stderr, done.stderr  # Optuna's and Python's warnings
