"""Hypervolume on fronts whose volume is known exactly; the reference point; the stored history."""

from __future__ import annotations

import itertools
import json

import numpy as np
import optuna
import pytest

from mtlsearch.analysis import HYPERVOLUME_ATTR, HypervolumeRecorder, hypervolume, hypervolume_history, reference_point


@pytest.mark.parametrize(
    ("points", "reference", "directions", "expected"),
    [
        ([[1.0, 1.0]], [3.0, 2.0], ["minimize", "minimize"], 2.0),
        # A staircase: union of [1,4]x[3,4], [2,4]x[2,4], [3,4]x[1,4] = 3 + 2*2 - 2 ... counted by hand: 6.
        ([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]], [4.0, 4.0], ["minimize", "minimize"], 6.0),
        # Dominated and duplicate points add nothing.
        ([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0], [2.0, 2.0]], [4.0, 4.0], ["minimize", "minimize"], 6.0),
        # Points not strictly better than the reference add nothing.
        ([[1.0, 1.0], [0.5, 5.0]], [2.0, 2.0], ["minimize", "minimize"], 1.0),
        # AUC up, MSE down: (0.8, 0.2) and (0.6, 0.1) against (0.5, 0.3): 0.3*0.1 + 0.1*0.1.
        ([[0.8, 0.2], [0.6, 0.1]], [0.5, 0.3], ["maximize", "minimize"], 0.04),
        # 3-D: a unit cube at the origin against (2, 2, 2) is 8; two boxes overlapping in a known way.
        ([[0.0, 0.0, 0.0]], [2.0, 2.0, 2.0], ["minimize"] * 3, 8.0),
        ([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], [2.0, 2.0, 2.0], ["minimize"] * 3, 4.0),
        ([[1.0, 1.0, 1.0, 1.0]], [2.0, 3.0, 4.0, 5.0], ["minimize"] * 4, 24.0),
        ([], [1.0, 1.0], ["minimize", "minimize"], 0.0),
    ],
)
def test_hypervolume_of_known_fronts(points, reference, directions, expected):
    assert hypervolume(points, reference, directions) == pytest.approx(expected, abs=1e-12)


def test_three_boxes_by_inclusion_exclusion():
    # Each point dominates a box of volume 2*1*1... computed independently by inclusion-exclusion on a grid.
    points = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.5, 0.5, 1.5]])
    reference = np.array([2.0, 2.0, 2.0])
    grid = (np.arange(40) + 0.5) / 20  # cell centres of a 0.05 grid, exact for these half-integer boxes
    cells = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    covered = (cells[:, None, :] >= points[None]).all(-1).any(-1)
    assert hypervolume(points, reference, ["minimize"] * 3) == pytest.approx(covered.mean() * 8.0)


@pytest.mark.parametrize(("k", "n"), list(itertools.product((2, 3, 4), (3, 12))))
def test_matches_slicing_by_brute_force_monte_carlo_free_grid(k, n):
    """Integer fronts: the volume equals the count of covered unit cells, counted directly."""
    rng = np.random.default_rng(k * 100 + n)
    points = rng.integers(0, 5, size=(n, k)).astype(float)
    reference = np.full(k, 5.0)
    cells = np.stack(np.meshgrid(*[np.arange(5) + 0.5] * k, indexing="ij"), -1).reshape(-1, k)
    covered = (cells[:, None, :] >= points[None]).all(-1).any(-1).sum()
    assert hypervolume(points, reference, ["minimize"] * k) == pytest.approx(float(covered))
    flipped = hypervolume(-points, -reference, ["maximize"] * k)
    assert flipped == pytest.approx(float(covered))


def test_reference_point_is_worst_value_plus_margin():
    values = [[0.6, 0.2], [0.8, 0.4]]
    assert reference_point(values, ["maximize", "minimize"], margin=0.1) == pytest.approx([0.58, 0.42])
    assert reference_point([[0.7, 0.3]], ["maximize", "minimize"], margin=0.1) == pytest.approx(
        [0.63, 0.33]
    )  # one value each: margin of its size
    with pytest.raises(ValueError):
        hypervolume([[1.0, 1.0]], [2.0], ["minimize", "minimize"])


def _toy(trial: optuna.Trial) -> tuple[float, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    return x, (1.0 - x) ** 2


def test_recorder_writes_a_non_decreasing_history_and_a_dashboard_plot():
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(_toy, n_trials=8, callbacks=[HypervolumeRecorder([0.0, 1.0])])
    record = study.user_attrs[HYPERVOLUME_ATTR]
    assert record["reference"] == [0.0, 1.0]
    assert [n for n, _ in record["history"]] == list(range(8))
    values = [v for _, v in record["history"]]
    assert all(b >= a for a, b in itertools.pairwise(values)) and values[-1] > 0
    final = hypervolume([t.values for t in study.trials], [0.0, 1.0], ["maximize", "minimize"])
    assert values[-1] == pytest.approx(final)
    system = study._storage.get_study_system_attrs(study._study_id)
    chunks = sorted((k for k in system if k.startswith("dashboard:plot_data:hypervolume-history:")), key=len)
    figure = json.loads("".join(system[k] for k in chunks))
    assert figure["data"][0]["y"] == values


def test_history_derives_one_reference_for_all_entries():
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(_toy, n_trials=5)
    record = hypervolume_history(study.trials, ["maximize", "minimize"])
    assert record["reference"] == pytest.approx(
        reference_point([t.values for t in study.trials], ["maximize", "minimize"])
    )
    assert len(record["history"]) == 5
