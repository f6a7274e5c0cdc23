"""``mtlsearch export --study NAME (--trial N | --pick ...) --out FILE.yaml``."""

from __future__ import annotations

import argparse
import sys
import warnings

from mtlsearch.cli._stored import add_study_arguments, resolve_study


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a trial as a training config for mtlsearch train",
        description="Export a trial (by number, or picked from the Pareto front) as a self-contained config.",
    )
    add_study_arguments(parser)
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--trial", type=int, help="trial number")
    choice.add_argument("--pick", help="knee | weighted:TASK=W,... | 'METRIC>=VALUE' (e.g. 'vtr/auc>=0.8')")
    parser.add_argument("--out", required=True, help="the YAML file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    resolve_study(args)
    from mtlsearch.search import ExportWarning, export_trial  # late: `mtlsearch --help` imports no optuna

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExportWarning)
        config = export_trial(args.study, args.out, storage=args.storage, trial=args.trial, pick=args.pick)
    for warning in caught:
        if issubclass(warning.category, ExportWarning):
            print(f"mtlsearch export: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    print(f"trial {config.provenance['trial']} of {args.study} -> {args.out}")
    print(f"train it with: mtlsearch train --config {args.out}")
    return 0
