"""The ``mtlsearch`` command line: thin parsers that call library functions.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args)``.
User errors (:class:`~mtlsearch.errors.MtlsearchError`) become one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mtlsearch import __version__
from mtlsearch.cli import _dashboard, _export, _optimize, _pareto, _train
from mtlsearch.errors import MtlsearchError

__all__ = ["main"]

COMMANDS = (_optimize, _pareto, _export, _train, _dashboard)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mtlsearch", description="Find the best multi-task architecture for a recommender."
    )
    parser.add_argument("--version", action="version", version=f"mtlsearch {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 bad input, 2 bad usage, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except MtlsearchError as error:
        print(f"mtlsearch {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mtlsearch {args.command}: interrupted", file=sys.stderr)
        return 130
