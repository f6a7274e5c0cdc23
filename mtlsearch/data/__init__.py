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
        "MultiValuedSpec",
        "Split",
        "TaskColumns",
        "TaskSpec",
        "categorical_codes",
        "check_products",
        "from_frames",
        "from_table",
        "numeric_values",
        "value_as_text",
    ),
    "_encoding": (
        "PAD",
        "CategoricalColumn",
        "EncodedFeatures",
        "FeatureEncoder",
        "UnseenCategoriesWarning",
        "encode_features",
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
    "PAD",
    "TASK_TYPES",
    "Batch",
    "BatchLoader",
    "CategoricalColumn",
    "EncodedFeatures",
    "FeatureEncoder",
    "FeatureSpec",
    "MultiTaskData",
    "MultiValuedSpec",
    "Split",
    "TaskColumns",
    "TaskSpec",
    "UnseenCategoriesWarning",
    "ali_ccp",
    "aliexpress",
    "categorical_codes",
    "check_products",
    "dataset_options",
    "encode_features",
    "from_frames",
    "from_table",
    "generate_regression_pair",
    "generate_regression_tasks",
    "load_dataset",
    "numeric_values",
    "synthetic",
    "synthetic_video",
    "value_as_text",
]
