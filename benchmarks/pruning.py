"""Multi-objective early stopping: our MO-ASHA against optunahub's ``MultiMetricPruner``.

Every (study, sampler seed) runs four arms with the same trial budget, training seed and data:

* ``off``: no pruning (the per-epoch vectors are still recorded);
* ``mo-asha``: ours (``pruning: {enabled: true}``, ``mtlsearch.search._pruning``): successive
  halving by Pareto rank with crowding-distance ties, rungs at 1, 3, 9... epochs, keep 1/3;
* ``mmp-sha``: optunahub's ``MultiMetricPruner(SuccessiveHalvingPruner(min_resource=1,
  reduction_factor=3), joint=True)``: each epoch's vectors become Pareto ranks (ties broken by
  hypervolume contribution) in a synthetic single-objective study for Optuna's pruner;
* ``mmp-hyperband``: the same over ``HyperbandPruner(min_resource=1, max_resource=epochs,
  reduction_factor=3)``.

The peer package is loaded from ``../shared/peers`` (or ``--peers DIR``), never copied into this
repository. Its pruner is asked after every epoch but the last (a trial that trained its whole
budget costs nothing more to complete, which is what our pruner does too). The printed table
gives, per arm and seed, epochs trained, training seconds and CPU seconds (one torch thread), and
the hypervolume of the final validation front (COMPLETE trials only); all arms of one (study,
seed) share one reference point (each objective's worst value over the arms' completed trials,
moved 10% of its range further). "saved" is relative to ``off`` of the same seed.

    nice python benchmarks/pruning.py --quick        # ~2 minutes: ple only, 1 seed, 8 trials
    nice python benchmarks/pruning.py --parallel 2   # ple (3000 samples) + census-family (first
                                                     # 10000 rows), 3 seeds, 12 trials, 4 epochs
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import optuna
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mtlsearch.analysis import hypervolume, reference_point  # noqa: E402
from mtlsearch.search import (  # noqa: E402
    Objective,
    PruningConfig,
    SamplerConfig,
    StudyConfig,
    load_search_space,
    load_study_config,
    make_sampler,
)
from mtlsearch.search._optimize import study_hooks  # noqa: E402
from mtlsearch.training import prepare_data  # noqa: E402

ARMS = ("off", "mo-asha", "mmp-sha", "mmp-sha-fixed", "mmp-hyperband")
STATES = optuna.trial.TrialState


def load_peer(peers: str):
    """optunahub's multi_metric_pruner module from a local registry folder (no network)."""
    import optunahub

    return optunahub.load_local_module(package="multi_metric_pruner", registry_root=peers)


class PeerPruning:
    """Epoch hook for the peer arms: report each epoch's vector, ask ``MultiMetricPruner``."""

    def __init__(self, module, metric_names: list[str], epochs: int) -> None:
        self.module = module
        self.metric_names = metric_names
        self.epochs = epochs

    def __call__(self, trial: optuna.Trial):
        wrapped = self.module.MultiMetricPrunerTrial(trial)
        start = time.perf_counter()

        def on_epoch(epoch: int, metrics: dict[str, float]) -> None:
            # step = completed epochs, so that min_resource=1, eta=3 puts rungs at 1, 3, 9 epochs, as ours
            wrapped.report({name: float(metrics[name]) for name in self.metric_names}, epoch + 1)
            if epoch + 1 < self.epochs and wrapped.should_prune():
                trial.set_user_attr("pruned_at_epoch", epoch)
                trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 4))
                raise optuna.TrialPruned(f"MultiMetricPruner at epoch {epoch}")

        return on_epoch


class RungsFromHistory(optuna.pruners.BasePruner):
    """Benchmark glue for the ``mmp-sha-fixed`` arm; not part of the peer package.

    ``MultiMetricPruner`` hands its base pruner a fresh synthetic study (finished trials only,
    without system attributes) and a trial that is not in it (``_trial_id`` -1). Optuna's
    ``SuccessiveHalvingPruner`` keeps its rungs in system attributes of the trials: it writes
    ``completed_rung_K`` to the trial (a KeyError on trial -1: the trial fails) and compares only
    with trials that carry that attribute (in the synthetic study: none, so nothing would ever be
    pruned). This copy of the synthetic study gives every trial the ``completed_rung_K`` values
    of its own history (its rank at step ``min_resource * eta**K``) and holds the current trial,
    so that successive halving decides as it would on a single-objective study.
    """

    def __init__(self, min_resource: int, reduction_factor: int) -> None:
        self.base = optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=reduction_factor)
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor

    def _rungs(self, values: dict[int, float], below: int) -> dict[str, float]:
        """``completed_rung_K``: the value at step ``min_resource * eta**K``, for the steps below ``below``."""
        out, rung, step = {}, 0, self.min_resource
        while step < below:
            if step in values:
                out[f"completed_rung_{rung}"] = values[step]
            rung, step = rung + 1, step * self.reduction_factor
        return out

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        copy = optuna.create_study(direction=study.direction)
        for other in study.get_trials(deepcopy=False):
            values = dict(other.intermediate_values)
            copy.add_trial(
                optuna.trial.create_trial(
                    state=other.state,
                    value=other.value,
                    params=other.params,
                    distributions=other.distributions,
                    intermediate_values=values,
                    system_attrs=self._rungs(values, max(values, default=0) + 1),
                )
            )
        values = dict(trial.intermediate_values)
        trial_id = copy._storage.create_new_trial(
            copy._study_id,
            template_trial=optuna.trial.create_trial(
                state=optuna.trial.TrialState.RUNNING,
                params=trial.params,
                distributions=trial.distributions,
                intermediate_values=values,
                system_attrs=self._rungs(values, trial.last_step if trial.last_step is not None else 0),
            ),
        )
        return self.base.prune(copy, copy._storage.get_trial(trial_id))


def _pruner(arm: str, module, config: StudyConfig):
    if not arm.startswith("mmp"):
        return None
    epochs = config.training.epochs
    if arm == "mmp-sha":
        base = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    elif arm == "mmp-sha-fixed":
        base = RungsFromHistory(min_resource=1, reduction_factor=3)
    else:
        base = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    directions = dict(zip(config.metric_names, config.directions))
    return module.MultiMetricPruner(base, metric_directions=directions, joint=True)


def run_arm(config: StudyConfig, arm: str, seed: int, trials: int, peers: str, folder: str) -> dict:
    """One arm on one seed: the totals of its trials and the vectors of its completed ones."""
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruning = PruningConfig(enabled=True, min_resource=1, reduction_factor=3) if arm == "mo-asha" else PruningConfig()
    config = dataclasses.replace(
        config,
        name=f"{config.name}-{arm}-{seed}",
        pruning=pruning,
        sampler=dataclasses.replace(config.sampler, seed=seed),
    )
    space = load_search_space(str(config.search_space_path()))
    base = config.base_run_config()
    data = prepare_data(base)
    epoch_hooks, result_hooks, _ = study_hooks(config)
    module = load_peer(peers) if arm.startswith("mmp") else None
    if module is not None:
        epoch_hooks.append(PeerPruning(module, config.metric_names, config.training.epochs))
    study = optuna.create_study(
        storage=f"sqlite:///{folder}/{config.name}.db",
        study_name=config.name,
        directions=config.directions,
        sampler=make_sampler(config, seed),
        pruner=_pruner(arm, module, config),
    )
    objective = Objective(config, space, data, base, epoch_hooks=epoch_hooks, result_hooks=result_hooks)
    cpu, wall = time.process_time(), time.perf_counter()
    study.optimize(objective, n_trials=trials, catch=(Exception,))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = study.trials
    return {
        "arm": arm,
        "seed": seed,
        "cpu": cpu,
        "wall": wall,
        "train_seconds": sum(t.user_attrs.get("train_seconds", 0.0) for t in done),
        "epochs": sum(len(t.user_attrs.get("intermediate", {})) for t in done),
        "complete": [t.values for t in done if t.state == STATES.COMPLETE],
        "pruned": sum(t.state == STATES.PRUNED for t in done),
        "failed": sum(t.state == STATES.FAIL for t in done),
    }


def study_config(name: str, args: argparse.Namespace) -> StudyConfig:
    config = load_study_config(str(ROOT / "studies" / f"{name}.yaml"))
    options = dict(config.data.options)
    if config.data.name == "synthetic-video":
        options["n_samples"] = args.samples
    elif config.data.name == "census-income":
        options["max_rows"] = args.rows
    data = dataclasses.replace(config.data, options=options)
    training = dataclasses.replace(config.training, threads=1, epochs=args.epochs, patience=args.epochs)
    return dataclasses.replace(
        config, data=data, training=training, storage=None, timeout=None, sampler=SamplerConfig(config.sampler.name)
    )


def _default_peers() -> str:
    """``../shared/peers`` beside the checkout (or beside a folder above it, for worktrees)."""
    for folder in ROOT.parents:
        if (folder / "shared" / "peers" / "multi_metric_pruner").is_dir():
            return str(folder / "shared" / "peers")
    return str(ROOT.parent / "shared" / "peers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ple only, seed 0, 8 trials")
    parser.add_argument("--studies", nargs="+", default=["ple", "census-family"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="sampler seeds")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--trials", type=int, default=12, help="trials per arm and seed")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per trial (patience = epochs)")
    parser.add_argument("--samples", type=int, default=3000, help="ple's n_samples")
    parser.add_argument("--rows", type=int, default=10000, help="census-family: the first N rows of each file")
    parser.add_argument("--parallel", type=int, default=1, help="arms run at once, one process and core each")
    parser.add_argument("--peers", default=_default_peers(), help="folder holding multi_metric_pruner/")
    args = parser.parse_args()
    if args.quick:
        args.studies, args.seeds, args.trials = ["ple"], [0], 8
    os.environ.setdefault("MTLSEARCH_DATA_DIR", str((ROOT.parent / "shared" / "data").resolve()))
    load_peer(args.peers)  # fail now, not in a worker, if the peer copy is missing
    print(
        f"{args.trials} trials per arm, {args.epochs} epochs per trial, sampler seeds {args.seeds}, "
        f"ple n_samples {args.samples}, census first {args.rows} rows, 1 torch thread, {args.parallel} at once\n"
    )
    print("| study | arm | seed | complete/pruned/failed | epochs | train s | CPU s | HV | epochs saved | CPU saved |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    summary = []
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(args.parallel, mp_context=context) as pool:
        for name in args.studies:
            config = study_config(name, args)
            jobs = {
                (arm, seed): pool.submit(run_arm, config, arm, seed, args.trials, args.peers, folder)
                for seed in args.seeds
                for arm in args.arms
            }
            results = {key: job.result() for key, job in jobs.items()}
            per_arm: dict[str, list[tuple[float, float, float]]] = {arm: [] for arm in args.arms}
            for seed in args.seeds:
                arms = [results[(arm, seed)] for arm in args.arms]
                reference = reference_point([v for a in arms for v in a["complete"]], config.directions)
                off = results.get(("off", seed))
                for a in arms:
                    a["hv"] = hypervolume(a["complete"], reference, config.directions)
                    saved_epochs = 1 - a["epochs"] / off["epochs"] if off else float("nan")
                    saved_cpu = 1 - a["cpu"] / off["cpu"] if off else float("nan")
                    hv_ratio = a["hv"] / off["hv"] if off and off["hv"] else float("nan")
                    per_arm[a["arm"]].append((saved_epochs, saved_cpu, hv_ratio))
                    print(
                        f"| {name} | {a['arm']} | {seed} | {len(a['complete'])}/{a['pruned']}/{a['failed']} "
                        f"| {a['epochs']} | {a['train_seconds']:.1f} | {a['cpu']:.1f} | {a['hv']:.5f} "
                        f"| {saved_epochs:+.0%} | {saved_cpu:+.0%} |",
                        flush=True,
                    )
            for arm, rows in per_arm.items():
                mean = [statistics.mean(column) for column in zip(*rows)]
                summary.append(f"| {name} | {arm} | {mean[0]:+.1%} | {mean[1]:+.1%} | {mean[2] - 1:+.2%} |")
    print("\nMeans over seeds (saved: relative to `off` of the same seed; HV: final front vs `off`)\n")
    print("| study | arm | epochs saved | CPU time saved | HV change |")
    print("|---|---|---|---|---|")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
