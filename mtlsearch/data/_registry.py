"""Data sets by name: one explicit table, options checked against each loader's signature."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mtlsearch.data._dataset import MultiTaskData
from mtlsearch.errors import MtlsearchError

__all__ = ["DATASETS", "dataset_options", "load_dataset"]


def _census(**options: Any) -> MultiTaskData:
    from mtlsearch.data._census import census_income

    return census_income(**options)


def _tabular(**options: Any) -> MultiTaskData:
    from mtlsearch.data._tabular import tabular

    return tabular(**options)


def _loader_signature(name: str) -> Callable[..., MultiTaskData]:
    """The function whose keyword arguments are the data set's options."""
    if name in ("aliexpress", "ali-ccp"):  # schemas over the tabular source
        from mtlsearch.data import _public

        return {"aliexpress": _public.aliexpress, "ali-ccp": _public.ali_ccp}[name]
    if name == "census-income":
        from mtlsearch.data._census import census_income

        return census_income
    if name == "tabular":
        from mtlsearch.data._tabular import tabular

        return tabular
    from mtlsearch.data import _synthetic

    return {"synthetic": _synthetic.synthetic, "synthetic-video": _synthetic.synthetic_video}[name]


DATASETS: dict[str, str] = {
    "synthetic": "MMoE generator, two regression tasks y1/y2 (no download)",
    "synthetic-video": "VTR (binary) / VCR (regression on viewed samples) pair (no download)",
    "census-income": "UCI Census-Income (KDD), MMoE task groups 1 and 2",
    "tabular": "your own CSV or Parquet file plus a schema",
    "aliexpress": "AliExpress search log per country (MTReclib protocol): CTR and CTCVR",
    "ali-ccp": "Ali-CCP (ESMM) as torch-rechub preprocesses it: CTR and CVR on clicks, or CTCVR",
}


def dataset_options(name: str) -> dict[str, Any]:
    """The options ``name`` accepts, with their defaults (``inspect.Parameter.empty`` if required)."""
    _check_name(name)
    params = inspect.signature(_loader_signature(name)).parameters
    return {p.name: p.default for p in params.values()}


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise MtlsearchError(f"unknown data set {name!r}", where="data.name", fix=f"use one of {', '.join(DATASETS)}")


def load_dataset(name: str, options: Mapping[str, Any] | None = None) -> MultiTaskData:
    """Load the data set ``name`` with ``options`` (keyword arguments of its loader).

    >>> data = load_dataset("synthetic", {"n_samples": 1000})
    >>> data.task_names
    ('y1', 'y2')
    """
    options = dict(options or {})
    accepted = dataset_options(name)
    for key in options:
        if key not in accepted:
            raise MtlsearchError(
                f"unknown option {key!r} for data set {name!r}",
                where=f"data.options.{key}",
                fix=f"use one of {', '.join(accepted)}",
            )
    missing = [k for k, v in accepted.items() if v is inspect.Parameter.empty and k not in options]
    if missing:
        raise MtlsearchError(
            f"data set {name!r} needs option {missing[0]!r}", where=f"data.options.{missing[0]}", fix="set it"
        )
    try:
        with np.errstate(all="ignore"):  # overflow to inf/NaN is refused by the run's check, in one line
            return _loader_signature(name)(**options)
    except TypeError as error:  # a wrong type that the loader's arithmetic tripped over
        raise MtlsearchError(str(error), where=f"data.options ({name})", fix="check the option types") from None
    except (ValueError, OverflowError) as error:  # a value the loader's arithmetic cannot use (e.g. a size)
        raise MtlsearchError(
            f"data set {name!r} cannot be built with these options: {error.__class__.__name__}: {error}",
            where=f"data.options ({name})",
            fix="check the option values",
        ) from None
    except MemoryError:
        raise MtlsearchError(
            f"data set {name!r} with these options does not fit in memory",
            where=f"data.options ({name})",
            fix="use fewer samples or features",
        ) from None
