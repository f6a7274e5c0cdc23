"""Our warnings reach the user as one line; Python's own warnings keep their format."""

from __future__ import annotations

import warnings

import pytest

from mtlsearch.cli import _one_line_warning, main
from mtlsearch.data import UnseenCategoriesWarning


def test_our_warnings_are_one_line_without_python_s_source_location():
    text = _one_line_warning("va.csv (validation): 100% of column 'item' is unseen", UnseenCategoriesWarning, "x.py", 3)
    assert text == "mtlsearch: warning: va.csv (validation): 100% of column 'item' is unseen\n"
    other = _one_line_warning("old", DeprecationWarning, "lib.py", 7)
    assert "lib.py:7" in other and "DeprecationWarning" in other


def test_main_restores_python_s_warning_format():
    before = warnings.formatwarning
    with pytest.raises(SystemExit):
        main(["--version"])
    assert main(["pareto", "--study", "nope", "--storage", "sqlite:///does-not-exist.db"]) == 1
    assert warnings.formatwarning is before
