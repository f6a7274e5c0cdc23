"""Output paths checked before any work, and files written whole or not at all.

Commands check their outputs first (``train --out`` before training, ``export --out`` before
loading the study), so that a wrong path costs nothing and leaves nothing behind. Light on
purpose: no torch, so that ``export`` stays fast.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mtlsearch.errors import MtlsearchError

__all__ = ["check_output_dir", "check_output_file", "write_text_atomic"]


def _blocking_parent(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder, if any."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def check_output_file(path: str | os.PathLike[str], *, where: str, example: str = "best.yaml") -> Path:
    """``path`` as a file to (over)write: not a folder, not below a file, its folder writable if it exists.

    ``example`` is the file name the fix suggests (``best.yaml`` for export, ``report.html``...).
    """
    if not os.fspath(path).strip():
        raise MtlsearchError("the output file is empty", where=where, fix=f"name a file, e.g. {example}")
    path = Path(path).expanduser()
    if path.is_dir():
        raise MtlsearchError(
            f"{os.fspath(path) or repr('')} is a folder, not a file", where=where, fix=f"name a file, e.g. {example}"
        )
    blocking = _blocking_parent(path)
    if blocking is not None:
        raise MtlsearchError(
            f"{blocking} is a file, so {path} cannot be created below it", where=where, fix="choose another path"
        )
    _check_writable(path.parent, where)
    return path


def check_output_dir(path: str | os.PathLike[str], *, where: str) -> Path:
    """``path`` as a folder to write into: not an existing file, not below a file, writable if it exists."""
    if not os.fspath(path).strip():
        raise MtlsearchError("the output folder is empty", where=where, fix="name a folder, e.g. runs/best")
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise MtlsearchError(
            f"{path} is an existing file, not a folder", where=where, fix="name a folder (it is created if missing)"
        )
    blocking = _blocking_parent(path)
    if blocking is not None:
        raise MtlsearchError(
            f"{blocking} is a file, so {path} cannot be created below it", where=where, fix="choose another folder"
        )
    _check_writable(path if path.exists() else path.parent, where)
    return path


def _check_writable(folder: Path, where: str) -> None:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MtlsearchError(f"cannot write into {folder}", where=where, fix="choose a folder you may write to")


def write_text_atomic(path: str | os.PathLike[str], text: str, *, where: str = "output") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename it in
    place: readers see the old file or the new one, never half of it."""
    path = check_output_file(path, where=where)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
