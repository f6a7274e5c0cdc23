"""Training throughput: the Lightning path against a plain PyTorch loop of the same model, one run.

    python benchmarks/throughput.py [--epochs 3] [--repeats 3] [--threads 1]

Both arms train the same PLE (Census group 1) on the same tensors with the same optimiser and
loss; they alternate (L, P, L, P, ...) so that load on a shared machine hits both alike, and the
report takes each arm's median. Then seconds per epoch for (specific, shared) experts of
(1,1) .. (8,8) against the parameter count: cost should grow no faster than parameters.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import pytorch_lightning as pl
import torch
from _common import census_ple, machine, median

from mtlsearch.data import BatchLoader
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.training import MultiTaskModule, make_optimizer, prepare_data, task_losses
from mtlsearch.training._train import _quiet_lightning, make_trainer


class Clock:
    """Wall and process CPU time of a block; with one torch thread, CPU time is the steadier
    measure on a shared machine (other processes stretch wall time, not our CPU time)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def lightning_seconds(config, data) -> Clock:
    """Time of ``Trainer.fit`` over the training split (no validation loop), set-up included."""
    pl.seed_everything(config.seed, verbose=False)
    network = MultiTaskNetwork(config.model, data.features, len(data.tasks))
    module = MultiTaskModule(network, data.tasks, config.training, [1.0] * len(data.tasks), [1.0] * len(data.tasks))
    loader = BatchLoader(data.train, config.training.batch_size, shuffle=True, seed=config.seed)
    with _quiet_lightning():
        trainer = make_trainer(config.training, limit_val_batches=0)
        with Clock() as clock:
            trainer.fit(module, train_dataloaders=loader)
    return clock


def plain_seconds(config, data) -> Clock:
    """The same training as a hand-written loop: forward, masked losses, backward, Adam step."""
    torch.manual_seed(config.seed)
    network = MultiTaskNetwork(config.model, data.features, len(data.tasks))
    optimizer = make_optimizer(config.training, network.parameters())  # the same fused Adam
    loader = BatchLoader(data.train, config.training.batch_size, shuffle=True, seed=config.seed)
    binary = torch.tensor([t.type == "binary" for t in data.tasks])
    with Clock() as clock:
        for _ in range(config.training.epochs):
            network.train()
            for categorical, numeric, labels, masks in loader:
                loss = task_losses(network(categorical, numeric), labels, masks.float(), binary).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both arms (default 1)")
    parser.add_argument(
        "--balancing", action="store_true", help="only the loss-balancing section (see balancing_throughput)"
    )
    parser.add_argument("--max-rows", type=int, help="--balancing: keep each Census file's first rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.balancing:
        balancing_throughput(epochs=args.epochs, repeats=args.repeats, max_rows=args.max_rows)
        return
    config = census_ple(epochs=args.epochs)
    data = prepare_data(config)
    samples = len(data.train) * args.epochs
    lightning_runs, plain_runs = [], []
    for _ in range(args.repeats):
        lightning_runs.append(lightning_seconds(config, data))
        plain_runs.append(plain_seconds(config, data))
    print(f"machine: {machine()}")
    print(
        f"PLE on Census group 1, {len(data.train)} train rows, batch 1024, {args.epochs} epochs, "
        f"median of {args.repeats} alternating runs\n"
    )
    print("| path | train samples/s (wall) | train samples/s (CPU time) | wall runs (s) |")
    print("|---|---|---|---|")
    rates = {}
    for name, runs in (("Lightning (mtlsearch)", lightning_runs), ("plain PyTorch loop", plain_runs)):
        wall, cpu = samples / median([r.wall for r in runs]), samples / median([r.cpu for r in runs])
        rates[name] = (wall, cpu)
        print(f"| {name} | {wall:,.0f} | {cpu:,.0f} | {', '.join(f'{r.wall:.2f}' for r in runs)} |")
    (lw, lc), (pw, pc) = rates.values()
    print(f"\nLightning / plain: **{lw / pw:.2f}x** wall, **{lc / pc:.2f}x** CPU time (target >= 0.9x)\n")

    print("| experts (specific, shared) | parameters | s/epoch (CPU) | params ratio | time ratio |")
    print("|---|---|---|---|---|")
    base = None
    for n in (1, 2, 4, 8):
        cfg = census_ple(epochs=1, specific=n, shared=n)
        params = MultiTaskNetwork(cfg.model, data.features, len(data.tasks)).n_parameters
        seconds = median([lightning_seconds(cfg, data).cpu for _ in range(args.repeats)])
        base = base or (params, seconds)
        print(f"| ({n}, {n}) | {params:,} | {seconds:.2f} | {params / base[0]:.2f} | {seconds / base[1]:.2f} |")


def balancing_throughput(*, epochs: int, repeats: int, max_rows: int | None) -> None:
    """Training samples/s of every ``training.loss_balancing`` method relative to ``fixed``, on the
    Census PLE through the Lightning path; methods alternate within each repeat, medians of CPU time.

        python benchmarks/throughput.py --balancing [--epochs 1] [--repeats 3] [--max-rows 50000]
    """
    from mtlsearch.config import LOSS_BALANCING, DataConfig

    config = census_ple(epochs=epochs)
    if max_rows:
        config = dataclasses.replace(
            config, data=DataConfig(config.data.name, {**config.data.options, "max_rows": max_rows})
        )
    data = prepare_data(config)
    samples = len(data.train) * epochs
    configs = {
        method: dataclasses.replace(config, training=dataclasses.replace(config.training, loss_balancing=method))
        for method in LOSS_BALANCING
    }
    runs: dict[str, list[Clock]] = {method: [] for method in LOSS_BALANCING}
    for _ in range(repeats):
        for method, cfg in configs.items():
            runs[method].append(lightning_seconds(cfg, data))
    print(f"machine: {machine()}")
    print(
        f"PLE (1, 1) on Census group 1, {len(data.train)} train rows, batch 1024, {epochs} epoch(s), "
        f"median of {repeats} alternating runs\n"
    )
    print("| loss_balancing | train samples/s (CPU time) | relative to fixed | CPU runs (s) |")
    print("|---|---|---|---|")
    fixed = samples / median([r.cpu for r in runs["fixed"]])
    for method, clocks in runs.items():
        rate = samples / median([r.cpu for r in clocks])
        print(f"| {method} | {rate:,.0f} | {rate / fixed:.2f} | {', '.join(f'{r.cpu:.2f}' for r in clocks)} |")


if __name__ == "__main__":
    main()
