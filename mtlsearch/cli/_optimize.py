"""``mtlsearch optimize --study NAME``."""

from __future__ import annotations

import argparse
import shlex
import sys

from mtlsearch.cli._warnings import release_warnings
from mtlsearch.search._storage import DEFAULT_GRACE_PERIOD, DEFAULT_HEARTBEAT_INTERVAL


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "optimize",
        help="run or resume a multi-objective architecture search",
        description="Create or resume a study and run trials; ends with the Pareto table.",
    )
    parser.add_argument("--study", default="ple", help="study name (studies/NAME.yaml) or path (default: ple)")
    parser.add_argument("--n-trials", type=int, help="trials to run now (default: the study file's n_trials)")
    parser.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    parser.add_argument("--storage", help="storage URL (default: the study file's, else sqlite:///mtlsearch.db)")
    parser.add_argument("--seed", type=int, help="sampler seed (default: the study file's)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes sharing the storage (default: 1)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--heartbeat-interval",
        type=int,
        default=DEFAULT_HEARTBEAT_INTERVAL,
        help=f"seconds between running trials' heartbeats on SQLite/PostgreSQL; 0: off "
        f"(default: {DEFAULT_HEARTBEAT_INTERVAL})",
    )
    parser.add_argument(
        "--grace-period",
        type=int,
        default=DEFAULT_GRACE_PERIOD,
        help=f"seconds without a heartbeat before a trial counts as dead, is marked failed and retried "
        f"(default: {DEFAULT_GRACE_PERIOD})",
    )
    parser.add_argument(
        "--force-new-version",
        action="store_true",
        help="if the study file changed since the study was made, start NAME-v2 (-v3, ...) instead of refusing",
    )
    parser.set_defaults(run=run)


def resume_command(
    args: argparse.Namespace,
    storage_url: str,
    remaining_trials: int | None = None,
    remaining_timeout: float | None = None,
) -> str:
    """The command that finishes an interrupted run: same study, storage, seed, workers and options,
    with ``--n-trials`` the trials still to run and ``--timeout`` the seconds left (when given)."""
    command = ["mtlsearch", "optimize", "--study", args.study, "--storage", storage_url]
    if remaining_trials is not None:
        command += ["--n-trials", str(remaining_trials)]
    elif args.n_trials is not None:
        command += ["--n-trials", str(args.n_trials)]
    timeout = remaining_timeout if remaining_timeout is not None else args.timeout
    if timeout is not None:
        command += ["--timeout", f"{timeout:g}"]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    if args.jobs != 1:
        command += ["--jobs", str(args.jobs)]
    if args.no_progress:
        command.append("--no-progress")
    if args.heartbeat_interval != DEFAULT_HEARTBEAT_INTERVAL:
        command += ["--heartbeat-interval", str(args.heartbeat_interval)]
    if args.grace_period != DEFAULT_GRACE_PERIOD:
        command += ["--grace-period", str(args.grace_period)]
    if args.force_new_version:
        command.append("--force-new-version")
    return " ".join(shlex.quote(part) for part in command)


def _started(study: str, storage_url: str) -> None:
    """The study (its stored name: ``NAME-v2`` after ``--force-new-version``) is created or loaded
    and trials start: the warnings held while the input was checked (e.g. about the data), then
    the storage line."""
    release_warnings()
    print(f"study {study}: storage {storage_url}", file=sys.stderr, flush=True)


def _quiet_optuna() -> None:
    """Optuna's INFO lines ("A new study created in RDB ...") off: the storage line says it."""
    import optuna  # imported by now, with the rest of the search

    optuna.logging.set_verbosity(optuna.logging.WARNING)


def run(args: argparse.Namespace) -> int:
    from mtlsearch.search import format_trials, optimize, pareto_trials  # late: training imports torch

    _quiet_optuna()

    study = optimize(
        args.study,
        n_trials=args.n_trials,
        timeout=args.timeout,
        storage=args.storage,
        seed=args.seed,
        jobs=args.jobs,
        progress=not args.no_progress and args.jobs == 1,  # drawn only on a terminal
        heartbeat_interval=args.heartbeat_interval,
        grace_period=args.grace_period,
        force_new_version=args.force_new_version,
        on_start=_started,
    )
    states = [t.state.name for t in study.trials]
    print(
        f"study {study.study_name}: {states.count('COMPLETE')} complete, {states.count('FAIL')} failed, "
        f"{states.count('PRUNED')} pruned; Pareto front:"
    )
    print(format_trials(study, pareto_trials(study)))
    return 0
