"""Training: the LightningModule, metrics and the ``train`` entry point."""

from mtlsearch.training._metrics import METRIC_DIRECTIONS, OBJECTIVE_METRIC, task_losses, task_metrics
from mtlsearch.training._module import EpochCallback, MultiTaskModule, TrainingDiverged
from mtlsearch.training._train import TrainResult, prepare_data, train

__all__ = [
    "METRIC_DIRECTIONS",
    "OBJECTIVE_METRIC",
    "EpochCallback",
    "MultiTaskModule",
    "TrainResult",
    "TrainingDiverged",
    "prepare_data",
    "task_losses",
    "task_metrics",
    "train",
]
