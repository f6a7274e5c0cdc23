"""Search spaces: the YAML loader, define-by-run sampling and the one params -> config mapping."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FixedTrial

from mtlsearch import _resources
from mtlsearch.config import DataConfig, RunConfig, TaskConfig, TrainingConfig
from mtlsearch.data import FeatureSpec
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import ARCHITECTURES, ModelConfig, MultiTaskNetwork
from mtlsearch.search import (
    PARAM_NAMES,
    SearchSpace,
    available_search_spaces,
    load_search_space,
    params_to_config,
    suggest_params,
)

SHIPPED = ("cgc", "family", "mmoe", "ple", "shared-bottom")
TASKS = ("vtr", "vcr")
BASE = RunConfig(
    data=DataConfig(name="synthetic-video", options={"n_samples": 500}),
    tasks=(TaskConfig(name="vtr"), TaskConfig(name="vcr", weight=2.0, decay=0.9)),
    training=TrainingConfig(epochs=3, patience=1),
    seed=7,
)


@pytest.fixture(autouse=True)
def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _write(tmp_path: Path, text: str, name: str = "space.yaml") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_text(text)
    return path


def _study(seed: int = 0, storage: str | None = None) -> optuna.Study:
    return optuna.create_study(
        storage=storage, sampler=optuna.samplers.RandomSampler(seed=seed), directions=["maximize", "minimize"]
    )


# --- shipped spaces ---------------------------------------------------------------------------


def test_shipped_spaces_are_available() -> None:
    assert set(SHIPPED) <= set(available_search_spaces())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_space_samples_valid_configs_and_networks(name: str) -> None:
    space = load_search_space(name)
    assert space.name == name and space.description and space.params[0].name == "architecture"
    distributions = space.distributions(TASKS)
    study = _study(seed=3)
    for _ in range(20):
        trial = study.ask()
        params = suggest_params(trial, space, TASKS)
        # Optuna saw exactly the searched parameters, each inside the space's distribution
        assert trial.params == {k: v for k, v in params.items() if k in distributions}
        for key, value in trial.params.items():
            assert distributions[key]._contains(distributions[key].to_internal_repr(value)), key
        config = params_to_config(params, BASE)
        assert config.model.architecture == params["architecture"]
        assert config.training.lr == params["lr"] and config.training.batch_size == params["batch_size"]
        assert config.model.expert_hidden == (params["expert_width"],) * params["expert_depth"]
        assert config.model.tower_hidden == (params["tower_width"],) * params["tower_depth"]
        assert [t.weight for t in config.tasks] == [params[f"loss_weight.{t}"] for t in TASKS]
        assert [t.decay for t in config.tasks] == [params[f"loss_decay.{t}"] for t in TASKS]
        network = MultiTaskNetwork(config.model, FeatureSpec(numeric=("a",)), n_tasks=2)
        assert network.n_parameters > 0
        study.tell(trial, [0.5, 0.1])


@pytest.mark.parametrize("name", SHIPPED)
def test_to_dict_round_trips_through_json(name: str) -> None:
    space = load_search_space(name)
    stored = json.loads(json.dumps(space.to_dict()))
    restored = SearchSpace.from_dict(stored)
    assert restored.params == space.params and restored.to_dict() == space.to_dict()
    assert (restored.name, restored.description) == (space.name, space.description)


def test_to_dict_is_the_content_not_the_location(tmp_path: Path) -> None:
    text = load_search_space("ple").source.read_text()  # type: ignore[union-attr]
    here, there = _write(tmp_path, text, "ple.yaml"), _write(tmp_path / "elsewhere", text, "ple.yaml")
    assert load_search_space(here).to_dict() == load_search_space(there).to_dict() == load_search_space("ple").to_dict()


def test_family_covers_the_ple_papers_family() -> None:
    space = load_search_space("family")
    assert space.architectures == ("shared-bottom", "mmoe", "ml-mmoe", "cgc", "ple")
    assert set(space.distributions(["t"])) == {
        name if name not in ("loss_weight", "loss_decay") else f"{name}.t" for name in PARAM_NAMES
    } - {"optimizer", "lr_schedule", "loss_balancing", "gradnorm_alpha"}


def test_family_plus_covers_every_multi_task_architecture_and_the_loss_balancing() -> None:
    space = load_search_space("family-plus")
    assert set(space.architectures) == set(ARCHITECTURES) - {"single-task"}
    assert set(space.distributions(["t"])) == {
        name if name not in ("loss_weight", "loss_decay") else f"{name}.t" for name in PARAM_NAMES
    } - {"optimizer", "lr_schedule"}


def test_loss_balancing_is_searched_with_its_conditional_sub_parameter() -> None:
    space = load_search_space("family-plus")
    base = RunConfig(tasks=(TaskConfig(name="t"),))
    fixed = {"architecture": "adatt", "levels": 2, "specific_experts": 2, "shared_experts": 1}
    gradnorm = suggest_params(
        FixedTrial({**_ANY, **fixed, "loss_balancing": "gradnorm", "gradnorm_alpha": 0.7}), space, ["t"]
    )
    config = params_to_config(gradnorm, base)
    assert (config.training.loss_balancing, config.training.gradnorm_alpha) == ("gradnorm", 0.7)
    upgrad = suggest_params(
        FixedTrial({**_ANY, **fixed, "loss_balancing": "upgrad", "gradnorm_alpha": 0.7}), space, ["t"]
    )
    assert "gradnorm_alpha" not in upgrad  # only set when loss_balancing is gradnorm
    assert params_to_config(upgrad, base).training.loss_balancing == "upgrad"


def test_adatt_space_allows_adatt_sp() -> None:
    space = load_search_space("adatt")
    (shared,) = [p for p in space.params if p.name == "shared_experts"]
    assert shared.distribution.low == 0
    assert params_to_config({"architecture": "adatt", "shared_experts": 0}, RunConfig()).model.shared_experts == 0


_ANY = {
    "expert_width": 16,
    "expert_depth": 1,
    "tower_width": 8,
    "tower_depth": 1,
    "embedding_dim": 4,
    "dropout": 0.0,
    "gate_dropout": 0.0,
    "loss_weight.t": 1.0,
    "loss_decay.t": 1.0,
    "lr": 1e-3,
    "weight_decay": 1e-6,
    "batch_size": 256,
}


# --- conditional parameters -----------------------------------------------------------------


@pytest.mark.parametrize("architecture", ["shared-bottom", "mmoe", "ml-mmoe", "cgc", "ple"])
def test_conditional_params_are_absent_where_the_architecture_fixes_them(architecture: str) -> None:
    space = load_search_space("family")
    everything = {"architecture": architecture, "levels": 2, "specific_experts": 2, "shared_experts": 3}
    everything |= {"expert_width": 16, "expert_depth": 1, "tower_width": 8, "tower_depth": 1}
    everything |= {"embedding_dim": 4, "dropout": 0.1, "gate_dropout": 0.1, "lr": 1e-3}
    everything |= {"weight_decay": 1e-6, "batch_size": 256, "loss_weight.t": 1.0, "loss_decay.t": 1.0}
    params = suggest_params(FixedTrial(everything), space, ["t"])
    rule = ARCHITECTURES[architecture]
    for name in ("levels", "specific_experts", "shared_experts"):
        assert (name in params) == (getattr(rule, name) is None), name
    assert ("gate_dropout" in params) == (architecture != "shared-bottom")  # the file's `when`
    config = params_to_config(params, RunConfig(tasks=(TaskConfig(name="t"),)))
    preset = ModelConfig.preset(architecture)
    for name in ("levels", "specific_experts", "shared_experts"):
        assert getattr(config.model, name) == params.get(name, preset[name])


def test_random_sampling_of_family_reaches_every_architecture_with_its_own_params() -> None:
    space = load_search_space("family")
    study = _study(seed=1)
    seen = set()
    for _ in range(40):
        trial = study.ask()
        params = suggest_params(trial, space, TASKS)
        seen.add(params["architecture"])
        assert ("levels" in trial.params) == (params["architecture"] in ("ml-mmoe", "ple"))
        assert ("specific_experts" in trial.params) == (params["architecture"] in ("cgc", "ple"))
        assert ("shared_experts" in trial.params) == (params["architecture"] != "shared-bottom")
        study.tell(trial, [0.5, 0.1])
    assert seen == set(space.architectures)


def test_user_condition_on_a_categorical_parameter(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "params:\n  architecture: mmoe\n  optimizer: {type: categorical, choices: [adam, sgd]}\n"
        "  weight_decay: {type: float, low: 1.0e-6, high: 1.0e-3, log: true, when: {optimizer: sgd}}\n",
    )
    space = load_search_space(path)
    assert space.params[-1].when == (("optimizer", ("sgd",)),)
    assert "weight_decay" not in suggest_params(FixedTrial({"optimizer": "adam"}), space, [])
    replay = suggest_params(FixedTrial({"optimizer": "sgd", "weight_decay": 1e-4}), space, [])
    assert replay == {"architecture": "mmoe", "optimizer": "sgd", "weight_decay": 1e-4}


# --- replay and per-task parameters ---------------------------------------------------------


def test_fixed_trial_replay_of_stored_trials_gives_the_same_config(tmp_path: Path) -> None:
    space = load_search_space("family")
    study = _study(seed=5, storage=f"sqlite:///{tmp_path / 'study.db'}")
    originals = {}
    for _ in range(8):
        trial = study.ask()
        originals[trial.number] = params_to_config(suggest_params(trial, space, TASKS), BASE)
        study.tell(trial, [0.5, 0.1])
    stored = optuna.load_study(study_name=study.study_name, storage=f"sqlite:///{tmp_path / 'study.db'}")
    for frozen in stored.trials:
        replayed = params_to_config(suggest_params(FixedTrial(frozen.params), space, TASKS), BASE)
        assert replayed == originals[frozen.number]


def test_replay_without_a_searched_value_is_a_clear_error() -> None:
    with pytest.raises(MtlsearchError, match=r"search space 'ple': params.levels: cannot set levels: .*not found"):
        suggest_params(FixedTrial({}), load_search_space("ple"), TASKS)


def test_per_task_params_expand_by_task_names() -> None:
    space = load_search_space("ple")
    tasks = ("click", "share", "comment")
    keys = set(space.distributions(tasks))
    assert {f"loss_weight.{t}" for t in tasks} | {f"loss_decay.{t}" for t in tasks} <= keys
    assert "loss_weight" not in keys
    params = suggest_params(_study().ask(), space, tasks)
    base = RunConfig(tasks=tuple(TaskConfig(name=t) for t in tasks))
    config = params_to_config(params, base)
    assert {t.name: t.weight for t in config.tasks} == {t: params[f"loss_weight.{t}"] for t in tasks}
    assert isinstance(space.distributions(tasks)["loss_weight.click"], FloatDistribution)


def test_per_task_space_needs_task_names() -> None:
    with pytest.raises(MtlsearchError, match="no task names were given"):
        suggest_params(FixedTrial({}), load_search_space("ple"), [])


# --- params_to_config -------------------------------------------------------------------------


def test_params_to_config_keeps_everything_the_params_do_not_name() -> None:
    config = params_to_config({"architecture": "ple", "lr": 0.01, "loss_weight.vcr": 3.0}, BASE)
    assert config.data == BASE.data and config.seed == 7
    assert config.training == TrainingConfig(epochs=3, patience=1, lr=0.01)
    assert config.model == BASE.model
    assert config.tasks == (TaskConfig(name="vtr"), TaskConfig(name="vcr", weight=3.0, decay=0.9))


def test_absent_structural_params_take_the_base_value_only_if_base_also_varies_them() -> None:
    ple = RunConfig(model=ModelConfig.create("ple", levels=3, shared_experts=2))
    assert params_to_config({"architecture": "ml-mmoe"}, ple).model.levels == 3
    assert params_to_config({"architecture": "mmoe"}, ple).model.shared_experts == 2
    bottom = RunConfig(model=ModelConfig.create("shared-bottom"))
    assert params_to_config({"architecture": "mmoe"}, bottom).model.shared_experts == 4  # mmoe's preset


def test_a_width_alone_keeps_the_base_depth() -> None:
    base = RunConfig(model=ModelConfig.create("mmoe", expert_hidden=(64, 32), tower_hidden=()))
    model = params_to_config({"expert_width": 16, "tower_width": 8}, base).model
    assert model.expert_hidden == (16, 16) and model.tower_hidden == (8,)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"experts": 3}, "params.experts: unknown parameter 'experts' (fix: use one of architecture,"),
        ({"loss_weight": 1.0}, "params.loss_weight: unknown parameter 'loss_weight'"),
        ({"lr.vtr": 1.0}, "params.lr.vtr: unknown parameter 'lr.vtr'"),
        (
            {"loss_weight.ctr": 1.0},
            "params.loss_weight.ctr: loss_weight.ctr is for a task the base config does not list "
            "(fix: use one of vtr, vcr)",
        ),
        ({"levels": 2.5}, "params.levels: expected a whole number, got 2.5 (fix: write e.g. 4)"),
        (
            {"architecture": "moe"},
            "params.architecture: unknown architecture 'moe' (fix: use one of single-task,",
        ),
        ({"architecture": "cgc", "levels": 2}, "model.levels: cgc has levels = 1, not 2"),
    ],
)
def test_params_to_config_rejects_bad_params(params: dict, message: str) -> None:
    with pytest.raises(MtlsearchError) as caught:
        params_to_config(params, BASE)
    assert str(caught.value).startswith(message)


# --- loading by name ------------------------------------------------------------------------


def test_a_name_resolves_in_the_working_directory_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "search_spaces").mkdir()
    own = _write(tmp_path / "search_spaces", "description: mine\nparams:\n  architecture: mmoe\n", "ple.yaml")
    monkeypatch.chdir(tmp_path)
    space = load_search_space("ple")
    assert space.description == "mine" and space.source is not None
    assert space.source.resolve() == own.resolve()
    assert load_search_space("cgc").architectures == ("cgc",)  # still found among the shipped ones


def test_an_unknown_name_lists_the_available_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MtlsearchError) as caught:
        load_search_space("transformer")
    names = available_search_spaces()
    assert set(SHIPPED) <= set(names)
    assert str(caught.value) == (
        "search space: unknown search space 'transformer' "
        f"(fix: use one of {', '.join(names)} or a path to a .yaml file)"
    )


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MtlsearchError, match=r"nope\.yaml: search space not found"):
        load_search_space(tmp_path / "nope.yaml")


def test_shipped_dir_prefers_the_wheel_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "mtlsearch"
    package.mkdir(parents=True)
    monkeypatch.setattr(_resources, "_PACKAGE_DIR", package)
    assert _resources.shipped_dir("search_spaces") == tmp_path / "site" / "search_spaces"  # checkout layout
    (package / "_shipped" / "search_spaces").mkdir(parents=True)
    assert _resources.shipped_dir("search_spaces") == package / "_shipped" / "search_spaces"


def test_shipped_dir_of_this_checkout_holds_the_spaces() -> None:
    assert {p.stem for p in _resources.shipped_dir("search_spaces").glob("*.yaml")} >= set(SHIPPED)


# --- valid forms ------------------------------------------------------------------------------


def test_short_forms_become_optuna_distributions(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "params:\n"
        "  optimizer: adamw\n"  # file order does not matter: suggestion order is PARAM_NAMES
        "  architecture: {type: categorical, choices: [mmoe, cgc]}\n"
        "  tower_width: {type: int, low: 8, high: 64, step: 8}\n"
        "  dropout: {type: float, low: 0.0, high: 0.3, step: 0.1}\n"
        "  lr: {type: float, low: 1e-4, high: 1e-2, log: true}\n"  # YAML 1.1 reads 1e-4 as a string
        "  loss_weight: 2\n",
    )
    space = load_search_space(path)
    assert [p.name for p in space.params] == [
        "architecture",
        "tower_width",
        "dropout",
        "loss_weight",
        "optimizer",
        "lr",
    ]
    assert space.distributions(["a"]) == {
        "architecture": CategoricalDistribution(["mmoe", "cgc"]),
        "tower_width": IntDistribution(8, 64, step=8),
        "dropout": FloatDistribution(0.0, 0.3, step=0.1),
        "lr": FloatDistribution(1e-4, 1e-2, log=True),
    }
    params = suggest_params(_study().ask(), space, ["a"])
    assert params["loss_weight.a"] == 2.0 and isinstance(params["loss_weight.a"], float)
    assert params["optimizer"] == "adamw"


def test_lr_schedule_is_a_training_choice(tmp_path: Path) -> None:
    text = "params:\n  architecture: mmoe\n  lr_schedule: {type: categorical, choices: [constant, cosine]}\n"
    space = load_search_space(_write(tmp_path, text))
    params = suggest_params(FixedTrial({"lr_schedule": "cosine"}), space, ["a"])
    assert params_to_config(params, RunConfig()).training.lr_schedule == "cosine"


# --- invalid spaces: one exact message each ---------------------------------------------------

A = "params:\n  architecture: ple\n"
BAD = [
    ("", "the search space is empty (fix: add params: (see README: Search spaces))"),
    ("- a\n", "expected a mapping with description and params, got ['a'] (fix: see README)"),
    ("name: x\n" + A, "name: unknown key 'name' (fix: use one of description, params)"),
    ("description: [x]\n" + A, "description: expected a string, got ['x'] (fix: write one line of text)"),
    ("description: x\n", "params: missing params (fix: map parameter names to ranges or values)"),
    (
        "params:\n  levels: 2\n",
        "params.architecture: missing architecture "
        "(fix: add e.g. `architecture: ple` or `{type: categorical, choices: [mmoe, ple]}`)",
    ),
    (
        A + "  experts: 3\n",
        "params.experts: unknown parameter 'experts' (fix: use one of " + ", ".join(PARAM_NAMES) + ")",
    ),
    (
        A + "  levels: {type: integer, low: 1, high: 3}\n",
        "params.levels.type: unknown type 'integer' (fix: use one of int, float, categorical)",
    ),
    (
        A + "  levels: {low: 1, high: 3}\n",
        "params.levels.type: missing 'type' "
        "(fix: add type: int, float or categorical, or write a plain value to fix the parameter)",
    ),
    (
        A + "  levels: {type: int, high: 3}\n",
        "params.levels.low: missing 'low' (fix: add low: with a number)",
    ),
    (
        A + "  expert_width: {type: categorical}\n",
        "params.expert_width.choices: missing 'choices' (fix: add choices: [a, b, ...])",
    ),
    (
        A + "  levels: {type: int, low: 1, high: 3, q: 1}\n",
        "params.levels.q: unknown key 'q' for type int (fix: use type, low, high, step, log, when)",
    ),
    (
        A + "  levels: {type: int, low: 3, high: 1}\n",
        "params.levels: inverted range: low 3 > high 1 (fix: swap low and high)",
    ),
    (
        A + "  dropout: {type: float, low: 0.1, high: 0.1}\n",
        "params.dropout: empty range: low = high = 0.1 (fix: fix the value with `dropout: 0.1`)",
    ),
    (
        A + "  lr: {type: float, low: 0.0, high: 0.1, log: true}\n",
        "params.lr.low: log scale needs low > 0, got 0.0 (fix: raise low or remove log)",
    ),
    (
        A + "  lr: {type: float, low: 0.001, high: 0.1, log: true, step: 0.001}\n",
        "params.lr.step: step cannot be combined with log: true (fix: remove step or log)",
    ),
    (
        A + "  tower_width: {type: int, low: 8, high: 60, step: 8}\n",
        "params.tower_width.step: step 8 does not divide the range 8..60 (fix: set high to 56 or 64)",
    ),
    (
        A + "  dropout: {type: float, low: 0.0, high: 0.25, step: 0.1}\n",
        "params.dropout.step: step 0.1 does not divide the range 0.0..0.25 (fix: set high to 0.2 or 0.3)",
    ),
    (
        A + "  tower_width: {type: int, low: 8, high: 64, step: 0}\n",
        "params.tower_width.step: step must be > 0, got 0 (fix: use a positive step)",
    ),
    (
        A + "  lr: {type: float, low: 0.001, high: 0.1, log: maybe}\n",
        "params.lr.log: expected true or false, got 'maybe' (fix: write true or false)",
    ),
    (
        A + "  lr: {type: float, low: 0.001, high: .inf}\n",
        "params.lr.high: expected a finite number, got inf (fix: write e.g. 0.1)",
    ),
    (
        A + "  expert_width: {type: categorical, choices: []}\n",
        "params.expert_width.choices: empty choices (fix: list at least two values)",
    ),
    (
        A + "  expert_width: {type: categorical, choices: [32]}\n",
        "params.expert_width.choices: a single choice 32 is not a search (fix: fix the value with `expert_width: 32`)",
    ),
    (
        A + "  expert_width: {type: categorical, choices: [16, 16]}\n",
        "params.expert_width.choices[1]: duplicate choice 16 (fix: list each value once)",
    ),
    (
        A + "  expert_width: {type: categorical, choices: [16, 32.5]}\n",
        "params.expert_width.choices[1]: expected a whole number, got 32.5 (fix: write e.g. 4)",
    ),
    (
        A + "  expert_width: [16, 32]\n",
        "params.expert_width: expected a whole number, got the list [16, 32] "
        "(fix: search over values with {type: categorical, choices: [...]})",
    ),
    (
        A + "  levels: {type: int, low: 1.5, high: 3}\n",
        "params.levels.low: expected a whole number, got 1.5 (fix: write e.g. 4)",
    ),
    (
        A + "  levels: {type: float, low: 1, high: 3}\n",
        "params.levels.type: levels takes a whole number, not type float (fix: use type int or categorical)",
    ),
    (
        "params:\n  architecture: transformer\n",
        "params.architecture: unknown architecture 'transformer' "
        "(fix: use one of single-task, shared-bottom, mmoe, ml-mmoe, cgc, ple, adatt, cross-stitch)",
    ),
    (
        "params:\n  architecture: {type: categorical, choices: [mmoe, moe]}\n",
        "params.architecture.choices[1]: unknown architecture 'moe' "
        "(fix: use one of single-task, shared-bottom, mmoe, ml-mmoe, cgc, ple, adatt, cross-stitch)",
    ),
    (
        A + "  optimizer: rmsprop\n",
        "params.optimizer: unknown optimizer 'rmsprop' (fix: use one of adam, adamw, sgd)",
    ),
    (
        A + "  lr_schedule: {type: categorical, choices: [cosine, step]}\n",
        "params.lr_schedule.choices[1]: unknown lr_schedule 'step' (fix: use one of constant, cosine)",
    ),
    # range semantics surface at load time, by building the config at every bound
    (
        A + "  dropout: {type: float, low: 0.0, high: 1.0}\n",
        "params.dropout: dropout = 1.0 gives an invalid ple config: "
        "dropout must lie in [0, 1), got 1.0 (fix: e.g. 0.1)",
    ),
    (
        A + "  specific_experts: {type: int, low: 0, high: 2}\n",
        "params.specific_experts: specific_experts = 0 gives an invalid ple config: "
        "specific_experts must be an integer >= 1 for ple, got 0 (fix: use 1 or more)",
    ),
    (
        A + "  expert_width: {type: categorical, choices: [16, -8]}\n",
        "params.expert_width: expert_width = -8 gives an invalid ple config: "
        "expert_width must be >= 1, got -8 (fix: use 1 or more)",
    ),
    (
        A + "  expert_depth: {type: int, low: 0, high: 2}\n",
        "params.expert_depth: expert_depth = 0 gives an invalid ple config: "
        "expert_depth must be >= 1, got 0 (fix: use 1 or more)",
    ),
    (
        A + "  loss_decay: {type: float, low: 0.0, high: 1.0}\n",
        "params.loss_decay: loss_decay = 0.0 gives an invalid ple config: decay must be > 0, got 0.0 "
        "(fix: use a positive number, 1.0 for a constant weight)",
    ),
    (
        "params:\n  architecture: cgc\n  levels: {type: int, low: 1, high: 3}\n",
        "params.levels: levels is never used: cgc has levels = 1 "
        "(fix: remove it, or add an architecture that varies it (ml-mmoe, ple, adatt, cross-stitch))",
    ),
    (
        "params:\n  architecture: mmoe\n  specific_experts: 2\n",
        "params.specific_experts: specific_experts is never used: mmoe has specific_experts = 0 "
        "(fix: remove it, or add an architecture that varies it (single-task, cgc, ple, adatt))",
    ),
    # explicit conditions
    (
        A + "  gate_dropout: {type: float, low: 0.0, high: 0.2, when: {expert_depth: [2]}}\n",
        "params.gate_dropout.when.expert_depth: expert_depth is not in this search space "
        "(fix: add expert_depth or remove the condition)",
    ),
    (
        A + "  lr: {type: float, low: 0.001, high: 0.1, when: {batch_size: [256]}}\n"
        "  batch_size: {type: categorical, choices: [256, 512]}\n",
        "params.lr.when.batch_size: batch_size is decided after lr "
        "(fix: condition on a parameter decided before lr: " + ", ".join(PARAM_NAMES[: PARAM_NAMES.index("lr")]) + ")",
    ),
    (
        "params:\n  architecture: {type: categorical, choices: [mmoe, ple]}\n"
        "  levels: {type: int, low: 1, high: 3}\n"
        "  dropout: {type: float, low: 0.0, high: 0.2, when: {levels: [2]}}\n",
        "params.dropout.when.levels: levels is absent for mmoe, so the condition could not be decided "
        "(fix: condition on a parameter every trial sets)",
    ),
    (
        A + "  dropout: {type: float, low: 0.0, high: 0.2, when: {architecture: [cgc]}}\n",
        "params.dropout.when.architecture: architecture can never be 'cgc' "
        "(fix: use values architecture can take: ple)",
    ),
    (
        A + "  loss_weight: 2.0\n  lr: {type: float, low: 0.001, high: 0.1, when: {loss_weight: [2.0]}}\n",
        "params.lr.when.loss_weight: cannot depend on the per-task parameter loss_weight "
        "(fix: condition on a parameter set once per trial)",
    ),
    (
        A + "  dropout: {type: float, low: 0.0, high: 0.2}\n"
        "  gate_dropout: {type: float, low: 0.0, high: 0.2, when: {dropout: [0.1]}}\n",
        "params.gate_dropout.when.dropout: dropout is continuous "
        "(fix: condition on a categorical, integer or fixed parameter)",
    ),
    (
        A + "  dropout: {type: float, low: 0.0, high: 0.2, when: [architecture]}\n",
        "params.dropout.when: expected a mapping of earlier parameters to values, got ['architecture'] "
        "(fix: e.g. when: {architecture: [cgc, ple]})",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_invalid_space_is_one_line_naming_file_field_and_fix(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(MtlsearchError) as caught:
        load_search_space(path)
    assert str(caught.value) == f"{path}: {message}"
    assert "\n" not in str(caught.value)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "params: {architecture: ple\n")
    with pytest.raises(MtlsearchError) as caught:
        load_search_space(path)
    assert str(caught.value).startswith(f"{path}: malformed YAML at line 2, column 1:")
    assert str(caught.value).endswith("(fix: fix the YAML syntax)")


def test_a_stored_space_is_validated_like_a_file() -> None:
    stored = load_search_space("ple").to_dict()
    stored["params"]["levels"] = {"type": "int", "low": 3, "high": 1}
    with pytest.raises(MtlsearchError) as caught:
        SearchSpace.from_dict(stored)
    assert (
        str(caught.value)
        == "search space 'ple': params.levels: inverted range: low 3 > high 1 (fix: swap low and high)"
    )
