"""Serving: the module every artifact exports, the artifacts' formats, parity, and reading a model back.

``mtlsearch train`` writes ``model.pt2`` (torch.export) and ``model.onnx``; :func:`load` turns the
run folder into a :class:`Scorer` that scores pandas DataFrames in the training schema.
"""

from mtlsearch.serving._formats import (
    DEFAULT_FORMATS,
    FORMATS,
    ONNX_OPSET,
    Artifact,
    load_artifact,
    onnx_missing,
    parse_formats,
    save_artifact,
)
from mtlsearch.serving._load import SCHEMA_FILE, Scorer, ServingSchema, load
from mtlsearch.serving._model import ServingModel, latency_ms, raw_inputs, task_outputs
from mtlsearch.serving._parity import PARITY_TOLERANCE, max_difference, reference_scores
from mtlsearch.serving._predict import predict

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "ONNX_OPSET",
    "PARITY_TOLERANCE",
    "SCHEMA_FILE",
    "Artifact",
    "Scorer",
    "ServingModel",
    "ServingSchema",
    "latency_ms",
    "load",
    "load_artifact",
    "max_difference",
    "onnx_missing",
    "parse_formats",
    "predict",
    "raw_inputs",
    "reference_scores",
    "save_artifact",
    "task_outputs",
]
