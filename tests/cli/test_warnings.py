"""Our warnings reach the user as one line; Python's own warnings keep their format; a refused
command prints its one error line, without the warnings raised while its input was checked."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mtlsearch.cli import main
from mtlsearch.cli._warnings import one_line_warning as _one_line_warning
from mtlsearch.data import UnseenCategoriesWarning

ROOT = Path(__file__).resolve().parents[2]


def test_our_warnings_are_one_line_without_python_s_source_location():
    text = _one_line_warning("va.csv (validation): 100% of column 'item' is unseen", UnseenCategoriesWarning, "x.py", 3)
    assert text == "mtlsearch: warning: va.csv (validation): 100% of column 'item' is unseen\n"
    other = _one_line_warning("old", DeprecationWarning, "lib.py", 7)
    assert "lib.py:7" in other and "DeprecationWarning" in other


def test_main_restores_python_s_warning_format():
    before = warnings.formatwarning
    with pytest.raises(SystemExit):
        main(["--version"])
    assert main(["pareto", "--study", "nope", "--storage", "sqlite:///does-not-exist.db"]) == 1
    assert warnings.formatwarning is before


def _unseen_run(folder, **training) -> str:
    """A training config on a table whose validation and test users never occur in train (so
    loading it warns twice), with ``training`` set as given."""
    rng = np.random.default_rng(0)
    n = 120
    split = np.array(["train"] * 60 + ["validation"] * 30 + ["test"] * 30)
    users = [f"u{i % 6}" if s == "train" else f"new{i % 6}" for i, s in enumerate(split)]
    click = np.tile([0, 1], n // 2)
    table = pd.DataFrame({"user": users, "price": rng.exponential(5.0, n), "click": click, "split": split})
    table.to_csv(folder / "clicks.csv", index=False)
    schema = {
        "categorical": ["user"],
        "numeric": ["price"],
        "tasks": [{"name": "ctr", "type": "binary", "label": "click"}],
        "split": {"column": "split"},
    }
    config = {
        "data": {"name": "tabular", "options": {"path": str(folder / "clicks.csv"), "schema": schema}},
        "model": {"architecture": "shared-bottom", "expert_hidden": [4], "tower_hidden": [4]},
        "training": {"epochs": 1, **training},
    }
    (folder / "run.yaml").write_text(yaml.safe_dump(config))
    return str(folder / "run.yaml")


def test_a_refused_command_prints_one_line_not_the_warnings_before_it(tmp_path):
    config = _unseen_run(tmp_path, monitor="nope/auc")  # refused after the data (and its warnings) loaded
    run = subprocess.run(  # a real process: pytest records warnings in-process instead of printing them
        [sys.executable, str(ROOT / "cli.py"), "train", "--config", config, "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"mtlsearch train: error: {config}: training.monitor: unknown monitor 'nope/auc' "
        "(fix: use one of loss, ctr/auc, ctr/logloss)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clicks.csv", "run.yaml"]


def test_held_warnings_are_shown_once_the_command_starts_its_work(tmp_path, capsys, monkeypatch):
    import mtlsearch.training as training

    def diverge(*args, **kwargs):  # training starts, then fails: the data's warnings were shown before
        raise training.TrainingDiverged("training loss is nan")

    monkeypatch.setattr(training, "train", diverge)
    config = _unseen_run(tmp_path)
    assert main(["train", "--config", config, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        len(err) == 3
        and err[2]
        == f"mtlsearch train: error: {config}: training diverged: training loss is nan (fix: lower training.lr)"
    ), err
    assert all(line.startswith("mtlsearch: warning: ") and "'user' is unseen in train" in line for line in err[:2])
    assert "(validation)" in err[0] and "(test)" in err[1]


def test_optimize_shows_the_data_warnings_when_the_study_starts(tiny_template, tmp_path, capsys):
    run = yaml.safe_load(Path(_unseen_run(tmp_path)).read_text())
    study = tiny_template.write(
        tmp_path,
        params={"architecture": "mmoe", "expert_width": 4},
        drop=("levels", "specific_experts", "loss_weight"),
        data=run["data"],
        objectives=[{"task": "ctr", "metric": "auc"}],
        training={"epochs": 1, "patience": 1},
        n_trials=1,
    )
    storage = f"sqlite:///{tmp_path / 's.db'}"
    assert main(["optimize", "--study", str(study), "--storage", storage, "--no-progress"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[I ")]
    assert len(err) == 3 and err[2] == f"study tiny: storage {storage}", err  # the stored name, not the file
    assert all(line.startswith("mtlsearch: warning: ") and "'user' is unseen in train" in line for line in err[:2])
