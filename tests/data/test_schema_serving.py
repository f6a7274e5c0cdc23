"""Training and serving encode raw rows alike: OOV, hashing, min_count and pooling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import mtlsearch.serving
from mtlsearch.config import run_config_from_dict
from mtlsearch.data import FeatureEncoder, encode_features
from mtlsearch.data._tabular import tabular
from mtlsearch.training import train
from mtlsearch.training._artifacts import write_artifacts

SCHEMA = {
    "categorical": [
        {"name": "item", "min_count": 2, "embedding_dim": 3},
        {"name": "user", "hash_buckets": 32},
        "device",
    ],
    "multi_valued": [
        {"name": "history", "separator": "|", "max_len": 3, "pooling": "mean", "share_embedding": "item"},
        {"name": "tags", "separator": ";", "max_len": 2, "pooling": "sum"},
    ],
    "numeric": ["price", "age"],
    "log1p": ["price"],
    "tasks": [
        {"name": "ctr", "type": "binary", "label": "click"},
        {"name": "dwell", "type": "regression", "label": "dwell", "sample_space": "ctr"},
    ],
    "split": {"column": "split"},
}


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    item = rng.integers(0, 40, n)
    item[-20:] = rng.integers(1000, 1010, 20)  # held-out items unseen in train: OOV
    click = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "item": item,
            "user": [f"u{k}" for k in rng.integers(0, 500, n)],
            "device": rng.choice(["ios", "android"], n),
            "history": ["|".join(map(str, rng.integers(0, 45, k))) for k in rng.integers(0, 6, n)],
            "tags": [";".join(rng.choice(list("abcde"), k)) for k in rng.integers(0, 3, n)],
            "price": rng.exponential(10.0, n),
            "age": rng.integers(18, 70, n).astype(float),
            "click": click,
            "dwell": np.where(click == 1, rng.uniform(0, 1, n), np.nan),
            "split": ["train"] * (n - 100) + ["validation"] * 50 + ["test"] * 50,
        }
    )


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_the_same_rows_score_the_same_through_training_and_serving(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "log.csv"
    _table().to_csv(path, index=False)
    data = tabular(path=str(path), schema=SCHEMA)
    config = run_config_from_dict(
        {
            "data": {"name": "tabular", "options": {"path": str(path), "schema": SCHEMA}},
            "model": {"architecture": "ple", "expert_hidden": [8], "tower_hidden": [4], "embedding_dim": 4},
            "training": {"epochs": 1, "batch_size": 64},
        }
    )
    result = train(config, data)
    write_artifacts(result, tmp_path / "run", data, formats=(fmt,))

    # training path: the encoded test split
    with torch.no_grad():
        logits = result.network(data.test.categorical, data.test.numeric)
    expected = torch.stack([torch.sigmoid(logits[:, 0]), logits[:, 1]], dim=1)

    # serving path: raw rows as a user's service would hold them (pandas' own typing: item is int
    # here but was read as text for training) through vocabularies.json and the exported model
    raw = pd.read_csv(path)
    raw = raw[raw["split"] == "test"].drop(columns=["click", "dwell", "split"]).reset_index(drop=True)
    encoder = FeatureEncoder.from_dict(json.loads((tmp_path / "run" / "vocabularies.json").read_text())["encoder"])
    encoded = encode_features(raw, encoder)
    assert (encoded.categorical[:, 0] == 0).any()  # some test items are OOV
    assert (encoded.categorical[:, 3:] == -1).any()  # some history slots are padding
    assert np.array_equal(encoded.categorical, data.test.categorical.numpy())
    scorer = mtlsearch.serving.load(tmp_path / "run", format=fmt)
    served = scorer(raw)
    assert list(served.columns) == ["ctr", "dwell"]
    assert np.allclose(served.to_numpy(), expected.numpy(), atol=1e-5)
