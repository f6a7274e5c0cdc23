"""Data sets as tensors: synthetic generators, UCI Census-Income and users' own tables."""

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
    from_frames,
    numeric_values,
    value_as_text,
)
from mtlsearch.data._registry import DATASETS, dataset_options, load_dataset
from mtlsearch.data._synthetic import generate_regression_pair, synthetic, synthetic_video

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
    "categorical_codes",
    "dataset_options",
    "from_frames",
    "generate_regression_pair",
    "load_dataset",
    "numeric_values",
    "synthetic",
    "synthetic_video",
    "value_as_text",
]
