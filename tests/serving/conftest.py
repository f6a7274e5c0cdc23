"""A small table with categorical and numeric (one log1p) columns, and a model trained on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtlsearch.config import run_config_from_dict
from mtlsearch.training import prepare_data, train
from mtlsearch.training._artifacts import write_artifacts

SCHEMA = {
    "categorical": ["user", "item"],
    "numeric": ["price", "age"],
    "log1p": ["price"],
    "tasks": [
        {"name": "ctr", "type": "binary", "label": "click"},
        {"name": "cvr", "type": "binary", "label": "buy", "sample_space": "ctr"},
    ],
    "split": {"column": "split"},
}


def make_table(n: int = 160, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    click = (rng.random(n) < 0.5).astype(int)
    buy = click * (rng.random(n) < 0.5)
    click[:4], buy[:4] = [0, 1, 1, 1], [0, 0, 1, 0]
    split = np.array(["train"] * n, dtype=object)
    split[n // 2 : 3 * n // 4], split[3 * n // 4 :] = "validation", "test"
    split[: n // 2 : 8], split[1 : n // 2 : 8] = "validation", "test"  # both classes in every split
    return pd.DataFrame(
        {
            "row_id": np.arange(n),
            "user": rng.choice([f"u{i}" for i in range(12)], n),
            "item": rng.integers(100, 110, n),
            "price": rng.exponential(50.0, n).round(2),
            "age": rng.integers(18, 70, n),
            "click": click,
            "buy": buy,
            "split": split,
        }
    )


def tabular_config(path: Path, architecture: str = "ple", **model) -> dict:
    return {
        "data": {"name": "tabular", "options": {"path": str(path), "schema": SCHEMA}},
        "model": {"architecture": architecture, "expert_hidden": [8], "tower_hidden": [4], **model},
        "training": {"epochs": 1, "batch_size": 32, "eval_batch_size": 16},
        "seed": 0,
    }


@pytest.fixture(scope="session")
def table_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("table") / "clicks.csv"
    make_table().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def trained(table_file, tmp_path_factory):
    """``(run folder with all three artifacts, TrainResult, MultiTaskData)``."""
    config = run_config_from_dict(tabular_config(table_file))
    data = prepare_data(config)
    result = train(config, data)
    out = tmp_path_factory.mktemp("run") / "model"
    write_artifacts(result, out, data, formats=("pt2", "onnx", "torchscript"))
    return out, result, data


@pytest.fixture(scope="session")
def config_for():
    """``config_for(path, architecture="ple", **model)``: a training config (dict) on the table."""
    return tabular_config
