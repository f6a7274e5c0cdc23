"""Training: the LightningModule, metrics and the ``train`` entry point."""

from mtlsearch._lazy import lazy_exports

# Imported on first use (see mtlsearch._lazy): reading a study must not import torch.
_SUBMODULES = {
    "_balancing": (
        "AGGREGATORS",
        "BALANCING",
        "FixedBalancing",
        "GradNormBalancing",
        "JacobianBalancing",
        "LossBalancing",
        "UncertaintyBalancing",
        "make_balancing",
    ),
    "_checks": (
        "check_data",
        "check_run",
    ),
    "_metrics": (
        "METRIC_DIRECTIONS",
        "OBJECTIVE_METRIC",
        "task_losses",
        "task_metrics",
    ),
    "_module": (
        "EpochCallback",
        "MultiTaskModule",
        "TrainingDiverged",
        "make_optimizer",
    ),
    "_train": (
        "TrainingProgress",
        "TrainResult",
        "load_run",
        "make_trainer",
        "prepare_data",
        "train",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES)

__all__ = [
    "AGGREGATORS",
    "BALANCING",
    "METRIC_DIRECTIONS",
    "OBJECTIVE_METRIC",
    "EpochCallback",
    "FixedBalancing",
    "GradNormBalancing",
    "JacobianBalancing",
    "LossBalancing",
    "MultiTaskModule",
    "TrainResult",
    "TrainingDiverged",
    "TrainingProgress",
    "UncertaintyBalancing",
    "check_data",
    "check_run",
    "load_run",
    "make_balancing",
    "make_optimizer",
    "make_trainer",
    "prepare_data",
    "task_losses",
    "task_metrics",
    "train",
]
