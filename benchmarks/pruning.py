"""Multi-objective early stopping: the same study with and without pruning.

Runs each study twice with the same sampler seed, training seed and trial count, once with
``pruning.enabled: false`` and once with the pruner, and prints a markdown table of the training
time and epochs spent and the hypervolume of the final validation front (COMPLETE trials only:
a PRUNED trial keeps no values). Both arms share one hypervolume reference point: each
objective's worst value over the completed trials of both arms, moved 10% of its range further.
Torch runs single-threaded in both arms (``--threads``), so time is comparable.

    python benchmarks/pruning.py --quick            # < 2 minutes on 2 cores: ple on 3000 samples
    python benchmarks/pruning.py                    # ple as shipped (12000 samples, 20 trials)
    python benchmarks/pruning.py --census           # also census-family (data in MTLSEARCH_DATA_DIR)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import optuna
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mtlsearch.search import PruningConfig, StudyConfig, load_study_config, optimize  # noqa: E402

REFERENCE_MARGIN = 0.1


def _hypervolume_2d(points: Sequence[Sequence[float]], reference: Sequence[float], directions: Sequence[str]) -> float:
    """Exact 2-D hypervolume by a sweep (used when ``mtlsearch.analysis`` is not there)."""
    if len(directions) != 2:
        raise ValueError("the built-in hypervolume is 2-D only")
    signs = [-1.0 if d == "maximize" else 1.0 for d in directions]
    ref = [s * r for s, r in zip(signs, reference)]
    front = sorted(
        p for p in ([s * v for s, v in zip(signs, point)] for point in points) if p[0] < ref[0] and p[1] < ref[1]
    )
    volume, best_y = 0.0, ref[1]
    for x, y in front:
        if y < best_y:
            volume += (ref[0] - x) * (best_y - y)
            best_y = y
    return volume


try:
    from mtlsearch.analysis import hypervolume
except ImportError:  # the analysis package is optional for this benchmark
    hypervolume = _hypervolume_2d


def _reference(values: list[list[float]], directions: Sequence[str]) -> list[float]:
    """Each objective's worst value, ``REFERENCE_MARGIN`` of its range further out."""
    out = []
    for m, direction in enumerate(directions):
        column = [v[m] for v in values]
        margin = REFERENCE_MARGIN * ((max(column) - min(column)) or 1.0)
        out.append(max(column) + margin if direction == "minimize" else min(column) - margin)
    return out


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
        off = _arm(config, PruningConfig(), args, folder)
        on = _arm(config, pruning, args, folder)
    directions = config.directions
    reference = _reference(off["complete"] + on["complete"], directions)
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
    studies = ["ple", *(["census-family"] if args.census else [])]
    print(f"seed {args.seed}, {args.trials} trials per arm, torch threads {args.threads}\n")
    print("| study | pruning | trials | complete/pruned/failed | epochs trained | train s | wall s | front | HV |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in studies:
        if name != "ple":
            args.samples = None  # n_samples applies to the synthetic ple data only
        for row in run(name, args):
            print(row, flush=True)


if __name__ == "__main__":
    main()
