"""UCI Census-Income (KDD) with the MMoE task groups (MMoE section 5.2, reused by PLE).

Group 1 predicts ``income`` (over 50K) and ``marital`` (never married); group 2 predicts
``education`` (college degree or above) and ``marital``. The training file is the train
split; the test file is split 1:1 (seeded) into validation and test, so model selection
never sees test rows. Files are looked up in ``path``, else ``$MTLSEARCH_DATA_DIR/census-income/``,
else ``~/.cache/mtlsearch/census-income/``, and downloaded from UCI when absent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from mtlsearch._outputs import normal_file_mode
from mtlsearch.data._dataset import MultiTaskData, TaskColumns, TaskSpec, from_frames, value_as_text
from mtlsearch.errors import MtlsearchError

__all__ = ["CENSUS_COLUMNS", "COLLEGE_OR_ABOVE", "census_income"]

# The 42 fields in file order, named after UCI's census-income.names.
CENSUS_COLUMNS = (
    "age",  # 0, numeric
    "class_of_worker",
    "industry_code",  # detailed industry recode
    "occupation_code",  # detailed occupation recode
    "education",  # 4, label of group 2
    "wage_per_hour",  # 5, numeric
    "enrolled_in_edu_inst",
    "marital_status",  # 7, label of both groups
    "major_industry",
    "major_occupation",
    "race",
    "hispanic_origin",
    "sex",
    "union_member",
    "unemployment_reason",
    "employment_status",  # full or part time
    "capital_gains",  # 16, numeric
    "capital_losses",  # 17, numeric
    "dividends",  # 18, numeric
    "tax_filer_status",
    "previous_region",
    "previous_state",
    "household_detail",
    "household_summary",
    "instance_weight",  # 24, a survey weight: never a feature
    "migration_msa",
    "migration_region",
    "migration_within_region",
    "same_house_last_year",
    "migration_sunbelt",
    "employer_size",  # 30, numeric: persons who worked for the employer
    "family_under_18",
    "father_birth_country",
    "mother_birth_country",
    "birth_country",
    "citizenship",
    "self_employed",
    "veterans_questionnaire",
    "veterans_benefits",
    "weeks_worked",  # 39, numeric
    "year",
    "income",  # 41, "- 50000." or "50000+.", label of group 1
)
_NUMERIC = (
    "age",
    "wage_per_hour",
    "capital_gains",
    "capital_losses",
    "dividends",
    "employer_size",
    "weeks_worked",
)
_HEAVY_TAILED = ("wage_per_hour", "capital_gains", "capital_losses", "dividends")
_INCOME_VALUES = ("- 50000.", "50000+.")

# "College or above" as in MMoE/PLE re-implementations: a completed college degree, associates
# included. "Some college but no degree" is not one.
COLLEGE_OR_ABOVE = frozenset(
    {
        "Associates degree-academic program",
        "Associates degree-occup /vocational",
        "Bachelors degree(BA AB BS)",
        "Masters degree(MA MS MEng MEd MSW MBA)",
        "Prof school degree (MD DDS DVM LLB JD)",
        "Doctorate degree(PhD EdD)",
    }
)

# Per group: the tasks, and the raw columns kept out of the inputs. Income is dropped in group 2
# too although it is no task there: one leak-free input set per group, whatever the tasks.
_GROUPS = {
    1: (("income", "marital"), ("income", "marital_status")),
    2: (("education", "marital"), ("education", "marital_status", "income")),
}

_FILES = ("census-income.data", "census-income.test")
_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/census-income-mld/{name}.gz"
_TIMEOUT_S = 20


def census_income(
    *,
    path: str | None = None,
    group: int = 1,
    seed: int = 0,
    log1p: bool = True,
    embed_numeric: bool = True,
    max_rows: int | None = None,
) -> MultiTaskData:
    """Census-Income (KDD) as a two-task data set.

    ``path`` is the folder holding ``census-income.data[.gz]`` and ``census-income.test[.gz]``;
    ``seed`` fixes the validation/test split of the test file; ``log1p`` compresses the
    heavy-tailed money columns; ``embed_numeric`` also feeds each numeric column's values as a
    categorical feature (label-encoded and embedded, as the re-implementations that reach
    ~0.958 income AUC do), beside its standardised value; ``max_rows`` keeps only each file's
    first rows (for tests).

    >>> data = census_income(group=1)  # doctest: +SKIP
    >>> data.task_names, len(data.train), len(data.validation), len(data.test)
    (('income', 'marital'), 199523, 49881, 49881)
    """
    if group not in _GROUPS:
        raise MtlsearchError(f"unknown task group {group!r}", where="census-income: group", fix="use 1 or 2")
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 2):
        raise MtlsearchError(
            f"max_rows {max_rows!r} must be an integer >= 2", where="census-income: max_rows", fix="e.g. 2000"
        )
    folder = _data_folder(path)
    train_file, test_file = _locate(folder)
    train = _read(train_file, max_rows)
    held_out = _read(test_file, max_rows)

    # Split the test file 1:1 with a seeded permutation: validation first (the larger half if odd).
    order = np.random.default_rng(seed).permutation(len(held_out))
    half = (len(held_out) + 1) // 2
    frames = {
        "train": train,
        "validation": held_out.iloc[np.sort(order[:half])].reset_index(drop=True),
        "test": held_out.iloc[np.sort(order[half:])].reset_index(drop=True),
    }
    task_names, dropped = _GROUPS[group]
    inputs = [c for c in CENSUS_COLUMNS if c not in dropped and c != "instance_weight"]
    numeric = [c for c in inputs if c in _NUMERIC]
    categorical = [c for c in inputs if c not in _NUMERIC]
    if embed_numeric:
        codes = {f"{c}_value": c for c in numeric}
        frames = {k: f.assign(**{code: value_as_text(f[c]) for code, c in codes.items()}) for k, f in frames.items()}
        categorical += list(codes)
    data = from_frames(
        f"census-income-{group}",
        frames,
        categorical=categorical,
        numeric=numeric,
        tasks=[TaskColumns(TaskSpec(name, "binary"), label=f"label_{name}") for name in task_names],
        source=str(folder),
        log1p=list(_HEAVY_TAILED) if log1p else [],
    )
    return dataclasses.replace(data, value_features=tuple(codes.items())) if embed_numeric else data


def _data_folder(path: str | None) -> Path:
    """``path``, else ``$MTLSEARCH_DATA_DIR/census-income``, else the user's cache folder (absolute)."""
    if path is not None:
        folder = Path(path)
    elif os.environ.get("MTLSEARCH_DATA_DIR"):
        folder = Path(os.environ["MTLSEARCH_DATA_DIR"]) / "census-income"
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = Path(cache) / "mtlsearch" / "census-income"
    return folder.expanduser().absolute()


def _locate(folder: Path) -> tuple[Path, Path]:
    """The two files in ``folder`` (plain or gzip), downloading the missing ones from UCI."""
    found = []
    for name in _FILES:
        candidates = [folder / name, folder / f"{name}.gz"]
        existing = next((c for c in candidates if c.is_file()), None)
        if existing is None:
            existing = folder / f"{name}.gz"
            try:
                _download(_URL.format(name=name), existing)
            except OSError as error:
                reason = " ".join(str(error).split()) or type(error).__name__
                raise MtlsearchError(
                    f"{name}.gz not found and its download from UCI failed ({reason})",
                    where=f"census-income: {folder}",
                    fix=f"put census-income.data.gz and census-income.test.gz in {folder}, or set "
                    "MTLSEARCH_DATA_DIR to a folder holding census-income/ with them",
                ) from None
        found.append(existing)
    return found[0], found[1]


def _download(url: str, destination: Path) -> None:
    """Fetch ``url`` to ``destination`` via a temporary name, so a broken transfer leaves no file
    (nor the folders it created for it)."""
    created = [folder for folder in (destination.parent, *destination.parent.parents) if not folder.exists()]
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            shutil.copyfileobj(response, out)
        normal_file_mode(temporary)  # a plain file's mode, not mkstemp's private 0600
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        for folder in created:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        Path(temporary).unlink(missing_ok=True)


def _read(file: Path, max_rows: int | None) -> pd.DataFrame:
    """One raw file: categorical fields as strings, numeric ones as floats, plus 0/1 task labels."""
    fix = f"delete {file} so that it is downloaded again, or replace it with the UCI original"
    try:
        # na_filter=False keeps "NA" (a hispanic-origin answer) and "?" as categories of their own.
        frame = pd.read_csv(
            file,
            header=None,
            names=list(CENSUS_COLUMNS),
            dtype=object,
            skipinitialspace=True,
            na_filter=False,
            nrows=max_rows,
            compression="infer",
        )
    except pd.errors.ParserError as error:
        detail = " ".join(str(error).split()).removeprefix("Error tokenizing data. C error: ")
        raise MtlsearchError(
            f"not a census-income file with 42 fields per line ({detail})", where=str(file), fix=fix
        ) from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise MtlsearchError(
            f"cannot read the file, truncated or corrupt ({reason})", where=str(file), fix=fix
        ) from None
    if len(frame) == 0:
        raise MtlsearchError("the file has no rows", where=str(file), fix=fix)
    bad = ~frame["income"].isin(_INCOME_VALUES)
    if bad.any():
        line = int(np.argmax(bad.to_numpy())) + 1
        raise MtlsearchError(
            f"line {line} does not end with an income label ({frame['income'].iloc[line - 1]!r}); "
            "expected 42 fields per line",
            where=str(file),
            fix=fix,
        )
    for column in _NUMERIC:
        try:
            frame[column] = frame[column].astype(np.float64)
        except ValueError:
            values = pd.to_numeric(frame[column], errors="coerce")
            line = int(np.argmax(values.isna().to_numpy())) + 1
            raise MtlsearchError(
                f"line {line}: field {column!r} is {frame[column].iloc[line - 1]!r}, not a number",
                where=str(file),
                fix=fix,
            ) from None
    frame["label_income"] = (frame["income"] == "50000+.").astype(np.float32)
    frame["label_marital"] = (frame["marital_status"] == "Never married").astype(np.float32)
    frame["label_education"] = frame["education"].isin(COLLEGE_OR_ABOVE).astype(np.float32)
    return frame
