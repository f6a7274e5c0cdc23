"""family-plus against family: hypervolume, the final fronts and MTL gain, at equal trial budgets.

    python benchmarks/family_plus.py [--study family-plus] [--baseline-space family]
                                     [--seeds 0 1 2] [--trials 30] [--n-samples N] [--epochs E]
                                     [--data-option KEY=VALUE ...] [--save runs.json]

For every sampler seed the study runs twice with the same data, budget, objectives and sampler
(TPE): once over its own search space (family + AdaTT + cross-stitch + loss balancing) and once
over ``--baseline-space`` (today's family). Each run has its own temporary SQLite storage and 1
torch thread. All runs share one reference point (each objective's worst value over every run,
10% of the range beyond it), so their hypervolumes compare. Then: which architectures and
loss-balancing methods sit on each run's final Pareto front, and the MTL gain per task of the best
AdaTT, PLE and cross-stitch trial (best: the largest hypervolume of the single point) over the
same network trained alone: the trial's config with the architecture set to single-task.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import torch
from _common import add_study_overrides, machine, study_with_overrides

from mtlsearch.analysis import hypervolume, mtl_gain, reference_point
from mtlsearch.models import ModelConfig
from mtlsearch.search import optimize, params_to_config
from mtlsearch.training import prepare_data, train


def run(config, space: str, seed: int, n_trials: int) -> dict:
    """The completed trials of one study run: values, params and the stored metrics."""
    config = dataclasses.replace(
        config, search_space=space, sampler=dataclasses.replace(config.sampler, seed=seed), name=f"{space}-{seed}"
    )
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        study = optimize(config, n_trials=n_trials, storage=f"sqlite:///{Path(folder) / 'bench.db'}")
        wall = time.perf_counter() - start
        done = sorted((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: t.number)
        trials = [
            {
                "values": t.values,
                "params": t.params,
                "validation": t.user_attrs.get("validation", {}),
                "test": t.user_attrs.get("test", {}),
            }
            for t in done
        ]
    return {"space": space, "seed": seed, "wall": wall, "trials": trials}


def front(trials: list[dict], directions: list[str]) -> list[dict]:
    """The non-dominated trials."""
    points = np.array([[v if d == "minimize" else -v for v, d in zip(t["values"], directions)] for t in trials])
    keep = []
    for i, p in enumerate(points):
        dominated = any((q <= p).all() and (q < p).any() for j, q in enumerate(points) if j != i)
        if not dominated:
            keep.append(trials[i])
    return keep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="family-plus")
    parser.add_argument("--baseline-space", default="family")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=30)
    add_study_overrides(parser)
    parser.add_argument("--save", type=Path, help="also write every run's trials to this JSON file")
    parser.add_argument("--load", type=Path, help="report on the runs a --save wrote instead of running")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = study_with_overrides(parser, args)
    spaces = [config.search_space, args.baseline_space]
    if args.load:
        runs = json.loads(args.load.read_text())
    else:
        runs = [run(config, space, seed, args.trials) for seed in args.seeds for space in spaces]
    if args.save:
        args.save.write_text(json.dumps(runs))
    directions = list(config.directions)
    reference = reference_point([t["values"] for r in runs for t in r["trials"]], directions)

    print(f"machine: {machine()}")
    print(
        f"study {args.study} vs space {args.baseline_space}: data {config.data.name} {config.data.options}, "
        f"epochs {config.training.epochs}, {args.trials} trials per run, TPE seeds {args.seeds}; "
        f"reference point {[round(r, 5) for r in reference]} ({', '.join(config.metric_names)})\n"
    )
    print("| search space | mean hypervolume | per seed | mean wall s |")
    print("|---|---|---|---|")
    for space in spaces:
        mine = [r for r in runs if r["space"] == space]
        per_seed = [hypervolume([t["values"] for t in r["trials"]], reference, directions) for r in mine]
        wall = statistics.mean(r["wall"] for r in mine)
        print(f"| {space} | {statistics.mean(per_seed):.5f} | {', '.join(f'{v:.5f}' for v in per_seed)} | {wall:.0f} |")

    print("\nfinal fronts (all seeds together: count of front trials per value)\n")
    print("| search space | front trials | architectures | loss balancing |")
    print("|---|---|---|---|")
    for space in spaces:
        on_front = [t for r in runs if r["space"] == space for t in front(r["trials"], directions)]
        archs = collections.Counter(t["params"].get("architecture", "?") for t in on_front)
        methods = collections.Counter(t["params"].get("loss_balancing", "fixed") for t in on_front)
        print(
            f"| {space} | {len(on_front)} | {', '.join(f'{k} {v}' for k, v in archs.most_common())} | "
            f"{', '.join(f'{k} {v}' for k, v in methods.most_common())} |"
        )

    # MTL gain of the best AdaTT, PLE and cross-stitch trial over the same network trained alone.
    data = prepare_data(config.base_run_config())
    metrics = list(config.metric_names)
    print("\nMTL gain over single-task: the trial's own sizes and training, architecture single-task\n")
    print("| architecture | trial params | " + " | ".join(f"{m} gain (val / test)" for m in metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    every = [t for r in runs if r["space"] == config.search_space for t in r["trials"]]
    for architecture in ("adatt", "ple", "cross-stitch"):
        candidates = [t for t in every if t["params"].get("architecture") == architecture]
        if not candidates:
            print(f"| {architecture} | no completed trial | " + " | ".join("-" for _ in metrics) + " |")
            continue
        best = max(candidates, key=lambda t: hypervolume([t["values"]], reference, directions))
        single = single_task_of(best["params"], config)
        alone = train(single, data)
        val = mtl_gain(best["validation"], alone.validation, metrics)
        test = mtl_gain(best["test"], alone.test, metrics)
        keys = ("levels", "specific_experts", "shared_experts", "loss_balancing")
        shown = ", ".join(f"{k}={best['params'][k]}" for k in keys if k in best["params"])
        cells = " | ".join(f"{val.get(m, float('nan')):+.4f} / {test.get(m, float('nan')):+.4f}" for m in metrics)
        print(f"| {architecture} | {shown} | {cells} |")


def single_task_of(params: dict, study):
    """The trial's run config with the architecture replaced by single-task (same widths and
    training; loss balancing fixed, since no task shares a parameter): "the same network, trained alone"."""
    config = params_to_config(params, study.base_run_config())
    sizes = {
        name: getattr(config.model, name) for name in ("expert_hidden", "tower_hidden", "embedding_dim", "dropout")
    }
    training = dataclasses.replace(config.training, loss_balancing="fixed")
    return dataclasses.replace(config, model=ModelConfig.create("single-task", **sizes), training=training)


if __name__ == "__main__":
    main()
