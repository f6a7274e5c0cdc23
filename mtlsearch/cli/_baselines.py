"""``mtlsearch baselines --study NAME``: single-task baselines for the MTL gain."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "baselines", help="train the single-task model of every task once and store its metrics with the study"
    )
    parser.add_argument("--study", required=True, help="study name")
    parser.add_argument("--storage", help="storage URL (default: sqlite:///mtlsearch.db)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mtlsearch.analysis import train_baselines

    record = train_baselines(args.study, storage=args.storage)
    for split in ("validation", "test"):
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in record[split].items())
        print(f"single-task {split}: {metrics}", file=sys.stderr)
    return 0
