"""``mtlsearch train --config FILE.yaml [--out DIR]``."""

from __future__ import annotations

import argparse
import json

from mtlsearch.config import load_run_config
from mtlsearch.training import prepare_data, train
from mtlsearch.training._artifacts import write_artifacts


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one configuration (e.g. exported from a study)",
        description="Train one configuration and write metrics.json, a checkpoint and a TorchScript model.",
    )
    parser.add_argument("--config", required=True, help="training config YAML (see README: Training config)")
    parser.add_argument("--out", default="runs/train", help="output folder (default: runs/train)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one line on stderr with the epoch and batch (default: on, drawn only on a terminal)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_run_config(args.config)
    data = prepare_data(config)
    result = train(config, data, progress=args.progress)
    paths = write_artifacts(result, args.out, data)
    print(json.dumps({"validation": result.validation, "test": result.test}, indent=2))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
