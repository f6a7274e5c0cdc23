"""Parity: an artifact must compute what the trained network computes."""

from __future__ import annotations

import torch

from mtlsearch.data import MultiTaskData, Split
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.serving._formats import Predictor
from mtlsearch.serving._model import raw_inputs, task_outputs

__all__ = ["PARITY_TOLERANCE", "max_difference", "reference_scores"]

PARITY_TOLERANCE = 1e-5  # max |artifact - eager| of a probability or prediction, on CPU


def reference_scores(network: MultiTaskNetwork, data: MultiTaskData, split: Split, batch_size: int) -> torch.Tensor:
    """The eager network's scores ``(N, T)`` on ``split``'s training-encoded tensors, in batches."""
    binary = torch.tensor([t.type == "binary" for t in data.tasks], dtype=torch.bool)
    network = network.eval()
    parts = []
    with torch.inference_mode():
        for start in range(0, len(split), batch_size):
            rows = slice(start, start + batch_size)
            parts.append(task_outputs(network(split.categorical[rows], split.numeric[rows]), binary))
    return torch.cat(parts)


def max_difference(
    predictor: Predictor,
    reference: torch.Tensor,
    data: MultiTaskData,
    split: Split,
    batch_size: int,
    *,
    name: str,
    tolerance: float = PARITY_TOLERANCE,
) -> float:
    """Max absolute difference between ``predictor`` on ``split``'s raw rows (all of them, in batches)
    and ``reference`` (from :func:`reference_scores`). Raises :class:`MtlsearchError` naming the
    artifact ``name`` when it exceeds ``tolerance`` or is not finite."""
    codes, values = raw_inputs(split, data)
    worst = 0.0
    for start in range(0, len(split), batch_size):
        rows = slice(start, start + batch_size)
        scores = torch.as_tensor(predictor(codes[rows].numpy(), values[rows].numpy()))
        worst = max(worst, float((scores.double() - reference[rows].double()).abs().max()))
    if not worst <= tolerance:  # also catches NaN
        raise MtlsearchError(
            f"{name} differs from the trained network by {worst:.3g} (tolerance {tolerance:g}) "
            f"on the {len(split)} validation rows",
            where=name,
            fix="nothing was written; report this with the config (try --format torchscript meanwhile)",
        )
    return worst
