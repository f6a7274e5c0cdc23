"""``mtlsearch predict --model DIR --data FILE --out SCORES [--batch-size N] [--keep COL ...]``."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="score a CSV or Parquet table with a trained model",
        description="Score a table in the training schema (raw values) with the model that mtlsearch train "
        "wrote; one column per task (probabilities for binary tasks). Streams the file in chunks.",
    )
    parser.add_argument("--model", required=True, help="folder written by mtlsearch train")
    parser.add_argument("--data", required=True, help="table to score: .csv, .tsv (optionally compressed) or .parquet")
    parser.add_argument("--out", required=True, help="scores file: .csv, .tsv or .parquet (written atomically)")
    parser.add_argument("--batch-size", type=int, default=65536, help="rows read and scored at a time (default 65536)")
    parser.add_argument(
        "--keep", action="append", default=[], metavar="COLUMN", help="copy this input column into the output (repeat)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mtlsearch.serving._predict import predict

    rows = predict(args.model, args.data, args.out, batch_size=args.batch_size, keep=args.keep)
    print(f"scored {rows} rows: {args.out}")
    return 0
