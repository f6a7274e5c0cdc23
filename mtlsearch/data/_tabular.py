"""Users' own tables: a CSV or Parquet file plus a small schema of columns, tasks and split.

The schema is a mapping (inline in a config's ``data.options.schema``, or a YAML file whose
path is given as ``schema``); its fields may also be passed as keyword options::

    categorical:
      - device                                            # short form
      - {name: item_id, min_count: 2, embedding_dim: 16}  # seen < 2 times in train -> OOV
      - {name: user_id, hash_buckets: 1000000}            # hashed instead of a vocabulary
    multi_valued:
      - {name: history, separator: "|", max_len: 20, pooling: mean, share_embedding: item_id}
      - {name: tags, max_len: 5, pooling: sum}            # a Parquet list column needs no separator
    numeric: [price, age]
    log1p: [price]                       # heavy-tailed, non-negative numeric columns
    tasks:
      - {name: ctr, type: binary, label: click}
      - {name: cvr, type: binary, label: purchase, sample_space: ctr}   # observed where ctr = 1
      - {name: watch, type: regression, label: watch_ratio, mask: viewed}  # observed where viewed = 1
    split: {column: split}               # values train / validation / test
    # or: split: {fractions: [0.8, 0.1, 0.1], seed: 0}   (the default)

Separate validation and test files go in the options ``validation_path`` and ``test_path``
instead of ``split``. With ``test_path`` alone, validation is carved from ``path`` by
``split: {fractions: [0.9, 0.1], seed: 0}`` (train, validation; the default), as the public
benchmarks that ship a train and a test file need. Every schema field is checked strictly: an
unknown key or a wrong type is an :class:`MtlsearchError` naming the field; bad values in the
table name the file and column.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mtlsearch._strict import load_yaml
from mtlsearch.data._dataset import (
    FILE_COLUMNS,
    MultiTaskData,
    TaskColumns,
    TaskSpec,
    _check_columns,
    check_products,
    from_frames,
    from_table,
)
from mtlsearch.data._encoding import POOLINGS, CategoricalColumn
from mtlsearch.errors import MtlsearchError

__all__ = ["SCHEMA_KEYS", "SPLIT_NAMES", "tabular"]

SCHEMA_KEYS = ("categorical", "multi_valued", "numeric", "log1p", "tasks", "split")
CATEGORICAL_KEYS = ("name", "min_count", "hash_buckets", "embedding_dim", "share_embedding")
MULTI_VALUED_KEYS = (*CATEGORICAL_KEYS, "separator", "max_len", "pooling")
SPLIT_NAMES = ("train", "validation", "test")
_TASK_KEYS = ("name", "type", "label", "mask", "sample_space", "product_of")
_SPLIT_KEYS = ("column", "fractions", "seed")
_DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
_DEFAULT_CARVE = (0.9, 0.1)  # train file -> (train, validation) when only test_path is given
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")
_EXAMPLE_TASK = "- {name: ctr, type: binary, label: click}"


@dataclass(frozen=True)
class _Schema:
    """The validated schema: what ``from_frames`` needs, plus how to split one file."""

    categorical: tuple[CategoricalColumn, ...]
    multi_valued: tuple[CategoricalColumn, ...]
    numeric: tuple[str, ...]
    log1p: tuple[str, ...]
    tasks: tuple[TaskColumns, ...]
    split_column: str | None  # None: split by fractions (or separate files)
    fractions: tuple[float, ...]  # (train, validation, test), or (train, validation) with a test file
    seed: int


def tabular(
    *,
    path: str,
    schema: str | Mapping[str, Any] | None = None,
    validation_path: str | None = None,
    test_path: str | None = None,
    categorical: Sequence[str | Mapping[str, Any]] | None = None,
    multi_valued: Sequence[Mapping[str, Any]] | None = None,
    numeric: Sequence[str] | None = None,
    log1p: Sequence[str] | None = None,
    tasks: Sequence[Mapping[str, Any]] | None = None,
    split: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> MultiTaskData:
    """Load ``path`` (``.csv``, ``.tsv``, optionally compressed, or ``.parquet``) as a multi-task data set.

    ``schema`` is a mapping or a YAML file with the fields ``categorical``, ``multi_valued``,
    ``numeric``, ``log1p``, ``tasks`` and ``split``; the same fields can be given as keyword options, but
    not both ways at once. A task's ``label`` defaults to its name. ``validation_path`` and
    ``test_path`` (both or neither) replace ``split``.

    >>> data = tabular(  # doctest: +SKIP
    ...     path="clicks.parquet",
    ...     categorical=["user", "item"],
    ...     numeric=["price"],
    ...     tasks=[{"name": "ctr", "type": "binary", "label": "click"}],
    ... )
    """
    keywords = {
        "categorical": categorical,
        "multi_valued": multi_valued,
        "numeric": numeric,
        "log1p": log1p,
        "tasks": tasks,
        "split": split,
    }
    if name is not None and (not isinstance(name, str) or not name):
        raise MtlsearchError(f"expected a non-empty string, got {name!r}", where="data.options.name", fix="quote it")
    fields = _gather_fields(schema, keywords)
    separate = validation_path is not None or test_path is not None
    carve = test_path is not None and validation_path is None  # validation carved from path
    parsed = _parse_schema(fields, separate_files=separate and not carve, carve=carve)

    text_columns = [
        *(c.name for c in (*parsed.categorical, *parsed.multi_valued) if not c.multi_valued or c.separator),
        *([parsed.split_column] if parsed.split_column else []),
    ]
    needed = [
        *(c.name for c in (*parsed.categorical, *parsed.multi_valued)),
        *parsed.numeric,
        *(t.label for t in parsed.tasks),
        *(t.mask for t in parsed.tasks if t.mask),
        *([parsed.split_column] if parsed.split_column else []),
    ]
    source = _as_path(path, "data.options.path")
    if carve:
        files = {"train": source, "validation": source, "test": _as_path(test_path, "data.options.test_path")}
        table = _read_table(source, text_columns, needed)
        frames = {k: table.iloc[rows].reset_index(drop=True) for k, rows in _split(table, parsed, source).items()}
        del table
        frames["test"] = _read_table(files["test"], text_columns, needed)
    elif separate:
        if test_path is None:
            raise MtlsearchError(
                "validation_path needs test_path",
                where="data.options.test_path",
                fix="give both files, test_path alone (validation carved from path), or neither",
            )
        files = {
            "train": source,
            "validation": _as_path(validation_path, "data.options.validation_path"),
            "test": _as_path(test_path, "data.options.test_path"),
        }
        frames = {split_name: _read_table(file, text_columns, needed) for split_name, file in files.items()}
    else:
        files = dict.fromkeys(SPLIT_NAMES, source)
        frame = _read_table(source, text_columns, needed)
        rows = _split(frame, parsed, source)

    columns = {
        "categorical": parsed.categorical,
        "multi_valued": parsed.multi_valued,
        "numeric": parsed.numeric,
        "tasks": parsed.tasks,
        "source": source,
        "log1p": parsed.log1p,
    }
    data_name = name or Path(source).name.split(".")[0] or "tabular"
    try:
        if separate:
            return from_frames(data_name, frames, **columns, split_sources=files)
        return from_table(data_name, frame, rows, **columns, consume=True)
    except MtlsearchError as error:
        raise _naming_file(error, source, files) from None


def _gather_fields(
    schema: str | os.PathLike[str] | Mapping[str, Any] | None, keywords: Mapping[str, Any]
) -> dict[str, tuple[Any, str]]:
    """Schema fields as ``{field: (value, where-prefix)}``; a field may come from one place only."""
    fields: dict[str, tuple[Any, str]] = {}
    if schema is None and all(value is None for value in keywords.values()):
        raise MtlsearchError(
            "no schema",
            where="data.options.schema",
            fix="give schema (a mapping or a YAML file), or the options categorical, numeric and tasks",
        )
    if schema is not None:
        if isinstance(schema, (str, os.PathLike)):
            content, prefix = _load_schema_file(schema), f"{os.fspath(schema)}: "
        elif isinstance(schema, Mapping):
            content, prefix = schema, "data.options.schema."
        else:
            raise MtlsearchError(
                f"schema must be a mapping or the path of a YAML file, not {type(schema).__name__}",
                where="data.options.schema",
                fix="write the schema inline as a mapping, or give its file name",
            )
        for key, value in content.items():
            if key not in SCHEMA_KEYS:
                raise MtlsearchError(
                    f"unknown schema field {key!r}",
                    where=f"{prefix}{key}",
                    fix=f"use {', '.join(SCHEMA_KEYS)}",
                )
            fields[key] = (value, prefix)
    for key, value in keywords.items():
        if value is None:
            continue
        if key in fields:
            raise MtlsearchError(
                f"{key!r} is given both in the schema and as an option",
                where=f"data.options.{key}",
                fix="keep one of the two",
            )
        fields[key] = (value, "data.options.")
    return fields


def _load_schema_file(schema: str | os.PathLike[str]) -> Mapping[str, Any]:
    file = Path(schema).expanduser()
    if not file.is_file():
        raise MtlsearchError(
            f"schema file {os.fspath(schema)} not found",
            where="data.options.schema",
            fix=f"check the path (relative paths start from {Path.cwd()})",
        )
    try:
        content = load_yaml(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise MtlsearchError(f"not valid YAML: {problem}{at}", where=os.fspath(schema), fix="fix the YAML") from None
    except (OSError, UnicodeDecodeError) as error:
        raise MtlsearchError(
            f"cannot read the schema ({error})", where=os.fspath(schema), fix="check the file"
        ) from None
    if not isinstance(content, Mapping):
        raise MtlsearchError(
            "the schema must be a mapping",
            where=os.fspath(schema),
            fix=f"use the keys {', '.join(SCHEMA_KEYS)}",
        )
    return content


def _parse_schema(fields: Mapping[str, tuple[Any, str]], *, separate_files: bool, carve: bool = False) -> _Schema:
    def where(key: str) -> str:
        return f"{fields[key][1]}{key}" if key in fields else f"data.options.schema.{key}"

    def value(key: str, default: Any) -> Any:
        return fields[key][0] if key in fields else default

    categorical_columns = _categorical(value("categorical", ()), where("categorical"), multi=False)
    multi_columns = _categorical(value("multi_valued", ()), where("multi_valued"), multi=True)
    categorical = tuple(c.name for c in categorical_columns)
    multi = tuple(c.name for c in multi_columns)
    numeric = _names(value("numeric", ()), where("numeric"))
    log1p = _names(value("log1p", ()), where("log1p"))
    if not categorical and not numeric and not multi:
        raise MtlsearchError(
            "the schema lists no feature columns",
            where=where("categorical"),
            fix="list categorical, multi_valued and/or numeric columns",
        )
    both = sorted(set(categorical) & set(numeric))
    if both:
        raise MtlsearchError(
            f"column {both[0]!r} is listed as categorical and as numeric",
            where=where("numeric"),
            fix="keep one",
        )
    for other, other_name in ((numeric, "numeric"), (categorical, "categorical")):
        both = sorted(set(multi) & set(other))
        if both:
            raise MtlsearchError(
                f"multi-valued column {both[0]!r} is also listed as {other_name}",
                where=where("multi_valued"),
                fix=f"remove it from {other_name}: a multi-valued column is embedded and pooled",
            )
    _check_sharing((*categorical_columns, *multi_columns), set(numeric), where)
    outside = [c for c in log1p if c not in numeric]
    if outside:
        raise MtlsearchError(
            f"log1p column {outside[0]!r} is not a numeric column",
            where=where("log1p"),
            fix="add it to numeric",
        )

    if "tasks" not in fields:
        raise MtlsearchError("no tasks", where=where("tasks"), fix=f"list at least one task, e.g. {_EXAMPLE_TASK}")
    task_columns = _tasks(fields["tasks"][0], where("tasks"))
    features = set(categorical) | set(numeric) | set(multi)
    for task in task_columns:
        for kind, column in (("label", task.label), ("mask", task.mask)):
            if column in features:
                raise MtlsearchError(
                    f"{kind} column {column!r} of task {task.spec.name!r} is also a feature (label leakage)",
                    where=where("tasks"),
                    fix=f"remove {column!r} from categorical/multi_valued/numeric: a model must not see its own label",
                )

    split_column, fractions, seed = _split_options(value("split", None), where("split"), separate_files, carve)
    if split_column is not None and split_column in features:
        raise MtlsearchError(
            f"split column {split_column!r} is also a feature",
            where=where("split"),
            fix="remove it from the features",
        )
    return _Schema(categorical_columns, multi_columns, numeric, log1p, task_columns, split_column, fractions, seed)


def _categorical(value: Any, where: str, *, multi: bool) -> tuple[CategoricalColumn, ...]:
    """Categorical (or multi-valued) entries: a name (short form) or a mapping of options."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        example = "[{name: tags, max_len: 5}]" if multi else "[device, {name: item_id, min_count: 2}]"
        raise MtlsearchError(
            f"expected a list of columns, got {type(value).__name__}", where=where, fix=f"e.g. {example}"
        )
    keys = MULTI_VALUED_KEYS if multi else CATEGORICAL_KEYS
    columns: list[CategoricalColumn] = []
    for i, entry in enumerate(value):
        at = f"{where}[{i}]"
        if isinstance(entry, str) and not multi:
            entry = {"name": entry}
        if not isinstance(entry, Mapping):
            fix = "write {name: COLUMN, max_len: N}" if multi else "write a column name or {name: COLUMN, ...}"
            raise MtlsearchError(f"expected a mapping, got {entry!r}", where=at, fix=fix)
        for key in entry:
            if key not in keys:
                raise MtlsearchError(f"unknown field {key!r}", where=f"{at}.{key}", fix=f"use {', '.join(keys)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise MtlsearchError(f"column name {name!r} is not a non-empty string", where=f"{at}.name", fix="quote it")
        at = f"{where}[{i}] ({name})"
        options: dict[str, Any] = {"name": name}
        for key, low in (("min_count", 1), ("hash_buckets", 1), ("embedding_dim", 1), ("max_len", 1)):
            if key not in entry:
                continue
            number = entry[key]
            if isinstance(number, bool) or not isinstance(number, int) or number < low:
                raise MtlsearchError(
                    f"{key} must be an integer >= {low}, got {number!r}", where=f"{at}.{key}", fix=f"use {low} or more"
                )
            options[key] = number
        if multi and "max_len" not in entry:
            raise MtlsearchError("max_len is missing", where=at, fix="give the number of values kept per row, e.g. 20")
        if "hash_buckets" in entry and "min_count" in entry:
            raise MtlsearchError(
                "hash_buckets and min_count exclude each other (a hashed column has no vocabulary to prune)",
                where=at,
                fix="keep one",
            )
        for key in ("share_embedding", "separator"):
            if key in entry:
                if not isinstance(entry[key], str) or not entry[key]:
                    raise MtlsearchError(
                        f"expected a non-empty string, got {entry[key]!r}", where=f"{at}.{key}", fix="quote it"
                    )
                options[key] = entry[key]
        if "pooling" in entry:
            if entry["pooling"] not in POOLINGS:
                raise MtlsearchError(
                    f"unknown pooling {entry['pooling']!r}", where=f"{at}.pooling", fix=f"use {' or '.join(POOLINGS)}"
                )
            options["pooling"] = entry["pooling"]
        if any(c.name == name for c in columns):
            raise MtlsearchError(f"column {name!r} is listed twice", where=where, fix="list it once")
        columns.append(CategoricalColumn(**options))
    return tuple(columns)


def _check_sharing(columns: Sequence[CategoricalColumn], numeric: set[str], where: Any) -> None:
    """``share_embedding`` names another categorical or multi-valued column that owns its table."""
    by_name = {c.name: c for c in columns}
    for column in columns:
        target = column.share_embedding
        if not target:
            continue
        at = f"{where('multi_valued' if column.multi_valued else 'categorical')} ({column.name}).share_embedding"
        if target in numeric:
            raise MtlsearchError(
                f"share_embedding names the numeric column {target!r}",
                where=at,
                fix="name a categorical or multi-valued column: only they have embedding tables",
            )
        if target not in by_name or target == column.name:
            raise MtlsearchError(
                f"share_embedding names {target!r}, which is not another categorical or multi-valued column",
                where=at,
                fix=f"use one of {', '.join(n for n in by_name if n != column.name) or '(none)'}",
            )
        if by_name[target].share_embedding:
            raise MtlsearchError(
                f"share_embedding names {target!r}, which itself shares {by_name[target].share_embedding!r}",
                where=at,
                fix=f"share {by_name[target].share_embedding!r} directly",
            )
        own = [
            k
            for k in ("min_count", "hash_buckets", "embedding_dim")
            if getattr(column, k) != getattr(CategoricalColumn(column.name), k)
        ]
        if own:
            raise MtlsearchError(
                f"{own[0]} is set on a column that shares {target!r}'s table",
                where=at.rsplit(".", 1)[0],
                fix=f"set {own[0]} on {target!r}: the shared table's options apply to both",
            )


def _names(value: Any, where: str) -> tuple[str, ...]:
    """A list of distinct column names."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise MtlsearchError(
            f"expected a list of column names, got {type(value).__name__}",
            where=where,
            fix="write [a, b, ...]",
        )
    names = tuple(value)
    for item in names:
        if not isinstance(item, str) or not item:
            raise MtlsearchError(f"column name {item!r} is not a non-empty string", where=where, fix="quote it")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise MtlsearchError(f"column {repeated[0]!r} is listed twice", where=where, fix="list it once")
    return names


def _tasks(value: Any, where: str) -> tuple[TaskColumns, ...]:
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence) or not value:
        raise MtlsearchError("expected a non-empty list of tasks", where=where, fix=f"e.g. {_EXAMPLE_TASK}")
    parsed: list[TaskColumns] = []
    for i, task in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(task, Mapping):
            raise MtlsearchError(
                f"a task must be a mapping, not {type(task).__name__}", where=at, fix=f"e.g. {_EXAMPLE_TASK}"
            )
        for key in task:
            if key not in _TASK_KEYS:
                raise MtlsearchError(
                    f"unknown task field {key!r}", where=f"{at}.{key}", fix=f"use {', '.join(_TASK_KEYS)}"
                )
        for key in ("name", "type"):
            if key not in task:
                raise MtlsearchError(f"task field {key!r} is missing", where=at, fix=f"e.g. {_EXAMPLE_TASK}")
        for key in _TASK_KEYS[:-1]:
            if key in task and (not isinstance(task[key], str) or not task[key]):
                raise MtlsearchError(
                    f"expected a non-empty string, got {task[key]!r}",
                    where=f"{at}.{key}",
                    fix="quote the name",
                )
        if "mask" in task and "sample_space" in task:
            raise MtlsearchError(
                "give either mask (a 0/1 column) or sample_space (another binary task), not both",
                where=at,
                fix="keep one",
            )
        name = task["name"]
        if any(t.spec.name == name for t in parsed):
            raise MtlsearchError(f"task name {name!r} is used twice", where=f"{at}.name", fix="rename one task")
        if task.get("sample_space") == name:
            raise MtlsearchError(
                "a task cannot be its own sample space", where=f"{at}.sample_space", fix="name another binary task"
            )
        sample_space = (
            f"column:{task['mask']}"
            if "mask" in task
            else f"task:{task['sample_space']}"
            if "sample_space" in task
            else None
        )
        product_of = _product_of(task.get("product_of"), f"{at}.product_of")
        try:
            spec = TaskSpec(name, task["type"], sample_space, product_of)
        except MtlsearchError as error:
            raise error.within(at) from None
        parsed.append(
            TaskColumns(
                spec,
                label=task.get("label", name),
                mask=task.get("mask"),
                positive_of=task.get("sample_space"),
            )
        )
    types = {t.spec.name: t.spec.type for t in parsed}
    for i, t in enumerate(parsed):
        if t.positive_of is not None and types.get(t.positive_of) != "binary":
            what = "no task" if t.positive_of not in types else f"a {types[t.positive_of]} task"
            others = ", ".join(n for n, k in types.items() if k == "binary" and n != t.spec.name)
            raise MtlsearchError(
                f"sample_space {t.positive_of!r} names {what}: a sample space is the positives of a binary task",
                where=f"{where}[{i}].sample_space",
                fix=f"name another binary task ({others}), or give mask: COLUMN for a 0/1 column",
            )
    check_products([t.spec for t in parsed], [f"{where}[{i}].product_of" for i in range(len(parsed))])
    return tuple(parsed)


def _product_of(value: Any, where: str) -> tuple[str, ...]:
    """A funnel task's parents: ``product_of: [ctr, cvr]`` (ESMM); absent: ``()``."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise MtlsearchError(
            f"expected a list of task names, got {value!r}", where=where, fix="e.g. product_of: [ctr, cvr]"
        )
    return tuple(value)


def _split_options(
    value: Any, where: str, separate_files: bool, carve: bool = False
) -> tuple[str | None, tuple[float, ...], int]:
    """``(column, fractions, seed)`` from the schema's ``split`` mapping; ``carve``: two fractions."""
    default = _DEFAULT_CARVE if carve else _DEFAULT_FRACTIONS
    if value is None:
        return None, default, 0
    if separate_files:
        raise MtlsearchError(
            "split is set, but validation_path and test_path already give the splits",
            where=where,
            fix="remove split, or the two paths",
        )
    if not isinstance(value, Mapping):
        raise MtlsearchError(
            f"expected a mapping, got {type(value).__name__}",
            where=where,
            fix="e.g. {column: split} or {fractions: [0.8, 0.1, 0.1]}",
        )
    for key in value:
        if key not in _SPLIT_KEYS:
            raise MtlsearchError(
                f"unknown split field {key!r}", where=f"{where}.{key}", fix=f"use {', '.join(_SPLIT_KEYS)}"
            )
    if "column" in value and carve:
        raise MtlsearchError(
            "a split column cannot carve validation rows out of the train file next to test_path",
            where=f"{where}.column",
            fix="use split: {fractions: [0.9, 0.1], seed: 0}, or give validation_path too",
        )
    if "column" in value:
        if len(value) > 1:
            raise MtlsearchError(
                "a split column excludes fractions and seed",
                where=where,
                fix="keep column, or fractions and seed",
            )
        column = value["column"]
        if not isinstance(column, str) or not column:
            raise MtlsearchError(f"expected a column name, got {column!r}", where=f"{where}.column", fix="quote it")
        return column, _DEFAULT_FRACTIONS, 0
    fractions = value.get("fractions", default)
    numbers = (
        not isinstance(fractions, (str, Mapping))
        and isinstance(fractions, Sequence)
        and all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in fractions)
    )
    n_parts, parts = (
        (2, "two positive numbers (train, validation)")
        if carve
        else (3, "three positive numbers (train, validation, test)")
    )
    if (
        not numbers
        or len(fractions) != n_parts
        or min(fractions) <= 0
        or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6)
    ):
        raise MtlsearchError(
            f"fractions {fractions!r} must be {parts} summing to 1",
            where=f"{where}.fractions",
            fix=f"e.g. {list(default)}",
        )
    seed = value.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise MtlsearchError(f"expected an integer seed, got {seed!r}", where=f"{where}.seed", fix="e.g. 0")
    return None, tuple(float(f) for f in fractions), seed


def _as_path(value: Any, where: str) -> str:
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise MtlsearchError(
            f"expected a file name, got {value!r}", where=where, fix="give the path of a CSV or Parquet file"
        )
    return os.fspath(value)


def _read_table(path: str, text_columns: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """The ``columns`` (those present) of one CSV/TSV/Parquet file; in CSV, ``text_columns`` are
    read as text (so "00003" stays itself). Parquet list columns stay Arrow lists (no Python
    object per row), and only the needed columns are read."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise MtlsearchError(
            "file not found", where=path, fix=f"check the path (relative paths start from {Path.cwd()})"
        )
    suffixes = [s.lower() for s in file.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    kind = suffixes[-1] if suffixes else ""
    header: list[str] = []  # every column of the file, for the error on a missing one

    def use(column: str) -> bool:
        header.append(column)
        return column in wanted or not wanted

    try:
        wanted = set(columns)
        if kind in (".parquet", ".pq"):
            frame = _read_parquet(file, use)
        elif kind in (".csv", ".tsv", ".txt"):
            sep = "\t" if kind == ".tsv" else ","
            frame = pd.read_csv(file, sep=sep, dtype=dict.fromkeys(text_columns, str), usecols=use)
        else:
            raise MtlsearchError(
                f"unknown file type {kind or '(none)'!r}", where=path, fix="use a .csv, .tsv or .parquet file"
            )
    except MtlsearchError:
        raise
    except (ValueError, OSError, EOFError, zlib.error) as error:  # parser, decoding, Arrow and gzip errors
        reason = " ".join(str(error).split()) or type(error).__name__
        raise MtlsearchError(
            f"cannot read the file ({reason})", where=path, fix="check that it is a valid table"
        ) from None
    if len(frame) == 0:
        raise MtlsearchError("the file has no rows", where=path, fix="fill it, or point to another file")
    frame.attrs[FILE_COLUMNS] = tuple(dict.fromkeys(header))
    return frame


def _read_parquet(file: Path, use: Callable[[str], bool]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = pq.read_schema(file).names
    table = pq.read_table(file, columns=[n for n in names if use(n)])

    def lists_stay_arrow(dtype: pa.DataType) -> pd.ArrowDtype | None:
        return pd.ArrowDtype(dtype) if pa.types.is_list(dtype) or pa.types.is_large_list(dtype) else None

    # self_destruct and split_blocks: Arrow buffers are released while converting, and columns
    # are not consolidated into one copied 2-D block per dtype.
    return table.to_pandas(types_mapper=lists_stay_arrow, self_destruct=True, split_blocks=True)


def _split(frame: pd.DataFrame, schema: _Schema, source: str) -> dict[str, np.ndarray]:
    """Row indices of train/validation/test, by the split column or by a seeded permutation."""
    if schema.split_column is not None:
        column = schema.split_column
        _check_columns(frame, [column], source)
        values = frame[column].astype("string")
        known = values.isin(SPLIT_NAMES).fillna(False).to_numpy(dtype=bool)
        if not known.all():
            odd = values[~known].iloc[0]
            raise MtlsearchError(
                f"split column {column!r} holds {'a missing value' if pd.isna(odd) else repr(odd)} "
                f"in {int((~known).sum())} row(s)",
                where=source,
                fix=f"use only {', '.join(SPLIT_NAMES)}",
            )
        return {name: np.flatnonzero((values == name).to_numpy(dtype=bool)) for name in SPLIT_NAMES}
    n = len(frame)
    order = np.random.default_rng(schema.seed).permutation(n)
    n_train = round(schema.fractions[0] * n)
    n_validation = round(schema.fractions[1] * n)
    parts = (order[:n_train], order[n_train : n_train + n_validation], order[n_train + n_validation :])
    parts = parts[: len(schema.fractions)]  # (train, validation) when the test split is its own file
    # Each split keeps the file's row order, so time-ordered data stays readable.
    return {name: np.sort(rows) for name, rows in zip(SPLIT_NAMES, parts)}


def _naming_file(error: MtlsearchError, source: str, files: Mapping[str, str]) -> MtlsearchError:
    """An error of ``from_frames`` (located at ``source (split)``) relocated to the split's own file."""
    where = error.where or ""
    for split_name, file in files.items():
        prefix = f"{source} ({split_name})"
        if where.startswith(prefix):
            return MtlsearchError(error.message, where=f"{file} ({split_name}){where[len(prefix) :]}", fix=error.fix)
    if where.startswith(source):
        return error
    return error.within(", ".join(dict.fromkeys(files.values())))
