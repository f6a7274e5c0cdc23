"""``mtlsearch train --config FILE.yaml [--out DIR] [--format pt2,onnx,torchscript] [--progress]``."""

from __future__ import annotations

import argparse
import json

from mtlsearch._outputs import check_output_dir
from mtlsearch.cli._warnings import release_warnings
from mtlsearch.errors import MtlsearchError

# The serving formats, named here so that `mtlsearch --help` needs no torch (mtlsearch.serving
# imports it); tests/cli/test_startup.py checks them against mtlsearch.serving.
FORMAT_NAMES = ("pt2", "onnx", "torchscript")
DEFAULT_FORMAT_NAMES = ("pt2", "onnx")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one configuration (e.g. exported from a study)",
        description="Train one configuration; write metrics.json, a checkpoint, serving artifacts "
        "(model.pt2, model.onnx) checked against the trained network, and model_card.json.",
    )
    parser.add_argument("--config", required=True, help="training config YAML (see README: Training config)")
    parser.add_argument("--out", default="runs/train", help="output folder (default: runs/train)")
    parser.add_argument(
        "--format",
        default=None,
        metavar="LIST",
        help=f"serving artifacts, comma-separated from {', '.join(FORMAT_NAMES)} "
        f"(default: {','.join(DEFAULT_FORMAT_NAMES)}; onnx needs mtlsearch[onnx])",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one line on stderr with the epoch and batch (default: on, drawn only on a terminal)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # late: `mtlsearch --help` must not import torch
    from mtlsearch.serving import DEFAULT_FORMATS, onnx_missing, parse_formats
    from mtlsearch.training import TrainingDiverged, load_run, train
    from mtlsearch.training._artifacts import write_artifacts

    out = check_output_dir(args.out, where="--out")  # before training, not after it
    explicit = args.format is not None
    formats = parse_formats(args.format) if explicit else DEFAULT_FORMATS
    if explicit and "onnx" in formats and onnx_missing():  # before minutes of training
        raise MtlsearchError(
            f"cannot write model.onnx: {onnx_missing()}",
            where="--format",
            fix="install it, or leave onnx out of --format",
        )
    config, data = load_run(args.config)  # every check that needs no training, errors naming the file
    release_warnings()  # the input is checked: its warnings (e.g. about the data) now, before training
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
    written = write_artifacts(result, out, data, formats=formats, explicit=explicit)
    print(json.dumps({"validation": result.validation, "test": result.test}, indent=2, allow_nan=False))
    for kind, path in written.paths.items():
        print(f"{kind}: {path}")
    if written.parity:
        checks = ", ".join(f"{name} {diff:.1e}" for name, diff in written.parity.items())
        print(f"parity with the trained network (max abs difference, validation rows): {checks}")
    for name, reason in written.skipped.items():
        print(f"skipped model.{name}: {reason}")
    return 0
