"""The packages' lazy export maps (mtlsearch._lazy) stay in step with the submodules they name."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["mtlsearch.analysis", "mtlsearch.data", "mtlsearch.models", "mtlsearch.search", "mtlsearch.training"]


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_lazy_export_exists_in_the_submodule_it_names(package_name: str) -> None:
    package = importlib.import_module(package_name)
    listed = {name for names in package._SUBMODULES.values() for name in names}
    assert sorted(listed) == sorted(package.__all__)
    for module_name, names in package._SUBMODULES.items():
        module = importlib.import_module(f"{package_name}.{module_name}")
        missing = [name for name in names if not hasattr(module, name)]
        assert not missing, f"{package_name}.{module_name} lacks {missing}"
