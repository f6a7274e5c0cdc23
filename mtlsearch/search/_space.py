"""Declarative search spaces: YAML files turned by one loader into ``optuna.distributions``.

A search space names the parameters a study tunes; the study's base :class:`RunConfig`
supplies everything else (data, tasks, epochs, seed). ``search_spaces/NAME.yaml``::

    description: PLE with 1-3 levels            # optional
    params:
      architecture: ple                         # a plain value is fixed, not searched
      levels: {type: int, low: 1, high: 3}
      expert_width: {type: categorical, choices: [16, 32, 64]}
      lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      gate_dropout: {type: float, low: 0.0, high: 0.2, when: {architecture: [mmoe, cgc]}}

Parameters are suggested in the fixed order of :data:`PARAM_NAMES` (architecture first),
whatever their order in the file. ``levels``, ``specific_experts`` and ``shared_experts``
are suggested only for architectures that leave them free (see ``ARCHITECTURES``); a
``when`` adds a user condition on an earlier parameter. ``loss_weight`` and ``loss_decay``
become one parameter per task (``loss_weight.vtr``). Experts and towers are uniform MLPs:
``expert_hidden = (expert_width,) * expert_depth``, ``tower_hidden = (tower_width,) * tower_depth``.

Typical use in an objective, with ``base`` the study's run config::

    space = load_search_space("ple")
    params = suggest_params(trial, space, [t.name for t in base.tasks])
    config = params_to_config(params, base)
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import BaseTrial

from mtlsearch._resources import find_yaml, shipped_dir
from mtlsearch._strict import read_yaml
from mtlsearch.config import LOSS_BALANCING, LR_SCHEDULES, OPTIMIZERS, RunConfig, TaskConfig
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import ARCHITECTURES, ModelConfig

__all__ = [
    "PARAM_NAMES",
    "PER_TASK_PARAMS",
    "ParamSpec",
    "SearchSpace",
    "available_search_spaces",
    "load_search_space",
    "params_to_config",
    "suggest_params",
]

# Every parameter a space may name, in suggestion order, with the kind of value it takes
# and the config field it sets.
_KINDS: dict[str, str] = {
    "architecture": "str",  # model.architecture, one of ARCHITECTURES
    "levels": "int",  # model.levels
    "specific_experts": "int",  # model.specific_experts
    "shared_experts": "int",  # model.shared_experts
    "expert_width": "int",  # model.expert_hidden = (expert_width,) * expert_depth
    "expert_depth": "int",
    "tower_width": "int",  # model.tower_hidden = (tower_width,) * tower_depth
    "tower_depth": "int",
    "embedding_dim": "int",  # model.embedding_dim
    "dropout": "float",  # model.dropout
    "gate_dropout": "float",  # model.gate_dropout
    "loss_balancing": "str",  # training.loss_balancing, one of LOSS_BALANCING (before the task weights)
    "gradnorm_alpha": "float",  # training.gradnorm_alpha (give it `when: {loss_balancing: [gradnorm]}`)
    "loss_weight": "float",  # per task: tasks[k].weight (w_k0)
    "loss_decay": "float",  # per task: tasks[k].decay (gamma_k)
    "optimizer": "str",  # training.optimizer, one of OPTIMIZERS (before lr, so lr may depend on it)
    "lr": "float",  # training.lr
    "lr_schedule": "str",  # training.lr_schedule, one of LR_SCHEDULES
    "weight_decay": "float",  # training.weight_decay
    "batch_size": "int",  # training.batch_size
}
PARAM_NAMES: tuple[str, ...] = tuple(_KINDS)
PER_TASK_PARAMS: tuple[str, ...] = ("loss_weight", "loss_decay")
_TRAINING_PARAMS = (
    "loss_balancing",
    "gradnorm_alpha",
    "optimizer",
    "lr",
    "lr_schedule",
    "weight_decay",
    "batch_size",
)  # training.NAME
_STRUCTURAL = ("levels", "specific_experts", "shared_experts")  # fixed or left free by ARCHITECTURES
# str parameters and their values
_NAMED = {
    "architecture": tuple(ARCHITECTURES),
    "loss_balancing": LOSS_BALANCING,
    "optimizer": OPTIMIZERS,
    "lr_schedule": LR_SCHEDULES,
}
_TYPES = {"int": ("int", "categorical"), "float": ("float", "categorical"), "str": ("categorical",)}
_TYPE_KEYS = {
    "int": ("low", "high", "step", "log"),
    "float": ("low", "high", "step", "log"),
    "categorical": ("choices",),
}
_KIND_WORDS = {"int": "a whole number", "float": "a number", "str": "a name"}
_TOP_KEYS = ("description", "params")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a space: searched over ``distribution``, or fixed to ``value``."""

    name: str  # one of PARAM_NAMES
    distribution: BaseDistribution | None = None  # None: fixed to ``value``
    value: Any = None  # the fixed value
    # set only if each named earlier parameter has one of the listed values
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def per_task(self) -> bool:
        return self.name in PER_TASK_PARAMS

    def keys(self, task_names: Sequence[str]) -> tuple[str, ...]:
        """Its Optuna parameter names: ``loss_weight.vtr``, ... for per-task ones, else its name."""
        return tuple(f"{self.name}.{task}" for task in task_names) if self.per_task else (self.name,)

    def applies(self, params: Mapping[str, Any]) -> bool:
        """Whether a trial sets it, given the parameters decided before it (architecture first)."""
        if self.name in _STRUCTURAL and getattr(ARCHITECTURES[params["architecture"]], self.name) is not None:
            return False
        return all(params[other] in values for other, values in self.when)

    def to_plain(self) -> Any:
        """The short form of the YAML file (parsing it back gives an equal spec)."""
        d = self.distribution
        if d is None:
            return self.value
        if isinstance(d, CategoricalDistribution):
            plain: dict[str, Any] = {"type": "categorical", "choices": list(d.choices)}
        else:
            plain = {
                "type": "int" if isinstance(d, IntDistribution) else "float",
                "low": d.low,
                "high": d.high,
            }
            if d.step not in (None, 1):
                plain["step"] = d.step
            if d.log:
                plain["log"] = True
        if self.when:
            plain["when"] = {other: list(values) for other, values in self.when}
        return plain

    def _applies_to(self, architecture: str) -> bool:
        """Whether some trial with ``architecture`` may set it."""
        if self.name in _STRUCTURAL and getattr(ARCHITECTURES[architecture], self.name) is not None:
            return False
        return all(architecture in values for other, values in self.when if other == "architecture")


@dataclass(frozen=True)
class SearchSpace:
    """A loaded search space: its parameters in suggestion order, architecture first."""

    name: str  # the file's stem, e.g. "ple"
    params: tuple[ParamSpec, ...]
    description: str = ""
    source: Path | None = None  # the YAML file it came from

    @property
    def architectures(self) -> tuple[str, ...]:
        """The architectures its trials may have."""
        return _values(self.params[0])

    def distributions(self, task_names: Sequence[str]) -> dict[str, BaseDistribution]:
        """Every parameter Optuna may suggest, conditional ones included, with its distribution."""
        return {key: spec.distribution for spec in self.params if spec.distribution for key in spec.keys(task_names)}

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready content (for a study's user attributes); :meth:`from_dict` reads it back.

        The source path is left out: the same space loaded from another folder compares equal.
        """
        return {
            "name": self.name,
            "description": self.description,
            "params": {spec.name: spec.to_plain() for spec in self.params},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        """A space stored with :meth:`to_dict`, validated like a file."""
        data = dict(data)
        name = data.pop("name", None)
        if not isinstance(name, str):
            raise MtlsearchError(
                "a stored search space needs a name", where="search space", fix="store it with to_dict()"
            )
        return _parse(data, name=name, source=None, where=f"search space {name!r}")


def load_search_space(name_or_path: str | Path) -> SearchSpace:
    """Read a search space: a path to a ``.yaml`` file, or a NAME.

    A name is looked up as ``search_spaces/NAME.yaml`` in the working directory first, then
    among the spaces shipped with mtlsearch (:func:`available_search_spaces` lists them).

    >>> load_search_space("ple").architectures
    ('ple',)
    """
    path = _resolve(name_or_path)
    return _parse(read_yaml(path, what="search space"), name=path.stem, source=path, where=str(path))


def available_search_spaces() -> list[str]:
    """The names :func:`load_search_space` resolves, from the working directory and the shipped copies."""
    folders = (Path.cwd() / "search_spaces", shipped_dir("search_spaces"))
    return sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.yaml")})


def suggest_params(trial: BaseTrial, space: SearchSpace, task_names: Sequence[str]) -> dict[str, Any]:
    """Sample one point of ``space`` with ``trial`` (define-by-run): the flat parameters, fixed ones included.

    Parameters are suggested in :data:`PARAM_NAMES` order; those the chosen architecture fixes
    or whose ``when`` does not hold are skipped. An ``optuna.trial.FixedTrial`` holding a stored
    trial's ``params`` replays it, fixed values included, which is how a trial is exported::

        params_to_config(suggest_params(FixedTrial(frozen.params), space, tasks), base)
    """
    task_names = tuple(task_names)
    if len(set(task_names)) != len(task_names):
        raise MtlsearchError(f"a task is named twice in {list(task_names)}", where="tasks", fix="list each task once")
    if not task_names and any(spec.per_task for spec in space.params):
        raise MtlsearchError(
            "loss_weight and loss_decay are set per task, but no task names were given",
            where=f"search space {space.name!r}",
            fix="pass the names of the study's tasks",
        )
    params: dict[str, Any] = {}
    for spec in space.params:
        if not spec.applies(params):
            continue
        for key in spec.keys(task_names):
            params[key] = spec.value if spec.distribution is None else _suggest(trial, key, spec.distribution, space)
    return params


def params_to_config(params: Mapping[str, Any], base: RunConfig) -> RunConfig:
    """The run config of a trial: ``base`` with the fields named by ``params`` replaced.

    This is the one mapping from parameters to configs: studies call it on fresh trials and
    export on stored ones. Absent parameters keep ``base``'s values; absent ``levels``,
    ``specific_experts`` or ``shared_experts`` take the architecture's preset unless ``base``'s
    architecture also leaves them free. Per-task parameters must name tasks that ``base`` lists.

    >>> params_to_config({"architecture": "mmoe", "shared_experts": 3}, RunConfig()).model.shared_experts
    3
    """
    flat: dict[str, Any] = {}
    per_task: dict[str, dict[str, float]] = {name: {} for name in PER_TASK_PARAMS}
    for key, value in params.items():
        name, dot, task = str(key).partition(".")
        if name not in _KINDS or (name in PER_TASK_PARAMS) != bool(dot) or (dot and not task):
            valid = [f"{n}.TASK" if n in PER_TASK_PARAMS else n for n in PARAM_NAMES]
            raise MtlsearchError(
                f"unknown parameter {key!r}", where=f"params.{key}", fix=f"use one of {', '.join(valid)}"
            )
        value = _value(name, value, f"params.{key}")
        if dot:
            per_task[name][task] = value
        else:
            flat[name] = value
    architecture = flat.get("architecture", base.model.architecture)
    model = _model(flat, base.model, architecture)
    tasks = _tasks(per_task, base.tasks)
    training_fields = {name: flat[name] for name in _TRAINING_PARAMS if name in flat}
    training = dataclasses.replace(base.training, **training_fields)
    return dataclasses.replace(base, model=model, tasks=tasks, training=training)


# --- params -> config ---------------------------------------------------------------------


def _model(flat: dict[str, Any], base: ModelConfig, architecture: str) -> ModelConfig:
    rule = ARCHITECTURES[architecture]
    sizes: dict[str, Any] = {
        name: flat.get(name, getattr(base, name)) for name in ("embedding_dim", "dropout", "gate_dropout")
    }
    for name in _STRUCTURAL:
        if name in flat:
            sizes[name] = flat[name]
        elif getattr(rule, name) is None and getattr(base.rule, name) is None:
            sizes[name] = getattr(base, name)  # a choice of the base config that still applies
    sizes["expert_hidden"] = _widths("expert", flat, base.expert_hidden, min_depth=1)
    sizes["tower_hidden"] = _widths("tower", flat, base.tower_hidden, min_depth=0)
    return ModelConfig.create(architecture, **sizes)


def _widths(part: str, flat: dict[str, Any], base: tuple[int, ...], min_depth: int) -> tuple[int, ...]:
    """``(width,) * depth``; an absent width or depth comes from ``base`` (depth 1 if it has no layers)."""
    width_key, depth_key = f"{part}_width", f"{part}_depth"
    if width_key not in flat and depth_key not in flat:
        return base
    width = flat.get(width_key, base[0] if base else ModelConfig.tower_hidden[0])  # only towers may be ()
    depth = flat.get(depth_key, len(base) or 1)
    if width < 1:
        raise MtlsearchError(f"{width_key} must be >= 1, got {width}", where=f"params.{width_key}", fix="use 1 or more")
    if depth < min_depth:
        raise MtlsearchError(
            f"{depth_key} must be >= {min_depth}, got {depth}",
            where=f"params.{depth_key}",
            fix=f"use {min_depth} or more",
        )
    return (width,) * depth


def _tasks(per_task: dict[str, dict[str, float]], tasks: tuple[TaskConfig, ...]) -> tuple[TaskConfig, ...]:
    names = [t.name for t in tasks]
    for param, values in per_task.items():
        for task in values:
            if task not in names:
                fix = f"use one of {', '.join(names)}" if names else "list the tasks in the base config"
                raise MtlsearchError(
                    f"{param}.{task} is for a task the base config does not list",
                    where=f"params.{param}.{task}",
                    fix=fix,
                )
    return tuple(
        dataclasses.replace(
            t,
            weight=per_task["loss_weight"].get(t.name, t.weight),
            decay=per_task["loss_decay"].get(t.name, t.decay),
        )
        for t in tasks
    )


def _suggest(trial: BaseTrial, key: str, d: BaseDistribution, space: SearchSpace) -> Any:
    try:
        if isinstance(d, IntDistribution):
            return trial.suggest_int(key, d.low, d.high, step=d.step, log=d.log)
        if isinstance(d, FloatDistribution):
            return trial.suggest_float(key, d.low, d.high, step=d.step, log=d.log)
        assert isinstance(d, CategoricalDistribution)
        return trial.suggest_categorical(key, d.choices)
    except ValueError as error:  # e.g. a FixedTrial without this parameter
        raise MtlsearchError(
            f"cannot set {key}: {error}",
            where=f"search space {space.name!r}: params.{key}",
            fix="replay a trial with the search space its study used",
        ) from None


# --- the loader: plain data -> ParamSpec / optuna.distributions ------------------------------


def _resolve(name_or_path: str | Path) -> Path:
    return find_yaml("search_spaces", name_or_path, what="search space", where="search space")


def _parse(data: Any, *, name: str, source: Path | None, where: str) -> SearchSpace:
    """The one loader: plain data (a parsed YAML file) to a validated :class:`SearchSpace`."""
    try:
        return _parse_inner(data, name=name, source=source)
    except MtlsearchError as error:
        raise error.within(where) from None


def _parse_inner(data: Any, *, name: str, source: Path | None) -> SearchSpace:
    if data is None:
        raise MtlsearchError("the search space is empty", fix="add params: (see README: Search spaces)")
    if not isinstance(data, dict):
        raise MtlsearchError(f"expected a mapping with {' and '.join(_TOP_KEYS)}, got {data!r}", fix="see README")
    for key in data:
        if key not in _TOP_KEYS:
            raise MtlsearchError(f"unknown key {key!r}", where=str(key), fix=f"use one of {', '.join(_TOP_KEYS)}")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise MtlsearchError(
            f"expected a string, got {description!r}", where="description", fix="write one line of text"
        )
    raw = data.get("params")
    if not isinstance(raw, dict) or not raw:
        raise MtlsearchError("missing params", where="params", fix="map parameter names to ranges or values")
    for key in raw:
        if key not in _KINDS:
            raise MtlsearchError(
                f"unknown parameter {key!r}",
                where=f"params.{key}",
                fix=f"use one of {', '.join(PARAM_NAMES)}",
            )
    if "architecture" not in raw:
        raise MtlsearchError(
            "missing architecture",
            where="params.architecture",
            fix="add e.g. `architecture: ple` or `{type: categorical, choices: [mmoe, ple]}`",
        )
    specs: dict[str, ParamSpec] = {}
    for param in PARAM_NAMES:
        if param in raw:
            specs[param] = _param(param, raw[param], specs)
    space = SearchSpace(name=name, params=tuple(specs.values()), description=description.strip(), source=source)
    _check_used(space)
    _check_bounds(space)
    return space


def _param(name: str, raw: Any, earlier: dict[str, ParamSpec]) -> ParamSpec:
    where = f"params.{name}"
    if not isinstance(raw, dict):
        return ParamSpec(name, value=_value(name, raw, where))
    raw = dict(raw)
    when = _when(name, raw.pop("when"), earlier, f"{where}.when") if "when" in raw else ()
    return ParamSpec(name, distribution=_distribution(name, raw, where), when=when)


def _distribution(name: str, raw: dict[str, Any], where: str) -> BaseDistribution:
    kind = _KINDS[name]
    if "type" not in raw:
        raise MtlsearchError(
            "missing 'type'",
            where=f"{where}.type",
            fix="add type: int, float or categorical, or write a plain value to fix the parameter",
        )
    dtype = raw.pop("type")
    if dtype not in _TYPE_KEYS:
        raise MtlsearchError(f"unknown type {dtype!r}", where=f"{where}.type", fix="use one of int, float, categorical")
    if dtype not in _TYPES[kind]:
        raise MtlsearchError(
            f"{name} takes {_KIND_WORDS[kind]}, not type {dtype}",
            where=f"{where}.type",
            fix=f"use type {' or '.join(_TYPES[kind])}",
        )
    for key in raw:
        if key not in _TYPE_KEYS[dtype]:
            raise MtlsearchError(
                f"unknown key {key!r} for type {dtype}",
                where=f"{where}.{key}",
                fix=f"use {', '.join(('type', *_TYPE_KEYS[dtype], 'when'))}",
            )
    if dtype == "categorical":
        return _categorical(name, raw, where)
    return _range(name, dtype, raw, where)


def _categorical(name: str, raw: dict[str, Any], where: str) -> CategoricalDistribution:
    if "choices" not in raw:
        raise MtlsearchError("missing 'choices'", where=f"{where}.choices", fix="add choices: [a, b, ...]")
    choices = raw["choices"]
    if not isinstance(choices, list):
        raise MtlsearchError(
            f"expected a list of choices, got {choices!r}", where=f"{where}.choices", fix="write [a, b, ...]"
        )
    if not choices:
        raise MtlsearchError("empty choices", where=f"{where}.choices", fix="list at least two values")
    values = [_value(name, choice, f"{where}.choices[{i}]") for i, choice in enumerate(choices)]
    for i, value in enumerate(values):
        if value in values[:i]:
            raise MtlsearchError(
                f"duplicate choice {value!r}", where=f"{where}.choices[{i}]", fix="list each value once"
            )
    if len(values) == 1:
        raise MtlsearchError(
            f"a single choice {values[0]!r} is not a search",
            where=f"{where}.choices",
            fix=f"fix the value with `{name}: {values[0]}`",
        )
    return CategoricalDistribution(values)


def _range(name: str, dtype: str, raw: dict[str, Any], where: str) -> BaseDistribution:
    for key in ("low", "high"):
        if key not in raw:
            raise MtlsearchError(f"missing '{key}'", where=f"{where}.{key}", fix=f"add {key}: with a number")
    number = _integer if dtype == "int" else _number
    low, high = number(raw["low"], f"{where}.low"), number(raw["high"], f"{where}.high")
    step = number(raw["step"], f"{where}.step") if raw.get("step") is not None else None
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise MtlsearchError(f"expected true or false, got {log!r}", where=f"{where}.log", fix="write true or false")
    if low > high:
        raise MtlsearchError(f"inverted range: low {low} > high {high}", where=where, fix="swap low and high")
    if low == high:
        raise MtlsearchError(f"empty range: low = high = {low}", where=where, fix=f"fix the value with `{name}: {low}`")
    if log and step is not None:
        raise MtlsearchError("step cannot be combined with log: true", where=f"{where}.step", fix="remove step or log")
    if log and low <= 0:
        raise MtlsearchError(f"log scale needs low > 0, got {low}", where=f"{where}.low", fix="raise low or remove log")
    if step is not None:
        if step <= 0:
            raise MtlsearchError(f"step must be > 0, got {step}", where=f"{where}.step", fix="use a positive step")
        span, size = decimal.Decimal(str(high)) - decimal.Decimal(str(low)), decimal.Decimal(str(step))
        if span % size != 0:  # Optuna would silently lower high; the file must say what is searched
            cast = int if dtype == "int" else float
            below = decimal.Decimal(str(low)) + span // size * size
            raise MtlsearchError(
                f"step {step} does not divide the range {low}..{high}",
                where=f"{where}.step",
                fix=f"set high to {cast(below)} or {cast(below + size)}",
            )
    if dtype == "int":
        return IntDistribution(low, high, log=log, step=step or 1)
    return FloatDistribution(low, high, log=log, step=step)


def _integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MtlsearchError(f"expected a whole number, got {value!r}", where=where, fix="write e.g. 4")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, str):  # YAML 1.1 reads 1e-3 (without a dot) as a string
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MtlsearchError(f"expected a finite number, got {value!r}", where=where, fix="write e.g. 0.1")
    return float(value)


def _value(name: str, value: Any, where: str) -> Any:
    """A value of parameter ``name``, type-checked (ints stay ints, numbers become floats)."""
    kind = _KINDS[name]
    if isinstance(value, (list, tuple)):
        raise MtlsearchError(
            f"expected {_KIND_WORDS[kind]}, got the list {list(value)!r}",
            where=where,
            fix="search over values with {type: categorical, choices: [...]}",
        )
    if kind == "int":
        return _integer(value, where)
    if kind == "float":
        return _number(value, where)
    if not isinstance(value, str) or value not in _NAMED[name]:
        raise MtlsearchError(f"unknown {name} {value!r}", where=where, fix=f"use one of {', '.join(_NAMED[name])}")
    return value


def _values(spec: ParamSpec) -> tuple[Any, ...]:
    """The values a categorical or fixed parameter may take."""
    if spec.distribution is None:
        return (spec.value,)
    assert isinstance(spec.distribution, CategoricalDistribution)
    return spec.distribution.choices


_Conditions = tuple[tuple[str, tuple[Any, ...]], ...]


def _when(name: str, raw: Any, earlier: dict[str, ParamSpec], where: str) -> _Conditions:
    """``when: {other: [values]}``: each ``other`` must be decided before ``name`` in every trial."""
    if not isinstance(raw, dict) or not raw:
        raise MtlsearchError(
            f"expected a mapping of earlier parameters to values, got {raw!r}",
            where=where,
            fix="e.g. when: {architecture: [cgc, ple]}",
        )
    before = PARAM_NAMES[: PARAM_NAMES.index(name)]
    conditions = []
    for other, values in raw.items():
        at = f"{where}.{other}"
        if other not in _KINDS:
            raise MtlsearchError(f"unknown parameter {other!r}", where=at, fix=f"use one of {', '.join(before)}")
        if other == name:
            raise MtlsearchError(f"{name} cannot depend on itself", where=at, fix="remove the condition")
        if other in PER_TASK_PARAMS:
            raise MtlsearchError(
                f"cannot depend on the per-task parameter {other}",
                where=at,
                fix="condition on a parameter set once per trial",
            )
        if other not in before:
            raise MtlsearchError(
                f"{other} is decided after {name}",
                where=at,
                fix=f"condition on a parameter decided before {name}: {', '.join(before) or 'none'}",
            )
        if other not in earlier:
            raise MtlsearchError(
                f"{other} is not in this search space", where=at, fix=f"add {other} or remove the condition"
            )
        spec = earlier[other]
        absent = [a for a in _values(earlier["architecture"]) if not spec._applies_to(a)]
        if spec.when or absent:
            reason = f"absent for {', '.join(absent)}" if absent else "conditional itself"
            raise MtlsearchError(
                f"{other} is {reason}, so the condition could not be decided",
                where=at,
                fix="condition on a parameter every trial sets",
            )
        if isinstance(spec.distribution, FloatDistribution):
            raise MtlsearchError(
                f"{other} is continuous",
                where=at,
                fix="condition on a categorical, integer or fixed parameter",
            )
        values = values if isinstance(values, list) else [values]
        if not values:
            raise MtlsearchError("empty list of values", where=at, fix=f"list values of {other}")
        parsed = tuple(_value(other, v, f"{at}[{i}]") for i, v in enumerate(values))
        for value in parsed:
            if not _can_take(spec, value):
                raise MtlsearchError(
                    f"{other} can never be {value!r}",
                    where=at,
                    fix=f"use values {other} can take: {_describe(spec)}",
                )
        conditions.append((other, parsed))
    return tuple(conditions)


def _can_take(spec: ParamSpec, value: Any) -> bool:
    d = spec.distribution
    if isinstance(d, IntDistribution):
        return d.low <= value <= d.high and (value - d.low) % d.step == 0
    return value in _values(spec)


def _describe(spec: ParamSpec) -> str:
    d = spec.distribution
    if isinstance(d, IntDistribution):
        return f"{d.low}..{d.high}" + (f" in steps of {d.step}" if d.step != 1 else "")
    return ", ".join(str(v) for v in _values(spec))


def _check_used(space: SearchSpace) -> None:
    """A parameter that no architecture of the space sets is a mistake in the file, not a no-op."""
    for spec in space.params[1:]:
        if spec.name not in _STRUCTURAL:
            continue
        allowed = dict(spec.when).get("architecture", space.architectures)
        if not any(spec._applies_to(a) for a in allowed):
            fixed = ", ".join(f"{a} has {spec.name} = {getattr(ARCHITECTURES[a], spec.name)}" for a in allowed)
            free = [a for a in ARCHITECTURES if getattr(ARCHITECTURES[a], spec.name) is None]
            raise MtlsearchError(
                f"{spec.name} is never used: {fixed}",
                where=f"params.{spec.name}",
                fix=f"remove it, or add an architecture that varies it ({', '.join(free)})",
            )


def _corners(spec: ParamSpec) -> tuple[Any, ...]:
    d = spec.distribution
    if isinstance(d, (IntDistribution, FloatDistribution)):
        return (d.low, d.high)
    return _values(spec)


def _check_bounds(space: SearchSpace) -> None:
    """Build the config at every bound and choice, so that range errors surface at load time.

    Each config constraint is an interval, so checking the ends of every range suffices.
    """
    base = RunConfig(tasks=(TaskConfig(name="task"),))
    for architecture in space.architectures:
        for spec in space.params[1:]:
            if not spec._applies_to(architecture):
                continue
            for value in _corners(spec):
                params = {"architecture": architecture, **dict.fromkeys(spec.keys(("task",)), value)}
                try:
                    params_to_config(params, base)
                except MtlsearchError as error:
                    raise MtlsearchError(
                        f"{spec.name} = {value!r} gives an invalid {architecture} config: {error.message}",
                        where=f"params.{spec.name}",
                        fix=error.fix,
                    ) from None
