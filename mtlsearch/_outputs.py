"""Output paths checked before any work, and files written whole or not at all.

Commands check their outputs first (``train --out`` before training, ``export --out`` before
loading the study), so that a wrong path costs nothing and leaves nothing behind. Missing
folders on the way to an output are created only when the output is complete, and removed again
if moving it into place fails: a failed command leaves no empty folder behind either. Light on
purpose: no torch, so that ``export`` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mtlsearch.errors import MtlsearchError

__all__ = ["check_output_dir", "check_output_file", "normal_file_mode", "staged_folder", "write_text_atomic"]


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
    """Write ``text`` to ``path`` through a temporary file, then rename it in place: readers see
    the old file or the new one, never half of it. Missing folders above ``path`` are created
    only for the rename, and removed again if it fails."""
    path = check_output_file(path, where=where)
    handle, temporary = tempfile.mkstemp(dir=_nearest_folder(path), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        normal_file_mode(temporary)
        with _folders_for(path):
            os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary folder to write a command's files into; when the block ends without error they
    are moved into ``out``, else removed with the temporary folder.

    A new ``out`` (and any missing folder above it) appears only then, in one rename of the whole
    folder; in an existing ``out`` each file replaces its namesake and other files stay. On
    failure nothing is left: no staging folder, no half-filled ``out``, no empty parent folders.
    The staging folder lies in the nearest existing folder above ``out`` (hidden: ``.NAME.*``),
    on the same file system, so the moves are renames.
    """
    out = Path(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=_nearest_folder(out)))
    try:
        yield staging
        with _folders_for(out):
            if out.is_dir():
                for item in sorted(staging.iterdir()):
                    os.replace(item, out / item.name)
            else:
                os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; a normal folder's mode
                os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def normal_file_mode(path: str | os.PathLike[str]) -> None:
    """Give a file made by ``mkstemp`` (private, 0600) the mode a plain ``open`` would (0666 less the umask)."""
    os.chmod(path, 0o666 & ~_umask())


def _nearest_folder(path: Path) -> Path:
    """The closest existing folder above ``path``: where its temporary files go."""
    for parent in path.parents:
        if parent.is_dir():
            return parent
    return Path(".")


@contextlib.contextmanager
def _folders_for(path: Path) -> Iterator[None]:
    """Create the missing folders above ``path`` for the block; remove them again if it fails."""
    missing = [parent for parent in path.parents if not parent.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in missing:  # deepest first
            with contextlib.suppress(OSError):  # not empty: someone else wrote there meanwhile
                folder.rmdir()
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
