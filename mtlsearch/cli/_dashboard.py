"""``mtlsearch dashboard --study NAME``: optuna-dashboard on the study's storage."""

from __future__ import annotations

import argparse
import socket
import sys

from mtlsearch.cli._stored import add_study_arguments, resolve_study
from mtlsearch.errors import MtlsearchError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dashboard", help="inspect a study in optuna-dashboard")
    add_study_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    resolve_study(args)
    from optuna_dashboard import run_server

    from mtlsearch.search import load_study  # late: `mtlsearch --help` imports no optuna

    study = load_study(args.study, args.storage)  # fails clearly on a wrong name or storage
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except (OSError, OverflowError) as error:  # in use, not ours, or not a port (70000)
            raise MtlsearchError(
                f"cannot listen on {args.host}:{args.port}: {getattr(error, 'strerror', None) or error}",
                where="--port",
                fix="choose another --port",
            ) from None
    url = f"http://{args.host}:{args.port}/dashboard/studies/{study._study_id}"
    print(f"optuna-dashboard for study {args.study}: {url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    run_server(study._storage, host=args.host, port=args.port)
    return 0
