"""Data sets as tensors: synthetic generators, UCI Census-Income, AliExpress, Ali-CCP and users' own tables."""

from mtlsearch._lazy import lazy_exports

# Imported on first use (see mtlsearch._lazy): reading a study must not import torch.
_SUBMODULES = {
    "_dataset": (
        "TASK_TYPES",
        "Batch",
        "BatchLoader",
        "FeatureSpec",
        "MultiTaskData",
        "Split",
        "TaskColumns",
        "TaskSpec",
        "categorical_codes",
        "check_products",
        "from_frames",
        "numeric_values",
        "value_as_text",
    ),
    "_public": (
        "ali_ccp",
        "aliexpress",
    ),
    "_registry": (
        "DATASETS",
        "dataset_options",
        "load_dataset",
    ),
    "_synthetic": (
        "generate_regression_pair",
        "generate_regression_tasks",
        "synthetic",
        "synthetic_video",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES)

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
