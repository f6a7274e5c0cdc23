"""Training: the LightningModule, metrics and the ``train`` entry point."""

from mtlsearch.training._balancing import (
    AGGREGATORS,
    BALANCING,
    FixedBalancing,
    GradNormBalancing,
    JacobianBalancing,
    LossBalancing,
    UncertaintyBalancing,
    make_balancing,
)
from mtlsearch.training._checks import check_data, check_run
from mtlsearch.training._metrics import METRIC_DIRECTIONS, OBJECTIVE_METRIC, task_losses, task_metrics
from mtlsearch.training._module import EpochCallback, MultiTaskModule, TrainingDiverged, make_optimizer
from mtlsearch.training._train import TrainingProgress, TrainResult, load_run, make_trainer, prepare_data, train

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
