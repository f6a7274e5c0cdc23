"""The Census knee with AdaTT or a searched-space loss balancing, against the GBDT yardstick.

    python benchmarks/census_plus.py [--seeds 0 1 2] [--variants adatt uncertainty upgrad]
                                     [--epochs 5] [--max-rows N]

Starts from the knee of the 60-minute ``census-family`` search (``configs/census-family-knee.yaml``:
PLE, 2 levels, 4 task-specific + 2 shared experts of 32 units; test AUC 0.9554 / 0.9948 over
seeds 0-2) and changes one thing per variant: ``adatt`` (the same sizes as AdaTT), or the
loss balancing (``uncertainty``, ``gradnorm``, ``upgrad``, ``pcgrad``, ...), or both
(``adatt+aligned_mtl``). Each variant is
retrained with every seed (only the seed changes); test AUC is reported once per seed, the model
chosen on validation loss. Yardstick: gradient-boosted trees, 0.9567 / 0.9949 test AUC.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from pathlib import Path

import torch
from _common import machine

from mtlsearch.config import LOSS_BALANCING, DataConfig, load_run_config
from mtlsearch.models import ModelConfig
from mtlsearch.training import prepare_data, train

KNEE = Path(__file__).parent / "configs" / "census-family-knee.yaml"


def variant(config, name: str):
    """``name``: ``adatt``, a ``loss_balancing`` method, or changes joined by ``+`` (``adatt+upgrad``)."""
    if "+" in name:
        for part in name.split("+"):
            config = variant(config, part)
        return config
    if name == "adatt":
        sizes = {
            f.name: getattr(config.model, f.name) for f in dataclasses.fields(ModelConfig) if f.name != "architecture"
        }
        return dataclasses.replace(config, model=ModelConfig.create("adatt", **sizes))
    if name in LOSS_BALANCING:
        return dataclasses.replace(config, training=dataclasses.replace(config.training, loss_balancing=name))
    raise SystemExit(f"census_plus.py: unknown variant {name!r}: use adatt or one of {', '.join(LOSS_BALANCING)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["adatt", "uncertainty", "upgrad"])
    parser.add_argument("--epochs", type=int, help="override the knee's 5 epochs")
    parser.add_argument("--max-rows", type=int, help="keep each Census file's first rows")
    args = parser.parse_args()
    torch.set_num_threads(1)
    knee = load_run_config(KNEE)
    if args.epochs:
        knee = dataclasses.replace(knee, training=dataclasses.replace(knee.training, epochs=args.epochs))
    if args.max_rows:
        knee = dataclasses.replace(
            knee, data=DataConfig(knee.data.name, {**knee.data.options, "max_rows": args.max_rows})
        )
    configs = {name: variant(knee, name) for name in args.variants}  # bad names fail before any training
    data = prepare_data(knee)
    print(f"machine: {machine()}")
    print(f"Census group 1, {len(data.train)} train rows; knee of census-family with one change per row\n")
    print(
        "| variant | validation AUC income / marital (seed 0) | test AUC income (seeds) "
        "| test AUC marital (seeds) | mean income | mean marital |"
    )
    print("|---|---|---|---|---|---|")
    for name, config in configs.items():
        results = [train(dataclasses.replace(config, seed=seed), data) for seed in args.seeds]
        income = [r.test["income/auc"] for r in results]
        marital = [r.test["marital/auc"] for r in results]
        val = results[0].validation
        print(
            f"| {name} | {val['income/auc']:.4f} / {val['marital/auc']:.4f} | "
            f"{', '.join(f'{v:.4f}' for v in income)} | {', '.join(f'{v:.4f}' for v in marital)} | "
            f"{statistics.mean(income):.4f} | {statistics.mean(marital):.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
