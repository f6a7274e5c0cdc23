"""Training throughput at every expert count: the network against an independent plain PLE loop.

    python benchmarks/throughput.py [--sizes 1 2 4 8] [--epochs 1] [--repeats 2] [--rows N] [--threads 1]
                                    [--old COMMIT] [--old-step COMMIT]
    python benchmarks/throughput.py --balancing [--epochs 1] [--repeats 3] [--max-rows 50000]
    python benchmarks/throughput.py --step-cost [--rows 51200] [--repeats 16] [--sizes 1] [--old-step COMMIT]

Three arms train PLE (2 levels, experts of 16, towers of 8, embeddings of 4, batch 1024, Adam
lr 1e-3) on Census group 1 with the same tensors and batch order, at (specific, shared) experts
(n, n) for each n of ``--sizes``:

- plain: ``benchmarks/_plain.py``, a hand-written batched PLE and training loop;
- network: mtlsearch's ``MultiTaskNetwork`` in a hand-written loop (no Lightning);
- Lightning: the same network through ``MultiTaskModule`` and ``Trainer.fit`` (no validation);
- with ``--old COMMIT``, also "old network": ``mtlsearch/models/_network.py`` as of that git
  commit, in the same hand loop (what a rewrite of the network gained);
- with ``--old-step COMMIT``, also "old step": today's network through ``MultiTaskModule`` as of
  that commit (``mtlsearch/training/_module.py``) and ``Trainer.fit`` (what a change to the
  Lightning step path gained).

Arms alternate within each size, their order rotating by repeat, so that load on a shared
machine hits all alike; each arm's median CPU time per epoch is reported (one torch thread:
CPU time is the steady measure where other processes stretch wall time). The ratios are speed
relative to the plain loop (plain seconds / arm seconds: above 1 is faster than plain), so the
network's own gap and Lightning's are both visible. Cost per epoch should grow no faster than
the parameter count.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from _common import census_ple, machine, median
from _plain import PlainPLE, train_plain

from mtlsearch.data import BatchLoader
from mtlsearch.models import MultiTaskNetwork
from mtlsearch.training import MultiTaskModule, make_optimizer, prepare_data, task_losses
from mtlsearch.training._train import _quiet_lightning, make_trainer

ARMS = ("plain", "network", "Lightning")


class Clock:
    """Wall and process CPU time of a block; with one torch thread, CPU time is the steadier
    measure on a shared machine (other processes stretch wall time, not our CPU time)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def cpu_seconds(run) -> float:
    with Clock() as clock:
        run()
    return clock.cpu


def lightning_seconds(config, data, module_class=MultiTaskModule) -> Clock:
    """Time of ``Trainer.fit`` over the training split (no validation loop), set-up included."""
    pl.seed_everything(config.seed, verbose=False)
    network = MultiTaskNetwork(config.model, data.features, len(data.tasks))
    module = module_class(network, data.tasks, config.training, [1.0] * len(data.tasks), [1.0] * len(data.tasks))
    loader = BatchLoader(data.train, config.training.batch_size, shuffle=True, seed=config.seed)
    with _quiet_lightning():
        trainer = make_trainer(config.training, limit_val_batches=0)
        with Clock() as clock:
            trainer.fit(module, train_dataloaders=loader)
    return clock


def run_lightning(config, data) -> float:
    """CPU seconds of the Lightning path."""
    return lightning_seconds(config, data).cpu


def run_network(config, data, network_class=MultiTaskNetwork) -> float:
    """The network in a hand-written loop: forward, masked losses, backward, the same fused Adam."""
    torch.manual_seed(config.seed)
    network = network_class(config.model, data.features, len(data.tasks))
    optimizer = make_optimizer(config.training, network.parameters())
    loader = BatchLoader(data.train, config.training.batch_size, shuffle=True, seed=config.seed)
    binary = torch.tensor([t.type == "binary" for t in data.tasks])

    def loop() -> None:
        for _ in range(config.training.epochs):
            network.train()
            for categorical, numeric, labels, masks in loader:
                loss = task_losses(network(categorical, numeric), labels, masks.float(), binary).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

    return cpu_seconds(loop)


def plain_model(config, data) -> PlainPLE:
    m = config.model
    return PlainPLE(
        data.features.vocab_sizes,
        data.features.n_numeric,
        len(data.tasks),
        m.specific_experts,
        m.shared_experts,
        levels=m.levels,
        hidden=m.expert_hidden[0],
        tower=m.tower_hidden[0],
        embedding_dim=m.embedding_dim,
    )


def run_plain(config, data) -> float:
    torch.manual_seed(config.seed)
    model = plain_model(config, data)
    t = config.training
    return cpu_seconds(
        lambda: train_plain(model, data, epochs=t.epochs, lr=t.lr, batch_size=t.batch_size, seed=config.seed)
    )


RUNNERS = {"plain": run_plain, "network": run_network, "Lightning": run_lightning}


def load_old(commit: str, path_in_repo: str, name: str):
    """The Python module at ``path_in_repo`` as of git ``commit``, loaded beside today's package."""
    source = subprocess.run(["git", "show", f"{commit}:{path_in_repo}"], capture_output=True, text=True, check=True)
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(source.stdout)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def old_network_runner(commit: str):
    """A runner for the network module of ``commit``, in the hand loop."""
    old = load_old(commit, "mtlsearch/models/_network.py", "old_network")
    return functools.partial(run_network, network_class=old.MultiTaskNetwork)


def old_step_runner(commit: str):
    """A runner for today's network through the ``MultiTaskModule`` of ``commit`` and ``Trainer.fit``."""
    old = load_old(commit, "mtlsearch/training/_module.py", "old_module")
    return lambda config, data: lightning_seconds(config, data, module_class=old.MultiTaskModule).cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8], help="n for (n, n) experts")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per arm and size")
    parser.add_argument("--rows", type=int, default=0, help="train on the first ROWS rows only (0: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--old", metavar="COMMIT", help="also time the network as of this git commit")
    parser.add_argument(
        "--balancing", action="store_true", help="only the loss-balancing section (see balancing_throughput)"
    )
    parser.add_argument("--max-rows", type=int, help="--balancing: keep each Census file's first rows")
    parser.add_argument(
        "--step-cost", action="store_true", help="only the Lightning path's CPU time a step (see step_cost)"
    )
    parser.add_argument("--old-step", metavar="COMMIT", help="also time the Lightning step path as of this commit")
    args = parser.parse_args()
    arms = ARMS
    if args.old:
        RUNNERS["old network"] = old_network_runner(args.old)
        arms = (*arms, "old network")
    if args.old_step:
        RUNNERS["old step"] = old_step_runner(args.old_step)
        arms = (*arms, "old step")
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")  # validation is off on purpose
    warnings.filterwarnings("ignore", message=".*`dataloader_iter`.*")  # --step-cost: its not-adopted arm
    if args.balancing:
        balancing_throughput(epochs=args.epochs, repeats=args.repeats, max_rows=args.max_rows)
        return
    if args.step_cost:
        step_cost(rows=args.rows or 51200, repeats=args.repeats, n=args.sizes[0], old_step=args.old_step)
        return
    data = prepare_data(census_ple())
    if args.rows:
        data = dataclasses.replace(data, train=data.train.take(slice(0, args.rows)))
    print(f"machine: {machine()}")
    print(
        f"PLE on Census group 1, {len(data.train)} train rows, batch 1024, {args.epochs} epoch(s) a run, "
        f"median of {args.repeats} alternating runs per arm\n"
    )
    print(
        "| experts (specific, shared) | parameters | s/epoch plain | s/epoch network | s/epoch Lightning "
        "| network / plain | Lightning / plain | params ratio | time ratio (Lightning) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    base = None
    overheads: list[str] = []  # per size: each Lightning arm's CPU time a step over the network's hand loop
    for n in args.sizes:
        config = census_ple(epochs=args.epochs, specific=n, shared=n)
        params = MultiTaskNetwork(config.model, data.features, len(data.tasks)).n_parameters
        assert plain_model(config, data).n_parameters == params, "the plain PLE must have the network's sizes"
        runs: dict[str, list[float]] = {arm: [] for arm in arms}
        for r in range(args.repeats):
            for arm in arms[r % len(arms) :] + arms[: r % len(arms)]:
                runs[arm].append(RUNNERS[arm](config, data) / args.epochs)
        sec = {arm: median(v) for arm, v in runs.items()}
        base = base or (params, sec["Lightning"])
        print(
            f"| ({n}, {n}) | {params:,} | {sec['plain']:.2f} | {sec['network']:.2f} | {sec['Lightning']:.2f} "
            f"| **{sec['plain'] / sec['network']:.2f}x** | **{sec['plain'] / sec['Lightning']:.2f}x** "
            f"| {params / base[0]:.2f} | {sec['Lightning'] / base[1]:.2f} |"
            + (f" old network / plain: {sec['plain'] / sec['old network']:.2f}x" if args.old else "")
            + (f" old step / plain: {sec['plain'] / sec['old step']:.2f}x" if args.old_step else ""),
            flush=True,
        )
        steps = -(-len(data.train) // config.training.batch_size)  # a step a batch; seconds are per epoch
        extra = {arm: 1e3 * (sec[arm] - sec["network"]) / steps for arm in ("Lightning", "old step") if arm in sec}
        overheads.append(f"({n}, {n}): " + ", ".join(f"{arm} {ms:.2f} ms" for arm, ms in extra.items()))
    print("\nratios: plain seconds / arm seconds (above 1: faster than the plain loop); target >= 0.95x")
    print("CPU time a step over the network in the hand loop (median epochs): " + "; ".join(overheads))


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


class EpochClock(pl.Callback):
    """CPU time of each training epoch inside ``Trainer.fit`` (no set-up, no validation)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._start = time.process_time()

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.seconds.append(time.process_time() - self._start)


class EpochPerStepModule(MultiTaskModule):
    """Not adopted, measured for reference: the whole epoch in one Lightning step (Lightning hands
    ``training_step`` its data iterator), so Lightning's per-batch loop runs once an epoch. Same
    update; but callbacks then see one batch an epoch (the progress line's batch count) and
    Lightning's batch counters count epochs."""

    def training_step(self, dataloader_iter):
        for batch, _, _ in dataloader_iter:
            self.on_train_batch_start(batch, 0)
            self._common_step(self.transfer_batch_to_device(batch, self.device, 0), "train")


def step_cost(*, rows: int, repeats: int, n: int, old_step: str | None) -> None:
    """CPU time a step of the Lightning path over the same network and update in a hand loop.

    Rounds alternate the arms (order rotating); each arm's epoch CPU time is paired with the
    hand loop's of the same round, and the median and quartiles of the differences, per step,
    are reported: load on a shared machine drifts slowly, so pairs within a round cancel most
    of it. Every arm must end with the hand loop's weights exactly (asserted).
    """
    config = census_ple(epochs=1, specific=n, shared=n)
    data = prepare_data(config)
    data = dataclasses.replace(data, train=data.train.take(slice(0, rows)))
    batch_size = config.training.batch_size
    steps = -(-len(data.train) // batch_size)
    tasks = len(data.tasks)

    def hand() -> tuple[float, MultiTaskNetwork]:
        pl.seed_everything(config.seed, verbose=False)
        network = MultiTaskNetwork(config.model, data.features, tasks)
        optimizer = make_optimizer(config.training, [{"params": list(network.parameters())}])
        loader = BatchLoader(data.train, batch_size, shuffle=True, seed=config.seed)
        binary = torch.tensor([t.type == "binary" for t in data.tasks])
        weights = torch.ones(tasks)
        network.train()
        start = time.process_time()
        for categorical, numeric, labels, masks in loader:
            losses = task_losses(network(categorical, numeric), labels, masks.float(), binary)
            optimizer.zero_grad()
            (weights * losses).sum().backward()
            optimizer.step()
        return time.process_time() - start, network

    def lightning(module_class) -> tuple[float, MultiTaskNetwork]:
        pl.seed_everything(config.seed, verbose=False)
        network = MultiTaskNetwork(config.model, data.features, tasks)
        module = module_class(network, data.tasks, config.training, [1.0] * tasks, [1.0] * tasks)
        loader = BatchLoader(data.train, batch_size, shuffle=True, seed=config.seed)
        clock = EpochClock()
        with _quiet_lightning():
            make_trainer(config.training, limit_val_batches=0, callbacks=[clock]).fit(module, train_dataloaders=loader)
        return clock.seconds[0], network

    arms = {"Lightning": functools.partial(lightning, MultiTaskModule)}
    if old_step:
        old = load_old(old_step, "mtlsearch/training/_module.py", "old_module")
        arms["old step"] = functools.partial(lightning, old.MultiTaskModule)
    arms["one Lightning step an epoch (not adopted)"] = functools.partial(lightning, EpochPerStepModule)
    arms["hand loop"] = hand
    names = list(arms)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    trained: dict[str, dict[str, torch.Tensor]] = {}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            cpu, network = arms[name]()
            seconds[name].append(cpu)
            trained[name] = network.state_dict()
    for name in names:
        for key, value in trained[name].items():
            assert torch.equal(value, trained["hand loop"][key]), f"{name}: {key} differs from the hand loop's"
    print(f"machine: {machine()}")
    print(
        f"PLE ({n}, {n}) on Census group 1, {len(data.train)} train rows, batch {batch_size} ({steps} steps an "
        f"epoch), {repeats} rounds\n"
    )
    print("| path | CPU ms a step | over the hand loop, ms a step: median (quartiles) |")
    print("|---|---|---|")
    for name in names:
        diffs = sorted(a - b for a, b in zip(seconds[name], seconds["hand loop"]))
        q = [1e3 * statistics.quantiles(diffs, n=4)[i] / steps for i in range(3)] if len(diffs) > 1 else [0.0] * 3
        print(f"| {name} | {1e3 * median(seconds[name]) / steps:.3f} | {q[1]:.3f} ({q[0]:.3f}, {q[2]:.3f}) |")


if __name__ == "__main__":
    main()
