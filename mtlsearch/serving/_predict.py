"""``predict``: score a CSV or Parquet table in chunks, writing the scores atomically."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from mtlsearch._outputs import check_output_file, normal_file_mode
from mtlsearch.errors import MtlsearchError, column_not_found
from mtlsearch.serving._load import Scorer, load

__all__ = ["predict"]

_CSV = (".csv", ".tsv", ".txt")
_PARQUET = (".parquet", ".pq")
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")
PROGRESS_DELAY_S = 2.0  # the bar appears only once scoring has taken this long


def _kind(path: Path, where: str) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    kind = suffixes[-1] if suffixes else ""
    if kind in _CSV:
        return "tsv" if kind == ".tsv" else "csv"
    if kind in _PARQUET:
        return "parquet"
    raise MtlsearchError(
        f"unknown file type {kind or '(none)'!r}", where=where, fix="use a .csv, .tsv or .parquet file"
    )


def _columns(path: Path, kind: str) -> tuple[list[str], int | None]:
    """The file's column names and, for Parquet, its row count (from the footer)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        file = pq.ParquetFile(path)
        return list(file.schema_arrow.names), file.metadata.num_rows
    return list(pd.read_csv(path, sep="\t" if kind == "tsv" else ",", nrows=0).columns), None


def _chunks(path: Path, kind: str, columns: Sequence[str], text: Sequence[str], size: int) -> Iterator[pd.DataFrame]:
    """The file's ``columns`` in chunks of ``size`` rows: pyarrow record batches for Parquet, pandas
    ``chunksize`` for CSV (``text`` columns read as strings, as training reads categorical ones)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        start = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=size, columns=list(columns)):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(start, start + len(frame))  # the file's row numbers, as CSV chunks have
            start += len(frame)
            yield frame
        return
    sep = "\t" if kind == "tsv" else ","
    yield from pd.read_csv(path, sep=sep, usecols=list(columns), dtype=dict.fromkeys(text, str), chunksize=size)


class _Writer:
    """Appends score chunks to a temporary file beside ``out``; ``commit`` moves it into place."""

    def __init__(self, out: Path, kind: str) -> None:
        self.out, self.kind = out, kind
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(handle)
        normal_file_mode(name)  # the scores file gets a plain file's mode, not mkstemp's private 0600
        self.temp = Path(name)
        self.parquet = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.temp, table.schema)
            self.parquet.write_table(table)
        else:
            sep = "\t" if self.kind == "tsv" else ","
            frame.to_csv(self.temp, mode="a", header=self.rows == 0, index=False, sep=sep)
        self.rows += len(frame)

    def commit(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        os.replace(self.temp, self.out)

    def discard(self) -> None:
        if self.parquet is not None:
            with contextlib.suppress(Exception):
                self.parquet.close()
        self.temp.unlink(missing_ok=True)


def predict(
    model: str | Path | Scorer,
    data: str | Path,
    out: str | Path,
    *,
    batch_size: int = 65536,
    keep: Sequence[str] = (),
    progress: bool | None = None,
) -> int:
    """Score the table ``data`` (CSV/TSV, optionally compressed, or Parquet; raw values in the
    training schema) with the model folder ``model`` and write ``out`` (CSV/TSV or Parquet): the
    ``keep`` columns (ids: the schema has no id field), then one column per task. Reads ``batch_size`` rows
    at a time, so memory follows the batch, not the file. Unseen categories score through OOV;
    a missing column or a non-numeric value raises :class:`MtlsearchError` and ``out`` is left
    untouched (scores go to a temporary file first). ``progress``: a bar on stderr (default: when
    stderr is a terminal; shown only once scoring takes more than 2 s). Returns the rows scored.
    """
    if batch_size < 1:
        raise MtlsearchError(f"--batch-size must be >= 1, got {batch_size}", where="--batch-size", fix="e.g. 65536")
    target = check_output_file(out, where="--out", example="scores.parquet")  # before any work
    scorer = model if isinstance(model, Scorer) else load(model)
    source = Path(data)
    in_kind, out_kind = _kind(source, str(source)), _kind(target, "--out")
    if not source.is_file():
        raise MtlsearchError("file not found", where=str(source), fix="check the path")
    if not target.parent.is_dir():
        raise MtlsearchError(f"folder {target.parent} does not exist", where="--out", fix="create it first")
    schema = scorer.schema
    try:
        present, total = _columns(source, in_kind)
    except (ValueError, OSError, EOFError, zlib.error) as error:
        raise MtlsearchError(f"cannot read the file ({error})", where=str(source), fix="check the table") from None
    schema.check_columns(present, str(source))
    carried = list(dict.fromkeys(keep))
    for column in carried:
        if column not in present:
            raise column_not_found(column, present, str(source))
        if column in schema.task_names:
            raise MtlsearchError(
                f"column {column!r} has a task's name", where="--keep", fix="keep another column, or rename it"
            )
    needed = list(dict.fromkeys([*carried, *(c for c in schema.columns if c in present)]))
    derived = dict(schema.value_features)
    text = [c for c in schema.categorical if c not in derived]

    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=total, unit="rows", desc="predict", disable=not show, delay=PROGRESS_DELAY_S, file=sys.stderr)
    writer = _Writer(target, out_kind)
    try:
        try:
            for chunk in _chunks(source, in_kind, needed, text, batch_size):
                scores = scorer(chunk, source=str(source))
                writer.write(pd.concat([chunk[carried].reset_index(drop=True), scores.reset_index(drop=True)], axis=1))
                bar.update(len(chunk))
        except (ValueError, OSError, EOFError, zlib.error) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise MtlsearchError(f"cannot read the file ({reason})", where=str(source), fix="check the table") from None
        if writer.rows == 0:
            writer.write(pd.DataFrame({**{c: [] for c in carried}, **{t: [] for t in schema.task_names}}))
        writer.commit()
    except BaseException:
        writer.discard()
        raise
    finally:
        bar.close()
    return writer.rows
