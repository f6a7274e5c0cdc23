"""The README tells the truth about the interface: every flag in its command's synopsis, every
field ``export`` writes in the training-config section, and its serving examples run as written
on the ``runs/best`` its workflow makes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from mtlsearch.cli import build_parser
from mtlsearch.config import RunConfig

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _synopsis(command: str) -> str:
    match = re.search(rf"```\n(mtlsearch {command} .*?)```", README, re.S)
    assert match, f"README has no synopsis block for mtlsearch {command}"
    return match.group(1)


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_flag_is_in_its_synopsis(command):
    synopsis = _synopsis(command)
    flags = [
        option
        for action in _subcommands()[command]._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]
    missing = [flag for flag in flags if not re.search(rf"{re.escape(flag)}\b(?!-)", synopsis)]
    assert not missing, f"mtlsearch {command}: {missing} not in the README synopsis"


def test_training_config_section_lists_every_field_export_writes():
    section = README.split("## Training config", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml", 1)[1].split("```", 1)[0]
    written = RunConfig(provenance={"study": "x"}).to_dict()
    keys = set(written)
    for part in ("data", "model", "training"):
        keys |= set(written[part])
    missing = sorted(k for k in keys if not re.search(rf"(^|[\s{{,])({k}):", block, re.M))
    assert not missing, f"fields export writes but the README's training config does not show: {missing}"


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory) -> Path:
    """A folder holding ``runs/best`` as the README's workflow makes it (``optimize --study ple``,
    ``export``, ``train --out runs/best``), small: the shipped ``ple`` study's own data (fewer
    rows), so that the examples must fit its columns and tasks; a small PLE, one epoch."""
    from mtlsearch.config import run_config_from_dict
    from mtlsearch.search import load_study_config
    from mtlsearch.training import prepare_data, train
    from mtlsearch.training._artifacts import write_artifacts

    plain = load_study_config("ple").base_run_config().to_dict()
    plain["data"]["options"]["n_samples"] = 600
    plain["training"].update(epochs=1, batch_size=128)
    plain["model"] = {"architecture": "ple", "expert_hidden": [8], "tower_hidden": [4]}
    config = run_config_from_dict(plain)
    data = prepare_data(config)
    folder = tmp_path_factory.mktemp("workflow")
    write_artifacts(train(config, data, progress=False), folder / "runs" / "best", data, formats=("pt2", "onnx"))
    return folder


def _python_example(needle: str) -> str:
    blocks = [block.split("```", 1)[0] for block in README.split("```python\n")[1:]]
    (example,) = [block for block in blocks if needle in block]
    return example


@pytest.mark.parametrize("needle", ["ort.InferenceSession", "mtlsearch.serving.load("])
def test_the_serving_examples_run_as_written_on_the_workflows_model(workflow_run, needle, monkeypatch):
    import numpy as np

    monkeypatch.chdir(workflow_run)
    scope: dict = {}
    exec(_python_example(needle), scope)  # as written: "runs/best", its columns, no replacement
    scores = np.asarray(scope["scores"])
    assert scores.shape == (2, 2) and np.isfinite(scores).all()
    assert ((scores[:, 0] > 0) & (scores[:, 0] < 1)).all()  # vtr is a probability
    if "frame" in scope:
        assert list(scope["scores"].columns) == ["vtr", "vcr"]
        assert list(scope["scores"].index) == list(scope["frame"].index)
