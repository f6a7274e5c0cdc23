"""Synthetic data with controllable task correlation (MMoE section 3.2).

``synthetic`` gives the generator's two regression labels. ``synthetic-video`` derives a
VTR/VCR-style pair from them: a binary "view" task and a regression "completion" task
observed only on viewed samples, the shape of PLE's Tencent video problem. Lower
``correlation`` makes the tasks conflict more, so the seesaw grows. With ``n_tasks`` 3 or 4 it
adds SHR and CMR (binary share and comment, observed on views) from further generator labels
whose directions have a chosen cosine with VTR's: PLE's 3- and 4-task setting (its Table 4).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mtlsearch.data._dataset import FeatureSpec, MultiTaskData, Split, TaskSpec
from mtlsearch.errors import MtlsearchError

__all__ = ["VIDEO_TASKS", "generate_regression_pair", "generate_regression_tasks", "synthetic", "synthetic_video"]

VIDEO_TASKS = ("vtr", "vcr", "shr", "cmr")  # view-through, view completion, share, comment


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


def generate_regression_tasks(
    *,
    n_samples: int,
    correlations: tuple[float, ...],
    dim: int = 100,
    scale: float = 1.0,
    n_sines: int = 10,
    noise: float = 0.01,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, weights)`` for ``len(correlations) + 1`` regression tasks: y is (n, K), weights (K, dim).

    Tasks 1 and 2 are exactly :func:`generate_regression_pair` (``correlations[0]`` their cosine);
    task k > 2 has w_k = c (rho_k u1 + sqrt(1 - rho_k^2) u_k), u_k a unit direction orthogonal to
    u1, u2 and the other u's, so cos(w_k, w1) = rho_k = ``correlations[k - 2]`` and
    cos(w_k, w2) = rho_k * correlations[0]. The sine terms share alpha and beta (MMoE section 3.2).
    """
    correlation, *extra = correlations
    for rho in extra:
        if not -1.0 <= rho <= 1.0:
            raise MtlsearchError(
                f"correlation {rho} is outside [-1, 1]", where="synthetic: correlation", fix="use -1..1"
            )
    if dim < len(correlations) + 1:
        raise MtlsearchError(
            f"dim {dim} is too small for {len(correlations) + 1} tasks",
            where="synthetic: dim",
            fix=f"use dim >= {len(correlations) + 1}",
        )
    x, y1, y2, pair = generate_regression_pair(
        n_samples=n_samples, dim=dim, correlation=correlation, scale=scale, n_sines=n_sines, noise=noise, seed=seed
    )
    if not extra:
        return x, np.stack([y1, y2], axis=1), pair
    # The pair's generator state is internal: replay its draws to recover alpha and beta (same seed).
    rng = np.random.default_rng(seed)
    rng.standard_normal((dim, 2))
    alpha, beta = rng.standard_normal(n_sines), rng.standard_normal(n_sines)
    extra_rng = np.random.default_rng([seed, 3])
    u1 = pair[0] / np.linalg.norm(pair[0])
    basis, _ = np.linalg.qr(np.stack([pair[0], pair[1]], axis=1))  # (dim, 2): span{u1, u2}
    directions = extra_rng.standard_normal((dim, len(extra)))
    directions -= basis @ (basis.T @ directions)  # orthogonal to u1 and u2
    directions, _ = np.linalg.qr(directions)  # (dim, K - 2) orthonormal
    labels, weights = [y1, y2], [pair[0], pair[1]]
    for j, rho in enumerate(extra):
        w = scale * (rho * u1 + math.sqrt(1.0 - rho**2) * directions[:, j])
        z = x @ w  # (n,)
        waves = np.sin(np.outer(z, alpha) + beta).sum(axis=1)  # (n, m) summed over m
        labels.append(z + waves + extra_rng.normal(0.0, math.sqrt(noise), n_samples))
        weights.append(w)
    return x, np.stack(labels, axis=1), np.stack(weights)


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
    n_tasks: int = 2,
    share_correlation: float = 0.5,
    comment_correlation: float = 0.0,
    share_rate: float = 0.3,
    comment_rate: float = 0.2,
) -> MultiTaskData:
    """A VTR/VCR pair from the generator's labels y1, y2 (noisy, like real feedback):

    ``vtr`` ~ Bernoulli(sigmoid(sharpness * (y1 - q))), q the (1 - view_rate) quantile of y1 (binary);
    ``vcr`` = sigmoid(y2 + N(0, completion_noise^2)), observed only where vtr = 1 (regression).
    Higher ``sharpness`` and lower ``completion_noise`` make the tasks easier.

    ``n_tasks`` 3 adds ``shr`` (share), 4 also ``cmr`` (comment): binary, observed only where
    vtr = 1, drawn like vtr from labels y3, y4 whose generator directions have cosine
    ``share_correlation`` / ``comment_correlation`` with VTR's (and that times ``correlation`` with
    VCR's); about ``share_rate`` / ``comment_rate`` of the viewed samples are positive. The first
    two tasks are the same for every ``n_tasks``.
    """
    if isinstance(n_tasks, bool) or n_tasks not in (2, 3, 4):
        raise MtlsearchError(
            f"n_tasks must be 2, 3 or 4, got {n_tasks!r}",
            where="synthetic-video: n_tasks",
            fix="2 (vtr, vcr), 3 (+ shr) or 4 (+ cmr)",
        )
    for name, rate in (("share_rate", share_rate), ("comment_rate", comment_rate)):
        if not 0.0 < rate < 1.0:
            raise MtlsearchError(
                f"{name} {rate} must lie strictly between 0 and 1", where=f"synthetic-video: {name}", fix="e.g. 0.3"
            )
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
    if n_tasks > 2:
        extra = (share_correlation, comment_correlation)[: n_tasks - 2]
        rates = (share_rate, comment_rate)[: n_tasks - 2]
        _, y, _ = generate_regression_tasks(
            n_samples=n_samples,
            correlations=(correlation, *extra),
            dim=dim,
            scale=scale,
            n_sines=n_sines,
            noise=noise,
            seed=seed,
        )
        action_rng = np.random.default_rng([seed, 4])
        columns = []
        for k, rate in enumerate(rates, start=2):
            # rate is the positive share among views: the quantile is taken on viewed samples only
            probability = 1.0 / (1.0 + np.exp(-sharpness * (y[:, k] - np.quantile(y[viewed, k], 1.0 - rate))))
            action = (action_rng.random(n_samples) < probability) & viewed
            columns.append(action.astype(np.float64))
        labels = np.concatenate([labels, np.stack(columns, axis=1)], axis=1)
        masks = np.concatenate([masks, np.repeat(viewed[:, None], len(rates), axis=1)], axis=1)
        tasks += tuple(TaskSpec(name, "binary", sample_space="task:vtr") for name in VIDEO_TASKS[2:n_tasks])
    return _data("synthetic-video", x, labels, masks, tasks, split, seed)
