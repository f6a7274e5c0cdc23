"""Public multi-task recommendation benchmarks, as schemas over the ``tabular`` source.

- ``aliexpress``: the AliExpress search log (Li et al., CIKM 2020; Tianchi data set 74690) as
  MTReclib uses it: one folder per country (NL, ES, FR, US) with ``train.csv`` and ``test.csv``;
  ``search_id``, ``categorical_1`` .. ``categorical_16`` (integer codes), ``numerical_1`` ..
  ``numerical_63``, ``click``, ``conversion``. Validation is carved from ``train.csv`` (seeded);
  ``test.csv`` is the test split and is never used for model selection.
- ``ali-ccp``: Ali-CCP (Ma et al., SIGIR 2018, the ESMM data set; Tianchi data set 408) in the CSV
  form torch-rechub's ``preprocess_ali_ccp.py`` writes: ``ali_ccp_train.csv``, ``ali_ccp_val.csv``,
  ``ali_ccp_test.csv`` with ``click``, ``purchase``, 23 categorical fields and 8 numeric ones.

Both accept ``tasks`` as a preset name or as a list of task mappings in the tabular schema's form:

=============  =================================================================================
preset         tasks
=============  =================================================================================
ctr-ctcvr      ``ctr`` (click) and ``ctcvr`` (purchase), both on all impressions (MTReclib)
ctr-cvr        ``ctr`` and ``cvr`` (purchase on clicked impressions: ``sample_space: ctr``)
esmm           ``ctr``, ``cvr`` (on clicks) and ``ctcvr`` = p(ctr) * p(cvr) (``product_of``)
=============  =================================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtlsearch.data._dataset import MultiTaskData
from mtlsearch.data._tabular import tabular
from mtlsearch.errors import MtlsearchError

__all__ = [
    "ALIEXPRESS_COUNTRIES",
    "ALI_CCP_CATEGORICAL",
    "ALI_CCP_NUMERIC",
    "TASK_PRESETS",
    "ali_ccp",
    "aliexpress",
]

ALIEXPRESS_COUNTRIES = ("NL", "ES", "FR", "US")
_ALIEXPRESS_CATEGORICAL = tuple(f"categorical_{i}" for i in range(1, 17))
_ALIEXPRESS_NUMERIC = tuple(f"numerical_{i}" for i in range(1, 64))
# The raw Ali-CCP field ids torch-rechub keeps as categorical; the numeric ones carry a "D" prefix.
ALI_CCP_CATEGORICAL = (
    "101", "121", "122", "124", "125", "126", "127", "128", "129", "205", "206", "207",
    "210", "216", "508", "509", "702", "853", "301", "109_14", "110_14", "127_14", "150_14",
)  # fmt: skip
ALI_CCP_NUMERIC = ("D109_14", "D110_14", "D127_14", "D150_14", "D508", "D509", "D702", "D853")
TASK_PRESETS = ("ctr-ctcvr", "ctr-cvr", "esmm")

# File names as the data sets ship (first) and as torch-rechub's bundled samples are named.
_ALIEXPRESS_FILES = {
    "train": ("train.csv", "aliexpress_train_sample.csv"),
    "test": ("test.csv", "aliexpress_test_sample.csv"),
}
_ALI_CCP_FILES = {
    "train": ("ali_ccp_train.csv", "ali_ccp_train_sample.csv"),
    "validation": ("ali_ccp_val.csv", "ali_ccp_val_sample.csv"),
    "test": ("ali_ccp_test.csv", "ali_ccp_test_sample.csv"),
}


def _preset_tasks(tasks: str | Sequence[Mapping[str, Any]], purchase: str) -> Sequence[Mapping[str, Any]]:
    """The preset's task list (``purchase``: the data set's conversion column), or ``tasks`` as given."""
    if not isinstance(tasks, str):
        return tasks  # the tabular schema checks it
    ctr = {"name": "ctr", "type": "binary", "label": "click"}
    cvr = {"name": "cvr", "type": "binary", "label": purchase, "sample_space": "ctr"}
    presets = {
        "ctr-ctcvr": [ctr, {"name": "ctcvr", "type": "binary", "label": purchase}],
        "ctr-cvr": [ctr, cvr],
        "esmm": [ctr, cvr, {"name": "ctcvr", "type": "binary", "label": purchase, "product_of": ["ctr", "cvr"]}],
    }
    if tasks not in presets:
        raise MtlsearchError(
            f"unknown task preset {tasks!r}",
            where="data.options.tasks",
            fix=f"use one of {', '.join(TASK_PRESETS)}, or a list of tasks as in a tabular schema",
        )
    return presets[tasks]


def _folder(path: str | os.PathLike[str] | None, *parts: str) -> tuple[Path, str]:
    """The data folder and where it came from: ``path``, else ``$MTLSEARCH_DATA_DIR/<parts>``,
    else ``~/.cache/mtlsearch/<parts>``."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise MtlsearchError(f"expected a folder, got {path!r}", where="data.options.path", fix="give a folder")
        return Path(path).expanduser(), "data.options.path"
    root = os.environ.get("MTLSEARCH_DATA_DIR")
    if root:
        return Path(root).expanduser().joinpath(*parts), "MTLSEARCH_DATA_DIR"
    return Path.home().joinpath(".cache", "mtlsearch", *parts), "the default folder"


def _files(folder: Path, names: Mapping[str, tuple[str, ...]], where: str, get: str) -> dict[str, str]:
    """Each split's file in ``folder`` (the real name first, then the sample's); one line if absent."""
    found = {}
    for split, candidates in names.items():
        file = next((folder / n for n in candidates if (folder / n).is_file()), None)
        if file is None:
            raise MtlsearchError(
                f"{candidates[0]} not found in {folder}",
                where=where,
                fix=f"{get}, and put the files in {folder} (or set data.options.path to their folder)",
            )
        found[split] = os.fspath(file)
    return found


def aliexpress(
    *,
    country: str = "NL",
    path: str | None = None,
    tasks: str | Sequence[Mapping[str, Any]] = "ctr-ctcvr",
    validation_fraction: float = 0.1,
    seed: int = 0,
) -> MultiTaskData:
    """AliExpress for one country: CTR (``click``) and CTCVR (``conversion``) on all impressions.

    ``path`` is the folder with ``train.csv`` and ``test.csv``; by default
    ``$MTLSEARCH_DATA_DIR/aliexpress/<COUNTRY>/``. ``validation_fraction`` of ``train.csv`` (drawn
    with ``seed``) is the validation split; ``test.csv`` is the test split. ``search_id`` is not a
    feature. Raises :class:`MtlsearchError` when the files are absent (no download: Tianchi needs
    a login), naming where to get them and where to put them.

    >>> data = aliexpress(country="NL")  # doctest: +SKIP
    >>> data.task_names
    ('ctr', 'ctcvr')
    """
    code = country.upper() if isinstance(country, str) else country
    if code not in ALIEXPRESS_COUNTRIES:
        raise MtlsearchError(
            f"unknown AliExpress country {country!r}",
            where="data.options.country",
            fix=f"use one of {', '.join(ALIEXPRESS_COUNTRIES)}",
        )
    folder, where = _folder(path, "aliexpress", code)
    get = (
        f"download AliExpress_{code}.zip from https://tianchi.aliyun.com/dataset/74690 (a Tianchi account "
        "is needed), unzip its train.csv and test.csv"
    )
    files = _files(folder, _ALIEXPRESS_FILES, where, get)
    fraction = _fraction(validation_fraction)
    return tabular(
        path=files["train"],
        test_path=files["test"],
        categorical=_ALIEXPRESS_CATEGORICAL,
        numeric=_ALIEXPRESS_NUMERIC,
        tasks=_preset_tasks(tasks, "conversion"),
        split={"fractions": [1.0 - fraction, fraction], "seed": seed},
        name=f"aliexpress-{code}",
    )


def ali_ccp(*, path: str | None = None, tasks: str | Sequence[Mapping[str, Any]] = "ctr-cvr") -> MultiTaskData:
    """Ali-CCP as torch-rechub preprocesses it: CTR (``click``) and CVR (``purchase`` on clicks).

    ``path`` is the folder with ``ali_ccp_train.csv``, ``ali_ccp_val.csv`` and ``ali_ccp_test.csv``
    (the three splits as that preprocessing writes them); by default ``$MTLSEARCH_DATA_DIR/ali-ccp/``.
    ``tasks="ctr-ctcvr"`` predicts CTCVR directly; ``"esmm"`` adds it as p(CTR) * p(CVR).

    >>> ali_ccp(tasks="esmm").task_names  # doctest: +SKIP
    ('ctr', 'cvr', 'ctcvr')
    """
    folder, where = _folder(path, "ali-ccp")
    get = (
        "download Ali-CCP from https://tianchi.aliyun.com/dataset/408 (a Tianchi account is needed), "
        "run torch-rechub's examples/ranking/data/ali-ccp/preprocess_ali_ccp.py on it"
    )
    files = _files(folder, _ALI_CCP_FILES, where, get)
    return tabular(
        path=files["train"],
        validation_path=files["validation"],
        test_path=files["test"],
        categorical=ALI_CCP_CATEGORICAL,
        numeric=ALI_CCP_NUMERIC,
        tasks=_preset_tasks(tasks, "purchase"),
        name="ali-ccp",
    )


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise MtlsearchError(
            f"validation_fraction must lie strictly between 0 and 1, got {value!r}",
            where="data.options.validation_fraction",
            fix="e.g. 0.1",
        )
    return float(value)
