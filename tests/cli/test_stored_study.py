"""The commands that read a stored study take the study file that ran it as well as its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlsearch.cli import main


@pytest.fixture
def ran(tmp_path: Path, tiny_template, monkeypatch, capsys) -> Path:
    """The tiny study (1 trial, its own storage my.db beside the file) run from another folder."""
    study = tiny_template.write(tmp_path, n_trials=1, storage="sqlite:///my.db", training={"epochs": 1})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["optimize", "--study", str(study), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"study tiny: storage sqlite:///{tmp_path / 'my.db'}" in err  # the stored name, not the file's
    return study


def test_pareto_and_export_take_the_study_file_and_its_storage(ran: Path, tmp_path: Path, capsys) -> None:
    assert main(["pareto", "--study", str(ran), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("trial,")
    out = tmp_path / "best.yaml"
    assert main(["export", "--study", str(ran), "--trial", "0", "--out", str(out)]) == 0
    assert out.exists()
    assert not (tmp_path / "elsewhere" / "mtlsearch.db").exists()  # no default storage made or read


def test_storage_flag_overrides_the_study_files(ran: Path, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other.db"
    assert main(["pareto", "--study", str(ran), "--storage", f"sqlite:///{other}"]) == 1
    err = capsys.readouterr().err
    assert "other.db" in err and len(err.strip().splitlines()) == 1
    assert not other.exists()


def test_a_missing_study_file_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["pareto", "--study", str(tmp_path / "nope.yaml")]) == 1
    err = capsys.readouterr().err
    assert "nope.yaml" in err and len(err.strip().splitlines()) == 1


def test_optimize_prints_only_our_storage_line_on_stderr(tmp_path: Path, tiny_template) -> None:
    """Optuna's own INFO line ("[I ...] A new study created in RDB ...") is not printed: our line says it."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    study = tiny_template.write(tmp_path, n_trials=1, training={"epochs": 1})
    run = subprocess.run(
        [sys.executable, str(root / "cli.py"), "optimize", "--study", str(study), "--no-progress"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [f"study tiny: storage sqlite:///{tmp_path / 'mtlsearch.db'}"]
