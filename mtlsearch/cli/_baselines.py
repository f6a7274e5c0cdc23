"""``mtlsearch baselines --study NAME``: single-task baselines for the MTL gain."""

from __future__ import annotations

import argparse
import sys

from mtlsearch.cli._stored import add_study_arguments, resolve_study


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "baselines", help="train the single-task model of every task once and store its metrics with the study"
    )
    add_study_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    resolve_study(args)
    from mtlsearch.analysis import train_baselines

    record = train_baselines(args.study, storage=args.storage)
    for split in ("validation", "test"):
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in record[split].items())
        print(f"single-task {split}: {metrics}", file=sys.stderr)
    return 0
