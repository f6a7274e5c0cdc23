"""``mtlsearch predict``: CSV and Parquet in chunks, the same scores as ``serving.load``, clean failures."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mtlsearch.serving
from mtlsearch.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("source", "target"), [("csv", "csv"), ("parquet", "parquet"), ("csv", "parquet")])
def test_predict_gives_the_scores_of_serving_load_in_chunks(trained, table_file, tmp_path, capsys, source, target):
    out, _, _ = trained
    table = pd.read_csv(table_file).drop(columns=["click", "buy", "split"])
    table.loc[3, "user"] = "a user never seen in training"
    data = tmp_path / f"rows.{source}"
    table.to_csv(data, index=False) if source == "csv" else table.to_parquet(data, index=False)
    scores = tmp_path / f"scores.{target}"
    argv = ["predict", "--model", str(out), "--data", str(data), "--out", str(scores), "--batch-size", "7"]
    assert main([*argv, "--keep", "row_id"]) == 0
    assert capsys.readouterr().out.strip() == f"scored {len(table)} rows: {scores}"
    got = pd.read_csv(scores) if target == "csv" else pd.read_parquet(scores)
    assert list(got.columns) == ["row_id", "ctr", "cvr"]
    assert got["row_id"].tolist() == table["row_id"].tolist()
    want = mtlsearch.serving.load(out)(table)
    np.testing.assert_allclose(got[["ctr", "cvr"]].to_numpy(), want.to_numpy(), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({data.name, scores.name})  # no temp file left
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(scores.stat().st_mode) == 0o666 & ~umask  # a plain file's mode, not the temp file's 0600


def test_a_missing_column_is_one_line_and_writes_nothing(trained, table_file, tmp_path):
    out, _, _ = trained
    data = tmp_path / "rows.csv"
    pd.read_csv(table_file).drop(columns="age").to_csv(data, index=False)
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "predict", "--model", str(out), "--data", str(data), "--out", "s.csv"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"mtlsearch predict: error: {data}: column 'age' not found "
        "(fix: give the columns the model was trained on: user, item, price, age)"
    ]
    assert not (tmp_path / "s.csv").exists()


def test_a_bad_value_in_a_later_chunk_leaves_the_old_output_untouched(trained, table_file, tmp_path, capsys):
    out, _, _ = trained
    table = pd.read_csv(table_file)
    table["price"] = table["price"].astype(object)
    table.loc[150, "price"] = "n/a"
    data = tmp_path / "rows.csv"
    table.to_csv(data, index=False)
    scores = tmp_path / "scores.csv"
    scores.write_text("old\n")
    argv = ["predict", "--model", str(out), "--data", str(data), "--out", str(scores), "--batch-size", "50"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "numeric column 'price' has 1 missing, NaN or non-numeric value(s)" in err
    assert "in data row 151, header not counted" in err  # the file's row, not the chunk's
    assert scores.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv", "scores.csv"]


def test_progress_bar_only_when_asked_or_on_a_terminal(trained, table_file, tmp_path, capsys, monkeypatch):
    from mtlsearch.serving import _predict

    out, _, _ = trained
    monkeypatch.setattr(_predict, "PROGRESS_DELAY_S", 0.0)  # as if the file took long
    mtlsearch.serving.predict(out, table_file, tmp_path / "a.csv", batch_size=10)
    assert capsys.readouterr().err == ""  # stderr is not a terminal under pytest
    mtlsearch.serving.predict(out, table_file, tmp_path / "b.csv", batch_size=10, progress=True)
    err = capsys.readouterr().err
    assert "predict: " in err and "160rows" in err.replace(" ", "")
    assert len(pd.read_csv(tmp_path / "b.csv")) == len(pd.read_csv(table_file))


def test_census_rows_score_without_the_derived_value_columns(data_dir, tmp_path):
    """Census embeds each numeric column's value as a category (``age_value``...): serving derives
    those from the raw column with the training function, so a frame of raw columns scores."""
    from mtlsearch.config import run_config_from_dict
    from mtlsearch.data._census import _read
    from mtlsearch.serving import reference_scores
    from mtlsearch.training import prepare_data, train
    from mtlsearch.training._artifacts import write_artifacts

    options = {"path": str(data_dir / "census-income"), "max_rows": 600}
    config = run_config_from_dict(
        {
            "data": {"name": "census-income", "options": options},
            "model": {"architecture": "mmoe", "expert_hidden": [8], "tower_hidden": [4]},
            "training": {"epochs": 1, "batch_size": 128},
        }
    )
    data = prepare_data(config)
    result = train(config, data)
    write_artifacts(result, tmp_path / "run", data, formats=("pt2",))
    files = sorted((data_dir / "census-income").glob("census-income.test*"))
    raw = _read(files[0], 600)
    order = np.random.default_rng(0).permutation(len(raw))  # the loader's validation half
    validation = raw.iloc[np.sort(order[: (len(raw) + 1) // 2])].reset_index(drop=True)
    validation = validation.assign(age=validation["age"].astype(int))  # integers name the same category
    assert "age_value" not in validation.columns
    scores = mtlsearch.serving.load(tmp_path / "run")(validation)
    reference = reference_scores(result.network, data, data.validation, 1000).numpy()
    np.testing.assert_allclose(scores.to_numpy(), reference, atol=1e-5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--model": "nowhere"}, "nowhere: no vocabularies.json in nowhere"),
        ({"--data": "missing.csv"}, "missing.csv: file not found"),
        ({"--out": "scores.xlsx"}, "--out: unknown file type '.xlsx'"),
        ({"--out": "no/such/folder/scores.csv"}, "--out: folder no/such/folder does not exist"),
        ({"--out": "."}, "--out: . is a folder, not a file (fix: name a file, e.g. scores.parquet)"),
        ({"--batch-size": "0"}, "--batch-size: --batch-size must be >= 1, got 0"),
    ],
)
def test_bad_predict_arguments_are_one_line(trained, table_file, tmp_path, capsys, change, message):
    out, _, _ = trained
    args = {"--model": str(out), "--data": str(table_file), "--out": "scores.csv", **change}
    assert main(["predict", *[x for pair in args.items() for x in pair]]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"mtlsearch predict: error: {message}")
    assert list(tmp_path.iterdir()) == []
