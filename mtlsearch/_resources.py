"""Where the data files shipped with mtlsearch (search spaces, studies) live."""

from __future__ import annotations

from pathlib import Path

from mtlsearch.errors import MtlsearchError

__all__ = ["find_yaml", "shipped_dir"]

_PACKAGE_DIR = Path(__file__).parent  # the mtlsearch package folder


def shipped_dir(kind: str) -> Path:
    """The folder of shipped ``kind`` files, e.g. ``shipped_dir("search_spaces")``.

    A wheel carries the repository's top-level ``search_spaces/`` and ``studies/`` inside the
    package as ``mtlsearch/_shipped/KIND``; a checkout or editable install reads the top-level
    folder itself, so edits there are seen without reinstalling.
    """
    inside = _PACKAGE_DIR / "_shipped" / kind
    return inside if inside.is_dir() else _PACKAGE_DIR.parent / kind


def is_path(name_or_path: str | Path) -> bool:
    """A value naming a file rather than a shipped entry: a Path, ``*.yaml``/``*.yml`` or a separator."""
    text = str(name_or_path)
    return isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text


def find_yaml(kind: str, name_or_path: str | Path, *, what: str, where: str, relative_to: Path | None = None) -> Path:
    """Resolve ``NAME`` to ``KIND/NAME.yaml`` in the working directory, then the shipped copy.

    A path is returned as is (relative paths joined to ``relative_to`` when given); an unknown
    name is an error listing the shipped names.
    """
    if is_path(name_or_path):
        path = Path(name_or_path)
        return relative_to / path if relative_to is not None and not path.is_absolute() else path
    for folder in (Path.cwd() / kind, shipped_dir(kind)):
        if (folder / f"{name_or_path}.yaml").is_file():
            return folder / f"{name_or_path}.yaml"
    names = sorted(p.stem for p in shipped_dir(kind).glob("*.yaml"))
    raise MtlsearchError(
        f"unknown {what} {str(name_or_path)!r}",
        where=where,
        fix=f"use one of {', '.join(names)} or a path to a .yaml file" if names else "give a path to a .yaml file",
    )
