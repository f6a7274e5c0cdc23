"""Synthetic data with controllable task correlation (MMoE section 3.2).

``synthetic`` gives the generator's two regression labels. ``synthetic-video`` derives a
VTR/VCR-style pair from them: a binary "view" task and a regression "completion" task
observed only on viewed samples, the shape of PLE's Tencent video problem. Lower
``correlation`` makes the tasks conflict more, so the seesaw grows.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mtlsearch.data._dataset import FeatureSpec, MultiTaskData, Split, TaskSpec
from mtlsearch.errors import MtlsearchError

__all__ = ["generate_regression_pair", "synthetic", "synthetic_video"]


def generate_regression_pair(
    *,
    n_samples: int,
    dim: int = 100,
    correlation: float = 0.5,
    scale: float = 1.0,
    n_sines: int = 10,
    noise: float = 0.01,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``(x, y1, y2, weights)``: x is (n, dim), weights is (2, dim) with cosine ``correlation``.

    y_k = w_k^T x + sum_i sin(alpha_i w_k^T x + beta_i) + eps_k, eps_k ~ N(0, noise).
    """
    if not -1.0 <= correlation <= 1.0:
        raise MtlsearchError(
            f"correlation {correlation} is outside [-1, 1]", where="synthetic: correlation", fix="use -1..1"
        )
    if dim < 2:
        raise MtlsearchError(f"dim {dim} is too small", where="synthetic: dim", fix="use dim >= 2")
    if n_samples < 1:
        raise MtlsearchError(
            f"n_samples must be >= 1, got {n_samples}", where="data.options.n_samples", fix="e.g. 20000"
        )
    rng = np.random.default_rng(seed)
    # Two orthonormal directions: QR of a Gaussian (dim, 2) matrix.
    u, _ = np.linalg.qr(rng.standard_normal((dim, 2)))
    u1, u2 = u[:, 0], u[:, 1]
    w1 = scale * u1
    w2 = scale * (correlation * u1 + math.sqrt(1.0 - correlation**2) * u2)
    alpha = rng.standard_normal(n_sines)
    beta = rng.standard_normal(n_sines)
    x = rng.standard_normal((n_samples, dim))

    def label(w: np.ndarray) -> np.ndarray:
        z = x @ w  # (n,)
        waves = np.sin(np.outer(z, alpha) + beta).sum(axis=1)  # (n, m) summed over m
        return z + waves + rng.normal(0.0, math.sqrt(noise), n_samples)

    y1 = label(w1)
    y2 = label(w2)
    return x, y1, y2, np.stack([w1, w2])


def _split_rows(n: int, fractions: tuple[float, float, float], seed: int) -> list[np.ndarray]:
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise MtlsearchError(
            f"split fractions {fractions} must be three positive numbers summing to 1",
            where="synthetic: split",
            fix="e.g. [0.8, 0.1, 0.1]",
        )
    order = np.random.default_rng(seed + 1).permutation(n)
    n_train = round(fractions[0] * n)
    n_valid = round(fractions[1] * n)
    return [order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :]]


def _data(name: str, x: np.ndarray, labels: np.ndarray, masks: np.ndarray, tasks, split, seed) -> MultiTaskData:
    parts = _split_rows(len(x), tuple(split), seed)
    empty_categorical = torch.zeros((len(x), 0), dtype=torch.int64)
    x_t = torch.from_numpy(x.astype(np.float32))
    labels_t = torch.from_numpy(labels.astype(np.float32))
    masks_t = torch.from_numpy(masks)
    splits = [
        Split(empty_categorical[rows], x_t[rows], labels_t[rows], masks_t[rows])
        for rows in map(torch.from_numpy, parts)
    ]
    dim = x.shape[1]
    return MultiTaskData(
        name=name,
        features=FeatureSpec(numeric=tuple(f"x{i}" for i in range(dim))),
        tasks=tasks,
        train=splits[0],
        validation=splits[1],
        test=splits[2],
        numeric_mean=torch.zeros(dim),  # x is already N(0, 1): no standardisation
        numeric_std=torch.ones(dim),
    )


def synthetic(
    *,
    n_samples: int = 20_000,
    dim: int = 100,
    correlation: float = 0.5,
    scale: float = 1.0,
    n_sines: int = 10,
    noise: float = 0.01,
    seed: int = 0,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> MultiTaskData:
    """The MMoE generator's two regression tasks ``y1`` and ``y2``, deterministic per seed."""
    x, y1, y2, _ = generate_regression_pair(
        n_samples=n_samples, dim=dim, correlation=correlation, scale=scale, n_sines=n_sines, noise=noise, seed=seed
    )
    labels = np.stack([y1, y2], axis=1)
    tasks = (TaskSpec("y1", "regression"), TaskSpec("y2", "regression"))
    return _data("synthetic", x, labels, np.ones_like(labels, dtype=bool), tasks, split, seed)


def synthetic_video(
    *,
    n_samples: int = 20_000,
    dim: int = 64,
    correlation: float = 0.2,
    view_rate: float = 0.5,
    sharpness: float = 1.0,
    completion_noise: float = 0.5,
    scale: float = 1.0,
    n_sines: int = 10,
    noise: float = 0.01,
    seed: int = 0,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> MultiTaskData:
    """A VTR/VCR pair from the generator's labels y1, y2 (noisy, like real feedback):

    ``vtr`` ~ Bernoulli(sigmoid(sharpness * (y1 - q))), q the (1 - view_rate) quantile of y1 (binary);
    ``vcr`` = sigmoid(y2 + N(0, completion_noise^2)), observed only where vtr = 1 (regression).
    Higher ``sharpness`` and lower ``completion_noise`` make the tasks easier.
    """
    if not 0.0 < view_rate < 1.0:
        raise MtlsearchError(
            f"view_rate {view_rate} must lie strictly between 0 and 1",
            where="synthetic-video: view_rate",
            fix="e.g. 0.5",
        )
    x, y1, y2, _ = generate_regression_pair(
        n_samples=n_samples, dim=dim, correlation=correlation, scale=scale, n_sines=n_sines, noise=noise, seed=seed
    )
    rng = np.random.default_rng(seed + 2)
    view_probability = 1.0 / (1.0 + np.exp(-sharpness * (y1 - np.quantile(y1, 1.0 - view_rate))))
    vtr = (rng.random(n_samples) < view_probability).astype(np.float64)
    vcr = 1.0 / (1.0 + np.exp(-(y2 + rng.normal(0.0, completion_noise, n_samples))))
    viewed = vtr == 1.0
    labels = np.stack([vtr, np.where(viewed, vcr, 0.0)], axis=1)
    masks = np.stack([np.ones_like(viewed), viewed], axis=1)
    tasks = (TaskSpec("vtr", "binary"), TaskSpec("vcr", "regression", sample_space="task:vtr"))
    return _data("synthetic-video", x, labels, masks, tasks, split, seed)
