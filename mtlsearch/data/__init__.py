"""Data sets as tensors: synthetic generators, UCI Census-Income, AliExpress, Ali-CCP and users' own tables."""

from mtlsearch.data._dataset import (
    TASK_TYPES,
    Batch,
    BatchLoader,
    FeatureSpec,
    MultiTaskData,
    Split,
    TaskColumns,
    TaskSpec,
    check_products,
    from_frames,
)
from mtlsearch.data._public import ali_ccp, aliexpress
from mtlsearch.data._registry import DATASETS, dataset_options, load_dataset
from mtlsearch.data._synthetic import generate_regression_pair, generate_regression_tasks, synthetic, synthetic_video

__all__ = [
    "DATASETS",
    "TASK_TYPES",
    "Batch",
    "BatchLoader",
    "FeatureSpec",
    "MultiTaskData",
    "Split",
    "TaskColumns",
    "TaskSpec",
    "ali_ccp",
    "aliexpress",
    "check_products",
    "dataset_options",
    "from_frames",
    "generate_regression_pair",
    "generate_regression_tasks",
    "load_dataset",
    "synthetic",
    "synthetic_video",
]
