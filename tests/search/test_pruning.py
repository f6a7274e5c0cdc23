"""Multi-objective early stopping: ranking on scripted vectors, the hook on a real storage, a tiny study."""

from __future__ import annotations

import math

import optuna
import pytest

from mtlsearch.cli import main
from mtlsearch.search import (
    EpochVectorPruner,
    PruningConfig,
    crowding_distances,
    load_study,
    pareto_ranks,
    rung_order,
    rung_resources,
    survives_rung,
)

MAX_MIN = ["maximize", "minimize"]  # AUC up, MSE down
STATES = optuna.trial.TrialState


# --- pure ranking and decisions ---------------------------------------------------------------


def test_pareto_ranks_peel_fronts_in_order():
    points = [(1, 5), (2, 2), (5, 1), (3, 3), (4, 4), (6, 6), (2, 2)]
    assert pareto_ranks(points) == [0, 0, 0, 1, 2, 3, 0]
    assert pareto_ranks([]) == []
    assert pareto_ranks([(1.0, 1.0, 1.0), (0.0, 2.0, 1.0), (1.0, 1.0, 2.0)]) == [0, 0, 1]


def test_crowding_distance_prefers_ends_and_isolated_points():
    # ends are infinite; an interior point adds (upper - lower neighbour) / span per objective
    front = [(0, 4), (1, 3), (2, 2), (5, 0)]
    distances = crowding_distances(front)
    assert distances[0] == distances[3] == math.inf
    assert distances[1] == pytest.approx((2 - 0) / 5 + (4 - 2) / 4)
    assert distances[2] == pytest.approx((5 - 1) / 5 + (3 - 0) / 4)
    # equal points get equal distances whatever their order; a constant objective adds nothing
    assert crowding_distances([(1, 0), (0, 0), (1, 0), (2, 0)]) == [1.0, math.inf, 1.0, math.inf]
    assert crowding_distances([(3, 3), (3, 3)]) == [0.0, 0.0]


def test_rung_order_follows_the_study_directions():
    # as AUC (maximise) and MSE (minimise): (0.9, 0.1) dominates everything
    points = [(0.7, 0.3), (0.9, 0.1), (0.8, 0.5)]
    assert [rank for rank, _ in rung_order(points, MAX_MIN)] == [1, 0, 1]
    # the same numbers with both minimised: (0.7, 0.3) now dominates (0.8, 0.5)
    assert [rank for rank, _ in rung_order(points, ["minimize", "minimize"])] == [0, 0, 1]
    # both maximised: (0.8, 0.5) is best on MSE-turned-score and not dominated
    assert [rank for rank, _ in rung_order(points, ["maximize", "maximize"])] == [1, 0, 0]


def test_rungs_count_completed_epochs_and_stop_before_the_last():
    assert rung_resources(1, 2, 4) == (1, 2)
    assert rung_resources(1, 2, 9) == (1, 2, 4, 8)
    assert rung_resources(1, 3, 10) == (1, 3, 9)
    assert rung_resources(2, 2, 9) == (2, 4, 8)
    assert rung_resources(4, 2, 4) == ()
    assert PruningConfig(rungs=(1, 3, 5)).rung_resources(5) == (1, 3)
    # the hook decides after epoch index rung - 1: rung 1 is the first epoch
    assert EpochVectorPruner(["a", "b"], PruningConfig(enabled=True, reduction_factor=2), epochs=4).rungs == (1, 2)
    assert EpochVectorPruner(["a", "b"], PruningConfig(enabled=True), epochs=4).rungs == (1, 3)  # eta 3 by default
    assert EpochVectorPruner(["a", "b"], PruningConfig(enabled=False), epochs=4).rungs == ()


# Scripted rung: 8 trials, AUC vs MSE. Front (rank 0): A, B, C, D; rank 1: E, F; rank 2: G; rank 3: H.
RUNG = {
    "A": (0.90, 0.40),  # front end (best AUC)
    "B": (0.75, 0.20),  # front, interior, in the middle: crowding distance 1.91
    "C": (0.89, 0.38),  # front, interior, crowded next to A: crowding distance 1.07
    "D": (0.60, 0.05),  # front end (best MSE)
    "E": (0.70, 0.30),
    "F": (0.55, 0.10),
    "G": (0.50, 0.50),
    "H": (0.40, 0.60),
}


def _decide(name: str, reduction_factor: int, min_trials: int = 4) -> bool:
    others = [v for k, v in RUNG.items() if k != name]
    return survives_rung(RUNG[name], others, MAX_MIN, reduction_factor=reduction_factor, min_trials=min_trials)


def test_scripted_rung_has_the_expected_ranks():
    keys = dict(zip(RUNG, rung_order(list(RUNG.values()), MAX_MIN)))
    assert {k: rank for k, (rank, _) in keys.items()} == {
        "A": 0,
        "B": 0,
        "C": 0,
        "D": 0,
        "E": 1,
        "F": 1,
        "G": 2,
        "H": 3,
    }
    assert keys["A"][1] == keys["D"][1] == -math.inf  # ends of the front
    assert keys["B"][1] == pytest.approx(-(0.29 / 0.30 + 0.33 / 0.35))
    assert keys["C"][1] == pytest.approx(-(0.15 / 0.30 + 0.20 / 0.35))  # more crowded than B: sorts after it


@pytest.mark.parametrize(
    ("reduction_factor", "survivors"),
    [
        (2, {"A", "B", "C", "D"}),  # keep 8 // 2 = 4: the whole front
        (3, {"A", "D"}),  # keep 8 // 3 = 2: the two ends (infinite crowding distance), not B
        (4, {"A", "D"}),  # keep 2 again
        (8, {"A", "D"}),  # keep 1: both ends tie at infinity, a tie goes in the trial's favour
    ],
)
def test_scripted_rung_keeps_the_best_fraction(reduction_factor, survivors):
    assert {k for k in RUNG if _decide(k, reduction_factor)} == survivors


def test_crowding_breaks_ties_inside_a_front():
    # keep 3 of 6 from a single front: the two ends, then the least crowded interior point
    front = {"a": (0.9, 0.9), "b": (0.8, 0.5), "c": (0.79, 0.49), "d": (0.6, 0.3), "e": (0.59, 0.29), "f": (0.3, 0.1)}
    assert [rank for rank, _ in rung_order(list(front.values()), MAX_MIN)] == [0] * 6
    kept = {
        k
        for k, v in front.items()
        if survives_rung(v, [w for j, w in front.items() if j != k], MAX_MIN, reduction_factor=2, min_trials=1)
    }
    # crowding distances: b 0.70, c 0.58, d 0.58, e 0.75
    assert kept == {"a", "f", "e"}


def test_no_pruning_before_min_trials_reached_the_rung():
    worst, others = RUNG["H"], [RUNG["A"], RUNG["B"]]
    assert survives_rung(worst, others, MAX_MIN, reduction_factor=2, min_trials=4)
    assert not survives_rung(worst, others, MAX_MIN, reduction_factor=2, min_trials=3)
    assert not survives_rung(worst, [*others, RUNG["C"]], MAX_MIN, reduction_factor=2, min_trials=4)


def test_non_finite_vectors_are_left_out_of_the_comparison():
    nan = (float("nan"), 0.1)
    # the NaN trials do not count towards min_trials, nor do they outrank anyone
    assert survives_rung(RUNG["H"], [RUNG["A"], nan, nan], MAX_MIN, reduction_factor=2, min_trials=3)
    assert survives_rung(nan, [RUNG["A"], RUNG["B"], RUNG["C"]], MAX_MIN, reduction_factor=2, min_trials=1)


# --- the hook on a real storage -----------------------------------------------------------------


@pytest.fixture(params=["inmemory", "sqlite"])
def storage(request, tmp_path):
    return None if request.param == "inmemory" else f"sqlite:///{tmp_path / 'hook.db'}"


def _trial_with(study: optuna.Study, curve: dict[str, list[float]], state) -> None:
    trial = study.ask()
    trial.set_user_attr("intermediate", curve)
    if state is not STATES.RUNNING:
        study.tell(trial, curve[max(curve, key=int)] if state is STATES.COMPLETE else None, state=state)


def _run_hook(study, config: PruningConfig, epochs: int, vectors: list[list[float]]):
    """Feed ``vectors`` epoch by epoch to a new trial's hook; return the trial and the epoch it stopped at."""
    trial = study.ask()
    callback = EpochVectorPruner(["vtr/auc", "vcr/mse"], config, epochs=epochs)(trial)
    for epoch, (auc, mse) in enumerate(vectors):
        try:
            callback(epoch, {"vtr/auc": auc, "vcr/mse": mse, "loss": 1.0})
        except optuna.TrialPruned:
            study.tell(trial, state=STATES.PRUNED)
            return trial, epoch
    study.tell(trial, vectors[-1])
    return trial, None


def test_hook_compares_with_complete_pruned_and_running_trials_at_the_same_epoch(storage):
    study = optuna.create_study(storage=storage, directions=MAX_MIN)
    _trial_with(study, {"0": [0.80, 0.20], "1": [0.85, 0.15], "2": [0.9, 0.1]}, STATES.COMPLETE)
    _trial_with(study, {"0": [0.78, 0.22]}, STATES.PRUNED)  # reached rung 1 only
    _trial_with(study, {"0": [0.79, 0.21], "1": [0.86, 0.14]}, STATES.RUNNING)  # another worker, past rung 2
    _trial_with(study, {"0": [0.99, 0.01]}, STATES.FAIL)  # failed trials are not compared
    config = PruningConfig(enabled=True, min_resource=1, reduction_factor=2, min_trials=4)

    # rung 1 (epoch 0): 4 trials, keep 2; this curve is second best, so it goes on to rung 2 (epoch 1),
    # where only 3 trials are there (< min_trials): it goes on, and completes its 4 epochs.
    trial, stopped = _run_hook(study, config, 4, [[0.795, 0.205], [0.5, 0.5], [0.6, 0.4], [0.7, 0.3]])
    frozen = study._storage.get_trial(trial._trial_id)
    assert stopped is None and frozen.state == STATES.COMPLETE
    assert frozen.user_attrs["intermediate"] == {
        "0": [0.795, 0.205],
        "1": [0.5, 0.5],
        "2": [0.6, 0.4],
        "3": [0.7, 0.3],
    }

    # now 4 trials reached epoch 1; a bad vector there is pruned at rung 2, after epoch index 1
    trial, stopped = _run_hook(study, config, 4, [[0.81, 0.19], [0.4, 0.6], [0.9, 0.1]])
    frozen = study._storage.get_trial(trial._trial_id)
    assert stopped == 1 and frozen.state == STATES.PRUNED and frozen.values is None
    assert frozen.user_attrs["pruned_at_epoch"] == 1 and frozen.user_attrs["pruned_rung"] == 2
    assert frozen.user_attrs["intermediate"] == {"0": [0.81, 0.19], "1": [0.4, 0.6]}
    assert frozen.user_attrs["train_seconds"] >= 0

    # the worst vector at epoch 0 is pruned at once: min_trials=6 counts the two PRUNED trials
    _, stopped = _run_hook(study, PruningConfig(enabled=True, min_trials=6), 4, [[0.1, 0.9], [0.9, 0.1]])
    assert stopped == 0
    # with pruning off it trains to the end, and the vectors are still recorded
    off = PruningConfig(enabled=False, min_trials=1)
    trial, stopped = _run_hook(study, off, 4, [[0.1, 0.9], [0.1, 0.9], [0.1, 0.9], [0.1, 0.9]])
    assert stopped is None and len(study._storage.get_trial(trial._trial_id).user_attrs["intermediate"]) == 4


def test_hook_never_prunes_at_the_last_epoch():
    study = optuna.create_study(directions=MAX_MIN)
    for _ in range(4):
        _trial_with(study, {str(e): [0.9, 0.1] for e in range(2)}, STATES.COMPLETE)
    config = PruningConfig(enabled=True, rungs=(1, 2), min_trials=1)
    _, stopped = _run_hook(study, config, 2, [[0.9, 0.1], [0.1, 0.9]])  # rung 2 == epochs: skipped
    assert stopped is None
    _, stopped = _run_hook(study, config, 3, [[0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    assert stopped == 1


# --- end to end on a tiny study ---------------------------------------------------------------------


def _write_study(tiny_template, folder, *, n_trials=6, **changes):
    """The tiny study with mmoe only, 4 epochs without early stopping, 6 trials."""
    return tiny_template.write(
        folder,
        params={"architecture": "mmoe"},
        drop=("levels", "specific_experts"),
        training={"epochs": 4, "patience": 0},
        n_trials=n_trials,
        **changes,
    )


def test_tiny_study_with_pruning_prunes_some_trials_by_the_rule(tiny_template, tmp_path):
    pruning = {"enabled": True, "min_resource": 1, "reduction_factor": 2, "min_trials": 2}
    storage = f"sqlite:///{tmp_path / 'on.db'}"
    study_file = _write_study(tiny_template, tmp_path, pruning=pruning)
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    trials = load_study("tiny", storage).trials
    pruned = [t for t in trials if t.state == STATES.PRUNED]
    assert len(trials) == 6 and pruned and len(pruned) < 6
    assert {t.state for t in trials} == {STATES.COMPLETE, STATES.PRUNED}
    for trial in trials:
        curve = trial.user_attrs["intermediate"]
        if trial.state == STATES.COMPLETE:
            assert sorted(curve, key=int) == ["0", "1", "2", "3"]
            assert trial.values == curve[str(trial.user_attrs["best_epoch"])]
            continue
        epoch = trial.user_attrs["pruned_at_epoch"]
        assert epoch in (0, 1) and sorted(curve, key=int) == [str(e) for e in range(epoch + 1)]
        assert trial.values is None and trial.user_attrs["train_seconds"] > 0
        # replay the decision: the trials started before it, at the same epoch
        others = _at(trials[: trial.number], epoch)
        assert not survives_rung(curve[str(epoch)], others, MAX_MIN, reduction_factor=2, min_trials=2)
    for trial in trials:  # every trial that went past a rung deserved to
        for epoch in (0, 1):
            if str(epoch + 1) in trial.user_attrs["intermediate"]:
                vector = trial.user_attrs["intermediate"][str(epoch)]
                others = _at(trials[: trial.number], epoch)
                assert survives_rung(vector, others, MAX_MIN, reduction_factor=2, min_trials=2)


def _at(trials, epoch: int) -> list[list[float]]:
    return [t.user_attrs["intermediate"][str(epoch)] for t in trials if str(epoch) in t.user_attrs["intermediate"]]


def test_tiny_study_without_pruning_trains_every_trial_to_the_end(tiny_template, tmp_path):
    storage = f"sqlite:///{tmp_path / 'off.db'}"
    study_file = _write_study(tiny_template, tmp_path, n_trials=2)
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 0
    trials = load_study("tiny", storage).trials
    assert [t.state for t in trials] == [STATES.COMPLETE] * 2
    for trial in trials:
        assert "pruned_at_epoch" not in trial.user_attrs
        assert sorted(trial.user_attrs["intermediate"], key=int) == ["0", "1", "2", "3"]
        history = {str(h["epoch"]): [h["vtr/auc"], h["vcr/mse"]] for h in trial.user_attrs["history"]}
        assert trial.user_attrs["intermediate"] == history


@pytest.mark.parametrize(
    ("pruning", "message"),
    [
        ({"enabled": True, "eta": 2}, "pruning.eta: unknown key 'eta'"),
        ({"reduction_factor": 1}, "pruning.reduction_factor: reduction_factor must be >= 2, got 1"),
        ({"min_resource": 0}, "pruning.min_resource: min_resource must be >= 1"),
        ({"min_trials": 0}, "pruning.min_trials: min_trials must be >= 1"),
        ({"min_trials": "four"}, "pruning.min_trials: expected an integer"),
        ({"enabled": "yes"}, "pruning.enabled: expected true or false"),
        ({"rungs": [2, 1]}, "pruning.rungs: rungs must be increasing"),
        ({"enabled": True, "min_resource": 4}, "pruning.min_resource: no rung before the last of training.epochs=4"),
        ({"enabled": True, "rungs": [4, 8]}, "pruning.rungs: no rung before the last"),
    ],
)
def test_bad_pruning_fields_fail_with_one_line(tiny_template, tmp_path, pruning, message, capsys):
    study_file = _write_study(tiny_template, tmp_path, pruning=pruning)
    storage = f"sqlite:///{tmp_path / 'bad.db'}"
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and str(study_file) in err, err
    assert not (tmp_path / "bad.db").exists()


@pytest.mark.slow
def test_pruning_works_across_worker_processes(tiny_template, tmp_path):
    pruning = {"enabled": True, "min_resource": 1, "reduction_factor": 2, "min_trials": 2}
    storage = f"sqlite:///{tmp_path / 'jobs.db'}"
    study_file = _write_study(tiny_template, tmp_path, pruning=pruning, n_trials=8)
    assert main(["optimize", "--study", str(study_file), "--storage", storage, "--jobs", "2", "--no-progress"]) == 0
    trials = load_study("tiny", storage).trials
    pruned = [t for t in trials if t.state == STATES.PRUNED]
    assert len(trials) == 8 and pruned and {t.state for t in trials} == {STATES.COMPLETE, STATES.PRUNED}
    for trial in pruned:
        epoch = trial.user_attrs["pruned_at_epoch"]
        assert sorted(trial.user_attrs["intermediate"], key=int) == [str(e) for e in range(epoch + 1)]
