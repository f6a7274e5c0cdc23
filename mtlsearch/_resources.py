"""Where the data files shipped with mtlsearch (search spaces, studies) live."""

from __future__ import annotations

from pathlib import Path

__all__ = ["shipped_dir"]

_PACKAGE_DIR = Path(__file__).parent  # the mtlsearch package folder


def shipped_dir(kind: str) -> Path:
    """The folder of shipped ``kind`` files, e.g. ``shipped_dir("search_spaces")``.

    A wheel carries the repository's top-level ``search_spaces/`` and ``studies/`` inside the
    package as ``mtlsearch/_shipped/KIND``; a checkout or editable install reads the top-level
    folder itself, so edits there are seen without reinstalling.
    """
    inside = _PACKAGE_DIR / "_shipped" / kind
    return inside if inside.is_dir() else _PACKAGE_DIR.parent / kind
