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
    categorical_codes,
    check_products,
    from_frames,
    numeric_values,
    value_as_text,
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
    "categorical_codes",
    "check_products",
    "dataset_options",
    "from_frames",
    "generate_regression_pair",
    "generate_regression_tasks",
    "load_dataset",
    "numeric_values",
    "synthetic",
    "synthetic_video",
    "value_as_text",
]
