"""The MMoE generator and the VTR/VCR pair derived from it."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from mtlsearch.config import DataConfig
from mtlsearch.data import (
    BatchLoader,
    generate_regression_pair,
    generate_regression_tasks,
    load_dataset,
    synthetic_video,
)
from mtlsearch.errors import MtlsearchError
from mtlsearch.search import load_study_config, optimize


@pytest.mark.parametrize("p", [-0.5, 0.0, 0.3, 0.9])
def test_weight_cosine_equals_correlation(p):
    _, _, _, w = generate_regression_pair(n_samples=10, dim=20, correlation=p, seed=3)
    cosine = w[0] @ w[1] / np.linalg.norm(w[0]) / np.linalg.norm(w[1])
    assert cosine == pytest.approx(p, abs=1e-9)


def test_label_correlation_grows_with_p():
    correlations = []
    for p in (-0.5, 0.0, 0.5, 0.9):
        _, y1, y2, _ = generate_regression_pair(n_samples=20_000, dim=50, correlation=p, seed=0)
        correlations.append(np.corrcoef(y1, y2)[0, 1])
    assert correlations == sorted(correlations)
    assert correlations[-1] - correlations[0] > 0.5


def test_synthetic_is_deterministic_per_seed():
    a = load_dataset("synthetic", {"n_samples": 500, "seed": 4})
    b = load_dataset("synthetic", {"n_samples": 500, "seed": 4})
    c = load_dataset("synthetic", {"n_samples": 500, "seed": 5})
    assert torch.equal(a.train.numeric, b.train.numeric) and torch.equal(a.test.labels, b.test.labels)
    assert not torch.equal(a.train.numeric, c.train.numeric)
    assert (len(a.train), len(a.validation), len(a.test)) == (400, 50, 50)


def test_video_pair_observes_vcr_only_on_views():
    data = load_dataset("synthetic-video", {"n_samples": 4000, "view_rate": 0.3})
    vtr, vcr = data.train.labels.T
    views = data.train.masks[:, 1]
    assert torch.equal(views, vtr == 1)
    assert data.tasks[1].sample_space == "task:vtr"
    assert 0.2 < vtr.mean() < 0.4
    assert ((vcr[views] > 0) & (vcr[views] < 1)).all() and (vcr[~views] == 0).all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"correlation": 2.0}, "correlation 2.0 is outside"),
        ({"view_rate": 1.0}, "view_rate 1.0 must lie strictly"),
        ({"colour": 1}, "unknown option 'colour' for data set 'synthetic-video'"),
        ({"split": [0.5, 0.5]}, "split fractions"),
        ({"n_tasks": 5}, "n_tasks must be 2, 3 or 4, got 5"),
        ({"n_tasks": 4, "comment_correlation": -1.5}, "correlation -1.5 is outside"),
        ({"n_tasks": 3, "share_rate": 0.0}, "share_rate 0.0 must lie strictly"),
        ({"n_tasks": 4, "dim": 3}, "dim 3 is too small for 4 tasks"),
    ],
)
def test_bad_generator_options(options, message):
    with pytest.raises(MtlsearchError, match="fix:") as info:
        load_dataset("synthetic-video", options)
    assert message in str(info.value)


def test_unknown_data_set_lists_the_known_ones():
    with pytest.raises(MtlsearchError, match="unknown data set 'movielens'.*synthetic-video"):
        load_dataset("movielens")


def test_batch_loader_covers_every_row_once_per_epoch_in_seeded_order():
    data = load_dataset("synthetic", {"n_samples": 1000})
    loader = BatchLoader(data.train, 96, shuffle=True, seed=1)
    epoch1 = torch.cat([b.numeric for b in loader])
    epoch2 = torch.cat([b.numeric for b in loader])
    assert len(loader) == 9 and epoch1.shape == data.train.numeric.shape
    torch.testing.assert_close(epoch1.sort(0).values, data.train.numeric.sort(0).values)
    assert not torch.equal(epoch1, epoch2)  # a new order every epoch
    again = BatchLoader(data.train, 96, shuffle=True, seed=1)
    assert torch.equal(torch.cat([b.numeric for b in again]), epoch1)


def _digest(data) -> str:
    digest = hashlib.sha256()
    for split in (data.train, data.validation, data.test):
        for tensor in (split.categorical, split.numeric, split.labels, split.masks):
            digest.update(tensor.contiguous().numpy().tobytes())
    digest.update(repr([(t.name, t.type, t.sample_space) for t in data.tasks]).encode())
    return digest.hexdigest()


def test_two_task_video_data_is_unchanged():
    """Checksums of synthetic-video's output before n_tasks existed (commit 9b8857b)."""
    assert (
        _digest(synthetic_video(n_samples=2000)) == "67d9da215e52625dd0a8713d57862d71225d92cf2e53140a0f06e79956670abb"
    )
    varied = synthetic_video(n_samples=1000, correlation=0.5, seed=3, view_rate=0.3, n_tasks=2)
    assert _digest(varied) == "e6bbe6c313c2315ca806c5f01ffd7ae93ee38369b312ecd1b1ca33da7f29111c"


@pytest.mark.parametrize("n_tasks", [3, 4])
def test_video_share_and_comment_are_binary_on_views(n_tasks):
    data = load_dataset("synthetic-video", {"n_samples": 6000, "n_tasks": n_tasks, "share_rate": 0.3})
    assert data.task_names == ("vtr", "vcr", "shr", "cmr")[:n_tasks]
    assert [t.type for t in data.tasks[2:]] == ["binary"] * (n_tasks - 2)
    assert all(t.sample_space == "task:vtr" for t in data.tasks[1:])
    pair = load_dataset("synthetic-video", {"n_samples": 6000})
    assert torch.equal(data.train.labels[:, :2], pair.train.labels) and torch.equal(
        data.train.numeric, pair.train.numeric
    )
    views = data.train.labels[:, 0] == 1
    for k in range(2, n_tasks):
        assert torch.equal(data.train.masks[:, k], views)
        actions = data.train.labels[:, k]
        assert set(actions.unique().tolist()) == {0.0, 1.0} and (actions[~views] == 0).all()
    assert 0.25 < data.train.labels[views, 2].float().mean() < 0.35


def test_extra_task_directions_have_the_chosen_cosines():
    _, y, w = generate_regression_tasks(n_samples=20_000, correlations=(0.3, 0.8, -0.4), dim=16, seed=1)
    assert y.shape == (20_000, 4) and w.shape == (4, 16)
    unit = w / np.linalg.norm(w, axis=1, keepdims=True)
    cosines = unit @ unit.T
    assert cosines[0, 1] == pytest.approx(0.3) and cosines[0, 2] == pytest.approx(0.8)
    assert cosines[0, 3] == pytest.approx(-0.4) and cosines[1, 2] == pytest.approx(0.8 * 0.3)
    labels = np.corrcoef(y.T)
    assert labels[0, 2] > labels[0, 1] > 0 > labels[0, 3]  # label correlation follows the cosine
    pair = generate_regression_pair(n_samples=20_000, correlation=0.3, dim=16, seed=1)
    assert np.array_equal(y[:, 0], pair[1]) and np.array_equal(y[:, 1], pair[2])


def test_the_shipped_4_task_video_study_runs(tmp_path):
    config = load_study_config(str(Path(__file__).resolve().parents[2] / "studies" / "video-4task.yaml"))
    assert [o.task for o in config.objectives] == ["vtr", "vcr", "shr", "cmr"]
    small = dataclasses.replace(config, data=DataConfig(config.data.name, {**config.data.options, "n_samples": 1500}))
    study = optimize(small, n_trials=1, storage=f"sqlite:///{tmp_path / 'video.db'}")
    assert len(study.trials[0].values) == 4
