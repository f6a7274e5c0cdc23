"""Artifact formats: write the serving module as ``model.pt2``, ``model.onnx`` or ``model.pt``, and
read each back as a plain function ``(codes, values) -> scores``."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mtlsearch.errors import MtlsearchError

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "ONNX_OPSET",
    "Artifact",
    "load_artifact",
    "onnx_missing",
    "parse_formats",
    "save_artifact",
]

Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (codes (B, C) int64, values (B, F) float32) -> (B, T)


@dataclass(frozen=True)
class Artifact:
    """One format: its file name and what loads it."""

    name: str  # the format's name on the command line
    file: str  # the file written into the run folder
    summary: str
    load_example: str  # three lines of Python, for the model card and README


FORMATS: dict[str, Artifact] = {
    "pt2": Artifact(
        "pt2",
        "model.pt2",
        "torch.export ExportedProgram, dynamic batch (torch.export.load; AOTInductor can compile it)",
        'import torch\nmodel = torch.export.load("{dir}/model.pt2").module()\n'
        "scores = model(codes, values)  # int64 (B, C), float32 (B, F) -> (B, T)",
    ),
    "onnx": Artifact(
        "onnx",
        "model.onnx",
        "ONNX (torch.onnx.export, dynamo exporter), dynamic batch; inputs 'categorical', 'numeric'",
        'import onnxruntime as ort\nsession = ort.InferenceSession("{dir}/model.onnx")\n'
        'scores = session.run(None, {{"categorical": codes, "numeric": values}})[0]',
    ),
    "torchscript": Artifact(
        "torchscript",
        "model.pt",
        "TorchScript (torch.jit.trace), for consumers that still load TorchScript (deprecated by PyTorch)",
        'import torch\nmodel = torch.jit.load("{dir}/model.pt")\n'
        "scores = model(codes, values)  # (B, C), (B, F) -> (B, T)",
    ),
}
DEFAULT_FORMATS = ("pt2", "onnx")
ONNX_OPSET = 20  # recorded in the model card; the dynamo exporter's default in torch 2.13
_INPUT_NAMES = ("categorical", "numeric")


def parse_formats(text: str | Sequence[str], where: str = "--format") -> tuple[str, ...]:
    """``"pt2,onnx"`` (or a list) as a tuple of format names; unknown names are an error."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    for name in names:
        if name not in FORMATS:
            raise MtlsearchError(f"unknown format {name!r}", where=where, fix=f"use one of {', '.join(FORMATS)}")
    if not names:
        raise MtlsearchError("no format given", where=where, fix=f"use one or more of {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(names))


def onnx_missing() -> str | None:
    """Why ONNX export or ONNX Runtime cannot run here (a missing package), or None."""
    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{', '.join(missing)} not installed (pip install 'mtlsearch[onnx]')"
    return None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Exporters' chatter a user cannot act on: TorchScript's deprecation, torch.export's notes,
    the ONNX exporter's 'torchvision is not installed' log lines."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def save_artifact(name: str, model: nn.Module, example: tuple[torch.Tensor, ...], path: str | Path) -> None:
    """Write ``model`` (a :class:`~mtlsearch.serving.ServingModel` in eval mode) in format ``name``
    to ``path``, with a dynamic batch dimension; ``example`` is one input tuple (batch >= 2)."""
    path = Path(path)
    if name == "onnx" and onnx_missing():
        raise MtlsearchError(
            f"cannot write model.onnx: {onnx_missing()}",
            where="--format",
            fix="install it, or leave onnx out of --format",
        )
    if name not in FORMATS:
        parse_formats([name])
    try:
        _export(name, model, example, path)
    except MtlsearchError:
        raise
    except Exception as error:  # an exporter's limit (an op it cannot trace): one line, not a traceback
        first = (str(error).strip().splitlines() or [""])[0][:300]
        others = ", ".join(f for f in FORMATS if f != name)
        raise MtlsearchError(
            f"cannot export {path.name}: {type(error).__name__}: {first}",
            where=path.name,
            fix=f"nothing was written; report this with the config, and meanwhile try --format {others}",
        ) from error


def _export(name: str, model: nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> None:
    batch = torch.export.Dim("batch")
    dynamic = tuple({0: batch} for _ in example)
    with _quiet(), torch.no_grad():
        if name == "pt2":
            program = torch.export.export(model, example, dynamic_shapes=dynamic)
            torch.export.save(program, str(path))
        elif name == "onnx":
            program = torch.onnx.export(
                model,
                example,
                dynamo=True,
                dynamic_shapes=dynamic,
                input_names=list(_INPUT_NAMES),
                output_names=["scores"],
                opset_version=ONNX_OPSET,
                verbose=False,
            )
            program.save(str(path))
        else:
            torch.jit.trace(model, example, check_trace=False).save(str(path))


def load_artifact(name: str, path: str | Path, *, threads: int | None = None) -> Predictor:
    """Read an artifact back as ``f(codes, values) -> scores`` on numpy arrays (int64 ``(B, C)``,
    float32 ``(B, F)`` -> float32 ``(B, T)``). ``threads``: ONNX Runtime's intra-op threads."""
    path = str(path)
    if name == "onnx":
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        inputs = {i.name for i in session.get_inputs()}  # an input the graph does not use may be absent

        def run_onnx(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
            feed = {n: a for n, a in zip(_INPUT_NAMES, (codes, values)) if n in inputs}
            return session.run(None, feed)[0]

        return run_onnx
    with _quiet():
        if name == "pt2":
            module = torch.export.load(path).module()
        elif name == "torchscript":
            module = torch.jit.load(path)
        else:
            parse_formats([name])

    def run_torch(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(codes), torch.from_numpy(values)).numpy()

    return run_torch
