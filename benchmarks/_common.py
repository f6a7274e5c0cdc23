"""Shared benchmark helpers: the Census PLE config of issue 2, data loading, timing."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

import torch

from mtlsearch.config import RunConfig, run_config_from_dict

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MTLSEARCH_DATA_DIR", str((ROOT.parent / "shared" / "data").resolve()))


def census_ple(*, epochs: int = 5, seed: int = 0, specific: int = 1, shared: int = 1, patience: int = 3) -> RunConfig:
    """PLE on Census group 1: 2 levels, experts of 16 units, towers of 8, embeddings of 4, batch 1024."""
    return run_config_from_dict(
        {
            "data": {"name": "census-income", "options": {"group": 1, "seed": 0}},
            "model": {
                "architecture": "ple",
                "levels": 2,
                "specific_experts": specific,
                "shared_experts": shared,
                "expert_hidden": [16],
                "tower_hidden": [8],
                "embedding_dim": 4,
            },
            "training": {"epochs": epochs, "batch_size": 1024, "lr": 1e-3, "patience": patience},
            "seed": seed,
        }
    )


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch thread(s)"
    )


def median(values: list[float]) -> float:
    return statistics.median(values)
