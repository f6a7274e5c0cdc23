"""The one data abstraction: features and labels as tensors, split into train/validation/test.

Every data set (synthetic, Census-Income, a user's CSV) ends as a :class:`MultiTaskData`.
Categorical features are integer codes (vocabulary fit on train, index 0 reserved for
values unseen in train), numeric features are standardised with train statistics, and
each task has a label column plus a boolean mask: its *sample space* (PLE section 4.3).
A batch is one slice of these tensors: no per-sample ``__getitem__`` and no collate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from mtlsearch.errors import MtlsearchError

__all__ = [
    "TASK_TYPES",
    "Batch",
    "BatchLoader",
    "FeatureSpec",
    "MultiTaskData",
    "Split",
    "TaskColumns",
    "TaskSpec",
    "categorical_codes",
    "check_products",
    "from_frames",
    "numeric_values",
    "value_as_text",
]

TASK_TYPES = ("binary", "regression")
UNKNOWN = 0  # the categorical code of values never seen in train


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
class FeatureSpec:
    """Input schema, pure data: models build their own embedding tables from it."""

    categorical: tuple[str, ...] = ()
    vocab_sizes: tuple[int, ...] = ()  # per categorical feature, code 0 (unknown) included
    numeric: tuple[str, ...] = ()

    @property
    def n_categorical(self) -> int:
        return len(self.categorical)

    @property
    def n_numeric(self) -> int:
        return len(self.numeric)


class Batch(NamedTuple):
    """One batch: slices of a split's tensors. A named tuple, so Lightning moves it to a device."""

    categorical: torch.Tensor  # (B, C) int64
    numeric: torch.Tensor  # (B, F) float32
    labels: torch.Tensor  # (B, T) float32
    masks: torch.Tensor  # (B, T) bool


@dataclass(frozen=True)
class Split:
    """Rows of one split as tensors; all four share the first dimension N."""

    categorical: torch.Tensor  # (N, C) int64 codes
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
        """The same data restricted to ``names`` (in that order).

        A product task selected without all its parents becomes a plain binary task on the same
        labels (all impressions): trained alone, CTCVR is predicted directly, which is the
        single-task baseline of an ESMM product task.
        """
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
            value_features=self.value_features,
        )


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
        split = self.split
        if self.shuffle:
            split = split.take(torch.randperm(len(split), generator=self._generator))
        for start in range(0, len(split), self.batch_size):
            yield split.take(slice(start, start + self.batch_size)).batch()


@dataclass(frozen=True)
class TaskColumns:
    """How a task is read from a table: its label column and optional sample space."""

    spec: TaskSpec
    label: str
    mask: str | None = None  # a 0/1 column that marks the task's sample space
    positive_of: str | None = None  # or: the name of another binary task whose positives form it


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MtlsearchError(
            f"column {missing[0]!r} not found",
            where=source,
            fix=f"name one of the file's columns ({', '.join(map(str, list(frame.columns)[:12]))}...)",
        )


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


def _as_text(column: pd.Series) -> pd.Series:
    """A categorical column as strings, missing values as the empty string."""
    if column.dtype == object and not column.isna().any():
        return column
    return column.astype("string").fillna("").astype(object)


def value_as_text(column: pd.Series) -> pd.Series:
    """A numeric column's values as category text, ``"73.0"`` for 73 or 73.0: the text of the
    float64 value, so integer and float inputs name the same category (Census ``*_value`` features)."""
    return pd.to_numeric(column, errors="coerce").astype(np.float64).astype(str)


def categorical_codes(frame: pd.DataFrame, columns: Sequence[str], vocabularies: Sequence[Sequence[str]]) -> np.ndarray:
    """Codes ``(N, C)`` int64 of ``frame``'s categorical ``columns``: 1 + the value's index in its
    vocabulary, ``UNKNOWN`` (0, the OOV index) for values the vocabulary lacks.

    The one encoding of categorical values: training (``from_frames``) and serving
    (``mtlsearch.serving``) both call it, so the two cannot drift apart.
    """
    codes = np.zeros((len(frame), len(columns)), dtype=np.int64)
    for j, column in enumerate(columns):
        # get_indexer gives -1 for values unseen in train: shift so that 0 is the reserved unknown index.
        codes[:, j] = pd.Index(vocabularies[j]).get_indexer(_as_text(frame[column])) + 1
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
    categorical: Sequence[str],
    numeric: Sequence[str],
    tasks: Sequence[TaskColumns],
    source: str,
    log1p: Sequence[str] = (),
) -> MultiTaskData:
    """Encode ``frames`` (keys ``train``, ``validation``, ``test``) into tensors.

    Vocabularies and numeric statistics come from train only. Columns named in ``log1p``
    (non-negative, heavy-tailed) are transformed with ``log1p`` before standardising.
    Raises :class:`MtlsearchError` naming ``source`` and the column for any bad value.
    """
    label_columns = [t.label for t in tasks] + [t.mask for t in tasks if t.mask]
    for split_name, frame in frames.items():
        _check_columns(frame, [*categorical, *numeric, *label_columns], f"{source} ({split_name})")
        if len(frame) == 0:
            raise MtlsearchError(f"the {split_name} split is empty", where=source, fix="provide rows for it")
    train = frames["train"]

    vocabularies = []
    for column in categorical:
        vocabularies.append(tuple(sorted(_as_text(train[column]).unique().tolist())))

    def numeric_array(frame: pd.DataFrame, split_name: str) -> np.ndarray:
        out = numeric_values(frame, numeric, f"{source} ({split_name})")
        for j, column in enumerate(numeric):
            values = out[:, j]
            if column in log1p:
                if (values < 0).any():
                    raise MtlsearchError(
                        f"log1p column {column!r} has negative values",
                        where=f"{source} ({split_name})",
                        fix=f"remove {column!r} from log1p",
                    )
                values = np.log1p(values)
            out[:, j] = values
        return out

    train_numeric = numeric_array(train, "train")
    mean = train_numeric.mean(axis=0)
    std = train_numeric.std(axis=0)
    # A constant column can get a std of 1e-16 from the rounding of its mean: compare the values.
    std[(train_numeric == train_numeric[:1]).all(axis=0)] = 1.0

    def encode(frame: pd.DataFrame, split_name: str, numeric_raw: np.ndarray | None = None) -> Split:
        codes = categorical_codes(frame, categorical, vocabularies)
        if numeric_raw is None:
            numeric_raw = numeric_array(frame, split_name)
        values = (numeric_raw - mean) / std if numeric else np.zeros((len(frame), 0))
        labels, masks = _task_arrays(frame, tasks, f"{source} ({split_name})")
        return Split(
            torch.from_numpy(codes),
            torch.from_numpy(values.astype(np.float32)),
            torch.from_numpy(labels),
            torch.from_numpy(masks),
        )

    return MultiTaskData(
        name=name,
        features=FeatureSpec(
            categorical=tuple(categorical),
            vocab_sizes=tuple(len(v) + 1 for v in vocabularies),
            numeric=tuple(numeric),
        ),
        tasks=tuple(t.spec for t in tasks),
        train=encode(train, "train", train_numeric),
        validation=encode(frames["validation"], "validation"),
        test=encode(frames["test"], "test"),
        numeric_mean=torch.tensor(mean, dtype=torch.float32),
        numeric_std=torch.tensor(std, dtype=torch.float32),
        vocabularies=tuple(vocabularies),
        log1p=tuple(c for c in numeric if c in log1p),
    )
