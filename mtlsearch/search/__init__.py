"""Search spaces, studies, the optimisation loop, the Pareto front and export."""

from mtlsearch.search._constraints import CONSTRAINTS, ConstraintBound, is_feasible
from mtlsearch.search._export import ExportWarning, export_trial, trial_config
from mtlsearch.search._optimize import Objective, create_or_load_study, make_sampler, optimize
from mtlsearch.search._pareto import (
    column_decimals,
    format_trials,
    infeasible_trials,
    load_study,
    metric_names,
    pareto_trials,
    pick_trial,
    trial_row,
)
from mtlsearch.search._pruning import (
    INTERMEDIATE_ATTR,
    EpochVectorPruner,
    PruningConfig,
    crowding_distances,
    pareto_ranks,
    rung_order,
    rung_resources,
    survives_rung,
)
from mtlsearch.search._space import (
    PARAM_NAMES,
    PER_TASK_PARAMS,
    ParamSpec,
    SearchSpace,
    available_search_spaces,
    load_search_space,
    params_to_config,
    suggest_params,
)
from mtlsearch.search._storage import open_storage, resolve_storage_url
from mtlsearch.search._study import SAMPLERS, ObjectiveSpec, SamplerConfig, StudyConfig, load_study_config

__all__ = [
    "CONSTRAINTS",
    "INTERMEDIATE_ATTR",
    "PARAM_NAMES",
    "PER_TASK_PARAMS",
    "SAMPLERS",
    "ConstraintBound",
    "EpochVectorPruner",
    "ExportWarning",
    "Objective",
    "ObjectiveSpec",
    "ParamSpec",
    "PruningConfig",
    "SamplerConfig",
    "SearchSpace",
    "StudyConfig",
    "available_search_spaces",
    "column_decimals",
    "create_or_load_study",
    "crowding_distances",
    "export_trial",
    "format_trials",
    "infeasible_trials",
    "is_feasible",
    "load_search_space",
    "load_study",
    "load_study_config",
    "make_sampler",
    "metric_names",
    "open_storage",
    "optimize",
    "params_to_config",
    "pareto_ranks",
    "pareto_trials",
    "pick_trial",
    "resolve_storage_url",
    "rung_order",
    "rung_resources",
    "suggest_params",
    "survives_rung",
    "trial_config",
    "trial_row",
]
