"""The public benchmarks (AliExpress, Ali-CCP) on their real sample rows, and funnel tasks on them."""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
import pytest
import torch

from mtlsearch.cli import main
from mtlsearch.data import load_dataset
from mtlsearch.errors import MtlsearchError
from mtlsearch.search import load_study

ALIEXPRESS_NAMES = {"aliexpress_train_sample.csv": "train.csv", "aliexpress_test_sample.csv": "test.csv"}
ALI_CCP_NAMES = {
    "ali_ccp_train_sample.csv": "ali_ccp_train.csv",
    "ali_ccp_val_sample.csv": "ali_ccp_val.csv",
    "ali_ccp_test_sample.csv": "ali_ccp_test.csv",
}


def _copy(source: Path, names: dict[str, str], folder: Path) -> Path:
    """The sample files under the full data sets' real names."""
    folder.mkdir(parents=True, exist_ok=True)
    for sample, real in names.items():
        shutil.copy(source / sample, folder / real)
    return folder


@pytest.fixture
def aliexpress_root(data_dir: Path, tmp_path: Path, monkeypatch) -> Path:
    """``MTLSEARCH_DATA_DIR`` holding ``aliexpress/NL/{train,test}.csv`` (the sample rows)."""
    _copy(data_dir / "aliexpress-sample", ALIEXPRESS_NAMES, tmp_path / "root" / "aliexpress" / "NL")
    monkeypatch.setenv("MTLSEARCH_DATA_DIR", str(tmp_path / "root"))
    return tmp_path / "root"


@pytest.fixture
def ali_ccp_dir(data_dir: Path, tmp_path: Path) -> Path:
    return _copy(data_dir / "ali-ccp-sample", ALI_CCP_NAMES, tmp_path / "ali-ccp")


def test_aliexpress_schema_tasks_and_splits(aliexpress_root: Path) -> None:
    data = load_dataset("aliexpress", {"country": "NL"})
    assert data.name == "aliexpress-NL"
    assert data.features.categorical == tuple(f"categorical_{i}" for i in range(1, 17))
    assert data.features.numeric == tuple(f"numerical_{i}" for i in range(1, 64))  # search_id is no feature
    assert data.task_names == ("ctr", "ctcvr") and [t.type for t in data.tasks] == ["binary", "binary"]
    # validation carved from train.csv (10%), test = test.csv
    assert (len(data.train), len(data.validation), len(data.test)) == (90, 10, 20)
    for split in (data.train, data.validation, data.test):
        assert split.masks.all()  # both tasks on all impressions
    # the 100 train rows hold 60 clicks and 2 conversions; test.csv 10 and 2
    assert int(data.train.labels.sum(0)[0] + data.validation.labels.sum(0)[0]) == 60
    assert data.test.labels.sum(0).tolist() == [10.0, 2.0]
    # encoded integer codes are categories: vocabulary sizes count distinct codes (+1 for unknown)
    assert data.features.vocab_sizes[0] == 2 and data.features.vocab_sizes[6] == 16
    assert all(code.isdigit() for vocabulary in data.vocabularies for code in vocabulary)
    again = load_dataset("aliexpress", {"country": "nl", "seed": 0})
    other = load_dataset("aliexpress", {"country": "NL", "seed": 1, "validation_fraction": 0.2})
    assert torch.equal(data.validation.numeric, again.validation.numeric)
    assert (len(other.train), len(other.validation)) == (80, 20)


def test_aliexpress_funnel_presets(aliexpress_root: Path) -> None:
    space = load_dataset("aliexpress", {"tasks": "ctr-cvr"})
    assert space.task_names == ("ctr", "cvr") and space.tasks[1].sample_space == "task:ctr"
    clicks = space.train.labels[:, 0] == 1
    assert torch.equal(space.train.masks[:, 1], clicks)
    esmm = load_dataset("aliexpress", {"tasks": "esmm"})
    assert esmm.task_names == ("ctr", "cvr", "ctcvr") and esmm.tasks[2].product_of == ("ctr", "cvr")
    assert esmm.products == {2: (0, 1)} and esmm.train.masks[:, 2].all()


def test_ali_ccp_schema_tasks_and_splits(ali_ccp_dir: Path) -> None:
    data = load_dataset("ali-ccp", {"path": str(ali_ccp_dir)})
    assert data.features.n_categorical == 23 and data.features.n_numeric == 8
    assert data.features.categorical[:2] == ("101", "121") and data.features.numeric[0] == "D109_14"
    assert data.task_names == ("ctr", "cvr")
    assert (len(data.train), len(data.validation), len(data.test)) == (100, 50, 50)  # the three files
    # CVR lives on clicked impressions: 7 / 3 / 2 clicks in the three files
    assert [int(s.masks[:, 1].sum()) for s in (data.train, data.validation, data.test)] == [7, 3, 2]
    ctcvr = load_dataset("ali-ccp", {"path": str(ali_ccp_dir), "tasks": "ctr-ctcvr"})
    assert ctcvr.task_names == ("ctr", "ctcvr") and ctcvr.train.masks.all()
    esmm = load_dataset("ali-ccp", {"path": str(ali_ccp_dir), "tasks": "esmm"})
    assert esmm.products == {2: (0, 1)}


def test_sample_file_names_are_accepted_too(data_dir: Path) -> None:
    data = load_dataset("ali-ccp", {"path": str(data_dir / "ali-ccp-sample")})
    assert len(data.train) == 100


def test_absent_data_says_where_to_get_it_and_where_to_put_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MTLSEARCH_DATA_DIR", str(tmp_path))
    with pytest.raises(MtlsearchError) as info:
        load_dataset("aliexpress", {"country": "ES"})
    message = str(info.value)
    assert "\n" not in message and message.startswith("MTLSEARCH_DATA_DIR: train.csv not found in")
    assert "tianchi.aliyun.com/dataset/74690" in message and str(tmp_path / "aliexpress" / "ES") in message
    with pytest.raises(MtlsearchError, match="tianchi.aliyun.com/dataset/408.*preprocess_ali_ccp.py"):
        load_dataset("ali-ccp", {})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"country": "RU"}, "data.options.country: unknown AliExpress country 'RU'"),
        ({"tasks": "ctcvr"}, "data.options.tasks: unknown task preset 'ctcvr'"),
        ({"validation_fraction": 1.0}, "data.options.validation_fraction: validation_fraction must lie"),
        (
            {
                "tasks": [
                    {"name": "ctr", "type": "binary", "label": "click"},
                    {"name": "x", "type": "binary", "label": "conversion", "product_of": ["ctr", "cvr"]},
                ]
            },
            "data.options.tasks[1].product_of: product_of names unknown task 'cvr'",
        ),
        (
            {
                "tasks": [
                    {"name": "ctr", "type": "binary", "label": "click"},
                    {"name": "x", "type": "binary", "label": "conversion", "product_of": "ctr"},
                ]
            },
            "data.options.tasks[1].product_of: expected a list of task names",
        ),
    ],
)
def test_bad_options(aliexpress_root: Path, options: dict, message: str) -> None:
    with pytest.raises(MtlsearchError) as info:
        load_dataset("aliexpress", options)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def _one_epoch_study(tiny_template, folder: Path, data: dict, objectives: list[dict]) -> optuna.Study:
    study_file = tiny_template.write(
        folder, data=data, objectives=objectives, training={"epochs": 1, "patience": 0}, n_trials=2
    )
    storage = f"sqlite:///{folder / 'public.db'}"
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    return load_study("tiny", storage)


def test_one_epoch_study_on_aliexpress(aliexpress_root: Path, tiny_template, tmp_path: Path) -> None:
    objectives = [{"task": "ctr", "metric": "auc"}, {"task": "ctcvr", "metric": "auc"}]
    study = _one_epoch_study(tiny_template, tmp_path, {"name": "aliexpress", "options": {"country": "NL"}}, objectives)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert all(0 <= v <= 1 for t in study.trials for v in t.values)


def test_one_epoch_esmm_study_on_ali_ccp(ali_ccp_dir: Path, tiny_template, tmp_path: Path) -> None:
    data = {"name": "ali-ccp", "options": {"path": str(ali_ccp_dir), "tasks": "esmm"}}
    objectives = [
        {"task": "ctr", "metric": "auc"},
        {"task": "cvr", "metric": "auc"},
        {"task": "ctcvr", "metric": "auc"},
    ]
    study = _one_epoch_study(tiny_template, tmp_path, data, objectives)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    for trial in study.trials:
        assert set(trial.user_attrs["test"]) >= {"ctr/auc", "cvr/auc", "ctcvr/auc"}


def test_constant_numeric_columns_standardise_to_zero(data_dir: Path) -> None:
    # Ali-CCP's sample has four constant numeric columns whose float64 std rounds to ~1e-16, not 0:
    # dividing by it made training inputs of +-1 that serving (float32) saw as 0.
    data = load_dataset("ali-ccp", {"path": str(data_dir / "ali-ccp-sample")})
    assert data.numeric_std[:4].tolist() == [1.0] * 4
    assert data.train.numeric[:, :4].abs().max() < 1e-6 and data.test.numeric[:, :4].abs().max() < 1e-6
