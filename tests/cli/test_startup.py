"""A fast command line: ``--help``, ``--version`` and the commands that only read a study import
no torch, Lightning, scikit-learn or matplotlib (checked in ``sys.modules``, not by timing)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from mtlsearch.cli import main

HEAVY = ("torch", "lightning", "sklearn", "matplotlib")
PROBE = f"""
import json, sys
from mtlsearch.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({{"code": code, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}), file=sys.stderr)
"""


def probe(*args: str, cwd=None) -> dict:
    """Run ``mtlsearch ARGS`` in a fresh interpreter; its exit code and the heavy modules it imported."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=600)
    return json.loads(result.stderr.strip().splitlines()[-1])


def test_importing_the_cli_imports_no_torch():
    code = f"import sys, mtlsearch.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["optimize", "--help"], ["train", "--help"]])
def test_help_and_version_import_no_torch(args):
    assert probe(*args) == {"code": 0, "heavy": []}


@pytest.fixture(scope="module")
def stored_study(tiny_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup")
    study = tiny_template.write(folder, n_trials=1, training={"epochs": 1, "patience": 1})
    assert main(["optimize", "--study", str(study), "--no-progress", "--storage", f"sqlite:///{folder / 's.db'}"]) == 0
    return folder


def test_read_only_commands_import_no_torch(stored_study):
    storage = ["--storage", f"sqlite:///{stored_study / 's.db'}"]
    assert probe("pareto", "--study", "tiny", *storage) == {"code": 0, "heavy": []}
    assert probe("pareto", "--study", "tiny", "--format", "json", *storage) == {"code": 0, "heavy": []}
    out = str(stored_study / "exported.yaml")
    assert probe("export", "--study", "tiny", "--pick", "knee", "--out", out, *storage) == {"code": 0, "heavy": []}
    with socket.socket() as busy:  # the dashboard loads the study, then fails to listen: no server to stop
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        dashboard = probe("dashboard", "--study", "tiny", "--port", port, *storage)
    # optuna-dashboard itself imports scikit-learn (its parameter importances); torch and Lightning never
    assert dashboard["code"] == 1 and set(dashboard["heavy"]) <= {"sklearn"}, dashboard


def test_metric_directions_of_reading_and_training_agree():
    from mtlsearch.search._study import _METRIC_DIRECTIONS
    from mtlsearch.training import METRIC_DIRECTIONS

    assert _METRIC_DIRECTIONS == METRIC_DIRECTIONS


def test_train_help_names_the_serving_formats():
    from mtlsearch.cli._train import DEFAULT_FORMAT_NAMES, FORMAT_NAMES
    from mtlsearch.serving import DEFAULT_FORMATS, FORMATS

    assert tuple(FORMATS) == FORMAT_NAMES and tuple(DEFAULT_FORMATS) == DEFAULT_FORMAT_NAMES
