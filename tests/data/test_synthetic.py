"""The MMoE generator and the VTR/VCR pair derived from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtlsearch.data import BatchLoader, generate_regression_pair, load_dataset
from mtlsearch.errors import MtlsearchError


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
