"""Training: the LightningModule, metrics and the ``train`` entry point."""

from mtlsearch.training._metrics import METRIC_DIRECTIONS, OBJECTIVE_METRIC, task_losses, task_metrics
from mtlsearch.training._module import EpochCallback, MultiTaskModule, TrainingDiverged, make_optimizer
from mtlsearch.training._train import TrainingProgress, TrainResult, make_trainer, prepare_data, train

__all__ = [
    "METRIC_DIRECTIONS",
    "OBJECTIVE_METRIC",
    "EpochCallback",
    "MultiTaskModule",
    "TrainResult",
    "TrainingDiverged",
    "TrainingProgress",
    "make_optimizer",
    "make_trainer",
    "prepare_data",
    "task_losses",
    "task_metrics",
    "train",
]
