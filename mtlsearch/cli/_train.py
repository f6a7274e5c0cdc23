"""``mtlsearch train --config FILE.yaml [--out DIR]``."""

from __future__ import annotations

import argparse
import json

from mtlsearch._outputs import check_output_dir
from mtlsearch.errors import MtlsearchError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one configuration (e.g. exported from a study)",
        description="Train one configuration and write metrics.json, a checkpoint and a TorchScript model.",
    )
    parser.add_argument("--config", required=True, help="training config YAML (see README: Training config)")
    parser.add_argument("--out", default="runs/train", help="output folder (default: runs/train)")
    parser.add_argument("--progress", action="store_true", help="show Lightning's progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mtlsearch.training import TrainingDiverged, load_run, train
    from mtlsearch.training._artifacts import write_artifacts

    out = check_output_dir(args.out, where="--out")  # before training, not after it
    config, data = load_run(args.config)  # every check that needs no training, errors naming the file
    try:
        result = train(config, data, progress=args.progress)
    except TrainingDiverged as error:
        raise MtlsearchError(f"training diverged: {error}", where=args.config, fix="lower training.lr") from None
    undefined = result.undefined_metrics()
    if undefined:
        raise MtlsearchError(
            f"metric {undefined[0]} is undefined after training (non-finite predictions); nothing written",
            where=args.config,
            fix="lower training.lr",
        )
    paths = write_artifacts(result, out, data)
    print(json.dumps({"validation": result.validation, "test": result.test}, indent=2, allow_nan=False))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
