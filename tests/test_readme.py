"""The README tells the truth about the interface: every flag in its command's synopsis, every
field ``export`` writes in the training-config section."""

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
