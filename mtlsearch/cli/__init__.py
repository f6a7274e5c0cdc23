"""The ``mtlsearch`` command line: thin parsers that call library functions.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args)``.
User errors (:class:`~mtlsearch.errors.MtlsearchError`) become one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence

from mtlsearch import __version__
from mtlsearch.cli import _baselines, _dashboard, _export, _optimize, _pareto, _predict, _report, _train
from mtlsearch.cli._warnings import held_warnings, release_warnings
from mtlsearch.errors import MtlsearchError

__all__ = ["console", "main"]

COMMANDS = (_optimize, _pareto, _export, _train, _predict, _dashboard, _baselines, _report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mtlsearch", description="Find the best multi-task architecture for a recommender."
    )
    parser.add_argument("--version", action="version", version=f"mtlsearch {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    # A typo such as --n-trial must be a usage error, not silently taken for --n-trials.
    for command_parser in (parser, *subparsers.choices.values()):
        command_parser.allow_abbrev = False
    return parser


def console() -> None:
    """The ``mtlsearch`` executable: :func:`main`, then exit with its code.

    Before the interpreter shuts down, every object left is frozen (``gc.freeze()``): the final
    collection would otherwise walk all of torch's and Lightning's objects once more, about 2 s
    of every command that trained (``benchmarks/study_time.py``). Files and the storage are
    closed by then; objects are still freed by reference counting.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 bad input, 2 bad usage, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    with held_warnings():  # our warnings: one line each, and none before a refusal's one line
        try:
            code = args.run(args) or 0
        except MtlsearchError as error:
            print(f"mtlsearch {args.command}: error: {error}", file=sys.stderr)
            return getattr(error, "exit_code", 1)
        except KeyboardInterrupt as error:
            release_warnings()  # the run had started: what it warned about still counts
            print(f"mtlsearch {args.command}: {_interrupted(args, error)}", file=sys.stderr)
            return getattr(error, "exit_code", 130)
        release_warnings()
        return code


def _interrupted(args: argparse.Namespace, error: KeyboardInterrupt) -> str:
    """One line: what stopped the run and, for a study, the exact command that finishes it."""
    reason = f"interrupted by {getattr(error, 'signal_name', 'SIGINT')}"
    storage_url = getattr(error, "storage_url", "")
    if args.command != "optimize" or not storage_url:
        return reason
    remaining = getattr(error, "remaining_trials", None)
    stopped = reason + _failed_trials(error.study_name, getattr(error, "failed_trials", None))
    if remaining == 0:
        return f"{stopped}; every requested trial had finished"
    command = _optimize.resume_command(args, storage_url, remaining, getattr(error, "remaining_timeout", None))
    return f"{stopped}; resume with: {command}"


def _failed_trials(study_name: str, numbers: tuple[int, ...] | None) -> str:
    """What the interruption did to trials, only what happened: nothing when no trial was running
    (a signal between trials) or the storage could not be read."""
    if not numbers:
        return ""
    if len(numbers) == 1:
        return f"; trial {numbers[0]} of study {study_name!r} was running and was marked failed"
    listed = ", ".join(map(str, numbers))
    return f"; trials {listed} of study {study_name!r} were running and were marked failed"
