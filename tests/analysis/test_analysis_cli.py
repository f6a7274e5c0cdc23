"""End to end on a tiny study: hooks during optimize, baselines, gains in pareto, the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest

from mtlsearch.analysis import BASELINES_ATTR, HYPERVOLUME_ATTR, UTILISATION_ATTR, mtl_gain, seesaw
from mtlsearch.cli import main
from mtlsearch.errors import MtlsearchError
from mtlsearch.search import load_study, load_study_config


def write_study(tiny_template, folder: Path, **changes) -> Path:
    """The tiny study with mmoe or ple at fixed sizes, 500 samples, 1 epoch."""
    return tiny_template.write(
        folder,
        params={
            "architecture": {"type": "categorical", "choices": ["mmoe", "ple"]},
            "levels": 2,
            "specific_experts": 1,
            "expert_width": 4,
        },
        drop=("loss_weight",),
        data={"name": "synthetic-video", "options": {"n_samples": 500, "dim": 8}},
        training={"epochs": 1, "patience": 1},
        **changes,
    )


@pytest.fixture(scope="module")
def study_with_baselines(tmp_path_factory, tiny_template):
    folder = tmp_path_factory.mktemp("analysis")
    storage = f"sqlite:///{folder / 'tiny.db'}"
    study_file = write_study(tiny_template, folder)
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    before = dict(load_study("tiny", storage).user_attrs)
    assert main(["baselines", "--study", "tiny", "--storage", storage]) == 0
    return folder, storage, before


def test_optimize_records_hypervolume_history_and_utilisation(study_with_baselines):
    _, storage, before = study_with_baselines
    assert BASELINES_ATTR not in before
    study = load_study("tiny", storage)
    record = study.user_attrs[HYPERVOLUME_ATTR]
    assert [n for n, _ in record["history"]] == [0, 1, 2] and len(record["reference"]) == 2
    assert record["history"][-1][1] > 0
    for trial in study.trials:
        stats = trial.user_attrs[UTILISATION_ATTR]
        levels = 2 if trial.params["architecture"] == "ple" else 1
        assert len(stats["levels"]) == levels and stats["threshold"] == 0.05
        assert {g["gate"] for g in stats["levels"][0]["gates"]} >= {"vtr", "vcr"}


def test_baselines_store_single_task_metrics_and_pareto_shows_gains(study_with_baselines, capsys):
    _, storage, _ = study_with_baselines
    study = load_study("tiny", storage)
    baselines = study.user_attrs[BASELINES_ATTR]
    assert {"vtr/auc", "vcr/mse"} <= set(baselines["validation"]) and {"vtr/auc", "vcr/mse"} <= set(baselines["test"])
    assert baselines["tasks"]["vtr"]["model"]["architecture"] == "single-task"
    assert baselines["tasks"]["vtr"]["training"]["epochs"] == 1
    capsys.readouterr()
    assert main(["pareto", "--study", "tiny", "--storage", storage, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for row in rows:
        trial = study.trials[row["trial"]]
        expected = mtl_gain(trial.user_attrs["validation"], baselines["validation"], ["vtr/auc", "vcr/mse"])
        assert row["gain vtr/auc"] == pytest.approx(expected["vtr/auc"])
        assert row["gain vcr/mse"] == pytest.approx(expected["vcr/mse"])
        assert row["seesaw"] == (seesaw(expected) or None)


def test_report_html_is_self_contained_with_every_section(study_with_baselines, tmp_path):
    _, storage, _ = study_with_baselines
    out = tmp_path / "report.html"
    assert main(["report", "--study", "tiny", "--storage", storage, "--out", str(out)]) == 0
    page = out.read_text()
    for section in ("pareto", "hypervolume", "importance", "gain", "utilisation", "trials"):
        assert f'<section id="{section}">' in page
    assert "<script" not in page and not re.search(r"(src|href)=\"https?:", page)
    pareto = page[page.index('<section id="pareto">') : page.index('<section id="hypervolume">')]
    assert re.search(r"<text[^>]*>vtr/auc \(maximize\)</text>", pareto)
    assert re.search(r"<text[^>]*>vcr/mse \(minimize\)</text>", pareto)
    assert "gain vtr/auc" in page and "utilisation of trial" in page


def test_report_png_writes_one_file_per_figure(study_with_baselines, tmp_path):
    _, storage, _ = study_with_baselines
    out = tmp_path / "figures"
    assert main(["report", "--study", "tiny", "--storage", storage, "--out", str(out), "--format", "png"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"pareto.png", "hypervolume.png", "importance.png", "gain.png"} <= names
    assert any(n.startswith("utilisation-trial-") for n in names)
    assert all((out / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


def test_report_without_baselines_says_how_to_get_them(tiny_template, tmp_path):
    storage = f"sqlite:///{tmp_path / 'one.db'}"
    study_file = write_study(tiny_template, tmp_path, n_trials=1)
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    assert main(["report", "--study", "tiny", "--storage", storage, "--out", "r.html"]) == 0
    page = Path("r.html").read_text()
    assert "run mtlsearch baselines" in page and "needs at least 2 completed trials" in page


def test_bad_study_name_is_one_line_and_exit_1(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.create_study(storage=storage, study_name="other")
    for command in (["baselines"], ["report", "--out", "r.html"]):
        assert main([*command, "--study", "nope", "--storage", storage]) == 1
        assert "no study 'nope'" in capsys.readouterr().err


def test_reference_point_in_the_study_file_is_checked(tiny_template, tmp_path):
    config = load_study_config(str(write_study(tiny_template, tmp_path, reference_point=[0.5, 1])))
    assert config.reference_point == (0.5, 1.0)
    with pytest.raises(MtlsearchError, match="reference_point has 1 values for 2 objectives"):
        load_study_config(str(write_study(tiny_template, tmp_path, reference_point=[0.5])))


def test_report_png_that_fails_midway_writes_no_folder(study_with_baselines, tmp_path, monkeypatch):
    import matplotlib.figure

    from mtlsearch.analysis import write_report

    _, storage, _ = study_with_baselines
    real, saved = matplotlib.figure.Figure.savefig, []

    def full_disk_at_the_second_figure(self, *args, **kwargs):
        saved.append(args[0])
        if len(saved) == 2:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full_disk_at_the_second_figure)
    with pytest.raises(OSError, match="No space left"):
        write_report("tiny", tmp_path / "new" / "figures", storage=storage, fmt="png")
    assert len(saved) == 2 and list(tmp_path.iterdir()) == []  # no first figure, no folders
