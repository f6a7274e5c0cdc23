"""``mtlsearch pareto --study NAME``."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pareto", help="show a study's Pareto-optimal trials")
    parser.add_argument("--study", required=True, help="study name")
    parser.add_argument("--storage", help="storage URL (default: sqlite:///mtlsearch.db)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mtlsearch.search import format_trials, load_study, pareto_trials  # late: `--help` imports no optuna

    study = load_study(args.study, args.storage)
    print(format_trials(study, pareto_trials(study), args.format))
    return 0
