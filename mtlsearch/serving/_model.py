"""The serving module: raw features in, per-task scores out; what every artifact exports."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from mtlsearch.data import PAD, MultiTaskData, Split
from mtlsearch.models import MultiTaskNetwork

__all__ = ["PAD", "ServingModel", "code_bounds", "latency_ms", "raw_inputs", "task_outputs"]


def task_outputs(logits: torch.Tensor, binary: torch.Tensor) -> torch.Tensor:
    """Per-task scores ``(B, T)`` from the network's logits ``(B, T)``: the probability
    ``sigmoid(logit)`` for a binary task (CTR, CVR...), the prediction itself for a regression task.

    The one mapping from logits to scores: the parity check, every artifact and ``predict`` use it.
    """
    return torch.where(binary, torch.sigmoid(logits), logits)


class ServingModel(nn.Module):
    """Scores raw features; the module that ``model.pt2``, ``model.onnx`` and ``model.pt`` hold.

    Inputs, the network's inputs in raw form (built in one place, :meth:`Scorer.encode
    <mtlsearch.serving.Scorer.encode>`, and :func:`raw_inputs` for a split):

    - ``categorical`` ``(B, C)``: codes as in ``vocabularies.json`` (1 + the value's index, 0 = OOV).
      Each feature's codes outside ``[0, vocab_size)``, negative ones included, are mapped to that
      feature's OOV index 0. (The network stores all features in one embedding table at offsets,
      so an out-of-range code would otherwise read another feature's rows.) Mapping rather than
      refusing keeps one bad ID from failing a whole batch, as an unseen value does in training.
    - ``numeric`` ``(B, F)``: values as in the source data; ``log1p`` (of the value clamped at 0)
      and the training standardisation are applied here.

    Any integer dtype for codes and any floating or integer dtype for values is cast (int64,
    float32) in eager mode and TorchScript; the exported ``.pt2`` and ``.onnx`` graphs take
    exactly int64 and float32 (``mtlsearch.serving.load`` casts for them).

    Returns ``(B, T)``: probabilities for binary tasks, predictions for regression tasks.
    """

    def __init__(self, network: MultiTaskNetwork, data: MultiTaskData) -> None:
        super().__init__()
        self.network = network
        log1p = torch.tensor([name in data.log1p for name in data.features.numeric], dtype=torch.bool)
        binary = torch.tensor([t.type == "binary" for t in data.tasks], dtype=torch.bool)
        vocab_sizes, pad_ok = code_bounds(data)
        self.register_buffer("vocab_sizes", vocab_sizes)  # (C,)
        self.register_buffer("pad_ok", pad_ok)  # (C,)
        self.register_buffer("log1p", log1p)  # (F,)
        self.register_buffer("mean", data.numeric_mean.clone().float())  # (F,)
        self.register_buffer("std", data.numeric_std.clone().float())  # (F,)
        self.register_buffer("binary", binary)  # (T,)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        categorical = categorical.to(torch.int64)  # (B, C)
        in_range = ((categorical >= 0) & (categorical < self.vocab_sizes)) | (self.pad_ok & (categorical == PAD))
        categorical = torch.where(in_range, categorical, torch.zeros_like(categorical))  # OOV = 0
        numeric = numeric.to(torch.float32)  # (B, F)
        numeric = torch.where(self.log1p, torch.log1p(numeric.clamp_min(0.0)), numeric)
        logits = self.network(categorical, (numeric - self.mean) / self.std)  # (B, T)
        return task_outputs(logits, self.binary)


def code_bounds(data: MultiTaskData) -> tuple[torch.Tensor, torch.Tensor]:
    """Per column of the code matrix ``(C + slots,)``: the rows of its embedding table (OOV 0
    included), and whether ``PAD`` (an empty slot of a multi-valued column) is a valid code there."""
    sizes, pad_ok = list(data.features.vocab_sizes), [False] * data.features.n_categorical
    for column in data.features.multi_valued:
        sizes += [column.vocab_size] * column.max_len
        pad_ok += [True] * column.max_len
    return torch.tensor(sizes, dtype=torch.int64), torch.tensor(pad_ok, dtype=torch.bool)


def raw_inputs(split: Split, data: MultiTaskData) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's rows in the serving module's raw form, ``(codes (N, C) int64, values (N, F) float32)``:
    the training standardisation and ``log1p`` undone (in float64)."""
    values = split.numeric.double() * data.numeric_std.double() + data.numeric_mean.double()  # (N, F)
    log1p = torch.tensor([name in data.log1p for name in data.features.numeric], dtype=torch.bool)
    values = torch.where(log1p, torch.expm1(values), values)
    return split.categorical.long(), values.float()


def latency_ms(model: nn.Module, example: tuple[torch.Tensor, ...], *, repeats: int = 30) -> float:
    """Median wall-clock milliseconds of one forward pass of ``model`` on ``example`` (one row:
    batch 1), after 3 warm-up passes, on this machine with the current torch thread count."""
    model = model.eval()
    with torch.inference_mode():
        for _ in range(3):
            model(*example)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(*example)
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)
