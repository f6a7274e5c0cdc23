"""What a training run leaves on disk: metrics, checkpoint, serving artifacts, model card, config.

Everything is written into a temporary folder and moved into place only after every artifact
has passed its parity check, so a failure leaves ``out`` as it was (a new ``out`` and missing
folders above it are not created at all: :func:`mtlsearch._outputs.staged_folder`).
"""

from __future__ import annotations

import copy
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from mtlsearch import __version__
from mtlsearch._outputs import staged_folder
from mtlsearch._strict import to_plain
from mtlsearch.config import save_run_config
from mtlsearch.data import MultiTaskData
from mtlsearch.errors import MtlsearchError
from mtlsearch.serving import (
    DEFAULT_FORMATS,
    FORMATS,
    ONNX_OPSET,
    PARITY_TOLERANCE,
    SCHEMA_FILE,
    ServingModel,
    ServingSchema,
    load_artifact,
    max_difference,
    onnx_missing,
    raw_inputs,
    reference_scores,
    save_artifact,
)
from mtlsearch.training._metrics import strict_metrics
from mtlsearch.training._train import TrainResult

__all__ = ["WrittenArtifacts", "write_artifacts"]


@dataclass(frozen=True)
class WrittenArtifacts:
    """Paths by kind, each artifact's parity (max |artifact - eager|) and formats skipped, with why."""

    paths: dict[str, Path]
    parity: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def write_artifacts(
    result: TrainResult,
    out: str | Path,
    data: MultiTaskData,
    *,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    explicit: bool = False,
) -> WrittenArtifacts:
    """Write ``metrics.json``, ``checkpoint.pt``, the serving artifacts of ``formats`` (``model.pt2``,
    ``model.onnx``, ``model.pt``), ``vocabularies.json``, ``model_card.json`` and ``config.yaml``.

    Each artifact is read back and compared with the eager network on every validation row;
    a difference above ``PARITY_TOLERANCE`` raises :class:`MtlsearchError` naming the artifact,
    and nothing is written. Without the ONNX packages, ``onnx`` is skipped (reason in
    ``skipped``) unless ``explicit`` (the user asked for it by name): then that is an error.
    """
    out = Path(out)
    skipped: dict[str, str] = {}
    reason = onnx_missing() if "onnx" in formats else None
    if reason:
        if explicit:
            raise MtlsearchError(
                f"cannot write model.onnx: {reason}", where="--format", fix="install it, or leave onnx out of --format"
            )
        skipped["onnx"] = reason
        formats = tuple(f for f in formats if f != "onnx")

    with staged_folder(out) as staging:
        parity = _write_all(result, staging, data, formats)
    paths = {kind: out / name for kind, name in _kinds(formats).items()}
    return WrittenArtifacts(paths, parity, skipped)


def _kinds(formats: tuple[str, ...]) -> dict[str, str]:
    files = {"metrics": "metrics.json", "checkpoint": "checkpoint.pt"}
    files.update({name: FORMATS[name].file for name in formats})
    files.update({"vocabularies": SCHEMA_FILE, "model_card": "model_card.json", "config": "config.yaml"})
    return files


def _write_all(result: TrainResult, folder: Path, data: MultiTaskData, formats: tuple[str, ...]) -> dict[str, float]:
    save_run_config(result.config, folder / "config.yaml")
    torch.save(
        {"config": result.config.to_dict(), "state_dict": result.network.state_dict(), "tasks": data.task_names},
        folder / "checkpoint.pt",
    )
    schema = ServingSchema.from_data(data)
    (folder / SCHEMA_FILE).write_text(json.dumps(schema.to_json()))

    serving = ServingModel(copy.deepcopy(result.network), data).eval().requires_grad_(False)
    example = tuple(x[:2] for x in raw_inputs(data.validation, data))
    batch_size = result.config.training.eval_batch_size
    reference = reference_scores(result.network, data, data.validation, batch_size)
    parity: dict[str, float] = {}
    for name in formats:
        path = folder / FORMATS[name].file
        save_artifact(name, serving, example, path)
        predictor = load_artifact(name, path)
        parity[name] = max_difference(predictor, reference, data, data.validation, batch_size, name=path.name)

    summary = result.summary()
    summary["parity"] = {
        "what": "max |artifact - eager network| of scores on every validation row (CPU)",
        "rows": len(data.validation),
        "tolerance": PARITY_TOLERANCE,
        "max_abs_diff": parity,
    }
    (folder / "metrics.json").write_text(json.dumps(summary, indent=2, allow_nan=False))  # strict JSON
    card = model_card(result, data, formats, parity)
    (folder / "model_card.json").write_text(json.dumps(card, indent=2, allow_nan=False))
    return parity


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def model_card(
    result: TrainResult, data: MultiTaskData, formats: tuple[str, ...], parity: dict[str, float]
) -> dict[str, Any]:
    """What a model is, where it came from and how to load it, as plain data (``model_card.json``)."""
    config = result.config
    provenance = dict(config.provenance)
    artifacts = {}
    for name in formats:
        artifact = FORMATS[name]
        entry = {
            "file": artifact.file,
            "format": artifact.summary,
            "parity_max_abs_diff": parity.get(name),
            "load": artifact.load_example.format(dir="MODEL_DIR").splitlines(),
        }
        if name == "onnx":
            entry["opset"] = ONNX_OPSET
        artifacts[name] = entry
    validation, test = strict_metrics(result.validation), strict_metrics(result.test)  # undefined: None
    task_metrics = {
        t.name: {
            "type": t.type,
            "sample_space": t.sample_space,
            "validation": {k.split("/", 1)[1]: v for k, v in validation.items() if k.startswith(f"{t.name}/")},
            "test": {k.split("/", 1)[1]: v for k, v in test.items() if k.startswith(f"{t.name}/")},
        }
        for t in data.tasks
    }
    return {
        "model": {
            "architecture": config.model.architecture,
            "config": to_plain(config.model),
            "n_parameters": result.n_parameters,
        },
        "data": {
            "source": {"name": config.data.name, "options": to_plain(config.data.options)},
            "rows": {"train": len(data.train), "validation": len(data.validation), "test": len(data.test)},
            "categorical": dict(zip(data.features.categorical, data.features.vocab_sizes)),
            "vocabulary_sizes_note": "per categorical feature, OOV index 0 included",
            "numeric": list(data.features.numeric),
            "log1p": list(data.log1p),
        },
        "tasks": task_metrics,
        "training": {
            "best_epoch": result.best_epoch,
            "epochs": result.epochs,
            "seed": config.seed,
            "train_seconds": round(result.train_seconds, 3),
        },
        "mtl_gain": provenance.get("gain"),
        "provenance": provenance or None,
        "versions": {
            "mtlsearch": __version__,
            "torch": torch.__version__,
            "optuna": _version("optuna"),
            "onnx": _version("onnx") if "onnx" in formats else None,
            "onnxruntime": _version("onnxruntime") if "onnx" in formats else None,
            "python": platform.python_version(),
        },
        "inputs": "codes int64 (B, C) in vocabularies.json order (1 + index, 0 = OOV; out-of-range -> 0), "
        "values float32 (B, F) raw (log1p and standardisation are inside); or a DataFrame through "
        "mtlsearch.serving.load(MODEL_DIR)",
        "outputs": "(B, T) in task order: probability for binary tasks, prediction for regression tasks",
        "artifacts": artifacts,
    }
