"""Beyond the search: hypervolume, MTL gain over single-task baselines, expert utilisation, the report."""

from mtlsearch.analysis._baselines import baseline_config, train_baselines
from mtlsearch.analysis._gain import (
    BASELINES_ATTR,
    SEESAW_BEATEN,
    SEESAW_SHOWN,
    mtl_gain,
    seesaw,
    stored_baselines,
    trial_gains,
)
from mtlsearch.analysis._hypervolume import (
    HYPERVOLUME_ATTR,
    HYPERVOLUME_PLOT_ID,
    REFERENCE_MARGIN,
    HypervolumeRecorder,
    hypervolume,
    hypervolume_history,
    reference_point,
)
from mtlsearch.analysis._report import write_report
from mtlsearch.analysis._utilisation import UNUSED_THRESHOLD, UTILISATION_ATTR, expert_utilisation, utilisation_hook

__all__ = [
    "BASELINES_ATTR",
    "HYPERVOLUME_ATTR",
    "HYPERVOLUME_PLOT_ID",
    "REFERENCE_MARGIN",
    "SEESAW_BEATEN",
    "SEESAW_SHOWN",
    "UNUSED_THRESHOLD",
    "UTILISATION_ATTR",
    "HypervolumeRecorder",
    "baseline_config",
    "expert_utilisation",
    "hypervolume",
    "hypervolume_history",
    "mtl_gain",
    "reference_point",
    "seesaw",
    "stored_baselines",
    "train_baselines",
    "trial_gains",
    "utilisation_hook",
    "write_report",
]
