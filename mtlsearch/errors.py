"""The one error type users see: a single line naming where, what and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["MtlsearchError", "UsageError", "column_not_found"]


class MtlsearchError(Exception):
    """Bad input from the user: printed as one line by the CLI, never as a traceback.

    ``where`` is the file (and field) at fault, ``fix`` tells the user what to do.

    >>> str(MtlsearchError("levels must be >= 1", where="ple.yaml: model.levels", fix="use 1 or more"))
    'ple.yaml: model.levels: levels must be >= 1 (fix: use 1 or more)'
    """

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return _one_line(f"{text} (fix: {self.fix})" if self.fix else text)

    def within(self, where: str) -> MtlsearchError:
        """The same error, prefixed with an outer location (e.g. a file name)."""
        inner = f"{where}: {self.where}" if self.where else where
        return MtlsearchError(self.message, where=inner, fix=self.fix)


class UsageError(MtlsearchError):
    """A command-line argument that cannot work (e.g. ``--storage ""``): exit code 2, as argparse's."""

    exit_code = 2


MAX_LISTED = 40  # column names an error lists before it counts the rest


def column_not_found(name: str, columns: Iterable[object], where: str, fix: str | None = None) -> MtlsearchError:
    """The error for a column that a table lacks: it names the column, the closest name the table
    has (a misspelling, another case: ``difflib``), then ``fix``, or else the table's columns (up
    to ``MAX_LISTED``, then their count).

    >>> str(column_not_found("devise", ["user_id", "device", "click"], "log.csv"))
    "log.csv: column 'devise' not found (fix: did you mean 'device'? the file's columns: user_id, device, click)"
    """
    names = [str(c) for c in columns]
    close = [n for n in names if n.lower() == name.lower()] or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    listed = ", ".join(names[:MAX_LISTED]) + (f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else "")
    hint = f"did you mean {close[0]!r}? " if close else ""
    return MtlsearchError(
        f"column {name!r} not found", where=where, fix=hint + (fix or f"the file's columns: {listed}")
    )


MAX_LENGTH = 2000  # characters of one error line; longer ones (a quoted huge value) are cut in the middle


def _one_line(text: str) -> str:
    """Line breaks as spaces, and at most ``MAX_LENGTH`` characters: an error is always one readable line."""
    text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    if len(text) <= MAX_LENGTH:
        return text
    half = MAX_LENGTH // 2 - 3
    return f"{text[:half]} ... {text[-half:]}"
