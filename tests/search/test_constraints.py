"""A study's ``constraints:``: stored per trial, fed to the sampler, kept off the front and out of export."""

from __future__ import annotations

import pytest

from mtlsearch.analysis import write_report
from mtlsearch.cli import main
from mtlsearch.errors import MtlsearchError
from mtlsearch.search import export_trial, infeasible_trials, load_study, load_study_config, pareto_trials, pick_trial

# Widths 4 and 64 make small and large networks: a 1,500-parameter budget splits them.
SPACE = {"expert_width": {"type": "categorical", "choices": [4, 64]}}
BUDGET = {"n_parameters": {"max": 1500}, "latency_ms": {"max": 10_000.0}}


@pytest.fixture(scope="module")
def constrained_study(tmp_path_factory, tiny_template):
    folder = tmp_path_factory.mktemp("constrained")
    study_file = tiny_template.write(
        folder, params=SPACE, constraints=BUDGET, sampler={"name": "tpe", "seed": 0}, n_trials=6
    )
    storage = f"sqlite:///{folder / 'tiny.db'}"
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    return folder, storage


def test_every_trial_stores_its_constraints_for_sampler_and_dashboard(constrained_study):
    _, storage = constrained_study
    study = load_study("tiny", storage)
    sizes = [t.user_attrs["n_parameters"] for t in study.trials]
    assert min(sizes) <= 1500 < max(sizes), sizes  # the budget splits this study's trials
    for trial in study.trials:
        record = trial.user_attrs["constraints"]
        assert record["n_parameters"]["value"] == trial.user_attrs["n_parameters"]
        assert 0 < record["latency_ms"]["value"] < 10_000
        # What the samplers read (Trial.set_constraint): value - max, feasible when <= 0
        assert trial.constraints["n_parameters"] == pytest.approx(trial.user_attrs["n_parameters"] - 1500)
        assert trial.user_attrs["feasible"] == (trial.user_attrs["n_parameters"] <= 1500)


def test_infeasible_trials_are_never_on_the_front_nor_exported(constrained_study, tmp_path, capsys):
    _, storage = constrained_study
    study = load_study("tiny", storage)
    infeasible = {t.number for t in infeasible_trials(study)}
    assert infeasible == {t.number for t in study.trials if not t.user_attrs["feasible"]}
    front = {t.number for t in pareto_trials(study)}
    assert front and not front & infeasible
    assert pick_trial(study, "knee").number not in infeasible
    history = study.user_attrs["hypervolume_history"]["history"]  # of the feasible front only
    assert history and not {number for number, _ in history} & infeasible
    assert main(["pareto", "--study", "tiny", "--storage", storage, "--format", "json"]) == 0
    assert "violation" in capsys.readouterr().out
    with pytest.raises(MtlsearchError, match=r"trial \d+ breaks the study's constraints \(n_parameters by"):
        export_trial("tiny", tmp_path / "x.yaml", storage=storage, trial=min(infeasible))
    assert not (tmp_path / "x.yaml").exists()


def test_the_report_shows_infeasible_trials_apart(constrained_study, tmp_path):
    _, storage = constrained_study
    text = write_report("tiny", tmp_path / "report.html", storage=storage).read_text()
    section = text[text.index('<section id="infeasible">') :]
    assert "Infeasible trials" in section and "n_parameters &lt;= 1500" in section
    assert "infeasible (constraints)" in text  # the front plot's legend


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"constraints": {"flops": {"max": 1}}}, "constraints.flops: unknown constraint 'flops'"),
        ({"constraints": {"n_parameters": {"min": 1}}}, "constraints.n_parameters.min: unknown key 'min'"),
        ({"constraints": {"n_parameters": {"max": -5}}}, "max must be a positive number"),
        (
            {"sampler": {"name": "tpe", "options": {"constraints_func": "my_module.f"}}},
            "sampler.options.constraints_func: sampler option 'constraints_func' needs a Python object",
        ),
    ],
)
def test_bad_constraints_are_refused_when_the_study_loads(tmp_path, tiny_template, change, message):
    study_file = tiny_template.write(tmp_path, **change)
    with pytest.raises(MtlsearchError) as error:
        load_study_config(str(study_file))
    assert message in str(error.value) and str(study_file) in str(error.value)
    if "constraints_func" in change.get("sampler", {}).get("options", {}):
        assert "constraints: {n_parameters: {max: 200000}" in str(error.value)


def test_constraints_change_the_fingerprint_only_when_set(tmp_path, tiny_template):
    plain = load_study_config(str(tiny_template.write(tmp_path)))
    empty = load_study_config(str(tiny_template.write(tmp_path, constraints={})))
    budget = load_study_config(str(tiny_template.write(tmp_path, constraints=BUDGET)))
    assert plain.fingerprint() == empty.fingerprint() != budget.fingerprint()
    assert budget.to_dict()["constraints"] == BUDGET  # stored with the study as plain data


@pytest.mark.parametrize(
    "sampler",
    [
        {"name": "tpe", "seed": 0, "options": {"n_startup_trials": 2}},
        {"name": "gp", "seed": 0, "options": {"n_startup_trials": 2}},
        {"name": "nsga2", "seed": 0, "options": {"population_size": 2}},
    ],
    ids=["tpe", "gp", "nsga2"],
)
def test_model_based_samplers_take_the_constraints_quietly(tiny_template, tmp_path, sampler):
    """Past their random start, TPE, GP and NSGA-II read the stored constraints (Optuna 5's
    ``Trial.set_constraint``); no deprecation or experimental warning reaches the user."""
    import warnings

    from mtlsearch.search import optimize

    study_file = tiny_template.write(tmp_path, params=SPACE, constraints=BUDGET, sampler=sampler, n_trials=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = optimize(str(study_file), storage=f"sqlite:///{tmp_path / 's.db'}")
    assert [str(w.message) for w in caught] == []
    assert len(study.trials) == 4 and all(t.constraints for t in study.trials)
