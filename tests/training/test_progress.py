"""Progress: one line with trial, epoch and batch on a terminal; nothing when output is not one."""

from __future__ import annotations

import io
import sys

import yaml

from mtlsearch._progress import ProgressLine
from mtlsearch.cli import main

CONFIG = {
    "data": {"name": "synthetic-video", "options": {"n_samples": 600, "dim": 8}},
    "model": {"architecture": "mmoe", "expert_hidden": [4], "tower_hidden": [4]},
    "training": {"epochs": 2, "batch_size": 64},
}


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_draws_only_on_a_terminal():
    piped, terminal = io.StringIO(), FakeTerminal()
    for stream in (piped, terminal):
        with ProgressLine(2, "trial", stream=stream) as line:
            line.status("trial 0: epoch 1/3, batch 2/9")
            line.advance()
    assert piped.getvalue() == ""
    assert "trial 0: epoch 1/3, batch 2/9" in terminal.getvalue() and "1/2" in terminal.getvalue()
    off = FakeTerminal()
    ProgressLine(2, "trial", enabled=False, stream=off).status("x")  # --no-progress
    assert off.getvalue() == ""


def test_train_shows_epoch_and_batch_by_default_on_a_terminal_only(tmp_path, monkeypatch, capsys):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    assert main(["train", "--config", str(config), "--out", "a"]) == 0
    assert "epoch" not in capsys.readouterr().err  # captured: not a terminal
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["train", "--config", str(config), "--out", "b"]) == 0
    assert "epoch 1/2, batch 1/" in terminal.getvalue() and "epoch 2/2, validating" in terminal.getvalue()
    quiet = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main(["train", "--config", str(config), "--out", "c", "--no-progress"]) == 0
    assert "epoch" not in quiet.getvalue()


def test_optimize_shows_the_trial_epoch_and_batch_in_one_line(tiny_template, tmp_path, monkeypatch, capsys):
    study_file = tiny_template.write(tmp_path, n_trials=1)
    assert main(["optimize", "--study", str(study_file), "--storage", "sqlite:///a.db"]) == 0
    assert "epoch" not in capsys.readouterr().err  # captured: not a terminal
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["optimize", "--study", str(study_file), "--storage", "sqlite:///b.db"]) == 0
    drawn = terminal.getvalue()
    assert "trial 0: epoch 1/2, batch 1/" in drawn and "1/1" in drawn and "\r" in drawn
    quiet = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main(["optimize", "--study", str(study_file), "--storage", "sqlite:///c.db", "--no-progress"]) == 0
    assert "epoch" not in quiet.getvalue()
