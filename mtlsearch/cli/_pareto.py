"""``mtlsearch pareto --study NAME``."""

from __future__ import annotations

import argparse

from mtlsearch.cli._stored import add_study_arguments, resolve_study


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pareto", help="show a study's Pareto-optimal trials")
    add_study_arguments(parser)
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    resolve_study(args)
    from mtlsearch.search import format_trials, load_study, pareto_trials  # late: `--help` imports no optuna

    study = load_study(args.study, args.storage)
    print(format_trials(study, pareto_trials(study), args.format))
    return 0
