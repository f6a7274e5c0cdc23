"""A non-neural yardstick for Census: gradient-boosted trees per task on the same split.

    python benchmarks/census_gbdt.py [--seeds 0 1 2]

scikit-learn's HistGradientBoostingClassifier, one single-task model per task, on exactly the
features and the train/validation/test split that ``mtlsearch`` trains on (the census loader,
numeric values not embedded: trees split them directly; categorical codes as categories).
Early stopping on 10% of the training rows; validation and test AUC per seed. It tells how
much signal the features hold, which puts the network's AUCs (and issue 3's targets) in scale.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from _common import machine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from mtlsearch.data import load_dataset


def tree_inputs(seed: int = 0):
    """Census group 1 as the trees see it: (data, {split: (N, features) array}, categorical mask).

    The loader's own features and split (``seed`` splits the test file), numeric values not
    embedded (trees split them directly), categorical codes as categories.
    """
    data = load_dataset("census-income", {"group": 1, "seed": seed, "embed_numeric": False})
    n_categorical = len(data.features.categorical)
    categorical = [i < n_categorical for i in range(n_categorical + len(data.features.numeric))]
    x = {
        name: np.concatenate([split.categorical.numpy().astype(float), split.numeric.numpy()], axis=1)
        for name, split in (("train", data.train), ("validation", data.validation), ("test", data.test))
    }
    return data, x, categorical


def fit_trees(x: np.ndarray, y: np.ndarray, categorical: list[bool], *, lr: float, leaves: int, seed: int):
    """Gradient-boosted trees, early-stopped on 10% of the training rows."""
    model = HistGradientBoostingClassifier(
        learning_rate=lr,
        max_iter=3000,
        max_leaf_nodes=leaves,
        categorical_features=categorical,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=30,
        random_state=seed,
    )
    return model.fit(x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--leaves", type=int, default=63)
    args = parser.parse_args()
    data, x, categorical = tree_inputs()
    n_categorical = sum(categorical)
    print(f"machine: {machine()}")
    print(
        f"HistGradientBoostingClassifier (lr {args.lr}, {args.leaves} leaves, early stopping on 10% of train), "
        f"{n_categorical} categorical + {len(data.features.numeric)} numeric features, seeds {args.seeds}\n"
    )
    print("| task | validation AUC (seeds) | test AUC (seeds) | mean test AUC | rounds |")
    print("|---|---|---|---|---|")
    for t, task in enumerate(data.tasks):
        validation, test, rounds = [], [], []
        for seed in args.seeds:
            model = fit_trees(
                x["train"], data.train.labels[:, t].numpy(), categorical, lr=args.lr, leaves=args.leaves, seed=seed
            )
            for name, out in (("validation", validation), ("test", test)):
                scores = model.predict_proba(x[name])[:, 1]
                out.append(roc_auc_score(getattr(data, name).labels[:, t].numpy(), scores))
            rounds.append(model.n_iter_)
        print(
            f"| {task.name} | {', '.join(f'{v:.4f}' for v in validation)} | {', '.join(f'{v:.4f}' for v in test)} "
            f"| **{statistics.mean(test):.4f}** | {', '.join(map(str, rounds))} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
