"""Shared fixtures: tiny data, a tiny study, a clean working directory, the real data folder."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from pathlib import Path

import pytest
import torch
import yaml

from mtlsearch.data import FeatureSpec, MultiTaskData, Split, TaskSpec

ROOT = Path(__file__).resolve().parents[1]
# Resolved at import: the autouse fixture below changes directory, which would break a relative path.
DATA_DIR = Path(os.environ.get("MTLSEARCH_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(autouse=True)
def _isolate(tmp_path, monkeypatch):
    """Run every test in its own folder, with one torch thread: no artefacts, no contention."""
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``MTLSEARCH_DATA_DIR``, else ``../shared/data`` beside the checkout (as CI sets it)."""
    assert (DATA_DIR / "census-income").is_dir(), f"real data not found under {DATA_DIR}: set MTLSEARCH_DATA_DIR"
    return DATA_DIR


def make_tiny_data(n: int = 64, *, seed: int = 0, tasks=("binary", "regression")) -> MultiTaskData:
    """Random data with 2 categorical and 3 numeric features; the regression task lives on the
    binary task's positives (as VCR lives on VTR's)."""
    g = torch.Generator().manual_seed(seed)
    specs = tuple(
        TaskSpec(f"t{k}", kind, sample_space="task:t0" if kind == "regression" and k else None)
        for k, kind in enumerate(tasks)
    )

    def split(rows: int) -> Split:
        labels = torch.rand(rows, len(specs), generator=g)
        masks = torch.ones(rows, len(specs), dtype=torch.bool)
        for k, spec in enumerate(specs):
            if spec.type == "binary":
                labels[:, k] = (labels[:, k] > 0.5).float()
                labels[:2, k] = torch.tensor([0.0, 1.0])  # both classes present
        for k, spec in enumerate(specs):
            if spec.sample_space:
                masks[:, k] = labels[:, 0] == 1
                labels[~masks[:, k], k] = 0.0
        return Split(torch.randint(0, 5, (rows, 2), generator=g), torch.randn(rows, 3, generator=g), labels, masks)

    return MultiTaskData(
        name="tiny",
        features=FeatureSpec(categorical=("c0", "c1"), vocab_sizes=(5, 5), numeric=("n0", "n1", "n2")),
        tasks=specs,
        train=split(n),
        validation=split(n // 2),
        test=split(n // 2),
        numeric_mean=torch.zeros(3),
        numeric_std=torch.ones(3),
        vocabularies=(("a", "b", "c", "d"), ("a", "b", "c", "d")),
    )


@pytest.fixture
def tiny_data() -> MultiTaskData:
    return make_tiny_data()


# --- a tiny Optuna study ----------------------------------------------------------------------------

TINY_SPACE = {
    "params": {
        "architecture": {"type": "categorical", "choices": ["mmoe", "cgc", "ple"]},
        "levels": {"type": "int", "low": 1, "high": 2},
        "specific_experts": {"type": "int", "low": 1, "high": 2},
        "shared_experts": {"type": "int", "low": 1, "high": 2},
        "expert_width": {"type": "categorical", "choices": [4, 8]},
        "tower_width": 4,
        "loss_weight": {"type": "float", "low": 0.5, "high": 2.0, "log": True},
        "lr": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True},
        "batch_size": 64,
    }
}
TINY_STUDY = {
    "name": "tiny",
    "data": {"name": "synthetic-video", "options": {"n_samples": 600, "dim": 8}},
    "objectives": [{"task": "vtr", "metric": "auc"}, {"task": "vcr", "metric": "mse"}],
    "search_space": "tiny-space.yaml",
    "training": {"epochs": 2, "patience": 1},
    "sampler": {"name": "random", "seed": 0},
    "n_trials": 3,
}


def write_tiny_study(
    folder: Path, *, space: dict | None = None, params: dict | None = None, drop: Iterable[str] = (), **changes
) -> Path:
    """Write ``folder/tiny.yaml`` (TINY_STUDY with ``changes`` to its top-level keys) and return its path.

    The search space (``space``, else TINY_SPACE, with ``params`` set and the params in ``drop``
    removed) goes to ``folder/tiny-space.yaml``, the file TINY_STUDY names: a ``search_space`` in
    ``changes`` points the study elsewhere, as a test of a missing space file needs.
    """
    space = copy.deepcopy(TINY_SPACE if space is None else space)
    if params or drop:
        dropped = set(drop)
        space["params"] = {k: v for k, v in {**space["params"], **(params or {})}.items() if k not in dropped}
    (folder / TINY_STUDY["search_space"]).write_text(yaml.safe_dump(space))
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY_STUDY, **changes}))
    return path


class TinyStudy:
    """The tiny study: ``space`` and ``study`` are fresh copies (to derive variants from), ``write``
    is ``write_tiny_study``."""

    write = staticmethod(write_tiny_study)

    @property
    def space(self) -> dict:
        return copy.deepcopy(TINY_SPACE)

    @property
    def study(self) -> dict:
        return copy.deepcopy(TINY_STUDY)


@pytest.fixture(scope="session")
def tiny_template() -> TinyStudy:
    """The tiny study (600 samples, 2 epochs, 3 trials, 9 params); session-wide, so module fixtures can
    use it. Named apart from ``tests/scale``'s ``tiny_study`` fixture, which writes it into ``tmp_path``."""
    return TinyStudy()
