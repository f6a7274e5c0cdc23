"""What a study's data resolves to, for the resume check: the files behind ``data:``.

The study fingerprint (``StudyConfig.fingerprint``) covers the study file's text; it cannot see
a schema file or a data file that changed between two runs, after which one Pareto front would
mix trials measured on different sample spaces. :func:`data_fingerprint` hashes the identity of
every file the data options name (any string option that is an existing file, as given or
relative to the study file, e.g. a tabular ``path`` or ``schema``), and of the data set's own
files (Census-Income's folder): the content of files up to :data:`HASHED_BYTES`; for larger
ones their size and the content of their first and last :data:`HASHED_BYTES` (hashing gigabytes
at every start would cost minutes). Files are named as the study file names them (not by
absolute path) and modification times are left out, so that machines holding copies of the same
files at different places agree, as they must when they share one study.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mtlsearch.config import DataConfig

__all__ = ["HASHED_BYTES", "data_files", "data_fingerprint"]

HASHED_BYTES = 1 << 20  # files up to this size are hashed whole; larger ones: size, first and last bytes


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def data_files(data: DataConfig, source: str = "") -> dict[str, Path]:
    """The files ``data`` reads, as far as they can be known without loading it: {name as the
    study gives it (an option's text, or ``census-income/FILE``): absolute path}."""
    folders = [Path.cwd()] + ([Path(source).parent] if source else [])
    found: dict[str, Path] = {}
    for text in _strings(dict(data.options)):
        if not text or "\n" in text or len(text) > 4096:
            continue
        for folder in folders:
            candidate = (folder / os.path.expanduser(text)).absolute()
            if candidate.is_file():
                found[text] = candidate
                break
    if data.name == "census-income":
        from mtlsearch.data._census import _data_folder

        folder = _data_folder(data.options.get("path"))
        if folder.is_dir():
            found.update(
                {f"census-income/{p.name}": p.absolute() for p in folder.glob("census-income.*") if p.is_file()}
            )
    return dict(sorted(found.items()))


def _identity(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as file:
        if size <= 2 * HASHED_BYTES:
            digest.update(file.read())
        else:
            digest.update(file.read(HASHED_BYTES))
            file.seek(size - HASHED_BYTES)
            digest.update(file.read(HASHED_BYTES))
    return {"size": size, "sha256": digest.hexdigest()}


def data_fingerprint(data: DataConfig, source: str = "") -> str:
    """A 16-hex-digit hash of the identity of :func:`data_files` (names, sizes, hashed contents).

    ``source`` is the study file, against which relative paths are also tried. Two calls agree
    when no file was added, removed, resized or edited (for files over 2 MiB: edited in their
    first or last MiB).
    """
    files = {name: _identity(path) for name, path in data_files(data, source).items()}
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
