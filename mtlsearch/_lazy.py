"""Lazy package exports (PEP 562): ``from mtlsearch.search import load_study`` imports only the
submodule that defines it, so commands that only read a study never import torch or Lightning.

Until torch is imported, these imports run with Python's cyclic garbage collector paused and then
freeze what they loaded (:func:`import_submodule`)."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

__all__ = ["import_submodule", "lazy_exports"]


def import_submodule(name: str) -> ModuleType:
    """``importlib.import_module(name)``; while torch is not imported yet, without the cyclic GC.

    Importing torch, Lightning (which pulls in torch._dynamo, torchmetrics, scipy.signal and
    matplotlib) and Optuna leaves about 760,000 objects the collector tracks, and CPython's
    collector walks them all again at each full collection the growth triggers: about a fifth of
    the import's CPU time (``benchmarks/study_time.py``). So the collector is paused for that
    import and its objects are then moved to the permanent generation (``gc.freeze()``), which
    later collections skip; module objects live until the process ends anyway. A process that
    imported torch before, or turned the collector off, is left as it is.
    """
    if "torch" in sys.modules or not gc.isenabled():
        return importlib.import_module(name)
    gc.disable()
    try:
        return importlib.import_module(name)
    finally:
        gc.freeze()
        gc.enable()


def lazy_exports(
    package: str, submodules: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``submodules`` ({"_pareto": ("load_study",
    ...)}) define the exported names; each submodule is imported on the first access to one of its names."""
    where = {name: module for module, names in submodules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_submodule(f"{package}.{module}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # the next access is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__
