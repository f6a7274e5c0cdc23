"""The default study end to end: `mtlsearch optimize --study ple` wall time and per-trial overhead.

    python benchmarks/study_time.py [--study ple] [--n-trials N]

Runs the CLI in a fresh temporary folder (new SQLite storage), then reads every trial back:
overhead = 1 - (training loop seconds) / (trial wall seconds), i.e. the share of a trial spent
outside training (suggesting, storage writes, trainer set-up, validation and test evaluation).
Targets: the default study within 180 s on 2 cores; overhead under 15% of a trial's wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from _common import ROOT, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="ple")
    parser.add_argument("--n-trials", type=int, help="default: the study file's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, str(ROOT / "cli.py"), "optimize", "--study", args.study, "--no-progress"]
        if args.n_trials:
            command += ["--n-trials", str(args.n_trials)]
        start = time.perf_counter()
        subprocess.run(
            command, cwd=folder, check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}
        )
        wall = time.perf_counter() - start
        study = optuna.load_study(study_name=args.study, storage=f"sqlite:///{Path(folder) / 'mtlsearch.db'}")
        trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        shares, trial_walls = [], []
        for trial in trials:
            trial_wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
            trial_walls.append(trial_wall)
            shares.append(1.0 - trial.user_attrs["train_seconds"] / trial_wall)
    print(f"machine: {machine()}")
    print(f"`mtlsearch optimize --study {args.study}`: {len(study.trials)} trials ({len(trials)} complete)\n")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| whole command, wall | {wall:.1f} s | <= 180 s |")
    print(f"| mean trial wall | {statistics.mean(trial_walls):.2f} s | |")
    print(f"| outside training, mean share of a trial | {100 * statistics.mean(shares):.1f}% | < 15% |")
    print(f"| outside training, worst trial | {100 * max(shares):.1f}% | |")
    print(f"| start-up (command wall - sum of trial walls) | {wall - sum(trial_walls):.1f} s | |")


if __name__ == "__main__":
    main()
