"""``optimize``: run (or resume) a multi-objective study of MTL architectures."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import inspect
import logging
import math
import shlex
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.samplers._lazy_random_state import LazyRandomState
from optuna.trial import FrozenTrial

from mtlsearch._interrupt import Signalled, cooperative_signals, raise_if_interrupted
from mtlsearch._progress import ProgressLine
from mtlsearch.config import MAX_SEED, RunConfig, resolve_data_paths
from mtlsearch.data import MultiTaskData
from mtlsearch.errors import MtlsearchError
from mtlsearch.search._constraints import constraint_hook
from mtlsearch.search._fingerprint import data_fingerprint
from mtlsearch.search._pruning import EpochVectorPruner
from mtlsearch.search._space import SearchSpace, load_search_space, params_to_config, suggest_params
from mtlsearch.search._storage import (
    DEFAULT_GRACE_PERIOD,
    DEFAULT_HEARTBEAT_INTERVAL,
    check_workers,
    is_storage_failure,
    open_storage,
    resolve_storage_url,
    storage_lost,
    supports_heartbeat,
)
from mtlsearch.search._study import SPACE_ATTR, STUDY_ATTR, StudyConfig, load_study_config
from mtlsearch.search._workers import (
    Interrupted,
    run_workers,
    split_trials,
    worker_gpus,
)
from mtlsearch.training import EpochCallback, TrainingProgress, TrainResult, check_data, check_run, prepare_data, train
from mtlsearch.training._checks import check_training
from mtlsearch.training._metrics import strict_metrics

__all__ = [
    "EpochHook",
    "Objective",
    "ResultHook",
    "TrialSeededSampler",
    "create_or_load_study",
    "make_sampler",
    "new_version",
    "optimize",
    "preflight",
    "study_hooks",
    "trial_seed",
]

FINGERPRINT_ATTR = "mtlsearch.fingerprint"
DATA_FINGERPRINT_ATTR = "mtlsearch.data_fingerprint"  # the files behind data: (see _fingerprint.py)
MAX_FAILURES_IN_A_ROW = 5  # with no completed trial in this run, this many failures stop the study
# Torch threads of each search process when the study's training.threads is 0. One: trials are
# small models, and beside other work two or more intra-op threads per process oversubscribe the
# cores and train several-fold slower (benchmarks/study_time.py); --jobs uses more cores instead.
SEARCH_THREADS = 1


def make_sampler(config: StudyConfig, seed: int | None = None) -> optuna.samplers.BaseSampler:
    """The study's sampler by name; ``seed`` overrides the file's."""
    options = dict(config.sampler.options)
    seed = config.sampler.seed if seed is None else seed
    factories: dict[str, Callable[..., optuna.samplers.BaseSampler]] = {
        "tpe": optuna.samplers.TPESampler,
        "nsga2": optuna.samplers.NSGAIISampler,
        "gp": optuna.samplers.GPSampler,
        "random": optuna.samplers.RandomSampler,
    }
    if config.sampler.name == "gp":
        options.setdefault("warn_independent_sampling", False)
    _check_option_types(factories[config.sampler.name], options, f"{config.source}: sampler.options")
    try:
        sampler = factories[config.sampler.name](seed=seed, **options)
    except TypeError as error:
        raise MtlsearchError(
            str(error).replace(".__init__()", ""),
            where=f"{config.source}: sampler.options",
            fix=f"use the keyword arguments of Optuna's {factories[config.sampler.name].__name__}",
        ) from None
    except ValueError as error:  # e.g. NSGA-II's population_size < 2
        raise MtlsearchError(
            f"Optuna's {factories[config.sampler.name].__name__} refuses these options: {error}",
            where=f"{config.source}: sampler.options",
            fix="see the sampler's documentation for valid values",
        ) from None
    return sampler if seed is None else TrialSeededSampler(sampler, seed)


SAMPLER_SEED_ATTR = "sampler_seed"  # trial user attribute: the seed its parameters were drawn with


def trial_seed(study_seed: int, trial_number: int) -> int:
    """The sampler seed of trial ``trial_number``: a hash of the study's seed and the number.

    Trial numbers are unique within a study (the storage hands them out atomically), so every
    process and machine joining a study draws from its own stream, while one command with a fixed
    seed on a fresh study is reproducible. 32 bits, as numpy's ``RandomState`` takes.
    """
    digest = hashlib.sha256(f"mtlsearch-sampler:{study_seed}:{trial_number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _reseed(sampler: optuna.samplers.BaseSampler, seed: int) -> None:
    """Seed every random state of ``sampler`` and of the samplers it holds, in place.

    Optuna's samplers keep a ``LazyRandomState`` (NSGA-II shares the same object with its
    crossover strategy, so seeding it in place reaches that too) and a fallback sampler.
    """
    for value in vars(sampler).values():
        if isinstance(value, LazyRandomState):
            value.rng.seed(seed)
        elif isinstance(value, optuna.samplers.BaseSampler):
            _reseed(value, seed)


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """A seeded Optuna sampler, reseeded before each trial with :func:`trial_seed`.

    Seeding a sampler once per process makes every process that joins a study (``--jobs``,
    several machines on one PostgreSQL, a resumed run) replay the same sequence of draws. Here
    each trial's draws depend on the study seed and the trial's number, which no two trials share;
    the seed is stored as the trial's user attribute ``sampler_seed``. The model of the history
    (TPE's densities, NSGA-II's population, the GP) is the wrapped sampler's, unchanged.

    With ``reuse_reads`` (the default) a wrapped TPE sampler reads the study's trials from the
    storage once per trial instead of once per suggested parameter: Optuna's TPE with
    ``constant_liar`` (its default in Optuna 5) asks the storage afresh at every suggestion so that
    the running trials of other workers are counted, about 5 ms a read on SQLite, 17 reads a
    trial of the ``ple`` space. The read is taken at the trial's first such suggestion and serves
    the rest of that trial (:class:`_TrialSnapshot`): a sequential study gets the same parameters
    (the trial being suggested is the only one that changes meanwhile, and TPE leaves it out);
    with several workers, each trial still sees every trial that was running when its
    suggestions began, but not one that starts during them.
    """

    reuse_reads = True

    def __init__(self, sampler: optuna.samplers.BaseSampler, seed: int) -> None:
        self.sampler = sampler
        self.seed = seed
        self._snapshot: tuple[tuple[str, int], list[FrozenTrial]] | None = None  # (study, trial number), trials

    def __getattr__(self, name: str) -> Any:  # e.g. TPESampler's options, read by tools
        sampler = self.__dict__.get("sampler")
        if sampler is None:  # while unpickling or copying
            raise AttributeError(name)
        return getattr(sampler, name)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        seed = trial_seed(self.seed, trial.number)
        _reseed(self.sampler, seed)
        study._storage.set_trial_user_attr(trial._trial_id, SAMPLER_SEED_ATTR, seed)
        self.sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict:
        return self.sampler.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict) -> dict[str, Any]:
        return self.sampler.sample_relative(self._view(study, trial), trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str, distribution) -> Any:
        return self.sampler.sample_independent(self._view(study, trial), trial, param_name, distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state, values) -> None:
        self._snapshot = None
        self.sampler.after_trial(study, trial, state, values)

    def _view(self, study: optuna.Study, trial: FrozenTrial) -> optuna.Study:
        """``study``, or for a TPE sampler with ``reuse_reads`` the study with this trial's one read."""
        if not (self.reuse_reads and isinstance(self.sampler, optuna.samplers.TPESampler)):
            return study
        key = (study.study_name, trial.number)

        def trials() -> list[FrozenTrial]:
            if self._snapshot is None or self._snapshot[0] != key:
                self._snapshot = (key, study._get_trials(deepcopy=False, states=None, use_cache=False))
            return self._snapshot[1]

        return _TrialSnapshot(study, trials)  # type: ignore[return-value]

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()


class _TrialSnapshot:
    """``study`` as a sampler sees it while it suggests one trial's parameters: the trial lists it
    asks the storage for afresh (``Study._get_trials(use_cache=False)``, which TPE calls with
    ``constant_liar``) come from ``trials()``, one read per trial; everything else is the study's.

    ``Study._get_trials`` is Optuna's private method (Optuna 5): the test
    ``test_tpe_reads_the_storage_once_per_trial_with_the_same_parameters`` fails if it changes.
    """

    def __init__(self, study: optuna.Study, trials: Callable[[], list[FrozenTrial]]) -> None:
        self._study = study
        self._trials = trials

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(
        self, deepcopy: bool = True, states: Sequence[optuna.trial.TrialState] | None = None, use_cache: bool = False
    ) -> list[FrozenTrial]:
        if use_cache:  # Optuna's own per-trial cache of finished trials
            return self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=True)
        trials = self._trials()
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else list(trials)


_PLAIN_TYPES = {"int": int, "float": (int, float), "bool": bool, "str": str, "None": type(None)}
_PLAIN_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "None": "null",
}


def _check_option_types(factory: Callable[..., Any], options: dict[str, Any], where: str) -> None:
    """Options against the plain types (int, float, bool, str, None) the sampler's signature
    annotates: Optuna takes e.g. ``population_size: 2.5`` or ``multivariate: "yes"`` silently."""
    parameters = inspect.signature(factory).parameters
    for key, value in options.items():
        parameter = parameters.get(key)
        annotation = parameter.annotation if parameter is not None else inspect.Parameter.empty
        if not isinstance(annotation, str):
            continue
        names = [part.strip() for part in annotation.split("|")]
        if not all(name in _PLAIN_TYPES for name in names):
            continue  # a callable, a sampler, ...: Optuna checks it (and the trial run below does)
        wanted = tuple(
            t
            for name in names
            for t in (_PLAIN_TYPES[name] if isinstance(_PLAIN_TYPES[name], tuple) else (_PLAIN_TYPES[name],))
        )
        if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
            raise MtlsearchError(
                f"{key} must be {' or '.join(_PLAIN_WORDS[name] for name in names)}, got {value!r}",
                where=f"{where}.{key}",
                fix=f"see Optuna's {getattr(factory, '__name__', 'sampler')}",
            )


def _check_objectives(config: StudyConfig, data: MultiTaskData) -> None:
    types = {t.name: t.type for t in data.tasks}
    for objective in config.objectives:
        valid = ("auc", "logloss") if types[objective.task] == "binary" else ("mse",)
        if objective.metric not in valid:
            raise MtlsearchError(
                f"metric {objective.metric!r} does not fit the {types[objective.task]} task {objective.task!r}",
                where=f"objectives.{objective.task}.metric",
                fix=f"use {' or '.join(valid)}",
            )


DATA_FILES_CHANGED = "content of its data files (a schema or table file changed since)"


def _changes(config: StudyConfig, space: SearchSpace, summary: optuna.study.StudySummary) -> list[str]:
    """What differs between the study file and the stored study of the same name."""
    attrs = summary.user_attrs
    if FINGERPRINT_ATTR not in attrs:  # another worker is creating it right now
        return []
    stored_space = attrs.get(SPACE_ATTR)
    changed = []
    if attrs.get(FINGERPRINT_ATTR) != config.fingerprint():
        changed.append("data, objectives, training budget or seed")
    # Studies stored before the data fingerprint existed have none: they resume (and get one).
    if DATA_FINGERPRINT_ATTR in attrs and attrs[DATA_FINGERPRINT_ATTR] != data_fingerprint(config.data, config.source):
        changed.append(DATA_FILES_CHANGED)
    if stored_space is not None and stored_space != space.to_dict():
        changed.append("search space")
    if [d.name.lower() for d in summary.directions] != config.directions:
        changed.append("objective directions")
    return changed


def new_version(
    config: StudyConfig,
    storage_url: str,
    space: SearchSpace,
    *,
    storage: optuna.storages.BaseStorage | None = None,
) -> StudyConfig:
    """``config`` renamed ``NAME-v2``, ``-v3``, ...: the first version that is new or unchanged.

    For ``--force-new-version``: a changed study file starts a new study; the old one is kept as is.
    ``storage``: ``storage_url`` already opened (:func:`open_storage`), so that it is not opened again.
    """
    storage = open_storage(storage_url) if storage is None else storage
    existing = {s.study_name: s for s in optuna.study.get_all_study_summaries(storage, include_best_trial=False)}
    name, version = config.name, 1
    while name in existing and _changes(config, space, existing[name]):
        version += 1
        name = f"{config.name}-v{version}"
    return config if name == config.name else dataclasses.replace(config, name=name)


def create_or_load_study(
    config: StudyConfig,
    storage_url: str,
    space: SearchSpace,
    sampler=None,
    *,
    storage: optuna.storages.BaseStorage | None = None,
) -> optuna.Study:
    """Create the study, or load it when one of that name exists and was made from the same
    data, objectives and budget; a changed study file is refused before anything is written.

    ``storage``: ``storage_url`` already opened (:func:`open_storage`; opening a relational
    storage checks its schema, a few tenths of a second), so that one command opens it once.
    """
    storage = open_storage(storage_url) if storage is None else storage
    existing = {s.study_name: s for s in optuna.study.get_all_study_summaries(storage, include_best_trial=False)}
    if config.name in existing:
        changed = _changes(config, space, existing[config.name])
        if changed:
            raise MtlsearchError(
                f"study {config.name!r} in this storage was made with a different {', '.join(changed)}",
                where=config.source or config.name,
                fix=f"restore the old {'data files' if changed == [DATA_FILES_CHANGED] else 'study file'}, "
                f"rename the study (name: ...), or pass --force-new-version to start {config.name}-v2",
            )
    study = optuna.create_study(
        storage=storage, sampler=sampler, study_name=config.name, directions=config.directions, load_if_exists=True
    )
    stored = existing[config.name].user_attrs if config.name in existing else {}
    if DATA_FINGERPRINT_ATTR not in stored:
        study.set_user_attr(DATA_FINGERPRINT_ATTR, data_fingerprint(config.data, config.source))
    if config.name not in existing or FINGERPRINT_ATTR not in existing[config.name].user_attrs:
        with warnings.catch_warnings():  # experimental in Optuna 5, but what the dashboard reads
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(config.metric_names)
        study.set_user_attr(STUDY_ATTR, config.to_dict())
        study.set_user_attr(SPACE_ATTR, space.to_dict())
        study.set_user_attr(FINGERPRINT_ATTR, config.fingerprint())
    return study


EpochHook = Callable[[optuna.Trial], EpochCallback]  # makes a per-epoch callback for one trial
ResultHook = Callable[[optuna.Trial, TrainResult, MultiTaskData], None]  # runs after a trial trained


class Objective:
    """Suggest parameters, build the config through the one mapping, train, store the results.

    ``epoch_hooks`` give each trial per-epoch callbacks (e.g. recording the validation vector and
    multi-objective pruning); ``result_hooks`` add trial attributes after training (e.g. expert
    utilisation). Both are extension points: the loop itself knows nothing about them.
    ``progress`` is the search's progress line: each trial writes its epoch and batch to it.
    """

    def __init__(
        self,
        config: StudyConfig,
        space: SearchSpace,
        data: MultiTaskData,
        base: RunConfig,
        *,
        epoch_hooks: Sequence[EpochHook] = (),
        result_hooks: Sequence[ResultHook] = (),
        progress: ProgressLine | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        self.space = space
        self.data = data
        self.base = base
        self.epoch_hooks = tuple(epoch_hooks)
        self.result_hooks = tuple(result_hooks)

    def __call__(self, trial: optuna.Trial) -> list[float]:
        try:
            values = self._train(trial)
        except optuna.TrialPruned:
            raise
        except Exception as error:  # a trial failure, with its reason: never a traceback on the console
            reason = str(error) if isinstance(error, MtlsearchError) else f"{error.__class__.__name__}: {error}"
            trial.set_user_attr("fail_reason", reason[:1000])
            if not isinstance(error, MtlsearchError):  # a bug or a crash: keep where it came from
                trial.set_user_attr("fail_traceback", traceback.format_exc()[-4000:])
            raise
        bad = [n for n, v in zip(self.config.metric_names, values) if not math.isfinite(v)]
        if bad:
            reason = f"objective {bad[0]} is undefined (non-finite predictions)"
            trial.set_user_attr("fail_reason", reason)
            raise RuntimeError(reason)
        return values

    def _train(self, trial: optuna.Trial) -> list[float]:
        params = suggest_params(trial, self.space, self.config.task_names)
        run_config = params_to_config(params, self.base)
        trial.set_user_attr("config", run_config.to_dict())
        progress = TrainingProgress(self.progress, prefix=f"trial {trial.number}: ") if self.progress else False
        result = train(
            run_config, self.data, epoch_callbacks=[hook(trial) for hook in self.epoch_hooks], progress=progress
        )
        for key, value in {
            "validation": strict_metrics(result.validation),
            "test": strict_metrics(result.test),
            "n_parameters": result.n_parameters,
            "train_seconds": round(result.train_seconds, 4),
            "fit_seconds": round(result.fit_seconds, 4),
            "best_epoch": result.best_epoch,
            "epochs": result.epochs,
            "history": [strict_metrics(epoch) for epoch in result.history],
        }.items():
            trial.set_user_attr(key, value)
        for hook in self.result_hooks:
            hook(trial, result, self.data)
        return [result.validation[name] for name in self.config.metric_names]


def study_hooks(
    config: StudyConfig,
) -> tuple[list[EpochHook], list[ResultHook], list[Callable[[optuna.Study, FrozenTrial], None]]]:
    """The per-epoch hooks, post-training hooks and study callbacks a study file asks for.

    One place to register the capabilities built on the loop (pruning, utilisation, hypervolume).
    """
    epoch_hooks: list[EpochHook] = []
    result_hooks: list[ResultHook] = []
    study_callbacks: list[Callable[[optuna.Study, FrozenTrial], None]] = []
    # Always on: records each epoch's objective vector; prunes only with pruning.enabled.
    epoch_hooks.append(EpochVectorPruner(config.metric_names, config.pruning, epochs=config.training.epochs))
    from mtlsearch.analysis import HypervolumeRecorder, utilisation_hook  # analysis builds on search: import late

    result_hooks.append(utilisation_hook)
    if config.constraints:
        result_hooks.append(constraint_hook(config.constraints))
    study_callbacks.append(HypervolumeRecorder(config.reference_point))
    return epoch_hooks, result_hooks, study_callbacks


class _StopOnRepeatedFailure:
    """Stops the study when every trial of this run has failed, ``limit`` times in a row."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures = 0
        self.completed = 0
        self.last_reason = ""

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            self.completed += 1
        elif trial.state == optuna.trial.TrialState.FAIL:
            self.failures += 1
            self.last_reason = trial.user_attrs.get("fail_reason", "see the log")
            if not self.completed and self.failures >= self.limit:
                study.stop()

    @property
    def gave_up(self) -> bool:
        return not self.completed and self.failures >= self.limit


@dataclass(frozen=True)
class _Prepared:
    config: StudyConfig
    space: SearchSpace
    base: RunConfig
    data: MultiTaskData
    storage_url: str


def _prepare(
    study: StudyConfig | str, storage: str | None, seed: int | None, data_folder: str | None = None
) -> _Prepared:
    """Everything that can fail on bad input, before the storage is touched. ``data_folder``:
    the encoded data saved by the parent (workers map it instead of loading the source again)."""
    config = study if isinstance(study, StudyConfig) else load_study_config(study)
    if not config.source:  # made in code: relative data paths are relative to the working directory
        data = dataclasses.replace(config.data, options=resolve_data_paths(config.data.options, Path.cwd()))
        config = dataclasses.replace(config, data=data)
    storage_url = resolve_storage_url(config.storage if storage is None else storage)  # "" is an error
    space = load_search_space(str(config.search_space_path()))
    base = config.base_run_config()
    data = preflight(config, space, base, seed, data=MultiTaskData.load(data_folder) if data_folder else None)
    return _Prepared(config, space, base, data, storage_url)


def preflight(
    config: StudyConfig,
    space: SearchSpace,
    base: RunConfig,
    seed: int | None = None,
    *,
    data: MultiTaskData | None = None,
) -> MultiTaskData:
    """Check a whole study before anything is written, and return its data (loaded once).

    Resolves the run config of the study (the base config with the search space's fixed values)
    and of the extreme values of every searched range (each low and high, each choice, and all
    lows and all highs at once, per architecture, with the conditions that enable a parameter
    met); loads the data and checks each objective is defined on it (both classes of a binary
    task in the validation and test splits); checks each config against the data
    (:func:`~mtlsearch.training.check_run`: monitor, optimiser, network, accelerator); builds the
    sampler and asks it for parameters on a scratch in-memory study until past its random start
    up; and builds the pruner. Any failure is one :class:`MtlsearchError` naming the file and the
    field; what still fails later is a trial failure with its reason. ``data``: already loaded.
    """
    source = config.source or f"study {config.name!r}"
    try:
        data = prepare_data(base, data)  # a worker's data: the parent's, mapped (``data_folder``)
        _check_objectives(config, data)
        check_data(data)
        check_run(base, data)
    except MtlsearchError as error:
        raise error.within(source) from None
    space_file = str(space.source or f"search space {space.name!r}")
    for label, params, build in _extreme_params(space, config.task_names):
        try:
            run = params_to_config(suggest_params(optuna.trial.FixedTrial(params), space, config.task_names), base)
            if build:
                check_run(run, data)
            else:
                check_training(run, data)
        except MtlsearchError as error:
            reason = f"{error.where}: {error.message}" if error.where else error.message
            raise MtlsearchError(
                f"{label} gives a run that cannot train: {reason}", where=space_file, fix=error.fix
            ) from None
    _try_sampler(config, space, seed)
    study_hooks(config)  # builds the pruner and the hypervolume recorder
    return data


def _extreme_params(space: SearchSpace, task_names: Sequence[str]):
    """``(label, params, build)`` for every extreme point of ``space``: per architecture, all lows,
    all highs, and each parameter at each end (or choice) with the others low; ``build`` marks the
    points whose network is worth building (all lows, all highs)."""
    distributions = space.distributions(task_names)
    specs = {key: spec for spec in space.params for key in spec.keys(task_names)}

    def ends(d: optuna.distributions.BaseDistribution) -> tuple[Any, ...]:
        if isinstance(d, optuna.distributions.CategoricalDistribution):
            return d.choices
        return (d.low, d.high)

    for architecture in space.architectures:
        for end, name in ((0, "lows"), (-1, "highs")):
            params = {k: ends(d)[end] for k, d in distributions.items()}
            yield (
                f"{architecture} with every parameter at its {name[:-1]}",
                {**params, "architecture": architecture},
                True,
            )
        low = {k: ends(d)[0] for k, d in distributions.items()}
        for key, d in distributions.items():
            spec = specs[key]
            if key == "architecture" or not spec._applies_to(architecture):
                continue
            enabled = {other: values[0] for other, values in spec.when}  # meet its conditions
            for value in ends(d):
                params = {**low, **enabled, "architecture": architecture, key: value}
                yield f"{architecture} with {key} = {value!r}", params, False


def _try_sampler(config: StudyConfig, space: SearchSpace, seed: int | None) -> None:
    """Build the study's sampler and ask it for parameters on a scratch in-memory study: past the
    random start up for TPE (``n_startup_trials``) and NSGA-II (its first generation), at most 60
    trials, a few milliseconds each; once for GP (its model fit takes seconds) and random."""
    options = config.sampler.options
    startup = {"tpe": options.get("n_startup_trials", 10), "nsga2": options.get("population_size", 50)}
    first = startup.get(config.sampler.name, 0)
    n = min(60, first + 1) if isinstance(first, int) else 1
    rng = np.random.default_rng(0)
    where = f"{config.source or config.name}: sampler"
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():  # Optuna's warnings about the options come once, in the run
            warnings.simplefilter("ignore")
            sampler = make_sampler(config, seed)
            try:
                scratch = optuna.create_study(directions=config.directions, sampler=sampler)
                for _ in range(n):
                    trial = scratch.ask()
                    suggest_params(trial, space, config.task_names)
                    scratch.tell(trial, rng.random(len(config.directions)).tolist())
            except Exception as error:  # options Optuna takes at construction but trips over when sampling
                reason = error.message if isinstance(error, MtlsearchError) else f"{error.__class__.__name__}: {error}"
                raise MtlsearchError(
                    f"the {config.sampler.name} sampler fails on this search space: {reason}",
                    where=where,
                    fix="check sampler.options against the sampler's documentation",
                ) from None
    finally:
        optuna.logging.set_verbosity(level)


@dataclass(frozen=True)
class _Heartbeat:
    interval: int | None  # None or 0: no heartbeats
    grace_period: int | None


def _run(
    prepared: _Prepared,
    n_trials: int | None,
    timeout: float | None,
    seed: int | None,
    progress: bool,
    threads: int = SEARCH_THREADS,
    heartbeat: _Heartbeat = _Heartbeat(None, None),
    storage: optuna.storages.BaseStorage | None = None,
    on_start: Callable[[str, str], None] | None = None,
    worker: bool = False,
) -> optuna.Study:
    with _torch_threads(threads):  # a trial's training.threads, when set, overrides it
        return _run_study(prepared, n_trials, timeout, seed, progress, heartbeat, storage, on_start, worker)


@contextlib.contextmanager
def _torch_threads(threads: int):
    """torch's intra-op threads set to ``threads`` inside, restored after. Also around the
    pre-flight check, whose networks and data checks oversubscribed a busy machine's cores at
    torch's default as training did (results do not depend on the thread count)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _run_study(
    prepared: _Prepared,
    n_trials: int | None,
    timeout: float | None,
    seed: int | None,
    progress: bool,
    heartbeat: _Heartbeat,
    storage: optuna.storages.BaseStorage | None = None,
    on_start: Callable[[str, str], None] | None = None,
    worker: bool = False,
) -> optuna.Study:
    """One process's share of the trials; ``storage``: the URL opened with ``heartbeat``'s settings
    (a worker opens its own). A ``--jobs`` ``worker`` loads the study its parent has just created
    or checked: it does not compare the study file and the data files again (the parent's data
    reaches it as saved arrays; the source may be gone or being rewritten by then)."""
    config = prepared.config
    sampler = make_sampler(config, seed)
    if storage is None:
        storage = _open_with_heartbeat(prepared.storage_url, heartbeat)
    if worker:
        study = optuna.load_study(study_name=config.name, storage=storage, sampler=sampler)
    else:
        study = create_or_load_study(config, prepared.storage_url, prepared.space, sampler, storage=storage)
    if on_start:  # only now: a refused (changed) study is one error line, not an announcement and then the error
        on_start(config.name, prepared.storage_url)
    stopper = _StopOnRepeatedFailure(min(MAX_FAILURES_IN_A_ROW, n_trials or MAX_FAILURES_IN_A_ROW))
    epoch_hooks, result_hooks, study_callbacks = study_hooks(config)
    line = ProgressLine(n_trials, "trial", enabled=progress)
    objective = _Interruptible(
        Objective(
            config,
            prepared.space,
            prepared.data,
            prepared.base,
            epoch_hooks=epoch_hooks,
            result_hooks=result_hooks,
            progress=line if line.enabled else None,
        )
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _INTERRUPTED_TRIALS.clear()
    try:
        with cooperative_signals(), line:  # stop at safe points: batches, trial start, after a trial
            study.optimize(
                objective,
                n_trials=n_trials,
                timeout=timeout,
                catch=(Exception,),
                callbacks=[
                    *study_callbacks,
                    stopper,
                    lambda study, trial: line.advance(),
                    lambda study, trial: raise_if_interrupted(),
                ],
            )
    except Exception as error:
        if not is_storage_failure(error):
            raise
        resume = (
            f"mtlsearch optimize --study {shlex.quote(config.source or config.name)} --storage {prepared.storage_url}"
        )
        raise storage_lost(error, url=prepared.storage_url, resume=resume) from None
    except (KeyboardInterrupt, Signalled) as error:
        name = getattr(error, "signal_name", "SIGINT")
        objective.fail_running(study, name)
        raise Interrupted(name, study_name=config.name, storage_url=prepared.storage_url) from None
    if stopper.gave_up:
        raise MtlsearchError(
            f"the first {stopper.failures} trials all failed; last reason: {stopper.last_reason}",
            where=f"study {config.name!r}",
            fix="check the search space ranges and the data",
        )
    return study


_INTERRUPTED_TRIALS: set[int] = set()  # numbers of this process's trials stopped by a signal


class _OneLineTrialFailures(logging.Filter):
    """Optuna logs a failed trial with its traceback and then a second line ("failed with value
    None"): a failed trial is one line, its reason (the traceback of an unexpected error is kept in
    the trial's ``fail_traceback`` attribute); for a trial stopped by Ctrl-C or SIGTERM the
    command's own line says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt):
            return False
        if record.exc_info and is_storage_failure(record.exc_info[1]):  # the worker's StorageLost line says it
            record.exc_info, record.exc_text = None, None
        message = record.getMessage()
        if any(message.startswith(f"Trial {n} failed") for n in _INTERRUPTED_TRIALS):
            return False
        if record.exc_info:
            record.exc_info, record.exc_text = None, None
        return not message.endswith("failed with value None.")


class _NoLostStorageWarning(logging.Filter):
    """Optuna's storage logs each failing query (with its SQL) before raising; when the database
    is gone, the worker's one StorageLost line replaces them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Caught an error from sqlalchemy") and "OperationalError" in message)


_RDB_LOGGER = logging.getLogger("optuna.storages._rdb.storage")
if not any(isinstance(f, _NoLostStorageWarning) for f in _RDB_LOGGER.filters):
    _RDB_LOGGER.addFilter(_NoLostStorageWarning())

_OPTUNA_TRIAL_LOGGER = logging.getLogger("optuna.study._optimize")
if not any(isinstance(f, _OneLineTrialFailures) for f in _OPTUNA_TRIAL_LOGGER.filters):
    _OPTUNA_TRIAL_LOGGER.addFilter(_OneLineTrialFailures())


class _Interruptible:
    """Wraps the objective: an interrupted trial gets a ``fail_reason`` and is never left RUNNING."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self.trial_id: int | None = None

    def __call__(self, trial: optuna.Trial) -> list[float]:
        self.trial_id = trial._trial_id
        try:
            raise_if_interrupted()  # a signal that came while Optuna created this trial
            return self.objective(trial)
        except (KeyboardInterrupt, Signalled) as error:
            name = getattr(error, "signal_name", "SIGINT")
            _INTERRUPTED_TRIALS.add(trial.number)
            with contextlib.suppress(Exception):
                trial.set_user_attr("fail_reason", f"interrupted by {name}")
            raise Interrupted(name) from None  # a KeyboardInterrupt: Optuna marks the trial FAIL

    def fail_running(self, study: optuna.Study, signal_name: str) -> None:
        """Mark this process's trial failed if the interrupt came while Optuna was finishing it."""
        if self.trial_id is None:
            return
        with contextlib.suppress(Exception):  # already finished (the usual case) or storage gone
            if study._storage.get_trial(self.trial_id).state == optuna.trial.TrialState.RUNNING:
                study._storage.set_trial_user_attr(self.trial_id, "fail_reason", f"interrupted by {signal_name}")
                study._storage.set_trial_state_values(self.trial_id, optuna.trial.TrialState.FAIL)


def _open_with_heartbeat(url: str, heartbeat: _Heartbeat) -> optuna.storages.BaseStorage:
    """``url`` opened once for a whole run, with heartbeats where the storage supports them."""
    if heartbeat.interval and supports_heartbeat(url):  # checks the heartbeat settings too
        return open_storage(url, heartbeat_interval=heartbeat.interval, grace_period=heartbeat.grace_period)
    return open_storage(url)


def _worker(
    study: StudyConfig,
    storage: str,
    n_trials: int,
    timeout: float | None,
    seed: int | None,
    threads: int,
    heartbeat: tuple[int | None, int | None],
    data_folder: str | None = None,
) -> None:
    """One ``--jobs`` worker's run. Its arguments are plain values and classes of light modules:
    unpickling them in the spawned process imports nothing of this module (see ``_entry``)."""
    logging.getLogger("optuna").setLevel(logging.WARNING)
    with _torch_threads(threads):
        prepared = _prepare(study, storage, seed, data_folder)
    _run(
        prepared,
        n_trials,
        timeout,
        seed,
        progress=False,
        threads=threads,
        heartbeat=_Heartbeat(*heartbeat),
        worker=True,
    )


def _check_arguments(*, n_trials: int | None, timeout: float | None, jobs: int, seed: int | None) -> None:
    """The run's own arguments (command-line flags), before the study file is read."""
    for flag, value in (("--n-trials", n_trials), ("--jobs", jobs)):
        if value is not None and value < 1:
            raise MtlsearchError(f"{flag} must be >= 1, got {value}", where=flag, fix="use 1 or more")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise MtlsearchError(
            f"--timeout must be a finite number of seconds > 0, got {timeout}",
            where="--timeout",
            fix="e.g. --timeout 3600, or leave it out for no limit",
        )
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise MtlsearchError(f"--seed must lie in 0..{MAX_SEED}, got {seed}", where="--seed", fix="e.g. --seed 0")


def optimize(
    study: StudyConfig | str,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    storage: str | None = None,
    seed: int | None = None,
    jobs: int = 1,
    progress: bool = False,
    on_start: Callable[[str, str], None] | None = None,
    heartbeat_interval: int | None = DEFAULT_HEARTBEAT_INTERVAL,
    grace_period: int | None = DEFAULT_GRACE_PERIOD,
    force_new_version: bool = False,
) -> optuna.Study:
    """Run ``n_trials`` more trials of ``study`` (a name, a path or a :class:`StudyConfig`).

    The same name and storage resume the study. With ``jobs`` > 1, that many worker processes
    share the storage (``n_trials`` in total), each with one torch thread (``SEARCH_THREADS``; a
    study's ``training.threads`` overrides it) and, on GPU
    studies, one GPU each. On relational storages running trials send a heartbeat every
    ``heartbeat_interval`` seconds (None or 0: off); a trial silent for ``grace_period`` seconds
    (its worker died) is marked failed and retried. SIGINT/SIGTERM mark running trials failed and
    raise :class:`~mtlsearch.search._workers.Interrupted`. A changed study file is refused unless
    ``force_new_version`` (then the study runs as ``NAME-v2``, ...). ``on_start`` receives the
    study's stored name (``NAME-v2`` after a new version) and the storage URL once the study is
    created or loaded, before the first trial (never before a refusal).

    >>> study = optimize("ple", n_trials=2, storage="sqlite:///ple.db")  # doctest: +SKIP
    """
    _check_arguments(n_trials=n_trials, timeout=timeout, jobs=jobs, seed=seed)
    with _torch_threads(SEARCH_THREADS):
        prepared = _prepare(study, storage, seed)
    check_workers(prepared.storage_url, jobs)
    n_trials = prepared.config.n_trials if n_trials is None else n_trials
    timeout = prepared.config.timeout if timeout is None else timeout
    beat = _Heartbeat(heartbeat_interval or None, grace_period)
    storage = _open_with_heartbeat(prepared.storage_url, beat)  # opened once for the whole command
    if force_new_version:
        config = new_version(prepared.config, prepared.storage_url, prepared.space, storage=storage)
        prepared = dataclasses.replace(prepared, config=config)
    config = prepared.config
    started, first = time.monotonic(), _stored_trials(config.name, storage)
    try:
        return _optimize(prepared, n_trials, timeout, seed, jobs, progress, beat, storage, on_start)
    except Interrupted as error:
        raise _with_remaining(error, prepared, first, n_trials, timeout, time.monotonic() - started) from None


def _optimize(
    prepared: _Prepared,
    n_trials: int,
    timeout: float | None,
    seed: int | None,
    jobs: int,
    progress: bool,
    beat: _Heartbeat,
    storage: optuna.storages.BaseStorage,
    on_start: Callable[[str, str], None] | None = None,
) -> optuna.Study:
    config = prepared.config
    if jobs == 1:
        return _run(prepared, n_trials, timeout, seed, progress, heartbeat=beat, storage=storage, on_start=on_start)
    # Create the study once, so that workers only load it.
    create_or_load_study(config, prepared.storage_url, prepared.space, make_sampler(config, seed), storage=storage)
    if on_start:
        on_start(config.name, prepared.storage_url)
    shares = split_trials(n_trials, jobs)
    threads = SEARCH_THREADS
    base_seed = config.sampler.seed if seed is None else seed
    # The encoded data, once, as .npy files that every worker maps copy-on-write: N workers share
    # one copy in the page cache instead of each holding its own.
    with tempfile.TemporaryDirectory(prefix="mtlsearch-data-") as data_folder:
        prepared.data.save(data_folder)
        prepared = dataclasses.replace(prepared, data=None)  # the parent's copy is no longer needed
        args = [
            (
                config,
                prepared.storage_url,
                share,
                timeout,
                base_seed,  # trial_seed sets each trial apart
                threads,
                (beat.interval, beat.grace_period),
                data_folder,
            )
            for share in shares
        ]
        try:
            gpus = worker_gpus(len(shares), config.training.accelerator)
            # By name: each worker imports this module (torch, Lightning) without the cyclic GC.
            run_workers(f"{__name__}:_worker", args, gpus, what=f"study {config.name!r}")
        except Interrupted as error:
            raise Interrupted(error.signal_name, study_name=config.name, storage_url=prepared.storage_url) from None
    return optuna.load_study(study_name=config.name, storage=storage)


def _stored_trials(study_name: str, storage: optuna.storages.BaseStorage) -> int:
    """How many trials the study holds (0 if it does not exist yet): the next trial's number."""
    try:
        return storage.get_n_trials(storage.get_study_id_from_name(study_name))
    except KeyError:
        return 0


def _with_remaining(
    error: Interrupted, prepared: _Prepared, first: int, n_trials: int, timeout: float | None, elapsed: float
) -> Interrupted:
    """``error`` with ``remaining_trials`` (``n_trials`` less the trials that finished since the run
    began, interrupted ones excepted), ``remaining_timeout`` (None without a timeout), so that
    the resume command finishes what was asked, and ``failed_trials``: the numbers of the trials
    the interruption marked failed (none when it came between trials; None when the storage
    cannot be read). Counted in the storage: with ``jobs`` workers too; another command writing
    the same study at the same time would be counted as well."""
    finished, failed = 0, None
    with contextlib.suppress(Exception):  # the storage is gone: resume with the whole budget
        storage = open_storage(prepared.storage_url)
        trials = storage.get_all_trials(storage.get_study_id_from_name(prepared.config.name), deepcopy=False)
        ours = [t for t in trials if t.number >= first and t.state.is_finished()]
        interrupted = [t for t in ours if str(t.user_attrs.get("fail_reason", "")).startswith("interrupted by")]
        finished, failed = len(ours) - len(interrupted), tuple(t.number for t in interrupted)
    error.failed_trials = failed
    error.remaining_trials = max(0, n_trials - finished)
    error.remaining_timeout = None if timeout is None else max(1.0, math.ceil(timeout - elapsed))
    return error
