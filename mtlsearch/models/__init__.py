"""The MTL model family: single-task, shared-bottom, MMoE, ML-MMoE, CGC, PLE, AdaTT and cross-stitch as one network."""

from mtlsearch._lazy import lazy_exports

# Imported on first use (see mtlsearch._lazy): reading a study must not import torch.
_SUBMODULES = {
    "_config": (
        "ARCHITECTURES",
        "ArchitectureRule",
        "ModelConfig",
    ),
    "_fusion": (
        "FUSION_LEVELS",
        "AdaTTLevel",
        "CrossStitchLevel",
    ),
    "_network": (
        "BatchedLinear",
        "BatchedMLP",
        "GateWeights",
        "MultiTaskNetwork",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES)

__all__ = [
    "ARCHITECTURES",
    "FUSION_LEVELS",
    "AdaTTLevel",
    "ArchitectureRule",
    "BatchedLinear",
    "BatchedMLP",
    "CrossStitchLevel",
    "GateWeights",
    "ModelConfig",
    "MultiTaskNetwork",
]
