"""Reading a run folder back: the schema that encodes raw rows, and :func:`load`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtlsearch.data import (
    FeatureEncoder,
    MultiTaskData,
    categorical_codes,
    encode_features,
    numeric_values,
    value_as_text,
)
from mtlsearch.errors import MtlsearchError, column_not_found
from mtlsearch.serving._formats import FORMATS, Predictor, load_artifact, onnx_missing

__all__ = ["SCHEMA_FILE", "Scorer", "ServingSchema", "load"]

SCHEMA_FILE = "vocabularies.json"


@dataclass(frozen=True)
class ServingSchema:
    """What encoding a raw row needs: column names, vocabularies (code = 1 + index, 0 = OOV), tasks."""

    categorical: tuple[str, ...]
    vocabularies: tuple[tuple[str, ...], ...]
    numeric: tuple[str, ...]
    tasks: tuple[tuple[str, str], ...]  # (name, "binary" | "regression")
    value_features: tuple[tuple[str, str], ...] = ()  # (categorical, numeric column): derived if absent
    # the training encoder (hashing, min_count, multi-valued columns); None for generated data
    encoder: FeatureEncoder | None = None

    @classmethod
    def from_data(cls, data: MultiTaskData) -> ServingSchema:
        return cls(
            categorical=tuple(data.features.categorical),
            vocabularies=tuple(tuple(v) for v in data.vocabularies),
            numeric=tuple(data.features.numeric),
            tasks=tuple((t.name, t.type) for t in data.tasks),
            value_features=tuple(data.value_features),
            encoder=data.encoder,
        )

    def to_json(self) -> dict[str, Any]:
        encoder = {"encoder": self.encoder.to_dict()} if self.encoder is not None else {}
        return {
            **encoder,
            "categorical": dict(zip(self.categorical, map(list, self.vocabularies))),
            "numeric": list(self.numeric),
            "tasks": [{"name": n, "type": t} for n, t in self.tasks],
            "value_features": dict(self.value_features),
            "note": "categorical code of a value = 1 + its index in the list; 0 for unseen values",
        }

    @classmethod
    def read(cls, path: str | Path) -> ServingSchema:
        try:
            raw = json.loads(Path(path).read_text())
            return cls(
                categorical=tuple(raw["categorical"]),
                vocabularies=tuple(tuple(v) for v in raw["categorical"].values()),
                numeric=tuple(raw["numeric"]),
                tasks=tuple((t["name"], t["type"]) for t in raw["tasks"]),
                value_features=tuple(raw.get("value_features", {}).items()),
                encoder=FeatureEncoder.from_dict(raw["encoder"]) if "encoder" in raw else None,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise MtlsearchError(
                f"cannot read the model's schema ({type(error).__name__}: {error})",
                where=str(path),
                fix="point --model to a folder written by mtlsearch train",
            ) from None

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns a frame must hold: categorical (but derived ones), then numeric."""
        derived = dict(self.value_features)
        categorical = [c.name for c in self.encoder.columns] if self.encoder is not None else self.categorical
        return (*(c for c in categorical if c not in derived), *self.numeric)

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.tasks)

    def check_columns(self, columns: Sequence[str], source: str) -> None:
        """One error naming the first input column that ``columns`` lacks."""
        present = set(columns)
        missing = [c for c in self.columns if c not in present]
        if missing:
            more = f" ({len(missing) - 1} more missing)" if len(missing) > 1 else ""
            raise column_not_found(
                missing[0],
                columns,
                source,
                fix=f"give the columns the model was trained on{more}: {', '.join(self.columns)}",
            )

    def encode(self, frame: pd.DataFrame, source: str = "DataFrame") -> tuple[np.ndarray, np.ndarray]:
        """The network's inputs from raw rows, built in this one place: ``(codes (N, C) int64,
        values (N, F) float32)``. Categorical values go through the training encoder
        (:func:`mtlsearch.data.categorical_codes`: unseen -> OOV 0); numeric columns of any integer
        or floating dtype (or numbers as text) through :func:`mtlsearch.data.numeric_values`, which
        refuses NaN and non-numbers naming the column, as training does."""
        self.check_columns(list(frame.columns), source)
        derived = {c: value_as_text(frame[n]) for c, n in self.value_features if c not in frame.columns}
        if derived:
            frame = frame.assign(**derived)
        if self.encoder is not None:  # the one encoding training used
            encoded = encode_features(frame, self.encoder, source=source)
            return encoded.categorical.astype(np.int64), encoded.numeric
        codes = categorical_codes(frame, self.categorical, self.vocabularies)
        values = numeric_values(frame, self.numeric, source).astype(np.float32)
        return codes, values


class Scorer:
    """A trained model ready to score DataFrames: ``scorer(frame)`` -> one column of scores per task.

    >>> scorer = mtlsearch.serving.load("runs/best")  # doctest: +SKIP
    >>> scorer(pd.read_parquet("today.parquet"))  # doctest: +SKIP
            ctr       cvr
    0  0.031250  0.102331
    """

    def __init__(self, schema: ServingSchema, predictor: Predictor, fmt: str, directory: Path) -> None:
        self.schema = schema
        self.predictor = predictor
        self.format = fmt  # the artifact in use: pt2, onnx or torchscript
        self.directory = directory

    def __repr__(self) -> str:
        return f"Scorer({str(self.directory)!r}, format={self.format!r}, tasks={list(self.schema.task_names)})"

    def encode(self, frame: pd.DataFrame, source: str = "DataFrame") -> tuple[np.ndarray, np.ndarray]:
        return self.schema.encode(frame, source)

    def score_arrays(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Scores ``(N, T)`` float32 of encoded rows."""
        if len(codes) == 0:
            return np.zeros((0, len(self.schema.tasks)), dtype=np.float32)
        return np.asarray(self.predictor(np.ascontiguousarray(codes), np.ascontiguousarray(values)))

    def __call__(self, frame: pd.DataFrame, *, source: str = "DataFrame") -> pd.DataFrame:
        """Per-task scores of ``frame`` (raw values in the training schema), indexed like ``frame``:
        probabilities for binary tasks, predictions for regression tasks. Unseen categories score
        through OOV; a missing column or a non-numeric value raises :class:`MtlsearchError`."""
        if not isinstance(frame, pd.DataFrame):
            raise MtlsearchError(
                f"expected a pandas DataFrame, got {type(frame).__name__}",
                where=source,
                fix="pass pd.DataFrame(rows) with the training column names",
            )
        scores = self.score_arrays(*self.encode(frame, source))
        return pd.DataFrame(scores, columns=list(self.schema.task_names), index=frame.index)


def load(directory: str | Path, *, format: str | None = None, threads: int | None = None) -> Scorer:
    """The model in ``directory`` (written by ``mtlsearch train``) as a :class:`Scorer`.

    Uses ``format`` if given, else the first artifact present of ``model.pt2``, ``model.onnx``
    (when onnxruntime is installed) and ``model.pt``. Raises :class:`MtlsearchError` when the
    folder holds no model.

    >>> import mtlsearch.serving
    >>> scores = mtlsearch.serving.load("runs/best")(frame)  # doctest: +SKIP
    """
    folder = Path(directory)
    if not (folder / SCHEMA_FILE).is_file():
        raise MtlsearchError(
            f"no {SCHEMA_FILE} in {folder}",
            where=str(folder),
            fix="point to a folder written by mtlsearch train",
        )
    schema = ServingSchema.read(folder / SCHEMA_FILE)
    if format is not None:
        if format not in FORMATS:
            raise MtlsearchError(f"unknown format {format!r}", where="format", fix=f"use one of {', '.join(FORMATS)}")
        candidates = [format]
    else:
        candidates = [n for n in FORMATS if n != "onnx" or onnx_missing() is None]
    for name in candidates:
        path = folder / FORMATS[name].file
        if path.is_file():
            return Scorer(schema, load_artifact(name, path, threads=threads), name, folder)
    wanted = ", ".join(FORMATS[n].file for n in candidates)
    raise MtlsearchError(
        f"no model file ({wanted}) in {folder}", where=str(folder), fix="run mtlsearch train --out on this folder"
    )
