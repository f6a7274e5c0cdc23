"""Tabular loader: CSV/Parquet happy paths, schema validation and one-line errors on bad data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mtlsearch.data import dataset_options, load_dataset
from mtlsearch.data._tabular import tabular
from mtlsearch.errors import MtlsearchError

N = 200
SCHEMA = {
    "categorical": ["user", "device", "zip"],
    "numeric": ["price", "age"],
    "log1p": ["price"],
    "tasks": [
        {"name": "ctr", "type": "binary", "label": "click"},
        {"name": "cvr", "type": "binary", "label": "purchase", "sample_space": "ctr"},
        {"name": "watch", "type": "regression", "label": "watch_ratio", "mask": "viewed"},
    ],
}
SCHEMA_YAML = """\
categorical: [user, device, zip]
numeric: [price, age]
log1p: [price]
tasks:
  - {name: ctr, type: binary, label: click}
  - {name: cvr, type: binary, label: purchase, sample_space: ctr}
  - {name: watch, type: regression, label: watch_ratio, mask: viewed}
split: {column: split}
"""


def _table(seed: int = 0, n: int = N) -> pd.DataFrame:
    """Rows with every kind of column; ``purchase`` is undefined (NaN) where there was no click."""
    rng = np.random.default_rng(seed)
    click = (np.arange(n) % 3 == 0).astype(float)
    purchase = np.where(click == 1, (np.arange(n) % 2 == 0).astype(float), np.nan)
    viewed = (np.arange(n) % 4 != 0).astype(int)
    return pd.DataFrame(
        {
            "user": [f"u{i % 17}" for i in range(n)],
            "device": rng.choice(["ios", "android", "web"], n),
            "zip": [f"{i % 5:05d}" for i in range(n)],  # leading zeros: must stay strings
            "price": rng.exponential(20.0, n),
            "age": rng.integers(18, 80, n).astype(float),
            "click": click,
            "purchase": purchase,
            "viewed": viewed,
            "watch_ratio": np.where(viewed == 1, rng.uniform(0, 1, n), np.nan),
            "split": np.array(["train", "train", "train", "validation", "test"] * (n // 5)),
        }
    )


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "clicks.csv"
    _table().to_csv(path, index=False)
    return path


def _error(**options) -> str:
    with pytest.raises(MtlsearchError) as caught:
        tabular(**options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_csv_with_default_fractions(csv_file: Path) -> None:
    data = tabular(path=str(csv_file), schema=SCHEMA)
    assert data.name == "clicks"
    assert data.task_names == ("ctr", "cvr", "watch")
    assert [t.sample_space for t in data.tasks] == [None, "task:ctr", "column:viewed"]
    assert (len(data.train), len(data.validation), len(data.test)) == (160, 20, 20)
    assert data.features.categorical == ("user", "device", "zip")
    assert data.features.numeric == ("price", "age")
    assert data.log1p == ("price",)
    assert "00003" in data.vocabularies[2]  # read as text, not as the number 3
    # Sample spaces: cvr only where ctr is positive, watch only where viewed.
    split = data.train
    assert torch.equal(split.masks[:, 1], split.labels[:, 0] == 1)
    assert not bool(split.masks[:, 2].all()) and bool(split.masks[:, 2].any())
    assert bool(split.masks[:, 0].all())
    assert bool((split.labels[~split.masks] == 0).all())


def test_fractions_are_seeded(csv_file: Path) -> None:
    split = {"fractions": [0.5, 0.25, 0.25], "seed": 3}
    first = tabular(path=str(csv_file), schema=SCHEMA, split=split)
    again = tabular(path=str(csv_file), schema=SCHEMA, split=split)
    other = tabular(path=str(csv_file), schema=SCHEMA, split={**split, "seed": 4})
    assert (len(first.train), len(first.validation), len(first.test)) == (100, 50, 50)
    assert torch.equal(first.validation.numeric, again.validation.numeric)
    assert not torch.equal(first.validation.numeric, other.validation.numeric)


def test_parquet_with_split_column_and_yaml_schema(tmp_path: Path) -> None:
    table = _table()
    path = tmp_path / "clicks.parquet"
    table.to_parquet(path)
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA_YAML)
    data = tabular(path=str(path), schema=str(schema), name="mine")
    assert data.name == "mine"
    counts = table["split"].value_counts()
    assert (len(data.train), len(data.validation), len(data.test)) == (
        counts["train"],
        counts["validation"],
        counts["test"],
    )
    # Validation rows are encoded with train statistics, in file order.
    age = data.features.numeric.index("age")
    decoded = data.validation.numeric[:, age] * data.numeric_std[age] + data.numeric_mean[age]
    expected = table.loc[table["split"] == "validation", "age"].to_numpy()
    assert np.allclose(decoded.numpy(), expected, atol=1e-4)
    assert data.numeric_mean[age].item() == pytest.approx(table.loc[table["split"] == "train", "age"].mean())


def test_inline_schema_file_schema_and_keywords_agree(csv_file: Path, tmp_path: Path) -> None:
    schema_file = tmp_path / "schema.yaml"
    schema_file.write_text(SCHEMA_YAML)
    from_file = tabular(path=str(csv_file), schema=str(schema_file))
    inline = tabular(path=str(csv_file), schema={**SCHEMA, "split": {"column": "split"}})
    keywords = tabular(path=str(csv_file), **SCHEMA, split={"column": "split"})
    for other in (inline, keywords):
        assert other.tasks == from_file.tasks
        assert torch.equal(other.validation.categorical, from_file.validation.categorical)
        assert torch.equal(other.test.labels, from_file.test.labels)


def test_separate_validation_and_test_files(tmp_path: Path) -> None:
    paths = {}
    for i, split in enumerate(("train", "valid", "test")):
        paths[split] = tmp_path / f"{split}.csv"
        _table(seed=i, n=50 if i else 100).to_csv(paths[split], index=False)
    data = tabular(
        path=str(paths["train"]),
        validation_path=str(paths["valid"]),
        test_path=str(paths["test"]),
        schema=SCHEMA,
    )
    assert (len(data.train), len(data.validation), len(data.test)) == (100, 50, 50)


def test_unseen_category_in_validation_is_code_zero(tmp_path: Path) -> None:
    table = _table()
    table.loc[table["split"] == "validation", "device"] = "tv"
    path = tmp_path / "clicks.csv"
    table.to_csv(path, index=False)
    data = tabular(path=str(path), schema={**SCHEMA, "split": {"column": "split"}})
    j = data.features.categorical.index("device")
    assert bool((data.validation.categorical[:, j] == 0).all())
    assert bool((data.train.categorical[:, j] > 0).all())


def test_registry_loads_tabular(csv_file: Path) -> None:
    assert "schema" in dataset_options("tabular")
    data = load_dataset("tabular", {"path": str(csv_file), "schema": SCHEMA})
    assert data.task_names == ("ctr", "cvr", "watch")


# Bad data in the table: each message names the file and the column.


def _write(tmp_path: Path, table: pd.DataFrame, name: str = "clicks.csv") -> str:
    path = tmp_path / name
    table.to_csv(path, index=False)
    return str(path)


def test_missing_file(tmp_path: Path) -> None:
    message = _error(path=str(tmp_path / "nope.csv"), schema=SCHEMA)
    assert message.startswith(f"{tmp_path / 'nope.csv'}: file not found (fix: check the path")


def test_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path, _table().drop(columns="age"))
    message = _error(path=path, schema=SCHEMA)
    assert message.startswith(f"{path}: column 'age' not found")


@pytest.mark.parametrize("typo", ["agee", "Age"])
def test_a_misspelled_column_gets_the_close_name_and_every_column(tmp_path: Path, typo: str) -> None:
    table = _table()
    for i in range(14):  # more columns than an error used to list (12): the real one came last
        table.insert(0, f"extra_{i}", 0)
    path = _write(tmp_path, table)
    message = _error(path=path, schema={**SCHEMA, "numeric": ["price", typo]})
    assert message.startswith(f"{path}: column {typo!r} not found (fix: did you mean 'age'?")
    assert all(str(column) in message for column in table.columns)


def test_nan_in_numeric_column(tmp_path: Path) -> None:
    table = _table()
    table.loc[3, "price"] = np.nan  # row 3 is a validation row
    path = _write(tmp_path, table)
    message = _error(path=path, schema={**SCHEMA, "split": {"column": "split"}})
    assert message.startswith(f"{path}: numeric column 'price' has 1 missing, NaN or non-numeric value(s)")
    assert "(first: a missing value in data row 4, header not counted)" in message


def test_text_in_numeric_column_is_quoted_as_the_file_has_it(tmp_path: Path) -> None:
    table = _table().astype({"price": object})
    table.loc[5, "price"] = "abc"
    path = _write(tmp_path, table)
    message = _error(path=path, schema=SCHEMA)
    assert "numeric column 'price' has 1 missing, NaN or non-numeric value(s)" in message
    assert "(first: 'abc' in data row 6, header not counted)" in message


def test_nan_in_binary_label(tmp_path: Path) -> None:
    table = _table()
    table.loc[0, "click"] = np.nan
    path = _write(tmp_path, table)
    message = _error(path=path, schema={**SCHEMA, "split": {"column": "split"}})
    assert message.startswith(f"{path}: task 'ctr': label column 'click' has 1 missing")


def test_binary_label_not_zero_one(tmp_path: Path) -> None:
    table = _table()
    table.loc[0, "click"] = 2.0
    path = _write(tmp_path, table)
    message = _error(path=path, schema={**SCHEMA, "split": {"column": "split"}})
    assert message.startswith(f"{path}: task 'ctr': binary label column 'click' holds 2.0; labels must be 0 or 1")


def test_bad_mask_column(tmp_path: Path) -> None:
    table = _table()
    table["viewed"] = table["viewed"].astype(object)
    table.loc[0, "viewed"] = "yes"
    path = _write(tmp_path, table)
    message = _error(path=path, schema={**SCHEMA, "split": {"column": "split"}})
    assert message.startswith(f"{path}: task 'watch': mask column 'viewed' must hold only 0 and 1")


def test_empty_split(tmp_path: Path) -> None:
    table = _table()
    table["split"] = table["split"].replace("test", "train")
    path = _write(tmp_path, table)
    message = _error(path=path, schema={**SCHEMA, "split": {"column": "split"}})
    assert message.startswith(f"{path}: the test split is empty")


def test_empty_sample_space(tmp_path: Path) -> None:
    table = _table()
    table.loc[table["split"] == "validation", "viewed"] = 0
    path = _write(tmp_path, table)
    message = _error(path=path, schema={**SCHEMA, "split": {"column": "split"}})
    assert message.startswith(f"{path}: data set 'clicks': task 'watch' has an empty sample space")
    assert "validation split" in message


def test_unknown_split_value(tmp_path: Path) -> None:
    table = _table()
    table.loc[[0, 5], "split"] = "dev"
    path = _write(tmp_path, table)
    message = _error(path=path, schema={**SCHEMA, "split": {"column": "split"}})
    assert message.startswith(f"{path}: split column 'split' holds 'dev' in 2 row(s)")


def test_error_in_separate_file_names_that_file(tmp_path: Path) -> None:
    train = _write(tmp_path, _table(n=100), "train.csv")
    bad = _table(n=50)
    bad.loc[7, "age"] = np.nan
    valid = _write(tmp_path, bad, "valid.csv")
    test = _write(tmp_path, _table(n=50), "test.csv")
    message = _error(path=train, validation_path=valid, test_path=test, schema=SCHEMA)
    assert message.startswith(f"{valid} (validation): numeric column 'age' has 1 missing, NaN")
    assert "in data row 8, header not counted" in message  # the row of valid.csv itself


def test_unreadable_and_unknown_files(tmp_path: Path) -> None:
    odd = tmp_path / "clicks.xlsx"
    odd.write_text("a")
    assert _error(path=str(odd), schema=SCHEMA).startswith(f"{odd}: unknown file type '.xlsx'")
    broken = tmp_path / "clicks.parquet"
    broken.write_bytes(b"not parquet at all")
    assert _error(path=str(broken), schema=SCHEMA).startswith(f"{broken}: cannot read the file")
    empty = tmp_path / "empty.csv"
    _table().head(0).to_csv(empty, index=False)
    assert _error(path=str(empty), schema=SCHEMA).startswith(f"{empty}: the file has no rows")


# Schema validation: each message names the field.


def _task(**changes) -> list[dict]:
    return [{"name": "ctr", "type": "binary", "label": "click", **changes}]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({**SCHEMA, "target": "x"}, "data.options.schema.target: unknown schema field 'target'"),
        (
            {**SCHEMA, "categorical": "user"},
            "data.options.schema.categorical: expected a list of columns",
        ),
        ({**SCHEMA, "numeric": ["price", 3]}, "data.options.schema.numeric: column name 3 is not"),
        ({**SCHEMA, "numeric": ["age", "age"]}, "data.options.schema.numeric: column 'age' is listed twice"),
        ({**SCHEMA, "numeric": ["age", "user"]}, "column 'user' is listed as categorical and as numeric"),
        (
            {**SCHEMA, "log1p": ["age", "user"]},
            "data.options.schema.log1p: log1p column 'user' is not a numeric",
        ),
        ({"numeric": ["age"]}, "data.options.schema.tasks: no tasks"),
        ({**SCHEMA, "tasks": []}, "data.options.schema.tasks: expected a non-empty list of tasks"),
        ({**SCHEMA, "tasks": ["ctr"]}, "data.options.schema.tasks[0]: a task must be a mapping"),
        (
            {**SCHEMA, "tasks": _task(weight=2)},
            "data.options.schema.tasks[0].weight: unknown task field 'weight'",
        ),
        (
            {**SCHEMA, "tasks": [{"name": "ctr"}]},
            "data.options.schema.tasks[0]: task field 'type' is missing",
        ),
        ({**SCHEMA, "tasks": _task(type="bin")}, "tasks[0]: task 'ctr': type: unknown task type 'bin'"),
        (
            {**SCHEMA, "tasks": _task(label=1)},
            "data.options.schema.tasks[0].label: expected a non-empty string",
        ),
        (
            {**SCHEMA, "tasks": _task() * 2},
            "data.options.schema.tasks[1].name: task name 'ctr' is used twice",
        ),
        (
            {**SCHEMA, "tasks": _task(mask="viewed", sample_space="x")},
            "data.options.schema.tasks[0]: give either mask (a 0/1 column) or sample_space",
        ),
        ({**SCHEMA, "tasks": _task(sample_space="ctr")}, "tasks[0].sample_space: a task cannot be its own sample"),
        ({**SCHEMA, "tasks": _task(label="age")}, "label column 'age' of task 'ctr' is also a feature"),
        ({**SCHEMA, "split": "80/10/10"}, "data.options.schema.split: expected a mapping"),
        ({**SCHEMA, "split": {"col": "split"}}, "data.options.schema.split.col: unknown split field 'col'"),
        ({**SCHEMA, "split": {"column": "split", "seed": 1}}, "a split column excludes fractions and seed"),
        (
            {**SCHEMA, "split": {"column": "age"}},
            "data.options.schema.split: split column 'age' is also a feature",
        ),
        (
            {**SCHEMA, "split": {"fractions": [0.9, 0.2, 0.1]}},
            "split.fractions: fractions [0.9, 0.2, 0.1] must be",
        ),
        ({**SCHEMA, "split": {"fractions": [0.5, 0.5]}}, "must be three positive numbers"),
        ({**SCHEMA, "split": {"seed": "one"}}, "data.options.schema.split.seed: expected an integer seed"),
        ({"tasks": SCHEMA["tasks"]}, "the schema lists no feature columns"),
    ],
)
def test_schema_errors_name_the_field(csv_file: Path, schema: dict, expected: str) -> None:
    assert expected in _error(path=str(csv_file), schema=schema)


def test_task_sample_space_must_be_a_binary_task(csv_file: Path) -> None:
    tasks = [
        *SCHEMA["tasks"][:1],
        {"name": "cvr", "type": "binary", "label": "purchase", "sample_space": "watch"},
    ]
    message = _error(path=str(csv_file), schema={**SCHEMA, "tasks": tasks})
    assert message.startswith("data.options.schema.tasks[1].sample_space: sample_space 'watch' names no task")
    assert "name another binary task (ctr)" in message


def test_task_sample_space_naming_a_regression_task_is_a_schema_error(csv_file: Path) -> None:
    tasks = [*SCHEMA["tasks"], {"name": "cvr2", "type": "binary", "label": "purchase", "sample_space": "watch"}]
    message = _error(path=str(csv_file), schema={**SCHEMA, "tasks": tasks})
    assert message.startswith("data.options.schema.tasks[3].sample_space: sample_space 'watch' names a regression task")


def test_schema_file_errors(csv_file: Path, tmp_path: Path) -> None:
    missing = _error(path=str(csv_file), schema=str(tmp_path / "none.yaml"))
    assert missing.startswith("data.options.schema: schema file")
    assert "none.yaml not found" in missing
    broken = tmp_path / "broken.yaml"
    broken.write_text("categorical: [user,\ntasks: 1\n")
    assert _error(path=str(csv_file), schema=str(broken)).startswith(f"{broken}: not valid YAML")
    listed = tmp_path / "list.yaml"
    listed.write_text("- user\n")
    assert _error(path=str(csv_file), schema=str(listed)).startswith(f"{listed}: the schema must be a mapping")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(SCHEMA_YAML + "label: click\n")
    assert _error(path=str(csv_file), schema=str(unknown)).startswith(f"{unknown}: label: unknown schema field")


def test_option_conflicts(csv_file: Path) -> None:
    both = _error(path=str(csv_file), schema=SCHEMA, numeric=["age"])
    assert both.startswith("data.options.numeric: 'numeric' is given both in the schema and as an option")
    half = _error(path=str(csv_file), schema=SCHEMA, validation_path=str(csv_file))
    assert half.startswith("data.options.test_path: validation_path needs test_path")
    split = _error(
        path=str(csv_file),
        schema={**SCHEMA, "split": {"column": "split"}},
        validation_path=str(csv_file),
        test_path=str(csv_file),
    )
    assert "split is set, but validation_path and test_path already give the splits" in split
    assert _error(path=str(csv_file), schema=42).startswith("data.options.schema: schema must be a mapping")
    assert _error(path=3, schema=SCHEMA).startswith("data.options.path: expected a file name")
    assert _error(path=str(csv_file)).startswith("data.options.schema: no schema (fix: give schema")
    assert _error(path=str(csv_file), schema=SCHEMA, name=1).startswith("data.options.name: expected a non-empty")


def test_test_file_alone_carves_validation_from_train(tmp_path: Path) -> None:
    train, test = _write(tmp_path, _table(0, 100), "train.csv"), _write(tmp_path, _table(1, 40), "test.csv")
    options = {**SCHEMA, "split": {"fractions": [0.8, 0.2], "seed": 3}}
    data = tabular(path=train, test_path=test, **options)
    assert (len(data.train), len(data.validation), len(data.test)) == (80, 20, 40)
    again = tabular(path=train, test_path=test, **options)
    assert torch.equal(data.validation.numeric, again.validation.numeric)
    other = tabular(path=train, test_path=test, **{**options, "split": {"fractions": [0.8, 0.2], "seed": 4}})
    assert not torch.equal(data.validation.numeric, other.validation.numeric)
    default = tabular(path=train, test_path=test, **SCHEMA)  # (0.9, 0.1)
    assert (len(default.train), len(default.validation)) == (90, 10)
    three = _error(path=train, test_path=test, **{**SCHEMA, "split": {"fractions": [0.8, 0.1, 0.1]}})
    assert three.startswith("data.options.split.fractions: fractions [0.8, 0.1, 0.1] must be two positive numbers")
    column = _error(path=train, test_path=test, **{**SCHEMA, "split": {"column": "split"}})
    assert column.startswith("data.options.split.column: a split column cannot carve validation rows")
