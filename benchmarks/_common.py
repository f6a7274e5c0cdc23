"""Shared benchmark helpers: the Census PLE config of issue 2, data loading, timing."""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
from pathlib import Path

import torch
import yaml

from mtlsearch.config import DataConfig, RunConfig, run_config_from_dict

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


def add_study_overrides(parser: argparse.ArgumentParser) -> None:
    """``--n-samples``, ``--epochs`` and ``--data-option KEY=VALUE``: shrink a study for a benchmark."""
    parser.add_argument("--n-samples", type=int, help="override the data set's n_samples (synthetic data)")
    parser.add_argument("--epochs", type=int, help="override the per-trial epochs")
    parser.add_argument("--data-option", action="append", default=[], help="KEY=VALUE (YAML) for the data set")


def study_with_overrides(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The study file ``args.study`` with the overrides of :func:`add_study_overrides` applied;
    a malformed ``--data-option`` is a usage error (``parser.error``)."""
    from mtlsearch.search import load_study_config

    config = load_study_config(args.study)
    options = dict(config.data.options)
    if args.n_samples:
        options["n_samples"] = args.n_samples
    for option in args.data_option:
        key, equals, value = option.partition("=")
        if not (key and equals):
            parser.error(f"--data-option {option!r}: write KEY=VALUE, e.g. max_rows=10000")
        options[key] = yaml.safe_load(value)
    config = dataclasses.replace(config, data=DataConfig(config.data.name, options))
    if args.epochs:
        config = dataclasses.replace(config, training=dataclasses.replace(config.training, epochs=args.epochs))
    return config
