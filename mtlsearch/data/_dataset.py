"""The one data abstraction: features and labels as tensors, split into train/validation/test.

Every data set (synthetic, Census-Income, a user's CSV) ends as a :class:`MultiTaskData`.
Categorical features are integer codes (vocabulary fit on train, index 0 reserved for
values unseen in train, or hashed; see :mod:`mtlsearch.data._encoding`) in the smallest
integer type that holds them, multi-valued columns take ``max_len`` padded slots after them,
numeric features are float32 standardised with train statistics, and each task has a label
column plus a boolean mask: its *sample space* (PLE section 4.3). A batch is a slice (or a
gather of shuffled rows) of these tensors: no per-sample ``__getitem__`` and no collate.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from mtlsearch.data._encoding import (
    CategoricalColumn,
    EncodedFeatures,
    FeatureEncoder,
    canonical_keys,
    encode_features,
    fit_encoder,
    warn_unseen,
)
from mtlsearch.errors import MtlsearchError, column_not_found

__all__ = [
    "TASK_TYPES",
    "Batch",
    "BatchLoader",
    "FeatureSpec",
    "MultiTaskData",
    "MultiValuedSpec",
    "Split",
    "TaskColumns",
    "TaskSpec",
    "categorical_codes",
    "check_products",
    "from_frames",
    "from_table",
    "numeric_values",
    "value_as_text",
]

TASK_TYPES = ("binary", "regression")


@dataclass(frozen=True)
class TaskSpec:
    """One prediction target.

    ``sample_space`` documents where the task is observed: ``None`` for every sample,
    ``"task:<name>"`` for another binary task's positives, ``"column:<name>"`` for a mask column.
    ``product_of`` names two or more binary tasks whose probabilities multiply to this task's
    (ESMM's p(CTCVR) = p(CTR) * p(CVR)): the model gives it no tower of its own.
    """

    name: str
    type: str  # "binary" (BCE loss, AUC metric) or "regression" (MSE loss and metric)
    sample_space: str | None = None
    product_of: tuple[str, ...] = ()  # funnel task: its parents, each a binary task with a tower

    def __post_init__(self) -> None:
        if self.type not in TASK_TYPES:
            raise MtlsearchError(
                f"unknown task type {self.type!r}",
                where=f"task {self.name!r}: type",
                fix=f"use one of {', '.join(TASK_TYPES)}",
            )


def check_products(tasks: Sequence[TaskSpec], where: Sequence[str]) -> None:
    """Refuse a ``product_of`` that names an unknown task, a non-binary task, itself, another
    product task, or fewer than two distinct tasks; ``where[k]`` locates task k in error messages."""
    by_name = {t.name: t for t in tasks}
    for task, at in zip(tasks, where, strict=True):
        parents = task.product_of
        if not parents:
            continue
        if task.type != "binary":
            raise MtlsearchError(
                f"product task {task.name!r} is {task.type}; a product of probabilities is binary",
                where=at,
                fix="declare it type: binary",
            )
        if task.sample_space is not None:
            raise MtlsearchError(
                f"product task {task.name!r} also has a sample space; it is observed on all impressions",
                where=at,
                fix="remove mask/sample_space from the product task (its parents keep theirs)",
            )
        if len(set(parents)) < 2 or len(set(parents)) != len(parents):
            raise MtlsearchError(
                f"product_of {list(parents)} must name two or more different tasks",
                where=at,
                fix="e.g. product_of: [ctr, cvr]",
            )
        for parent in parents:
            if parent == task.name:
                raise MtlsearchError(
                    f"product task {task.name!r} names itself", where=at, fix="name its parent tasks only"
                )
            if parent not in by_name:
                raise MtlsearchError(
                    f"product_of names unknown task {parent!r}",
                    where=at,
                    fix=f"use tasks of the same data set ({', '.join(by_name)})",
                )
            if by_name[parent].type != "binary":
                raise MtlsearchError(
                    f"product_of names {parent!r}, a {by_name[parent].type} task; only binary tasks multiply",
                    where=at,
                    fix="name binary tasks (probabilities)",
                )
            if by_name[parent].product_of:
                raise MtlsearchError(
                    f"product_of names {parent!r}, itself a product task",
                    where=at,
                    fix=f"name its parents ({', '.join(by_name[parent].product_of)}) instead",
                )


@dataclass(frozen=True)
class MultiValuedSpec:
    """A multi-valued input: ``max_len`` slots of codes (``PAD`` = -1 where empty), pooled per row."""

    name: str
    vocab_size: int  # rows of its table, code 0 (unknown) included (the shared table's, if shared)
    max_len: int
    pooling: str = "mean"  # "mean" or "sum" over the non-padding values; an empty row pools to zeros
    embedding_dim: int = 0  # 0: the model's embedding_dim
    share_embedding: str = ""  # "": its own table; else the categorical column whose table it uses


@dataclass(frozen=True)
class FeatureSpec:
    """Input schema, pure data: models build their own embedding tables from it.

    The categorical input of a model is ``(B, C + sum(max_len))``: one code per categorical
    column, then each multi-valued column's slots, in that order.
    """

    categorical: tuple[str, ...] = ()
    vocab_sizes: tuple[int, ...] = ()  # per categorical feature, code 0 (unknown) included
    numeric: tuple[str, ...] = ()
    embedding_dims: tuple[int, ...] = ()  # per categorical feature; () or 0: the model's embedding_dim
    share_embedding: tuple[str, ...] = ()  # per categorical feature; () or "": its own table
    multi_valued: tuple[MultiValuedSpec, ...] = ()

    def __post_init__(self) -> None:
        for name in ("vocab_sizes", "embedding_dims", "share_embedding"):
            values = getattr(self, name)
            if values and len(values) != len(self.categorical):
                raise ValueError(f"FeatureSpec.{name} needs one entry per categorical column")

    @property
    def n_categorical(self) -> int:
        return len(self.categorical)

    @property
    def n_numeric(self) -> int:
        return len(self.numeric)

    @property
    def width(self) -> int:
        """Columns of the categorical input: the categorical codes plus the multi-valued slots."""
        return self.n_categorical + sum(m.max_len for m in self.multi_valued)

    @classmethod
    def from_encoder(cls, encoder: FeatureEncoder) -> FeatureSpec:
        single = [(j, c) for j, c in enumerate(encoder.columns) if not c.multi_valued]
        owner_dims = {c.name: c.embedding_dim for c in encoder.columns}
        return cls(
            categorical=tuple(c.name for _, c in single),
            vocab_sizes=tuple(encoder.vocab_size(j) for j, _ in single),
            numeric=encoder.numeric,
            embedding_dims=tuple(owner_dims[c.table] for _, c in single),
            share_embedding=tuple(c.share_embedding for _, c in single),
            multi_valued=tuple(
                MultiValuedSpec(
                    c.name, encoder.vocab_size(j), c.max_len, c.pooling, owner_dims[c.table], c.share_embedding
                )
                for j, c in enumerate(encoder.columns)
                if c.multi_valued
            ),
        )


class Batch(NamedTuple):
    """One batch: slices of a split's tensors. A named tuple, so Lightning moves it to a device."""

    categorical: torch.Tensor  # (B, C + slots) integer codes (int8..int64), PAD = -1 in empty slots
    numeric: torch.Tensor  # (B, F) float32
    labels: torch.Tensor  # (B, T) float32
    masks: torch.Tensor  # (B, T) bool


@dataclass(frozen=True)
class Split:
    """Rows of one split as tensors; all four share the first dimension N."""

    categorical: torch.Tensor  # (N, C + slots) codes in the smallest integer type that holds them
    numeric: torch.Tensor  # (N, F) float32, standardised
    labels: torch.Tensor  # (N, T) float32, 0 outside a task's sample space
    masks: torch.Tensor  # (N, T) bool, the tasks' sample spaces

    def __len__(self) -> int:
        return self.labels.shape[0]

    def take(self, index: torch.Tensor | slice) -> Split:
        return Split(self.categorical[index], self.numeric[index], self.labels[index], self.masks[index])

    def batch(self) -> Batch:
        return Batch(self.categorical, self.numeric, self.labels, self.masks)


@dataclass(frozen=True)
class MultiTaskData:
    """A prepared data set: schema, tasks, three splits and what serving needs to encode raw rows."""

    name: str
    features: FeatureSpec
    tasks: tuple[TaskSpec, ...]
    train: Split
    validation: Split
    test: Split
    numeric_mean: torch.Tensor = field(default_factory=lambda: torch.zeros(0))  # (F,) train statistics
    numeric_std: torch.Tensor = field(default_factory=lambda: torch.ones(0))  # (F,)
    vocabularies: tuple[tuple[str, ...], ...] = ()  # per categorical feature, in code order from 1
    log1p: tuple[str, ...] = ()  # numeric features log1p-transformed before standardising
    encoder: FeatureEncoder | None = None  # how raw rows were encoded (tables: always; generators: None)
    # (categorical feature, numeric column): features that are a numeric column's value as text
    # (value_as_text), which serving derives from the raw column when a frame lacks them
    value_features: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        check_products(self.tasks, [f"data set {self.name!r}: task {t.name!r}" for t in self.tasks])
        for split_name in ("train", "validation", "test"):
            split = getattr(self, split_name)
            if len(split) == 0:
                raise MtlsearchError(
                    f"the {split_name} split is empty",
                    where=f"data set {self.name!r}",
                    fix="provide more rows or change the split fractions",
                )
            empty = [t.name for t, n in zip(self.tasks, split.masks.sum(0).tolist()) if n == 0]
            if empty:
                raise MtlsearchError(
                    f"task {empty[0]!r} has an empty sample space in the {split_name} split",
                    where=f"data set {self.name!r}",
                    fix="check the task's mask column or sample_space",
                )

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    @property
    def products(self) -> dict[int, tuple[int, ...]]:
        """Funnel tasks: ``{task index: parent task indices}`` (the network's ``products``)."""
        index = {name: k for k, name in enumerate(self.task_names)}
        return {k: tuple(index[p] for p in t.product_of) for k, t in enumerate(self.tasks) if t.product_of}

    def select_tasks(self, names: Sequence[str]) -> MultiTaskData:
        """The same data restricted to ``names`` (in that order); itself when nothing changes.

        A product task selected without all its parents becomes a plain binary task on the same
        labels (all impressions): trained alone, CTCVR is predicted directly, which is the
        single-task baseline of an ESMM product task.
        """
        if tuple(names) == self.task_names:
            return self
        index = []
        for name in names:
            if name not in self.task_names:
                raise MtlsearchError(
                    f"unknown task {name!r}",
                    where=f"data set {self.name!r}",
                    fix=f"use one of {', '.join(self.task_names)}",
                )
            index.append(self.task_names.index(name))
        cols = torch.tensor(index)

        def pick(split: Split) -> Split:
            return Split(split.categorical, split.numeric, split.labels[:, cols], split.masks[:, cols])

        tasks = tuple(self.tasks[i] for i in index)
        kept = {t.name for t in tasks}
        tasks = tuple(t if set(t.product_of) <= kept else TaskSpec(t.name, t.type, t.sample_space) for t in tasks)
        return MultiTaskData(
            name=self.name,
            features=self.features,
            tasks=tasks,
            train=pick(self.train),
            validation=pick(self.validation),
            test=pick(self.test),
            numeric_mean=self.numeric_mean,
            numeric_std=self.numeric_std,
            vocabularies=self.vocabularies,
            log1p=self.log1p,
            encoder=self.encoder,
            value_features=self.value_features,
        )

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the splits as ``.npy`` files (one per tensor) plus the schema, for :meth:`load`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for split_name in ("train", "validation", "test"):
            for key, tensor in zip(Split.__dataclass_fields__, getattr(self, split_name).batch()):
                np.save(folder / f"{split_name}.{key}.npy", tensor.numpy())
        meta = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("train", "validation", "test")}
        with open(folder / "data.pkl", "wb") as file:
            pickle.dump(meta, file)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, mmap: bool = True) -> MultiTaskData:
        """The data :meth:`save` wrote. With ``mmap`` the tensors are copy-on-write memory maps of
        the files: processes that load the same folder share one copy in the page cache."""
        folder = Path(folder)
        with open(folder / "data.pkl", "rb") as file:
            meta = pickle.load(file)
        splits = {}
        for split_name in ("train", "validation", "test"):
            arrays = [
                np.load(folder / f"{split_name}.{key}.npy", mmap_mode="c" if mmap else None)
                for key in Split.__dataclass_fields__
            ]
            splits[split_name] = Split(*(torch.from_numpy(a) for a in arrays))
        return cls(**meta, **splits)


class BatchLoader:
    """Iterates a split in batches that are slices of (once per epoch) permuted tensors.

    Shuffling draws from its own seeded generator, so the order is the same for the same seed
    and advances epoch by epoch. Lightning accepts any iterable with ``__len__`` as a loader.
    """

    def __init__(self, split: Split, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> None:
        self.split = split
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.split) // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        split, n = self.split, len(self.split)
        # Shuffled batches gather their rows: a permuted copy of the whole split per epoch
        # would double the memory of a large table.
        order = torch.randperm(n, generator=self._generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            rows = slice(start, start + self.batch_size) if order is None else order[start : start + self.batch_size]
            yield split.take(rows).batch()


@dataclass(frozen=True)
class TaskColumns:
    """How a task is read from a table: its label column and optional sample space."""

    spec: TaskSpec
    label: str
    mask: str | None = None  # a 0/1 column that marks the task's sample space
    positive_of: str | None = None  # or: the name of another binary task whose positives form it


FILE_COLUMNS = "mtlsearch.file_columns"  # frame.attrs key: every column of the file it was read from


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    """One error naming the first of ``columns`` that ``frame`` lacks, with the file's columns
    (``frame.attrs[FILE_COLUMNS]`` when only some were read) and the closest name among them."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise column_not_found(missing[0], frame.attrs.get(FILE_COLUMNS, frame.columns), source)


def _parents_first(tasks: Sequence[TaskColumns], by_name: dict[str, int], source: str) -> list[int]:
    """Task indices ordered so that a task whose space is another's positives follows that task."""
    order: list[int] = []
    visiting: set[int] = set()

    def visit(i: int) -> None:
        if i in order:
            return
        if i in visiting:
            raise MtlsearchError(
                f"sample_space of task {tasks[i].spec.name!r} refers back to itself",
                where=source,
                fix="make sample spaces a chain without cycles",
            )
        visiting.add(i)
        parent = by_name.get(tasks[i].positive_of or "")
        if parent is not None:
            visit(parent)
        order.append(i)

    for i in range(len(tasks)):
        visit(i)
    return order


def _task_arrays(frame: pd.DataFrame, tasks: Sequence[TaskColumns], source: str) -> tuple[np.ndarray, np.ndarray]:
    labels = np.zeros((len(frame), len(tasks)), dtype=np.float32)
    masks = np.zeros((len(frame), len(tasks)), dtype=bool)
    by_name = {t.spec.name: i for i, t in enumerate(tasks)}
    for i in _parents_first(tasks, by_name, source):
        task = tasks[i]
        where = f"{source}: task {task.spec.name!r}"
        mask = np.ones(len(frame), dtype=bool)
        if task.mask is not None:
            raw = pd.to_numeric(frame[task.mask], errors="coerce").to_numpy()
            if np.isnan(raw).any() or not np.isin(raw, (0, 1)).all():
                raise MtlsearchError(
                    f"mask column {task.mask!r} must hold only 0 and 1",
                    where=where,
                    fix="encode the sample space as 0/1 with no missing values",
                )
            mask = raw == 1
        if task.positive_of is not None:
            parent = by_name.get(task.positive_of)
            if parent is None or tasks[parent].spec.type != "binary":
                raise MtlsearchError(
                    f"sample space refers to {task.positive_of!r}, which is not a binary task here",
                    where=where,
                    fix="name a binary task of the same data set",
                )
            mask &= masks[:, parent] & (labels[:, parent] == 1)
        values = pd.to_numeric(frame[task.label], errors="coerce").to_numpy(dtype=np.float64)
        inside = values[mask]
        bad = ~np.isfinite(inside)
        if bad.any():
            raise MtlsearchError(
                f"label column {task.label!r} has {int(bad.sum())} missing or non-numeric value(s)",
                where=where,
                fix="fill or drop those rows, or mark them outside the task's sample space",
            )
        with np.errstate(over="ignore"):
            inside = inside.astype(np.float32)  # labels are float32 tensors: check after the cast
        bad = ~np.isfinite(inside)
        if bad.any():
            raise MtlsearchError(
                f"label column {task.label!r} has {int(bad.sum())} value(s) beyond float32's range "
                f"(e.g. {values[mask][bad][0]!r})",
                where=where,
                fix="rescale the label (e.g. to other units or its log), or drop those rows",
            )
        if task.spec.type == "binary" and not np.isin(inside, (0.0, 1.0)).all():
            odd = float(inside[~np.isin(inside, (0.0, 1.0))][0])
            raise MtlsearchError(
                f"binary label column {task.label!r} holds {odd!r}; labels must be 0 or 1",
                where=where,
                fix="map the column to 0/1, or declare the task as regression",
            )
        labels[mask, i] = inside
        masks[:, i] = mask
    return labels, masks


def _columns(categorical: Sequence[str | CategoricalColumn], multi_valued: Sequence[CategoricalColumn]) -> tuple:
    single = tuple(c if isinstance(c, CategoricalColumn) else CategoricalColumn(c) for c in categorical)
    return (*single, *multi_valued)


def _split_tensors(features: EncodedFeatures, labels: np.ndarray, masks: np.ndarray) -> Split:
    return Split(
        torch.from_numpy(features.categorical),
        torch.from_numpy(features.numeric),
        torch.from_numpy(labels),
        torch.from_numpy(masks),
    )


def _data(
    name: str, encoder: FeatureEncoder, tasks: Sequence[TaskColumns], splits: Mapping[str, Split]
) -> MultiTaskData:
    return MultiTaskData(
        name=name,
        features=FeatureSpec.from_encoder(encoder),
        tasks=tuple(t.spec for t in tasks),
        train=splits["train"],
        validation=splits["validation"],
        test=splits["test"],
        numeric_mean=torch.tensor(encoder.numeric_mean, dtype=torch.float32),
        numeric_std=torch.tensor(encoder.numeric_std, dtype=torch.float32),
        vocabularies=tuple(v for v, c in zip(encoder.vocabularies, encoder.columns) if not c.multi_valued),
        log1p=encoder.log1p,
        encoder=encoder,
    )


def value_as_text(column: pd.Series) -> pd.Series:
    """A numeric column's values as category text, ``"73.0"`` for 73 or 73.0: the text of the
    float64 value, so integer and float inputs name the same category (Census ``*_value`` features)."""
    return pd.to_numeric(column, errors="coerce").astype(np.float64).astype(str)


def categorical_codes(frame: pd.DataFrame, columns: Sequence[str], vocabularies: Sequence[Sequence[str]]) -> np.ndarray:
    """Codes ``(N, C)`` int64 of ``frame``'s single-valued categorical ``columns``: 1 + the
    canonical key's index in its vocabulary, 0 (OOV) for keys the vocabulary lacks. The same keys
    as :func:`~mtlsearch.data.encode_features`, which is the full encoding (hashing, multi-valued
    columns) and what training and serving call when a data set has an encoder."""
    codes = np.zeros((len(frame), len(columns)), dtype=np.int64)
    for j, column in enumerate(columns):
        row_keys, keys = canonical_keys(frame[column])
        codes[:, j] = (pd.Index(vocabularies[j], dtype=object).get_indexer(keys) + 1)[row_keys]
    return codes


def numeric_values(frame: pd.DataFrame, columns: Sequence[str], source: str) -> np.ndarray:
    """Raw values ``(N, F)`` float64 of ``frame``'s numeric ``columns`` (any integer or float
    dtype, or numbers written as text); raises :class:`MtlsearchError` naming ``source`` and the
    column for a NaN or non-numeric value. Shared by training and serving."""
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(values).all():
            raise MtlsearchError(
                f"numeric column {column!r} has {int((~np.isfinite(values)).sum())} NaN or non-numeric value(s)",
                where=source,
                fix="fill or drop those rows, or declare the column categorical",
            )
        out[:, j] = values
    return out


def from_frames(
    name: str,
    frames: Mapping[str, pd.DataFrame],
    *,
    categorical: Sequence[str | CategoricalColumn],
    numeric: Sequence[str],
    tasks: Sequence[TaskColumns],
    source: str,
    log1p: Sequence[str] = (),
    multi_valued: Sequence[CategoricalColumn] = (),
    split_sources: Mapping[str, str] | None = None,
) -> MultiTaskData:
    """Encode ``frames`` (keys ``train``, ``validation``, ``test``) into tensors.

    ``split_sources`` names each split's own file where the splits come from separate files,
    so that a warning about a held-out split names that file rather than ``source``.

    Vocabularies and numeric statistics come from train only. ``categorical`` holds column
    names or :class:`CategoricalColumn` options; ``multi_valued`` the multi-valued columns.
    Columns named in ``log1p`` (non-negative, heavy-tailed) are transformed with ``log1p``
    before standardising. Raises :class:`MtlsearchError` naming ``source`` and the column for any
    bad value; warns (:class:`UnseenCategoriesWarning`) when most of a held-out column is OOV.
    """
    columns = _columns(categorical, multi_valued)
    label_columns = [t.label for t in tasks] + [t.mask for t in tasks if t.mask]
    for split_name, frame in frames.items():
        _check_columns(frame, [*(c.name for c in columns), *numeric, *label_columns], f"{source} ({split_name})")
        if len(frame) == 0:
            raise MtlsearchError(f"the {split_name} split is empty", where=source, fix="provide rows for it")
    encoder, train = fit_encoder(frames["train"], columns, numeric, log1p, source=f"{source} (train)")
    splits = {"train": _split_tensors(train, *_task_arrays(frames["train"], tasks, f"{source} (train)"))}
    for split_name in ("validation", "test"):
        where = f"{source} ({split_name})"
        encoded = encode_features(frames[split_name], encoder, source=where, standardise=True)
        own_file = (split_sources or {}).get(split_name, source)
        warn_unseen(encoder, encoded.categorical, f"{own_file} ({split_name})")
        splits[split_name] = _split_tensors(encoded, *_task_arrays(frames[split_name], tasks, where))
    return _data(name, encoder, tasks, splits)


def from_table(
    name: str,
    frame: pd.DataFrame,
    rows: Mapping[str, np.ndarray],
    *,
    categorical: Sequence[str | CategoricalColumn],
    numeric: Sequence[str],
    tasks: Sequence[TaskColumns],
    source: str,
    log1p: Sequence[str] = (),
    multi_valued: Sequence[CategoricalColumn] = (),
    consume: bool = False,
) -> MultiTaskData:
    """Like :func:`from_frames` for one table split by row indices ``rows`` (keys ``train``,
    ``validation``, ``test``): the table is encoded once, then each split takes its rows of the
    compact encoded arrays (never a copy of the raw table per split). With ``consume``, feature
    columns are deleted from ``frame`` as they are encoded (the caller no longer needs them)."""
    columns = _columns(categorical, multi_valued)
    label_columns = [t.label for t in tasks] + [t.mask for t in tasks if t.mask]
    _check_columns(frame, [*(c.name for c in columns), *numeric, *label_columns], source)
    for split_name, index in rows.items():
        if len(index) == 0:
            raise MtlsearchError(f"the {split_name} split is empty", where=source, fix="provide rows for it")
    encoder, encoded = fit_encoder(
        frame, columns, numeric, log1p, train_rows=rows["train"], source=source, consume=consume
    )
    labels, masks = _task_arrays(frame, tasks, source)
    # Put the rows in split order, one column at a time (one column of temporary memory), so
    # that each split is a slice -- a view -- of the encoded arrays.
    order = np.concatenate([rows["train"], rows["validation"], rows["test"]])
    if len(order) != len(frame) or (order != np.arange(len(order))).any():
        for array in (encoded.categorical, encoded.numeric, labels, masks):
            for j in range(array.shape[1]):
                array[: len(order), j] = array[order, j]
    splits, start = {}, 0
    for split_name in ("train", "validation", "test"):
        part = slice(start, start + len(rows[split_name]))
        start = part.stop
        if split_name != "train":
            warn_unseen(encoder, encoded.categorical[part], f"{source} ({split_name})")
        features = EncodedFeatures(encoded.categorical[part], encoded.numeric[part])
        splits[split_name] = _split_tensors(features, labels[part], masks[part])
    return _data(name, encoder, tasks, splits)
