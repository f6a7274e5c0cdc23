"""Why the network's income AUC trailed a plain PLE loop's on the same arrays (issue 15).

    python benchmarks/auc_gap.py [--epochs 3] [--lr 0.001] [--seeds 0 1] [--inits normal uniform-0.05 ...]

Trains PLE (1 + 1 experts, the throughput benchmark's sizes) on Census group 1 with the same
tensors, batch order and fused Adam, as mtlsearch's network (hand loop) and as the plain PLE of
``benchmarks/_plain.py``, each with every embedding initialisation of ``--inits``, and reports
VALIDATION AUCs after ``--epochs`` epochs (no early stopping, no test split is looked at).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import torch
from _common import census_ple, machine
from _plain import EMBEDDING_INITS, init_embedding, train_plain
from throughput import plain_model

from mtlsearch.data import BatchLoader
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.training import make_optimizer, prepare_data, task_losses, task_metrics


def train_network(config, data, embedding_init: str) -> torch.nn.Module:
    torch.manual_seed(config.seed)
    network = MultiTaskNetwork(config.model, data.features, len(data.tasks))
    if embedding_init != "normal":  # "normal" is nn.Embedding's own N(0, 1): keep the constructor's draw
        init_embedding(network.embedding.weight, embedding_init)
    optimizer = make_optimizer(config.training, network.parameters())
    loader = BatchLoader(data.train, config.training.batch_size, shuffle=True, seed=config.seed)
    binary = torch.tensor([t.type == "binary" for t in data.tasks])
    for _ in range(config.training.epochs):
        network.train()
        for categorical, numeric, labels, masks in loader:
            loss = task_losses(network(categorical, numeric), labels, masks.float(), binary).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return network


def train_plain_model(config, data, embedding_init: str) -> torch.nn.Module:
    torch.manual_seed(config.seed)
    model = plain_model(config, data)
    if embedding_init != "normal":
        init_embedding(model.embedding.weight, embedding_init)
    t = config.training
    train_plain(model, data, epochs=t.epochs, lr=t.lr, batch_size=t.batch_size, seed=config.seed)
    return model


def validation_aucs(model: torch.nn.Module, data) -> tuple[float, float]:
    model.eval()
    split = data.validation
    with torch.no_grad():
        logits = model(split.categorical, split.numeric)
    metrics = task_metrics(data.tasks, logits, split.labels, split.masks)
    return metrics["income/auc"], metrics["marital/auc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--inits", nargs="+", default=list(EMBEDDING_INITS), choices=EMBEDDING_INITS)
    parser.add_argument("--arms", nargs="+", default=["network", "plain"], choices=["network", "plain"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = prepare_data(census_ple())
    print(f"machine: {machine()}")
    print(f"PLE (1, 1) on Census group 1, {args.epochs} epochs, lr {args.lr}, seeds {args.seeds}; validation AUCs\n")
    print("| model | embedding init | validation AUC income | validation AUC marital | per seed (income) |")
    print("|---|---|---|---|---|")
    trainers = {"network": train_network, "plain": train_plain_model}
    for arm in args.arms:
        for init in args.inits:
            income, marital = [], []
            for seed in args.seeds:
                config = census_ple(epochs=args.epochs, seed=seed)
                model = trainers[arm](_with_lr(config, args.lr), data, init)
                a, b = validation_aucs(model, data)
                income.append(a)
                marital.append(b)
            print(
                f"| {arm} | {init} | {statistics.mean(income):.4f} | {statistics.mean(marital):.4f} "
                f"| {', '.join(f'{v:.4f}' for v in income)} |",
                flush=True,
            )


def _with_lr(config, lr: float):
    return dataclasses.replace(config, training=dataclasses.replace(config.training, lr=lr))


if __name__ == "__main__":
    main()
