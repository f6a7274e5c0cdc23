"""Data sets as tensors: synthetic generators, UCI Census-Income, AliExpress, Ali-CCP and users' own tables."""

from mtlsearch.data._dataset import (
    TASK_TYPES,
    Batch,
    BatchLoader,
    FeatureSpec,
    MultiTaskData,
    MultiValuedSpec,
    Split,
    TaskColumns,
    TaskSpec,
    categorical_codes,
    check_products,
    from_frames,
    from_table,
    numeric_values,
    value_as_text,
)
from mtlsearch.data._encoding import (
    PAD,
    CategoricalColumn,
    EncodedFeatures,
    FeatureEncoder,
    UnseenCategoriesWarning,
    encode_features,
)
from mtlsearch.data._public import ali_ccp, aliexpress
from mtlsearch.data._registry import DATASETS, dataset_options, load_dataset
from mtlsearch.data._synthetic import generate_regression_pair, generate_regression_tasks, synthetic, synthetic_video

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
