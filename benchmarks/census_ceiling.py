"""How far can Census go? The searched network, the trees, and their blend, per seed.

    python benchmarks/census_ceiling.py [--config benchmarks/configs/census-family-knee.yaml] [--seeds 0 1 2]

Trains the exported config (by default the knee of the recorded 60-minute `census-family`
search) and scikit-learn's gradient-boosted trees (lr 0.02, 63 leaves: the best trees of
RESULTS.md) on the same features and split, and reports each one's and their blend's AUCs.
The blend averages the two models' rank-normalised scores with equal weights, fixed in advance:
nothing is tuned on test. It is no product model: it estimates what the features allow, so that
issue 3's targets (income >= 0.956, marital >= 0.9955) can be put in scale.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics

import numpy as np
import pandas as pd
import torch
import yaml
from _common import ROOT, machine
from census_gbdt import fit_trees, tree_inputs
from sklearn.metrics import roc_auc_score

from mtlsearch.config import run_config_from_dict
from mtlsearch.training import prepare_data, train

SPLITS = ("validation", "test")


def _ranks(scores: np.ndarray) -> np.ndarray:
    return pd.Series(scores).rank().to_numpy() / len(scores)


def network_scores(config, data, seed: int) -> dict[str, np.ndarray]:
    """Per split, the trained network's logits (N, tasks)."""
    result = train(dataclasses.replace(config, seed=seed), data)
    result.network.eval()
    with torch.no_grad():
        return {s: result.network(getattr(data, s).categorical, getattr(data, s).numeric).numpy() for s in SPLITS}


def tree_scores(trees_data, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per split, the trees' probabilities (N, tasks) and the labels (N, tasks)."""
    data, x, categorical = trees_data
    scores = {s: np.zeros((len(x[s]), len(data.tasks))) for s in SPLITS}
    for t in range(len(data.tasks)):
        model = fit_trees(x["train"], data.train.labels[:, t].numpy(), categorical, lr=0.02, leaves=63, seed=seed)
        for s in SPLITS:
            scores[s][:, t] = model.predict_proba(x[s])[:, 1]
    return scores, {s: getattr(data, s).labels.numpy() for s in SPLITS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "benchmarks" / "configs" / "census-family-knee.yaml"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    with open(args.config) as handle:
        config = run_config_from_dict(yaml.safe_load(handle))
    data = prepare_data(config)
    tasks = [t.name for t in data.tasks]
    trees_data = tree_inputs()
    aucs: dict[tuple[str, str, str], list[float]] = {}  # (model, split, task) -> per seed
    for seed in args.seeds:
        net = network_scores(config, data, seed)
        trees, labels = tree_scores(trees_data, seed)
        for s in SPLITS:
            assert np.array_equal(labels[s], getattr(data, s).labels.numpy()), "the two loaders' rows differ"
            for t, task in enumerate(tasks):
                y = labels[s][:, t]
                blend = _ranks(net[s][:, t]) + _ranks(trees[s][:, t])  # equal weights, fixed in advance
                for model, score in (("network", net[s][:, t]), ("trees", trees[s][:, t]), ("blend", blend)):
                    aucs.setdefault((model, s, task), []).append(roc_auc_score(y, score))
    print(f"machine: {machine()}")
    shown = os.path.relpath(args.config, ROOT) if os.path.abspath(args.config).startswith(str(ROOT)) else args.config
    print(f"network: {shown}; trees: HistGradientBoostingClassifier lr 0.02, 63 leaves; seeds {args.seeds}\n")
    header = " | ".join(f"{s} AUC {task}" for s in SPLITS for task in tasks)
    print(f"| model | {header} |")
    print("|---|" + "---|" * (len(SPLITS) * len(tasks)))
    for model in ("network", "trees", "blend"):
        cells = [statistics.mean(aucs[model, s, task]) for s in SPLITS for task in tasks]
        print(f"| {model} | " + " | ".join(f"{v:.4f}" for v in cells) + " |")
    print(
        "\nper seed, test: "
        + "; ".join(
            f"{model} {task} " + ", ".join(f"{v:.4f}" for v in aucs[model, "test", task])
            for model in ("network", "trees", "blend")
            for task in tasks
        )
    )


if __name__ == "__main__":
    main()
