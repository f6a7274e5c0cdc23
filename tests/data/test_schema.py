"""Feature schema options: min_count, hash_buckets, embedding_dim, share_embedding, multi-valued
columns, ID typing, OOV warnings, float32 finiteness, compact codes, and the schema's errors."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from mtlsearch.data import PAD, BatchLoader, FeatureEncoder, UnseenCategoriesWarning, encode_features
from mtlsearch.data._encoding import canonical_keys, stable_hash
from mtlsearch.data._tabular import tabular
from mtlsearch.errors import MtlsearchError

N = 200
TASKS = [
    {"name": "ctr", "type": "binary", "label": "click"},
    {"name": "dwell", "type": "regression", "label": "dwell", "mask": "click"},
]


def _table(n: int = N) -> pd.DataFrame:
    i = np.arange(n)
    return pd.DataFrame(
        {
            "item": i % 7,  # int codes 0..6, each in every split
            "rare": np.where(i < 3, i + 100, 7),  # 100, 101, 102 once each, else 7
            "user": [f"u{k % 50}" for k in i],
            "history": ["|".join(str((k + j) % 7) for j in range(k % 4)) for k in i],  # 0..3 items
            "price": (i % 7).astype(float),
            "click": (i % 3 == 0).astype(int),
            "dwell": np.where(i % 3 == 0, (i % 5) / 5.0, np.nan),
            "split": np.array(["train", "train", "train", "validation", "test"] * (n // 5)),
        }
    )


def _schema(**overrides) -> dict:
    schema = {
        "categorical": ["item", {"name": "rare", "min_count": 2}, {"name": "user", "hash_buckets": 16}],
        "multi_valued": [
            {"name": "history", "separator": "|", "max_len": 2, "pooling": "mean", "share_embedding": "item"}
        ],
        "numeric": ["price"],
        "tasks": TASKS,
        "split": {"column": "split"},
    }
    schema.update(overrides)
    return schema


def _csv(tmp_path: Path, table: pd.DataFrame | None = None) -> str:
    path = tmp_path / "log.csv"
    (_table() if table is None else table).to_csv(path, index=False)
    return str(path)


def _error(**options) -> str:
    with pytest.raises(MtlsearchError) as caught:
        tabular(**options)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- options


def test_short_and_long_forms_min_count_hashing_and_sharing(tmp_path: Path) -> None:
    data = tabular(path=_csv(tmp_path), schema=_schema())
    spec = data.features
    assert spec.categorical == ("item", "rare", "user")
    # item: 7 values + OOV; rare: only "7" is seen twice (100..102 once) -> OOV; user: 16 buckets + 0
    assert spec.vocab_sizes == (8, 2, 17)
    assert data.vocabularies[1] == ("7",)
    rare_train = data.train.categorical[:, 1]
    assert (rare_train[:3] == 0).all() and (rare_train[3:] == 1).all()  # train rows 0-2 hold 100-102: OOV
    # the history column uses item's vocabulary (same code for the same ID) and table
    assert spec.multi_valued[0].share_embedding == "item" and spec.multi_valued[0].vocab_size == 8
    item_code = dict(zip(data.vocabularies[0], range(1, 8)))
    row = 2  # history of row 2: items 2, 3
    assert data.train.categorical[row, 3:].tolist() == [item_code["2"], item_code["3"]]
    # user is hashed with the stable hash: the code depends on the value only
    assert data.train.categorical[0, 2].item() == stable_hash(np.array(["u0"], dtype=object), 16)[0]


def test_embedding_dim_per_column_sets_the_input_width(tmp_path: Path) -> None:
    from mtlsearch.models import ModelConfig, MultiTaskNetwork

    schema = _schema(categorical=[{"name": "item", "embedding_dim": 6}, "rare", {"name": "user", "hash_buckets": 16}])
    data = tabular(path=_csv(tmp_path), schema=schema)
    assert data.features.embedding_dims == (6, 0, 0)
    network = MultiTaskNetwork(ModelConfig.create("mmoe", embedding_dim=3), data.features, n_tasks=2)
    # item 6 + rare 3 + user 3 + history (item's table, 6) + price 1
    assert network.levels[0].experts.layers[0].weight.shape[1] == 6 + 3 + 3 + 6 + 1
    # the shared table has no rows of its own: item's 8 rows (width 6), rare's 5 + user's 17 (width 3)
    assert sorted(tuple(t.weight.shape) for t in network.inputs.tables) == [(8, 6), (22, 3)]


def test_stable_hash_is_the_same_in_another_process() -> None:
    keys = np.array(["u0", "1", "item-42"], dtype=object)
    here = stable_hash(keys, 1000).tolist()
    code = (
        "import numpy as np; from mtlsearch.data._encoding import stable_hash; "
        "print(stable_hash(np.array(['u0', '1', 'item-42'], dtype=object), 1000).tolist())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    there = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert there.stdout.strip() == str(here)
    assert all(1 <= c <= 1000 for c in here)


# ---------------------------------------------------------------- multi-valued columns


def test_multi_valued_padding_truncation_and_empty_lists(tmp_path: Path) -> None:
    data = tabular(path=_csv(tmp_path), schema=_schema())
    history = data.train.categorical[:, 3:]
    lengths = np.arange(N)[_table()["split"] == "train"] % 4
    assert history.shape[1] == 2
    assert ((history != PAD).sum(1).numpy() == np.minimum(lengths, 2)).all()  # truncated to max_len 2
    assert (history[lengths == 0] == PAD).all()  # empty lists are legal: all padding


def test_parquet_list_column_needs_no_separator(tmp_path: Path) -> None:
    table = _table()
    lists = [[int(x) for x in h.split("|")] if h else [] for h in table["history"]]
    arrow = pa.Table.from_pandas(table.drop(columns="history"), preserve_index=False)
    arrow = arrow.append_column("history", pa.array(lists, type=pa.list_(pa.int64())))
    pq.write_table(arrow, tmp_path / "log.parquet")
    schema = _schema(multi_valued=[{"name": "history", "max_len": 2, "share_embedding": "item"}])
    from_list = tabular(path=str(tmp_path / "log.parquet"), schema=schema)
    from_text = tabular(path=_csv(tmp_path), schema=_schema())
    assert torch.equal(from_list.train.categorical, from_text.train.categorical)


def test_text_column_without_separator_is_refused(tmp_path: Path) -> None:
    message = _error(path=_csv(tmp_path), schema=_schema(multi_valued=[{"name": "history", "max_len": 2}]))
    assert "log.csv: multi-valued column 'history' is not a list column" in message
    assert "separator" in message


def test_pooling_ignores_padding_and_empty_rows_pool_to_zero() -> None:
    from mtlsearch.data import FeatureSpec, MultiValuedSpec
    from mtlsearch.models._network import _EmbeddingInputs

    for pooling in ("mean", "sum"):
        spec = FeatureSpec(multi_valued=(MultiValuedSpec("tags", vocab_size=5, max_len=3, pooling=pooling),))
        layer = _EmbeddingInputs(spec, default_dim=2, copies=1)
        with torch.no_grad():
            layer.tables[0].weight.copy_(torch.arange(10.0).view(5, 2))  # row r = (2r, 2r + 1)
        codes = torch.tensor([[1, 3, PAD], [PAD, PAD, PAD], [0, PAD, PAD]], dtype=torch.int8)
        out = layer(codes)[:, 0]  # (B, 2)
        expected_first = torch.tensor([8.0, 10.0]) / (2 if pooling == "mean" else 1)  # rows 1 and 3
        assert torch.allclose(out[0], expected_first)
        assert torch.equal(out[1], torch.zeros(2))  # an empty list
        assert torch.allclose(out[2], torch.tensor([0.0, 1.0]))  # OOV (code 0) is a real value
        # padding reads no row: changing every row's weight but those used leaves row 0 unchanged
        with torch.no_grad():
            layer.tables[0].weight[[0, 2, 4]] = 1e6
        assert torch.allclose(layer(codes[:1])[0, 0], expected_first)


# ---------------------------------------------------------------- typing and OOV


def test_float_typed_train_ids_match_int_typed_validation(tmp_path: Path) -> None:
    """The found case: a Parquet train file with missing item_ids is typed float, validation and test int."""
    table = _table()
    train = table[table["split"] == "train"].drop(columns="split").reset_index(drop=True)
    train["item"] = train["item"].astype(float)
    train.loc[0, "item"] = np.nan  # one missing ID makes pandas and Parquet type the column float
    paths = {}
    for name, frame in (
        ("train", train),
        ("validation", table[table["split"] == "validation"].drop(columns="split")),
        ("test", table[table["split"] == "test"].drop(columns="split")),
    ):
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    assert pq.read_schema(paths["train"]).field("item").type == pa.float64()
    assert pq.read_schema(paths["validation"]).field("item").type == pa.int64()
    schema = {"categorical": ["item"], "numeric": ["price"], "tasks": TASKS}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenCategoriesWarning)
        data = tabular(
            path=str(paths["train"]),
            validation_path=str(paths["validation"]),
            test_path=str(paths["test"]),
            schema=schema,
        )
    assert "1" in data.vocabularies[0] and "1.0" not in data.vocabularies[0]
    assert (data.validation.categorical[:, 0] > 0).all()  # no validation ID is OOV
    assert (data.test.categorical[:, 0] > 0).all()


def test_canonical_keys_of_one_id_typed_three_ways() -> None:
    for values in (np.array([1.0, 2.0, np.nan]), np.array([1, 2, 3]), np.array(["1", "2.0", None], dtype=object)):
        codes, keys = canonical_keys(values)
        assert keys[codes[0]] == "1" and keys[codes[1]] == "2"
    codes, keys = canonical_keys(np.array([1, "1", 1.0, "01", 1.5], dtype=object))
    assert [keys[c] for c in codes] == ["1", "1", "1", "01", "1.5"]  # "01" is text, not a number


def test_integer_codes_are_categories_when_the_schema_says_so(tmp_path: Path) -> None:
    table = _table().assign(item=lambda t: t["item"] * 1000)  # encoded IDs 0, 1000, ... 6000
    path = tmp_path / "log.parquet"
    table.to_parquet(path, index=False)
    data = tabular(path=str(path), schema={**_schema(), "multi_valued": []})
    assert data.features.vocab_sizes[0] == 8  # seven categories, not one number
    assert data.vocabularies[0] == tuple(sorted(str(k * 1000) for k in range(7)))


def test_mostly_unseen_validation_column_warns_naming_it(tmp_path: Path) -> None:
    table = _table()
    held_out = table["split"] != "train"
    table.loc[held_out, "item"] = table.loc[held_out, "item"] + 500  # every held-out ID is new
    with pytest.warns(UnseenCategoriesWarning, match=r"log.csv \(validation\): 100% of categorical column 'item'"):
        tabular(path=_csv(tmp_path, table), schema=_schema(multi_valued=[]))


def test_no_warning_when_held_out_ids_are_known(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenCategoriesWarning)
        tabular(path=_csv(tmp_path), schema=_schema(categorical=["item"]))


# ---------------------------------------------------------------- float32 and compact codes


def test_numeric_beyond_float32_is_refused(tmp_path: Path) -> None:
    table = _table().assign(price=lambda t: t["price"].astype(float))
    table.loc[5, "price"] = 1e39  # finite in float64, inf in float32
    message = _error(path=_csv(tmp_path, table), schema=_schema())
    assert message.startswith(f"{tmp_path / 'log.csv'}: numeric column 'price' has 1 beyond float32's range value(s)")


def test_regression_label_beyond_float32_is_refused(tmp_path: Path) -> None:
    table = _table()
    table.loc[0, "dwell"] = 3e38 * 10  # row 0 is clicked: inside the task's sample space
    message = _error(path=_csv(tmp_path, table), schema=_schema())
    assert "task 'dwell': label column 'dwell' has 1 value(s) beyond float32's range" in message


def test_codes_use_the_smallest_integer_type(tmp_path: Path) -> None:
    small = tabular(path=_csv(tmp_path), schema=_schema())
    assert small.train.categorical.dtype == torch.int8
    assert small.train.numeric.dtype == torch.float32
    big = tabular(path=_csv(tmp_path), schema=_schema(categorical=["item", {"name": "user", "hash_buckets": 40_000}]))
    assert big.train.categorical.dtype == torch.int32  # 40001 codes do not fit int16


def test_shuffled_batches_cover_every_row_once(tmp_path: Path) -> None:
    data = tabular(path=_csv(tmp_path), schema=_schema())
    seen = torch.cat([b.labels for b in BatchLoader(data.train, 7, shuffle=True, seed=1)])
    assert len(seen) == len(data.train)
    assert sorted(seen[:, 0].tolist()) == sorted(data.train.labels[:, 0].tolist())


def test_saved_data_loads_as_shared_memory_maps(tmp_path: Path) -> None:
    data = tabular(path=_csv(tmp_path), schema=_schema())
    loaded = type(data).load(data.save(tmp_path / "cache"))
    assert torch.equal(loaded.train.categorical, data.train.categorical)
    assert loaded.train.categorical.dtype == torch.int8
    mapped = Path("/proc/self/maps").read_text()
    assert str(tmp_path / "cache" / "train.categorical.npy") in mapped  # a memory map, not a private copy
    assert loaded.encoder == data.encoder and loaded.features == data.features


def test_encoder_round_trips_through_json(tmp_path: Path) -> None:
    import json

    data = tabular(path=_csv(tmp_path), schema=_schema())
    restored = FeatureEncoder.from_dict(json.loads(json.dumps(data.encoder.to_dict())))
    assert restored == data.encoder
    raw = _table()[lambda t: t["split"] == "test"]
    encoded = encode_features(raw, restored, standardise=True)
    assert np.array_equal(encoded.categorical, data.test.categorical.numpy())
    assert np.allclose(encoded.numeric, data.test.numeric.numpy(), atol=1e-6)


# ---------------------------------------------------------------- schema errors


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"numeric": ["price", "history"]},
            "data.options.schema.multi_valued: multi-valued column 'history' is also listed as numeric",
        ),
        (
            {"multi_valued": [{"name": "history", "separator": "|", "max_len": 0}]},
            "data.options.schema.multi_valued[0] (history).max_len: max_len must be an integer >= 1, got 0",
        ),
        (
            {"multi_valued": [{"name": "history", "separator": "|", "max_len": 2, "share_embedding": "nope"}]},
            "data.options.schema.multi_valued (history).share_embedding: share_embedding names 'nope', "
            "which is not another categorical or multi-valued column",
        ),
        (
            {"multi_valued": [{"name": "history", "separator": "|", "max_len": 2, "share_embedding": "price"}]},
            "data.options.schema.multi_valued (history).share_embedding: share_embedding names the numeric "
            "column 'price'",
        ),
        (
            {"categorical": [{"name": "user", "hash_buckets": 10, "min_count": 2}], "multi_valued": []},
            "data.options.schema.categorical[0] (user): hash_buckets and min_count exclude each other",
        ),
        (
            {"categorical": ["item", "click"]},
            "data.options.schema.tasks: label column 'click' of task 'ctr' is also a feature (label leakage)",
        ),
        (
            {"multi_valued": [{"name": "click", "separator": "|", "max_len": 2}]},
            "data.options.schema.tasks: label column 'click' of task 'ctr' is also a feature (label leakage)",
        ),
        (
            {"multi_valued": [{"name": "history", "separator": "|", "max_len": 2, "pooling": "max"}]},
            "data.options.schema.multi_valued[0] (history).pooling: unknown pooling 'max'",
        ),
        (
            {"categorical": [{"name": "item", "dim": 4}]},
            "data.options.schema.categorical[0].dim: unknown field 'dim'",
        ),
        (
            {
                "multi_valued": [
                    {"name": "history", "separator": "|", "max_len": 2, "share_embedding": "item", "min_count": 3}
                ]
            },
            "data.options.schema.multi_valued (history): min_count is set on a column that shares 'item'",
        ),
    ],
)
def test_bad_schema_is_one_line_naming_column_and_fix(tmp_path: Path, overrides: dict, expected: str) -> None:
    message = _error(path=_csv(tmp_path), schema=_schema(**overrides))
    assert message.startswith(expected), message
    assert "(fix: " in message


def test_unseen_warning_names_the_held_out_split_s_own_file(tmp_path: Path) -> None:
    """With separate files, the warning names the validation file, not the train file."""
    table = _table()
    table.loc[table["split"] != "train", "item"] += 500  # every held-out ID is new
    paths = {}
    for split_name, file_name in (("train", "tr.csv"), ("validation", "va.csv"), ("test", "te.csv")):
        paths[split_name] = str(tmp_path / file_name)
        table[table["split"] == split_name].drop(columns="split").to_csv(paths[split_name], index=False)
    schema = {key: value for key, value in _schema(multi_valued=[]).items() if key != "split"}
    with pytest.warns(UnseenCategoriesWarning) as caught:
        tabular(path=paths["train"], validation_path=paths["validation"], test_path=paths["test"], schema=schema)
    messages = [str(w.message) for w in caught]
    assert any(m.startswith(f"{paths['validation']} (validation): 100%") for m in messages), messages
    assert any(m.startswith(f"{paths['test']} (test): 100%") for m in messages), messages
    assert not any(paths["train"] in m for m in messages), messages
