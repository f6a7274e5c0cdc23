"""Beyond the search: hypervolume, MTL gain over single-task baselines, expert utilisation, the report."""

from mtlsearch._lazy import lazy_exports

# Imported on first use (see mtlsearch._lazy): reading a study must not import torch.
_SUBMODULES = {
    "_baselines": (
        "baseline_config",
        "train_baselines",
    ),
    "_gain": (
        "BASELINES_ATTR",
        "SEESAW_BEATEN",
        "SEESAW_SHOWN",
        "mtl_gain",
        "seesaw",
        "stored_baselines",
        "trial_gains",
    ),
    "_hypervolume": (
        "HYPERVOLUME_ATTR",
        "HYPERVOLUME_PLOT_ID",
        "REFERENCE_MARGIN",
        "HypervolumeRecorder",
        "hypervolume",
        "hypervolume_history",
        "reference_point",
    ),
    "_report": ("write_report",),
    "_utilisation": (
        "UNUSED_THRESHOLD",
        "UTILISATION_ATTR",
        "expert_utilisation",
        "utilisation_hook",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _SUBMODULES)

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
