"""Census-Income loader: real rows (a slice), task groups, split protocol and error messages."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mtlsearch.data import _census, dataset_options, load_dataset
from mtlsearch.data._census import CENSUS_COLUMNS, census_income
from mtlsearch.errors import MtlsearchError

ROWS = 2000
FILES = ("census-income.data.gz", "census-income.test.gz")


@pytest.fixture(scope="module")
def census_dir(data_dir: Path) -> Path:
    """The real files, from the root conftest's ``data_dir`` (``MTLSEARCH_DATA_DIR`` or ../shared/data)."""
    folder = (data_dir / "census-income").resolve()  # tests run in tmp folders: no relative paths
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        pytest.fail(f"Census-Income data missing: {', '.join(missing)} not in {folder}; set MTLSEARCH_DATA_DIR")
    return folder


@pytest.fixture(scope="module")
def group1(census_dir: Path):
    return census_income(path=str(census_dir), max_rows=ROWS)


@pytest.fixture(scope="module")
def raw(census_dir: Path) -> dict[str, pd.DataFrame]:
    """The same slices read independently of the loader, for cross-checks."""
    return {
        name: pd.read_csv(census_dir / file, header=None, names=list(CENSUS_COLUMNS), skipinitialspace=True, nrows=ROWS)
        for name, file in zip(("train", "test"), FILES, strict=True)
    }


def _small_copy(census_dir: Path, folder: Path, lines: int = 300, edit=None) -> Path:
    """Write the first ``lines`` rows of each real file to ``folder`` (gzip), optionally edited."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        with gzip.open(census_dir / name, "rt") as source:
            rows = [next(source) for _ in range(lines)]
        if edit is not None:
            rows = edit(name, rows)
        with gzip.open(folder / name, "wt") as out:
            out.writelines(rows)
    return folder


def _set_field(row: str, index: int, value: str) -> str:
    fields = row.rstrip("\n").split(", ")
    fields[index] = value
    return ", ".join(fields) + "\n"


def test_group1_shapes_and_features(group1) -> None:
    assert group1.name == "census-income-1"
    assert group1.task_names == ("income", "marital")
    assert [t.type for t in group1.tasks] == ["binary", "binary"]
    assert (len(group1.train), len(group1.validation), len(group1.test)) == (ROWS, ROWS // 2, ROWS // 2)
    # 42 fields less the instance weight and the two label columns; 7 of them numeric.
    assert group1.features.numeric == (
        "age",
        "wage_per_hour",
        "capital_gains",
        "capital_losses",
        "dividends",
        "employer_size",
        "weeks_worked",
    )
    # 32 categorical fields, plus the 7 numeric ones' values label-encoded (embed_numeric).
    assert group1.features.n_categorical == 32 + 7
    assert group1.features.categorical[-7:] == tuple(f"{c}_value" for c in group1.features.numeric)
    assert group1.train.categorical.shape == (ROWS, 39)
    assert group1.train.numeric.shape == (ROWS, 7)
    assert group1.train.labels.shape == group1.train.masks.shape == (ROWS, 2)
    assert bool(group1.train.masks.all()) and bool(group1.test.masks.all())
    assert set(group1.train.labels.unique().tolist()) == {0.0, 1.0}
    assert group1.log1p == ("wage_per_hour", "capital_gains", "capital_losses", "dividends")


def test_embed_numeric_label_encodes_numeric_values(group1, census_dir: Path, raw) -> None:
    plain = census_income(path=str(census_dir), max_rows=ROWS, embed_numeric=False)
    assert plain.features.n_categorical == 32 and plain.features.numeric == group1.features.numeric
    assert torch.equal(plain.train.numeric, group1.train.numeric)
    age = group1.features.categorical.index("age_value")
    vocabulary = group1.vocabularies[age]
    decoded = [vocabulary[code - 1] for code in group1.train.categorical[:, age].tolist()]
    assert [float(v) for v in decoded] == raw["train"]["age"].astype(float).tolist()


def test_label_columns_are_not_inputs(group1, census_dir: Path) -> None:
    inputs = set(group1.features.categorical) | set(group1.features.numeric)
    assert not inputs & {"income", "marital_status", "instance_weight"}
    assert "education" in inputs  # a feature in group 1, a label only in group 2
    group2 = census_income(path=str(census_dir), group=2, max_rows=300)
    inputs2 = set(group2.features.categorical) | set(group2.features.numeric)
    assert not inputs2 & {"income", "marital_status", "education", "instance_weight"}
    assert len(inputs2) == len(inputs) - 1


def test_task_base_rates_are_plausible(group1) -> None:
    income, marital = group1.train.labels.mean(0).tolist()
    assert 0.03 < income < 0.10  # ~6% earn over 50K
    assert 0.38 < marital < 0.50  # ~43% never married


def test_labels_match_the_raw_fields(group1, raw) -> None:
    train = raw["train"]
    assert group1.train.labels[:, 0].tolist() == (train["income"] == "50000+.").astype(float).tolist()
    assert group1.train.labels[:, 1].tolist() == (train["marital_status"] == "Never married").astype(float).tolist()


def test_group2_tasks(census_dir: Path, raw) -> None:
    data = census_income(path=str(census_dir), group=2, max_rows=ROWS)
    assert data.name == "census-income-2"
    assert data.task_names == ("education", "marital")
    college = {
        "Associates degree-academic program",
        "Associates degree-occup /vocational",
        "Bachelors degree(BA AB BS)",
        "Masters degree(MA MS MEng MEd MSW MBA)",
        "Prof school degree (MD DDS DVM LLB JD)",
        "Doctorate degree(PhD EdD)",
    }
    assert college == _census.COLLEGE_OR_ABOVE
    expected = raw["train"]["education"].isin(college).astype(float).tolist()
    assert data.train.labels[:, 0].tolist() == expected
    assert 0.1 < data.train.labels[:, 0].mean().item() < 0.35


def test_standardisation_uses_train_statistics(group1, raw) -> None:
    numeric = list(group1.features.numeric)
    train_age = raw["train"]["age"].to_numpy(dtype=float)
    age = numeric.index("age")
    assert group1.numeric_mean[age].item() == pytest.approx(train_age.mean(), rel=1e-5)
    assert group1.numeric_std[age].item() == pytest.approx(train_age.std(), rel=1e-5)
    gains = numeric.index("capital_gains")
    log_gains = np.log1p(raw["train"]["capital_gains"].to_numpy(dtype=float))
    assert group1.numeric_mean[gains].item() == pytest.approx(log_gains.mean(), rel=1e-5)
    assert torch.allclose(group1.train.numeric.mean(0), torch.zeros(7), atol=1e-4)
    # Validation and test are encoded with train's statistics: decoding recovers the raw ages.
    held_out = torch.cat([group1.validation.numeric[:, age], group1.test.numeric[:, age]])
    decoded = held_out * group1.numeric_std[age] + group1.numeric_mean[age]
    expected = np.sort(raw["test"]["age"].to_numpy(dtype=float))
    assert np.allclose(np.sort(decoded.numpy()), expected, atol=1e-3)


def test_unseen_categories_map_to_code_zero(census_dir: Path, tmp_path: Path) -> None:
    country = CENSUS_COLUMNS.index("birth_country")

    def edit(name: str, rows: list[str]) -> list[str]:
        return [_set_field(r, country, "Atlantis") for r in rows] if name.endswith("test.gz") else rows

    folder = _small_copy(census_dir, tmp_path / "census-income", lines=200, edit=edit)
    data = census_income(path=str(folder))
    j = data.features.categorical.index("birth_country")
    assert "Atlantis" not in data.vocabularies[j]
    assert bool((data.train.categorical[:, j] >= 1).all())
    assert bool((data.validation.categorical[:, j] == 0).all())
    assert bool((data.test.categorical[:, j] == 0).all())


def test_split_is_half_and_half_and_deterministic_per_seed(census_dir: Path, group1) -> None:
    again = census_income(path=str(census_dir), max_rows=ROWS, seed=0)
    assert torch.equal(again.validation.categorical, group1.validation.categorical)
    assert torch.equal(again.test.numeric, group1.test.numeric)
    other = census_income(path=str(census_dir), max_rows=ROWS, seed=1)
    # Train is the training file, whatever the seed.
    assert torch.equal(other.train.numeric, group1.train.numeric)
    assert not torch.equal(other.validation.numeric, group1.validation.numeric)
    # Same held-out rows, partitioned differently.
    rows = torch.cat([group1.validation.numeric, group1.test.numeric])
    other_rows = torch.cat([other.validation.numeric, other.test.numeric])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, other_rows.tolist()))
    odd = census_income(path=str(census_dir), max_rows=301)
    assert (len(odd.validation), len(odd.test)) == (151, 150)


def test_folder_from_environment(census_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_copy(census_dir, tmp_path / "census-income", lines=100)
    monkeypatch.setenv("MTLSEARCH_DATA_DIR", str(tmp_path))
    data = census_income()
    assert len(data.train) == 100
    # An explicit path wins over the environment.
    assert len(census_income(path=str(census_dir), max_rows=60).train) == 60


def test_missing_files_give_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, destination: Path) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(_census, "_download", offline)
    monkeypatch.delenv("MTLSEARCH_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(MtlsearchError) as caught:
        census_income()
    message = str(caught.value)
    assert "\n" not in message
    folder = tmp_path / "cache" / "mtlsearch" / "census-income"
    assert str(folder) in message
    assert "census-income.data.gz" in message and "census-income.test.gz" in message
    assert "MTLSEARCH_DATA_DIR" in message
    assert "Network is unreachable" in message


def test_missing_files_are_downloaded_into_the_folder(
    census_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = _small_copy(census_dir, tmp_path / "uci", lines=50)
    fetched = []

    def fake_download(url: str, destination: Path) -> None:
        fetched.append((url.rsplit("/", 1)[1], destination.name))
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(small / destination.name, destination)

    monkeypatch.setattr(_census, "_download", fake_download)
    target = tmp_path / "target"
    data = census_income(path=str(target))
    assert len(data.train) == 50
    assert fetched == [(name, name) for name in FILES]
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)


def test_download_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.BytesIO):
        def read(self, *args) -> bytes:
            raise TimeoutError("timed out")

    monkeypatch.setattr(_census.urllib.request, "urlopen", lambda url, timeout: Broken(b"x"))
    with pytest.raises(OSError, match="timed out"):
        _census._download("https://example.invalid/f.gz", tmp_path / "f.gz")
    assert list(tmp_path.iterdir()) == []


def test_a_download_gets_a_plain_file_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_census.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"data"))
    _census._download("https://example.invalid/f.gz", tmp_path / "new" / "f.gz")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "new" / "f.gz").read_bytes() == b"data"
    assert stat.S_IMODE((tmp_path / "new" / "f.gz").stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


def test_truncated_gzip_names_the_file(census_dir: Path, tmp_path: Path) -> None:
    folder = _small_copy(census_dir, tmp_path / "census-income", lines=300)
    broken = folder / "census-income.data.gz"
    broken.write_bytes(broken.read_bytes()[:5000])
    with pytest.raises(MtlsearchError) as caught:
        census_income(path=str(folder))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{broken}: cannot read the file, truncated or corrupt")


def test_empty_file_names_the_file(census_dir: Path, tmp_path: Path) -> None:
    folder = _small_copy(census_dir, tmp_path / "census-income", lines=50)
    with gzip.open(folder / "census-income.test.gz", "wt"):
        pass
    with pytest.raises(MtlsearchError, match=r"census-income\.test\.gz: the file has no rows"):
        census_income(path=str(folder))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda row: row.rstrip("\n") + ", extra\n", "not a census-income file with 42 fields per line"),
        (lambda row: row.rsplit(", ", 1)[0] + "\n", "line 3 does not end with an income label"),
        (lambda row: _set_field(row, 0, "old"), "line 3: field 'age' is 'old', not a number"),
    ],
)
def test_malformed_lines_name_the_file(census_dir: Path, tmp_path: Path, edit, expected: str) -> None:
    def corrupt(name: str, rows: list[str]) -> list[str]:
        if name.endswith("test.gz"):
            rows[2] = edit(rows[2])
        return rows

    folder = _small_copy(census_dir, tmp_path / "census-income", lines=50, edit=corrupt)
    with pytest.raises(MtlsearchError) as caught:
        census_income(path=str(folder))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{folder / 'census-income.test.gz'}: ")
    assert expected in message


@pytest.mark.parametrize(("options", "field"), [({"group": 3}, "group"), ({"max_rows": 1}, "max_rows")])
def test_bad_options(census_dir: Path, options: dict, field: str) -> None:
    with pytest.raises(MtlsearchError, match=f"census-income: {field}"):
        census_income(path=str(census_dir), **options)


def test_registry_loads_census(census_dir: Path) -> None:
    assert dataset_options("census-income") == {
        "path": None,
        "group": 1,
        "seed": 0,
        "log1p": True,
        "embed_numeric": True,
        "max_rows": None,
    }
    data = load_dataset("census-income", {"path": str(census_dir), "group": 2, "max_rows": 100, "log1p": False})
    assert data.task_names == ("education", "marital")
    assert data.log1p == ()
