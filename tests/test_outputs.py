"""Outputs written whole or not at all: a failed write leaves no file, no staging folder and no
folder it created on the way (``train --out``, ``export --out``, ``report --out``)."""

from __future__ import annotations

import os
import stat

import pytest

from mtlsearch import _outputs
from mtlsearch._outputs import staged_folder, write_text_atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_failed_atomic_write_leaves_no_new_folder(tmp_path, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_outputs.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic(tmp_path / "new" / "deeper" / "best.yaml", "a: 1\n")
    assert list(tmp_path.iterdir()) == []  # neither the folders nor the temporary file


def test_an_atomic_write_creates_missing_folders_with_normal_modes(tmp_path):
    path = write_text_atomic(tmp_path / "new" / "best.yaml", "a: 1\n")
    assert path.read_text() == "a: 1\n" and [p.name for p in path.parent.iterdir()] == ["best.yaml"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert _mode(path) == 0o666 & ~umask and _mode(path.parent) == 0o777 & ~umask


def test_a_failed_staged_folder_creates_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="parity"), staged_folder(tmp_path / "runs" / "best") as staging:
        (staging / "metrics.json").write_text("{}")
        raise RuntimeError("parity check failed")
    assert list(tmp_path.iterdir()) == []


def test_a_staged_folder_appears_whole_with_a_normal_mode(tmp_path):
    out = tmp_path / "runs" / "best"
    with staged_folder(out) as staging:
        (staging / "metrics.json").write_text("{}")
        assert not out.exists() and not out.parent.exists()  # not before the block succeeds
    assert [p.name for p in out.iterdir()] == ["metrics.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]  # no staging folder left
    umask = os.umask(0o022)
    os.umask(umask)
    assert _mode(out) == 0o777 & ~umask


def test_a_staged_folder_replaces_files_in_an_existing_folder_and_keeps_the_others(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("old")
    (out / "notes.txt").write_text("mine")
    with staged_folder(out) as staging:
        (staging / "metrics.json").write_text("new")
    assert (out / "metrics.json").read_text() == "new" and (out / "notes.txt").read_text() == "mine"
    with pytest.raises(RuntimeError), staged_folder(out) as staging:
        (staging / "metrics.json").write_text("newer")
        raise RuntimeError("failed")
    assert (out / "metrics.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_failed_move_removes_the_folders_it_created(tmp_path, monkeypatch):
    real = os.replace

    def fail_into_new_folders(source, target):
        if "runs" in str(target):
            raise OSError(18, "Invalid cross-device link")
        return real(source, target)

    monkeypatch.setattr(_outputs.os, "replace", fail_into_new_folders)
    with pytest.raises(OSError), staged_folder(tmp_path / "runs" / "a" / "best") as staging:
        (staging / "metrics.json").write_text("{}")
    assert list(tmp_path.iterdir()) == []
