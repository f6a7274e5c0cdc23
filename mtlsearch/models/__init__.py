"""The MTL model family: single-task, shared-bottom, MMoE, ML-MMoE, CGC, PLE, AdaTT and cross-stitch as one network."""

from mtlsearch.models._config import ARCHITECTURES, ArchitectureRule, ModelConfig
from mtlsearch.models._fusion import FUSION_LEVELS, AdaTTLevel, CrossStitchLevel
from mtlsearch.models._network import BatchedLinear, BatchedMLP, GateWeights, MultiTaskNetwork

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
