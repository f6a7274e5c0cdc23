"""``jobs`` > 1: workers map the parent's encoded data instead of loading the source again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from mtlsearch.search import optimize


def test_workers_use_the_parents_encoded_data_not_the_source(tmp_path: Path, tiny_template) -> None:
    n = 400
    rng = np.random.default_rng(0)
    click = rng.integers(0, 2, n)
    table = pd.DataFrame(
        {
            "item": rng.integers(0, 20, n),
            "tags": ["|".join(map(str, rng.integers(0, 9, k))) for k in rng.integers(0, 4, n)],
            "price": rng.exponential(5.0, n),
            "click": click,
            "dwell": np.where(click == 1, rng.uniform(0, 1, n), np.nan),
        }
    )
    source = tmp_path / "log.csv"
    table.to_csv(source, index=False)
    schema = {
        "categorical": ["item"],
        "multi_valued": [{"name": "tags", "separator": "|", "max_len": 3}],
        "numeric": ["price"],
        "tasks": [
            {"name": "ctr", "type": "binary", "label": "click"},
            {"name": "dwell", "type": "regression", "label": "dwell", "sample_space": "ctr"},
        ],
    }
    study = tiny_template.write(
        tmp_path,
        data={"name": "tabular", "options": {"path": str(source), "schema": schema}},
        objectives=[{"task": "ctr", "metric": "auc"}, {"task": "dwell", "metric": "mse"}],
    )
    # The parent has loaded and validated the data when on_start runs; remove the source then:
    # workers that loaded it again would fail with "file not found".
    storage = f"sqlite:///{tmp_path / 's.db'}"
    result = optimize(str(study), storage=storage, jobs=2, on_start=lambda name, url: source.unlink())
    assert not source.exists()
    states = [t.state for t in result.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 3, [t.user_attrs.get("fail_reason") for t in result.trials]
