"""Our warnings on the command line: one line each, held until the command's input is checked.

A refused command prints one line, its error. A warning about the data (say, a validation column
mostly unseen in train) raised while the input is still being checked would come before that
line, so our warnings are held until the command starts its work (:func:`release_warnings`: when
``optimize`` has created or loaded the study, when ``train`` starts training), or until it ends
without error; a command refused before then drops them (they come again once it runs). Python's
and other libraries' warnings keep their own format and are never held.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator

__all__ = ["held_warnings", "one_line_warning", "release_warnings"]

_held: list[str] = []  # our warnings' lines, while held
_holding = [False]
_python_format = warnings.formatwarning


def one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Our own warnings (data, export) as one line without the source location Python adds."""
    if category.__module__.startswith("mtlsearch"):
        return f"mtlsearch: warning: {message}\n"
    return _python_format(message, category, filename, lineno, line)


def release_warnings() -> None:
    """Print the warnings held so far, and show later ones at once (no-op outside the CLI)."""
    _holding[0] = False
    lines, _held[:] = list(_held), []
    for line in lines:
        sys.stderr.write(line)
    sys.stderr.flush()


@contextlib.contextmanager
def held_warnings() -> Iterator[None]:
    """Within the block, our warnings are one line each and held until :func:`release_warnings`;
    those still held when the block ends are dropped (the caller releases them on success)."""
    previous_show, previous_format = warnings.showwarning, warnings.formatwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if not category.__module__.startswith("mtlsearch"):
            previous_show(message, category, filename, lineno, file, line)
        elif _holding[0]:
            _held.append(one_line_warning(message, category, filename, lineno, line))
        else:
            (file or sys.stderr).write(one_line_warning(message, category, filename, lineno, line))

    warnings.showwarning, warnings.formatwarning = show, one_line_warning
    _held.clear()
    _holding[0] = True
    try:
        yield
    finally:
        warnings.showwarning, warnings.formatwarning = previous_show, previous_format
        _holding[0] = False
        _held.clear()
