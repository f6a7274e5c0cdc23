"""``mtlsearch report --study NAME --out report.html``: a self-contained report of a study."""

from __future__ import annotations

import argparse
import sys

from mtlsearch.cli._stored import add_study_arguments, resolve_study


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write an offline HTML report (or PNG figures) of a study's front, hypervolume, gain and gates"
    )
    add_study_arguments(parser)
    parser.add_argument("--out", required=True, help="the HTML file to write, or the folder for --format png")
    parser.add_argument("--format", choices=("html", "png"), default="html", help="html (default) or png")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    resolve_study(args)
    from mtlsearch.analysis import write_report

    path = write_report(args.study, args.out, storage=args.storage, fmt=args.format)
    print(f"report written to {path}", file=sys.stderr)
    return 0
