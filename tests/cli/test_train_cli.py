"""``mtlsearch train`` end to end on tiny data, through the same entry point as the console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from mtlsearch.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {
    "data": {"name": "synthetic-video", "options": {"n_samples": 600, "dim": 8}},
    "tasks": [{"name": "vtr", "weight": 1.0}, {"name": "vcr", "weight": 2.0, "decay": 0.9}],
    "model": {"architecture": "ple", "levels": 2, "expert_hidden": [8], "tower_hidden": [4]},
    "training": {"epochs": 2, "batch_size": 64},
    "seed": 3,
}


def test_train_writes_metrics_checkpoint_and_serving_model(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics["validation"]) == {"vtr/auc", "vtr/logloss", "vcr/mse", "loss"}
    assert len(metrics["history"]) == 2
    checkpoint = torch.load(tmp_path / "out" / "checkpoint.pt")
    assert checkpoint["config"]["model"]["architecture"] == "ple"
    serving = torch.export.load(str(tmp_path / "out" / "model.pt2")).module()
    scores = serving(torch.zeros(5, 0, dtype=torch.long), torch.randn(5, 8))
    assert scores.shape == (5, 2) and ((scores[:, 0] > 0) & (scores[:, 0] < 1)).all()
    # A second run of the same file reproduces the metrics exactly.
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["validation"] == metrics["validation"]
    assert max(metrics["parity"]["max_abs_diff"].values()) <= 1e-5
    out = capsys.readouterr().out
    assert "parity with the trained network" in out and "model_card: " in out


def test_the_default_path_prints_nothing_on_stderr(tmp_path):
    """A fresh process, so the exporters' first-use chatter (deprecations, 'torchvision is not
    installed' log lines) would show: none reaches the user."""
    config = tmp_path / "run.yaml"
    small = {**CONFIG, "data": {"name": "synthetic-video", "options": {"n_samples": 300, "dim": 4}}}
    config.write_text(yaml.safe_dump({**small, "training": {"epochs": 1, "batch_size": 64}}))
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "train", "--config", str(config), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert "pt2: " in run.stdout and ("onnx: " in run.stdout or "skipped model.onnx" in run.stdout)


def test_format_torchscript_writes_model_pt_for_old_consumers(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "training": {"epochs": 1, "batch_size": 64}}))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "out"), "--format", "torchscript"]) == 0
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert "model.pt" in files and "model.pt2" not in files and "model.onnx" not in files
    assert main(["train", "--config", str(config), "--format", "pt2,tflite"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "mtlsearch train: error: --format: unknown format 'tflite' (fix: use one of pt2, onnx, torchscript)"
    ]


def test_without_onnx_train_says_in_one_line_why_and_how(tmp_path, capsys, monkeypatch):
    from mtlsearch.cli import _train
    from mtlsearch.training import _artifacts

    reason = "onnxruntime not installed (pip install 'mtlsearch[onnx]')"
    monkeypatch.setattr(_artifacts, "onnx_missing", lambda: reason)
    monkeypatch.setattr(_train, "onnx_missing", lambda: reason)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "training": {"epochs": 1, "batch_size": 64}}))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "out")]) == 0
    assert [line for line in capsys.readouterr().out.splitlines() if "model.onnx" in line] == [
        f"skipped model.onnx: {reason}"
    ]
    assert (tmp_path / "out" / "model.pt2").is_file()
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "none"), "--format", "onnx"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"mtlsearch train: error: --format: cannot write model.onnx: {reason} "
        "(fix: install it, or leave onnx out of --format)"
    )
    assert not (tmp_path / "none").exists()


def test_bad_config_is_one_line_and_exit_1(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "model": {"architecture": "mmoe", "specific_experts": 2}}))
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "train", "--config", str(config)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"mtlsearch train: error: {config}: model.specific_experts: mmoe has specific_experts = 0, not 2 "
        "(fix: remove the field or choose an architecture that varies it)"
    ]


def test_malformed_yaml_names_the_line(tmp_path, capsys):
    config = tmp_path / "broken.yaml"
    config.write_text("model: {architecture: ple\ntraining: [")
    assert main(["train", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "broken.yaml: malformed YAML at line" in err and len(err.strip().splitlines()) == 1
