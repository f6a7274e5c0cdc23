"""PLE's 4-task experiment on the embedded video data: MTL gain per task of the best MMoE, CGC and PLE.

    nice python benchmarks/video_4task.py [--trials 40] [--seeds 0 1 2] [--n-samples N] [--epochs E]

Runs ``studies/video-4task.yaml`` (the family on synthetic-video with VTR, VCR, SHR, CMR) in a
temporary SQLite storage, with one trial enqueued per architecture (MMoE, CGC, PLE; its other
parameters sampled) so that each appears. The best trial of each architecture is the one with the
highest mean z-score of its four validation metrics over all completed trials (MSE sign-flipped).
Each is retrained with every seed, as is the single-task model of each task (the study's
baseline: same widths as the knee trial); the table gives the mean test MTL gain per task (AUC:
MTL - single; MSE: single - MTL, so positive is better everywhere; ± the spread over seeds of the
gain paired by seed) and whether the architecture beats the seesaw (every mean gain positive).
PLE paper, Table 4: PLE beats CGC on every 3- and 4-task group.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import optuna
import torch
from _common import ROOT, machine

from mtlsearch.analysis import baseline_config
from mtlsearch.config import DataConfig
from mtlsearch.search import load_study_config, optimize, trial_config
from mtlsearch.training import prepare_data, train

ARCHITECTURES = ("mmoe", "cgc", "ple")


def _best_trials(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    """Per architecture, the trial with the highest mean z-score of its validation metrics."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    signs = [1.0 if d == optuna.study.StudyDirection.MAXIMIZE else -1.0 for d in study.directions]
    columns = list(zip(*(t.values for t in complete)))
    stats = [(statistics.mean(c), statistics.pstdev(c) or 1.0) for c in columns]

    def score(trial: optuna.trial.FrozenTrial) -> float:
        return statistics.mean(s * (v - m) / sd for v, s, (m, sd) in zip(trial.values, signs, stats))

    best = {}
    for trial in complete:
        arch = trial.params["architecture"]
        if arch in ARCHITECTURES and (arch not in best or score(trial) > score(best[arch])):
            best[arch] = trial
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-samples", type=int, default=None, help="override the study's n_samples")
    parser.add_argument("--epochs", type=int, default=None, help="override the study's epochs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = load_study_config(str(ROOT / "studies" / "video-4task.yaml"))
    if args.n_samples:
        options = {**config.data.options, "n_samples": args.n_samples}
        config = dataclasses.replace(config, data=DataConfig(config.data.name, options))
    if args.epochs:
        config = dataclasses.replace(config, training=dataclasses.replace(config.training, epochs=args.epochs))
    tasks = [o.task for o in config.objectives]
    metrics = [o.name for o in config.objectives]
    print(f"machine: {machine()}")
    print(f"data: {config.data.name} {dict(config.data.options)}; training {config.training.epochs} epochs")

    start, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{Path(folder) / 'video.db'}"
        study = optimize(config, n_trials=1, storage=storage)  # creates the study
        for arch in ARCHITECTURES:
            study.enqueue_trial({"architecture": arch}, skip_if_exists=True)
        study = optimize(config, n_trials=args.trials - 1, storage=storage)
        search_s = time.perf_counter() - start
        best = _best_trials(study)
        data = prepare_data(config.base_run_config())
        runs = {arch: trial_config(study, trial) for arch, trial in best.items()}
        singles = {task: baseline_config(study, task) for task in tasks}

    results: dict[str, list[dict[str, float]]] = {}
    for name, run in [*runs.items(), *(("single:" + t, c) for t, c in singles.items())]:
        results[name] = [train(dataclasses.replace(run, seed=seed), data).test for seed in args.seeds]
    total_s, total_cpu = time.perf_counter() - start, time.process_time() - cpu

    single = {m: statistics.mean(r[m] for r in results[f"single:{m.split('/')[0]}"]) for m in metrics}
    print(f"\n{len(study.trials)} trials, search {search_s:.0f} s; total {total_s:.0f} s wall, {total_cpu:.0f} s CPU")
    print(f"seeds {args.seeds}; single-task test: " + ", ".join(f"{m} {v:.4f}" for m, v in single.items()) + "\n")
    print("| architecture | trial | " + " | ".join(f"gain {m}" for m in metrics) + " | all gains > 0 |")
    print("|---|---|" + "---|" * len(metrics) + "---|")
    for arch in ARCHITECTURES:
        if arch not in best:
            print(f"| {arch} | none completed |" + " |" * (len(metrics) + 1))
            continue
        gains, cells = [], []
        for m in metrics:
            sign = 1.0 if m.endswith("auc") else -1.0  # positive gain is better for AUC and MSE
            task = f"single:{m.split('/')[0]}"
            per_seed = [sign * (a[m] - b[m]) for a, b in zip(results[arch], results[task])]  # paired by seed
            gains.append(statistics.mean(per_seed))
            cells.append(f"{gains[-1]:+.4f} ± {statistics.pstdev(per_seed):.4f}")
        cells = " | ".join(cells)
        print(f"| {arch} | {best[arch].number} | {cells} | {'yes' if min(gains) > 0 else 'no'} |")


if __name__ == "__main__":
    main()
