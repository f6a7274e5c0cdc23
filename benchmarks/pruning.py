"""Multi-objective early stopping: the same study with and without pruning.

Runs each study twice with the same sampler seed, training seed and trial count, once with
``pruning.enabled: false`` and once with the pruner, and prints a markdown table of the training
time and epochs spent and the hypervolume of the final validation front (COMPLETE trials only:
a PRUNED trial keeps no values). Both arms share one hypervolume reference point: each
objective's worst value over the completed trials of both arms, moved 10% of its range further.
Torch runs single-threaded in both arms (``--threads``), so time is comparable; ``--parallel``
runs the two arms at once in two processes, one core each.

    python benchmarks/pruning.py --quick            # < 2 minutes on 2 cores: ple on 3000 samples
    python benchmarks/pruning.py                    # ple as shipped (12000 samples, 20 trials)
    python benchmarks/pruning.py --census           # also census-family (data in MTLSEARCH_DATA_DIR)
    python benchmarks/pruning.py --studies census-family --parallel
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
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
from mtlsearch.search import PruningConfig, StudyConfig, load_study_config, optimize  # noqa: E402


def _study_config(name: str, args: argparse.Namespace) -> StudyConfig:
    config = load_study_config(str(ROOT / "studies" / f"{name}.yaml"))
    options = dict(config.data.options)
    if args.samples:
        options["n_samples"] = args.samples
    data = dataclasses.replace(config.data, options=options)
    training = dataclasses.replace(config.training, threads=args.threads)
    return dataclasses.replace(config, data=data, training=training, storage=None, timeout=None)


def _arm(config: StudyConfig, pruning: PruningConfig, args: argparse.Namespace, folder: str) -> dict:
    """One optimize run; the totals of its trials."""
    torch.set_num_threads(args.threads)  # again: a worker process of --parallel starts afresh
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    arm = dataclasses.replace(config, name=f"{config.name}-{'on' if pruning.enabled else 'off'}", pruning=pruning)
    start = time.perf_counter()
    study = optimize(arm, n_trials=args.trials, storage=f"sqlite:///{folder}/{arm.name}.db", seed=args.seed)
    wall = time.perf_counter() - start
    trials = study.trials
    states = optuna.trial.TrialState
    return {
        "wall": wall,
        "train_seconds": sum(t.user_attrs.get("train_seconds", 0.0) for t in trials),
        "epochs": sum(len(t.user_attrs.get("intermediate", {})) for t in trials),
        "complete": [t.values for t in trials if t.state == states.COMPLETE],
        "pruned": sum(t.state == states.PRUNED for t in trials),
        "failed": sum(t.state == states.FAIL for t in trials),
        "front": len(study.best_trials),
    }


def run(name: str, args: argparse.Namespace) -> list[str]:
    """Both arms of one study; its table rows."""
    config = _study_config(name, args)
    pruning = PruningConfig(
        enabled=True,
        min_resource=args.min_resource,
        reduction_factor=args.reduction_factor,
        min_trials=args.min_trials,
    )
    with tempfile.TemporaryDirectory() as folder:
        if args.parallel:  # one process per arm, each on its own core
            with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
                arms = [pool.submit(_arm, config, p, args, folder) for p in (PruningConfig(), pruning)]
                off, on = (arm.result() for arm in arms)
        else:
            off = _arm(config, PruningConfig(), args, folder)
            on = _arm(config, pruning, args, folder)
    directions = config.directions
    reference = reference_point(off["complete"] + on["complete"], directions)
    rows = []
    for label, arm in (("off", off), (f"on (eta={args.reduction_factor}, min_trials={args.min_trials})", on)):
        arm["hv"] = hypervolume(arm["complete"], reference, directions)
        rows.append(
            f"| {name} | {label} | {args.trials} | {len(arm['complete'])}/{arm['pruned']}/{arm['failed']} "
            f"| {arm['epochs']} | {arm['train_seconds']:.1f} | {arm['wall']:.1f} | {arm['front']} | {arm['hv']:.5f} |"
        )
    saved_time = 1 - on["train_seconds"] / off["train_seconds"]
    saved_epochs = 1 - on["epochs"] / off["epochs"]
    hv_change = on["hv"] / off["hv"] - 1 if off["hv"] else float("nan")
    rows.append(
        f"| {name} | **change** | | | {-saved_epochs:+.1%} | {-saved_time:+.1%} "
        f"| {on['wall'] / off['wall'] - 1:+.1%} | | {hv_change:+.2%} |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ple on 3000 samples, 12 trials (< 2 min on 2 cores)")
    parser.add_argument("--census", action="store_true", help="also census-family (MTLSEARCH_DATA_DIR)")
    parser.add_argument("--studies", nargs="+", help="studies (default: ple [census-family])")
    parser.add_argument("--parallel", action="store_true", help="run the two arms at once, one process each")
    parser.add_argument("--trials", type=int, default=None, help="trials per arm (default: 12 quick, 20)")
    parser.add_argument("--samples", type=int, default=None, help="override ple's n_samples (quick: 3000)")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed of both arms")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in both arms")
    parser.add_argument("--min-resource", type=int, default=1)
    parser.add_argument("--reduction-factor", type=int, default=3)
    parser.add_argument("--min-trials", type=int, default=4)
    args = parser.parse_args()
    args.trials = args.trials or (12 if args.quick else 20)
    if args.quick and not args.samples:
        args.samples = 3000
    torch.set_num_threads(args.threads)
    os.environ.setdefault("MTLSEARCH_DATA_DIR", str((ROOT / ".." / "shared" / "data").resolve()))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    studies = args.studies or ["ple", *(["census-family"] if args.census else [])]
    arms = "at once, one process each" if args.parallel else "one after the other"
    print(f"seed {args.seed}, {args.trials} trials per arm, torch threads {args.threads}, arms {arms}\n")
    print("| study | pruning | trials | complete/pruned/failed | epochs trained | train s | wall s | front | HV |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in studies:
        if name != "ple":
            args.samples = None  # n_samples applies to the synthetic ple data only
        for row in run(name, args):
            print(row, flush=True)


if __name__ == "__main__":
    main()
