"""Raw table -> integer codes and float32 values: the one encoding that training and serving share.

A categorical value becomes a *canonical key* before anything else, so the same ID is the same
category whatever the file's typing: integral numbers are written without a fraction (the
float ``1.0``, the integer ``1`` and the strings ``"1"`` and ``"1.0"`` are all the key ``"1"``),
other values keep their text, and a missing value is the key ``""``. A column then maps keys to
codes in one of two ways:

- a *vocabulary* of the keys seen at least ``min_count`` times in train, in sorted order: code
  ``1 + index``; code 0 is out-of-vocabulary (OOV: unseen in train, or seen too rarely);
- ``hash_buckets`` B: code ``1 + h(key) mod B`` with ``h`` a fixed-key SipHash
  (``pandas.util.hash_array``), the same in every process and release (never Python's salted
  ``hash``); there is no OOV.

A *multi-valued* column (``max_len`` >= 1: a Parquet list column, or text split on a
``separator``) takes ``max_len`` slots: its first ``max_len`` values in order, the rest
padded with :data:`PAD` (-1), which never reaches an embedding. Columns that share an
embedding table (``share_embedding``) share one vocabulary, counted over all of them.

:func:`encode_features` is the only function that turns a ``DataFrame`` into model inputs; the
training loaders and the serving path both call it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from mtlsearch.errors import MtlsearchError, column_not_found

__all__ = [
    "PAD",
    "POOLINGS",
    "CategoricalColumn",
    "EncodedFeatures",
    "FeatureEncoder",
    "UnseenCategoriesWarning",
    "canonical_keys",
    "code_dtype",
    "encode_features",
    "fit_encoder",
    "stable_hash",
]

PAD = -1  # the code of an empty slot of a multi-valued column
UNKNOWN = 0  # the code of an out-of-vocabulary value
POOLINGS = ("mean", "sum")
UNSEEN_WARNING_SHARE = 0.5  # warn when more than this share of a held-out column is OOV
_HASH_KEY = "mtlsearch-hash-1"  # 16 bytes: the SipHash key of hashed columns; changing it changes codes
_INTEGRAL_TEXT = re.compile(r"^([+-]?\d+)\.0*$")
_CHUNK_ROWS = 1_000_000  # multi-valued columns are flattened this many rows at a time


class UnseenCategoriesWarning(UserWarning):
    """Most of a validation or test column is out-of-vocabulary: often a typing mismatch
    between files, or a time split where new IDs dominate."""


@dataclass(frozen=True)
class CategoricalColumn:
    """How one categorical (or multi-valued) column is encoded and embedded; pure data.

    ``max_len`` 0 is a single-valued column; ``max_len`` >= 1 a multi-valued one, read from a
    list column or from text split on ``separator``, pooled per row by ``pooling``.
    A column with ``share_embedding`` uses that column's vocabulary (or hashing) and table.
    """

    name: str
    min_count: int = 1  # keys seen fewer times in train are OOV
    hash_buckets: int = 0  # 0: a vocabulary; B >= 1: hash keys into B buckets
    embedding_dim: int = 0  # 0: the model's embedding_dim
    share_embedding: str = ""  # "": its own table; else the column whose table it uses
    max_len: int = 0  # 0: single-valued; else the number of slots of a multi-valued column
    separator: str = ""  # multi-valued text columns: the separator ("" for a list column)
    pooling: str = "mean"  # multi-valued: "mean" or "sum" over the non-padding values

    @property
    def multi_valued(self) -> bool:
        return self.max_len > 0

    @property
    def table(self) -> str:
        """The column whose vocabulary and embedding table this column uses."""
        return self.share_embedding or self.name


class EncodedFeatures(NamedTuple):
    """Model inputs of N rows.

    ``categorical`` ``(N, C + sum(max_len))``: the single-valued columns' codes, then each
    multi-valued column's ``max_len`` slots (``PAD`` where empty), in the smallest signed integer
    type that holds them. ``numeric`` ``(N, F)`` float32, as in the table (before log1p and
    standardisation).
    """

    categorical: np.ndarray
    numeric: np.ndarray


@dataclass(frozen=True)
class FeatureEncoder:
    """Everything needed to encode raw rows the way the training data was encoded.

    ``columns`` are the single-valued categorical columns then the multi-valued ones;
    ``vocabularies[j]`` is the vocabulary column j uses (its table owner's; empty when hashed).
    Numeric statistics (train, after log1p) standardise values: ``(x - mean) / std``.
    """

    columns: tuple[CategoricalColumn, ...] = ()
    vocabularies: tuple[tuple[str, ...], ...] = ()
    numeric: tuple[str, ...] = ()
    log1p: tuple[str, ...] = ()
    numeric_mean: tuple[float, ...] = ()
    numeric_std: tuple[float, ...] = ()
    _indexes: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def width(self) -> int:
        """Columns of the categorical code matrix: one per single-valued column plus the slots."""
        return sum(c.max_len or 1 for c in self.columns)

    def vocab_size(self, j: int) -> int:
        """Rows of column j's table: code 0 (OOV) included."""
        column = self.owner(self.columns[j])
        return column.hash_buckets + 1 if column.hash_buckets else len(self.vocabularies[j]) + 1

    def owner(self, column: CategoricalColumn) -> CategoricalColumn:
        return next(c for c in self.columns if c.name == column.table)

    def index(self, j: int) -> pd.Index:
        """Column j's vocabulary as an index (built once: serving calls encode per request)."""
        if j not in self._indexes:
            self._indexes[j] = pd.Index(self.vocabularies[j], dtype=object)
        return self._indexes[j]

    @cached_property
    def _log1p_mask(self) -> np.ndarray:
        return np.array([c in self.log1p for c in self.numeric], dtype=bool)

    def standardise(self, numeric: np.ndarray) -> np.ndarray:
        """``(N, F)`` raw float32 values -> log1p where configured, then standardised, in place."""
        for j in np.flatnonzero(self._log1p_mask):
            np.log1p(numeric[:, j], out=numeric[:, j])
        if self.numeric:
            numeric -= np.asarray(self.numeric_mean, dtype=np.float32)
            numeric /= np.asarray(self.numeric_std, dtype=np.float32)
        return numeric

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``vocabularies.json``; :meth:`from_dict` reverses it."""
        return {
            "columns": [asdict(c) for c in self.columns],
            # a sharing column's vocabulary is its owner's: written once
            "vocabularies": [[] if c.share_embedding else list(v) for c, v in zip(self.columns, self.vocabularies)],
            "numeric": list(self.numeric),
            "log1p": list(self.log1p),
            "numeric_mean": list(self.numeric_mean),
            "numeric_std": list(self.numeric_std),
        }

    @classmethod
    def from_dict(cls, content: Mapping[str, Any]) -> FeatureEncoder:
        columns = tuple(CategoricalColumn(**c) for c in content["columns"])
        own = {c.name: tuple(v) for c, v in zip(columns, content["vocabularies"])}
        return cls(
            columns=columns,
            vocabularies=tuple(own[c.table] for c in columns),
            numeric=tuple(content["numeric"]),
            log1p=tuple(content["log1p"]),
            numeric_mean=tuple(content["numeric_mean"]),
            numeric_std=tuple(content["numeric_std"]),
        )


def canonical_keys(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, keys)``: row i holds the canonical key ``keys[codes[i]]``; ``keys`` are distinct.

    Works on the distinct values only (``pandas.factorize``), so a 10M-row column with 1M IDs
    costs one hash pass plus 1M conversions. Missing values get the key ``""``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    raw = np.asarray(uniques)
    if raw.dtype.kind in "iu":
        keys = raw.astype(str).astype(object)
    elif raw.dtype.kind == "f":
        keys = _float_keys(raw)
    elif raw.dtype.kind == "b":
        keys = raw.astype(str).astype(object)
    else:
        keys = np.array([_scalar_key(v) for v in raw.tolist()], dtype=object)
    if (codes < 0).any():
        keys = np.append(keys, "")
        codes = np.where(codes < 0, len(keys) - 1, codes)
    merged, distinct = pd.factorize(keys)  # 1 and "1" in one object column: one key
    if len(distinct) < len(keys):
        codes, keys = merged[codes], np.asarray(distinct, dtype=object)
    return codes.astype(code_dtype(len(keys)), copy=False), keys


def _float_keys(raw: np.ndarray) -> np.ndarray:
    integral = np.isfinite(raw) & (np.floor(raw) == raw) & (np.abs(raw) < 2**62)
    keys = raw.astype(str).astype(object)
    keys[integral] = raw[integral].astype(np.int64).astype(str)
    return keys


def _scalar_key(value: Any) -> str:
    if isinstance(value, str):
        match = _INTEGRAL_TEXT.match(value)
        return match.group(1).lstrip("+") if match else value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _float_keys(np.array([value], dtype=np.float64))[0]
    return str(value)


def stable_hash(keys: np.ndarray, buckets: int) -> np.ndarray:
    """Codes ``1 + h(key) mod buckets`` of canonical keys, identical in every process."""
    hashed = pd.util.hash_array(np.asarray(keys, dtype=object), hash_key=_HASH_KEY, categorize=False)
    return (hashed % np.uint64(buckets)).astype(np.int64) + 1


def code_dtype(max_code: int) -> np.dtype:
    """The smallest signed integer type holding codes ``PAD``..``max_code``."""
    for dtype in (np.int8, np.int16, np.int32):
        if max_code <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


# ---------------------------------------------------------------- reading columns as keys


class _Keys(NamedTuple):
    """One column as canonical keys: per value a key index; for multi-valued columns also
    ``offsets`` (row i's values are ``codes[offsets[i]:offsets[i + 1]]``)."""

    codes: np.ndarray
    keys: np.ndarray
    offsets: np.ndarray | None


def _column_keys(frame: pd.DataFrame, column: CategoricalColumn, where: str) -> _Keys:
    if not column.multi_valued:
        codes, keys = canonical_keys(frame[column.name])
        return _Keys(codes, keys, None)
    lengths, values = _flatten(frame[column.name], column, where)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes, keys = canonical_keys(values) if len(values) else (np.zeros(0, np.int64), np.zeros(0, object))
    return _Keys(codes, keys, offsets)


def _flatten(series: pd.Series, column: CategoricalColumn, where: str) -> tuple[np.ndarray, Any]:
    """Per-row lengths and the flat values of a list column, or of text split on the separator.

    Missing cells and empty text are empty lists; empty tokens (``"a||b"``) are dropped.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_list(series.dtype.pyarrow_dtype):
        array = series.array.__arrow_array__()
    elif column.separator:
        if len(series) and not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
            raise MtlsearchError(
                f"multi-valued column {column.name!r} is typed {series.dtype}, not text",
                where=where,
                fix=f"store it as text separated by {column.separator!r}, or as a list column without separator",
            )
        try:
            text = pa.array(series.astype("string"), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise MtlsearchError(
                f"multi-valued column {column.name!r} is not text ({error})", where=where, fix="check the column"
            ) from None
        array = pc.split_pattern(text, pattern=column.separator)
    else:
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = None
        if array is None or not pa.types.is_list(array.type):
            raise MtlsearchError(
                f"multi-valued column {column.name!r} is not a list column, and its schema entry has no separator",
                where=where,
                fix="give it as lists (a Parquet list column, or Python lists in a DataFrame); to read text such "
                "as 'a|b', the schema entry needs separator: '|' (a trained model keeps the schema it was "
                "trained with: retrain with the separator to score such files)",
            )
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(array), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    values = pc.list_flatten(array)
    if column.separator or pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        keep = pc.and_kleene(pc.is_valid(values), pc.not_equal(values, ""))
        if not pc.all(keep).as_py():
            # drop empty tokens: recompute the lengths from the kept flags
            row_of = np.repeat(np.arange(len(lengths)), lengths)
            kept = keep.to_numpy(zero_copy_only=False)
            lengths = np.bincount(row_of[kept], minlength=len(lengths)).astype(np.int64)
            values = pc.filter(values, keep)
    return lengths, values.to_numpy(zero_copy_only=False)


# ---------------------------------------------------------------- fitting


def fit_encoder(
    frame: pd.DataFrame,
    columns: Sequence[CategoricalColumn],
    numeric: Sequence[str],
    log1p: Sequence[str] = (),
    *,
    train_rows: np.ndarray | None = None,
    source: str = "",
    consume: bool = False,
) -> tuple[FeatureEncoder, EncodedFeatures]:
    """Fit vocabularies and numeric statistics on ``frame``'s train rows, and encode all of ``frame``.

    ``train_rows`` (indices) selects the train rows; None: every row. Returns the encoder and
    the encoded frame (numeric standardised), so a one-file data set is read once. With
    ``consume``, each feature column is deleted from ``frame`` once encoded, so that a large
    table and its encoding never both sit whole in memory.
    Raises :class:`MtlsearchError` (naming ``source`` and the column) for bad values.
    """
    columns = tuple(columns)
    numeric_only = FeatureEncoder(numeric=tuple(numeric), log1p=tuple(c for c in numeric if c in log1p))
    values = _numeric(frame, numeric_only, source, consume=consume)
    mean = np.zeros(values.shape[1])
    std = np.ones(values.shape[1])
    for j in range(values.shape[1]):  # one column at a time: no copy of the train rows
        if numeric_only._log1p_mask[j]:
            if (values[:, j] < 0).any():
                raise MtlsearchError(
                    f"log1p column {numeric_only.numeric[j]!r} has negative values",
                    where=source,
                    fix=f"remove {numeric_only.numeric[j]!r} from log1p",
                )
            np.log1p(values[:, j], out=values[:, j])
        train_values = values[:, j] if train_rows is None else values[train_rows, j]
        mean[j] = train_values.mean(dtype=np.float64)
        std[j] = train_values.std(dtype=np.float64)
        if std[j] == 0 or (train_values == train_values[:1]).all():  # constant: std may round to 1e-16
            std[j] = 1.0
        values[:, j] -= np.float32(mean[j])
        values[:, j] /= np.float32(std[j])
    keys = {}
    for column in columns:
        keys[column.name] = _column_keys(frame, column, source)
        if consume:
            del frame[column.name]
    train_mask = None
    if train_rows is not None:
        train_mask = np.zeros(len(frame), dtype=bool)
        train_mask[train_rows] = True
    vocab_of: dict[str, tuple[str, ...]] = {}
    for owner in (c for c in columns if not c.share_embedding):
        if owner.hash_buckets:
            vocab_of[owner.name] = ()
            continue
        counts: list[pd.Series] = []
        for column in (c for c in columns if c.table == owner.name):
            k = keys[column.name]
            codes = k.codes
            if train_mask is not None:
                codes = codes[_value_mask(train_mask, k.offsets)]
            counts.append(pd.Series(np.bincount(codes, minlength=len(k.keys)), index=k.keys))
        total = counts[0] if len(counts) == 1 else pd.concat(counts).groupby(level=0).sum()
        vocab_of[owner.name] = tuple(sorted(total.index[total.to_numpy() >= owner.min_count].tolist()))
    encoder = FeatureEncoder(
        columns=columns,
        vocabularies=tuple(vocab_of[c.table] for c in columns),
        numeric=tuple(numeric),
        log1p=tuple(c for c in numeric if c in log1p),
    )
    categorical = _codes(encoder, keys, len(frame))
    encoder = FeatureEncoder(
        columns=encoder.columns,
        vocabularies=encoder.vocabularies,
        numeric=encoder.numeric,
        log1p=encoder.log1p,
        numeric_mean=tuple(mean.tolist()),
        numeric_std=tuple(std.tolist()),
    )
    return encoder, EncodedFeatures(categorical, values)


def _value_mask(row_mask: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    """A row mask widened to a multi-valued column's flat values."""
    if offsets is None:
        return row_mask
    return np.repeat(row_mask, np.diff(offsets))


# ---------------------------------------------------------------- encoding


def encode_features(
    frame: pd.DataFrame, encoder: FeatureEncoder, *, source: str = "", standardise: bool = False
) -> EncodedFeatures:
    """Encode raw rows as the model's inputs; the one path for training and serving.

    Categorical values map through the train vocabulary (OOV -> 0) or the stable hash;
    multi-valued columns fill ``max_len`` slots, padded with ``PAD``. Numeric values are cast
    to float32 and checked finite after the cast; with ``standardise`` they are also log1p'd
    and standardised with the train statistics (training), else returned raw (the serving
    model standardises them itself). Raises :class:`MtlsearchError` naming ``source`` and the column.
    """
    missing = [c.name for c in encoder.columns if c.name not in frame.columns]
    missing += [c for c in encoder.numeric if c not in frame.columns]
    if missing:
        raise column_not_found(missing[0], frame.columns, source)
    keys = {c.name: _column_keys(frame, c, source) for c in encoder.columns}
    categorical = _codes(encoder, keys, len(frame))
    values = _numeric(frame, encoder, source)
    if standardise:
        for j in np.flatnonzero(encoder._log1p_mask):
            if (values[:, j] < 0).any():
                raise MtlsearchError(
                    f"log1p column {encoder.numeric[j]!r} has negative values",
                    where=source,
                    fix=f"remove {encoder.numeric[j]!r} from log1p",
                )
        encoder.standardise(values)
    return EncodedFeatures(categorical, values)


def _codes(encoder: FeatureEncoder, keys: dict[str, _Keys], n_rows: int) -> np.ndarray:
    sizes = [encoder.vocab_size(j) for j in range(len(encoder.columns))]
    dtype = code_dtype(max(sizes, default=1) - 1)
    out = np.empty((n_rows, encoder.width), dtype=dtype)
    slot = 0
    for j, column in enumerate(encoder.columns):
        k = keys.pop(column.name)  # released once encoded
        owner = encoder.owner(column)
        if owner.hash_buckets:
            key_codes = stable_hash(k.keys, owner.hash_buckets)
        else:
            key_codes = encoder.index(j).get_indexer(k.keys) + 1  # -1 (unseen) -> 0, OOV
        value_codes = key_codes.astype(dtype)[k.codes]  # (values,) in the output type
        if k.offsets is None:
            out[:, slot] = value_codes
            slot += 1
            continue
        block = out[:, slot : slot + column.max_len]
        block[...] = PAD
        for start in range(0, n_rows, _CHUNK_ROWS):  # bounded temporaries on long columns
            stop = min(n_rows, start + _CHUNK_ROWS)
            first, last = k.offsets[start], k.offsets[stop]
            lengths = np.diff(k.offsets[start : stop + 1])
            rows = np.repeat(np.arange(start, stop), lengths)
            position = np.arange(first, last) - np.repeat(k.offsets[start:stop], lengths)
            keep = position < column.max_len
            block[rows[keep], position[keep]] = value_codes[first:last][keep]
        slot += column.max_len
    return out


def _numeric(frame: pd.DataFrame, encoder: FeatureEncoder, source: str, *, consume: bool = False) -> np.ndarray:
    out = np.empty((len(frame), len(encoder.numeric)), dtype=np.float32)
    for j, column in enumerate(encoder.numeric):
        raw = given = frame[column]
        if raw.dtype.kind != "f" or raw.dtype.itemsize != 4:
            raw = pd.to_numeric(raw, errors="coerce")
        with np.errstate(over="ignore", invalid="ignore"):
            out[:, j] = raw.to_numpy(dtype=np.float32, na_value=np.nan)
        bad = ~np.isfinite(out[:, j])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            value = given.iloc[row]  # as the file has it: 'abc', not the NaN it became
            reason = "beyond float32's range" if _finite_number(value) else "missing, NaN or non-numeric"
            label = frame.index[row]  # the file's data row (splits and predict's chunks keep the file's labels)
            where_row = f"data row {label + 1}, header not counted" if isinstance(label, int | np.integer) else "row"
            plain = value.item() if isinstance(value, np.generic) else value
            shown = "a missing value" if _missing(value) else repr(plain)
            raise MtlsearchError(
                f"numeric column {column!r} has {int(bad.sum())} {reason} value(s) (first: {shown} in {where_row})",
                where=source,
                fix="fill, rescale or drop those rows, or declare the column categorical",
            )
        if consume:
            del raw
            del frame[column]
    return out


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array value
        return False


def _finite_number(value: Any) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def warn_unseen(encoder: FeatureEncoder, categorical: np.ndarray, where: str) -> None:
    """Warn, naming the column, when over half of a held-out column's values are OOV."""
    slot = 0
    for column in encoder.columns:
        width = column.max_len or 1
        if not encoder.owner(column).hash_buckets:
            codes = categorical[:, slot : slot + width]
            present = codes != PAD
            n = int(present.sum())
            unseen = int((codes == UNKNOWN).sum())
            if n and unseen / n > UNSEEN_WARNING_SHARE:
                warnings.warn(
                    f"{where}: {unseen / n:.0%} of categorical column {column.name!r} is unseen in train "
                    "(out-of-vocabulary); check that the files type it alike, or lower min_count",
                    UnseenCategoriesWarning,
                    stacklevel=3,
                )
        slot += width
