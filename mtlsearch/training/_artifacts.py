"""What a training run leaves on disk: metrics, checkpoint, TorchScript serving model, config."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from mtlsearch.config import save_run_config
from mtlsearch.data import MultiTaskData
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.training._train import TrainResult

__all__ = ["ServingModel", "write_artifacts"]


class ServingModel(nn.Module):
    """Scores raw features: categorical codes as in ``vocabularies.json`` (0 = unknown) and
    numeric values as in the source data; returns probabilities for binary tasks and
    predictions for regression tasks, ``(B, T)``."""

    def __init__(self, network: MultiTaskNetwork, data: MultiTaskData) -> None:
        super().__init__()
        self.network = network
        log1p = torch.tensor([name in data.log1p for name in data.features.numeric], dtype=torch.bool)
        binary = torch.tensor([t.type == "binary" for t in data.tasks], dtype=torch.bool)
        self.register_buffer("log1p", log1p)  # (F,)
        self.register_buffer("mean", data.numeric_mean.clone())  # (F,)
        self.register_buffer("std", data.numeric_std.clone())  # (F,)
        self.register_buffer("binary", binary)  # (T,)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        numeric = torch.where(self.log1p, torch.log1p(numeric.clamp_min(0.0)), numeric)
        logits = self.network(categorical, (numeric - self.mean) / self.std)  # (B, T)
        return torch.where(self.binary, torch.sigmoid(logits), logits)


def write_artifacts(result: TrainResult, out: str | Path, data: MultiTaskData) -> dict[str, Path]:
    """Write ``metrics.json``, ``checkpoint.pt``, ``model.pt`` (TorchScript), ``vocabularies.json``
    and the resolved ``config.yaml`` into ``out``; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": out / "metrics.json",
        "checkpoint": out / "checkpoint.pt",
        "torchscript": out / "model.pt",
        "vocabularies": out / "vocabularies.json",
        "config": out / "config.yaml",
    }
    paths["metrics"].write_text(json.dumps(result.summary(), indent=2, allow_nan=False))  # strict JSON
    save_run_config(result.config, paths["config"])
    torch.save(
        {"config": result.config.to_dict(), "state_dict": result.network.state_dict(), "tasks": data.task_names},
        paths["checkpoint"],
    )
    vocabularies = {
        "categorical": dict(zip(data.features.categorical, map(list, data.vocabularies))),
        "numeric": list(data.features.numeric),
        "tasks": [{"name": t.name, "type": t.type} for t in data.tasks],
        "note": "categorical code of a value = 1 + its index in the list; 0 for unseen values",
    }
    paths["vocabularies"].write_text(json.dumps(vocabularies))
    serving = ServingModel(copy.deepcopy(result.network), data).eval().requires_grad_(False)
    example = (data.test.categorical[:2], data.test.numeric[:2] * data.numeric_std + data.numeric_mean)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        scripted = torch.jit.trace(serving, example, check_trace=False)
    scripted.save(str(paths["torchscript"]))
    return paths
