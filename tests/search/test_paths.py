"""Relative paths in a file resolve against that file's folder, never the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mtlsearch.cli import main
from mtlsearch.config import load_run_config
from mtlsearch.search import load_study_config

SCHEMA = {
    "categorical": ["device"],
    "numeric": ["price"],
    "tasks": [{"name": "ctr", "type": "binary", "label": "click"}, {"name": "watch", "type": "regression"}],
    "split": {"fractions": [0.6, 0.2, 0.2], "seed": 0},
}


def _project(root: Path) -> Path:
    """``root/data/{clicks.csv,schema.yaml}`` and ``root/studies/clicks.yaml`` naming them as ``../data/...``."""
    rng = np.random.default_rng(0)
    n = 150
    (root / "data").mkdir(parents=True)
    pd.DataFrame(
        {
            "device": rng.choice(["ios", "android", "web"], n),
            "price": rng.exponential(3.0, n),
            "click": np.arange(n) % 2,
            "watch": rng.uniform(0, 1, n),
        }
    ).to_csv(root / "data" / "clicks.csv", index=False)
    (root / "data" / "schema.yaml").write_text(yaml.safe_dump(SCHEMA))
    (root / "studies").mkdir()
    space = {"params": {"architecture": "mmoe", "expert_width": 4, "tower_width": 4, "batch_size": 32,
                        "lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}}  # fmt: skip
    (root / "studies" / "space.yaml").write_text(yaml.safe_dump(space))
    study = {
        "name": "clicks",
        "data": {"name": "tabular", "options": {"path": "../data/clicks.csv", "schema": "../data/schema.yaml"}},
        "objectives": [{"task": "ctr", "metric": "auc"}, {"task": "watch", "metric": "mse"}],
        "search_space": "space.yaml",
        "training": {"epochs": 1},
        "sampler": {"name": "random", "seed": 0},
        "n_trials": 1,
    }
    (root / "studies" / "clicks.yaml").write_text(yaml.safe_dump(study))
    return root / "studies" / "clicks.yaml"


def test_study_file_paths_resolve_against_the_study_file(tmp_path):
    study_file = _project(tmp_path / "project")
    (tmp_path / "elsewhere").mkdir()
    os.chdir(tmp_path / "elsewhere")
    options = load_study_config(str(study_file)).data.options
    assert options == {
        "path": str(tmp_path / "project" / "data" / "clicks.csv"),
        "schema": str(tmp_path / "project" / "data" / "schema.yaml"),
    }


def test_a_relative_storage_file_in_a_study_file_is_beside_it(tmp_path):
    study_file = _project(tmp_path / "project")
    plain = yaml.safe_load(study_file.read_text())
    study_file.write_text(yaml.safe_dump({**plain, "storage": "sqlite:///../runs/clicks.db"}))
    os.chdir(tmp_path)
    assert load_study_config(str(study_file)).storage == f"sqlite:///{tmp_path / 'project' / 'runs' / 'clicks.db'}"
    study_file.write_text(yaml.safe_dump({**plain, "storage": "sqlite:////abs/x.db"}))
    assert load_study_config(str(study_file)).storage == "sqlite:////abs/x.db"


def test_training_config_paths_resolve_against_the_config_file(tmp_path):
    (tmp_path / "configs").mkdir()
    config = tmp_path / "configs" / "run.yaml"
    inline = {"path": "~/x.csv", "schema": {"numeric": ["price"]}, "test_path": "sub/../t.csv", "url": "s3://b/x"}
    config.write_text(yaml.safe_dump({"data": {"name": "tabular", "options": inline}}))
    options = load_run_config(config).data.options
    assert options["path"] == str(Path("~/x.csv").expanduser())  # ~ expanded, absolute kept
    assert options["schema"] == {"numeric": ["price"]}  # an inline schema is not a path
    assert options["test_path"] == str(tmp_path / "configs" / "t.csv")
    assert options["url"] == "s3://b/x"  # not a path option


def test_export_holds_absolute_paths_and_trains_from_another_folder(tmp_path, capsys):
    study_file = _project(tmp_path / "project")
    storage = f"sqlite:///{tmp_path / 'clicks.db'}"
    (tmp_path / "a").mkdir()
    os.chdir(tmp_path / "a")
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    assert main(["export", "--study", "clicks", "--storage", storage, "--trial", "0", "--out", "best.yaml"]) == 0
    options = yaml.safe_load((tmp_path / "a" / "best.yaml").read_text())["data"]["options"]
    assert options["path"] == str(tmp_path / "project" / "data" / "clicks.csv")
    assert options["schema"] == str(tmp_path / "project" / "data" / "schema.yaml")
    (tmp_path / "b").mkdir()
    os.chdir(tmp_path / "b")
    assert main(["train", "--config", "../a/best.yaml", "--out", "run", "--no-progress"]) == 0
    assert (tmp_path / "b" / "run" / "metrics.json").is_file()
