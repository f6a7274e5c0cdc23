"""Shared fixtures: tiny data, a clean working directory, the real data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

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
