"""The family-plus search end to end: AdaTT, cross-stitch and every loss balancing in one tiny study."""

from __future__ import annotations

import numpy as np
import optuna

from mtlsearch.analysis import UTILISATION_ATTR
from mtlsearch.search import load_study_config, optimize, pareto_trials, trial_row


def test_family_plus_trials_record_architecture_balancing_and_fusion_gates(tiny_template, tmp_path):
    space = {
        "params": {
            "architecture": {"type": "categorical", "choices": ["adatt", "cross-stitch"]},
            "levels": 2,
            "specific_experts": 2,
            "shared_experts": {"type": "int", "low": 0, "high": 1, "when": {"architecture": ["adatt"]}},
            "expert_width": 4,
            "tower_width": 4,
            "loss_balancing": {"type": "categorical", "choices": ["uncertainty", "gradnorm", "upgrad"]},
            "gradnorm_alpha": {"type": "float", "low": 0.5, "high": 3.0, "when": {"loss_balancing": ["gradnorm"]}},
            "batch_size": 128,
        }
    }
    path = tiny_template.write(tmp_path, space=space, n_trials=4, training={"epochs": 1})
    study = optimize(str(path), storage=f"sqlite:///{tmp_path / 'db.sqlite'}")
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) == 4
    for trial in done:
        config = trial.user_attrs["config"]
        assert config["model"]["architecture"] == trial.params["architecture"]
        assert config["training"]["loss_balancing"] == trial.params["loss_balancing"]
        assert ("gradnorm_alpha" in trial.params) == (trial.params["loss_balancing"] == "gradnorm")
        gates = trial.user_attrs[UTILISATION_ATTR]["levels"][0]["gates"]
        n_experts = len(trial.user_attrs[UTILISATION_ATTR]["levels"][0]["experts"])
        # AdaTT's fusion gates weight every expert of the level; cross-stitch's only the task's column
        width = n_experts if trial.params["architecture"] == "adatt" else 1
        assert all(len(gate["mean"]) == width for gate in gates)
    row = trial_row(study, pareto_trials(study)[0])
    assert row["loss_balancing"] in ("uncertainty", "gradnorm", "upgrad")
    # the report's heatmap of an AdaTT trial fills every (task gate, expert) cell of a level
    from mtlsearch.analysis._report import _utilisation_figure

    adatt = [t for t in done if t.params["architecture"] == "adatt"]
    assert adatt, "the random sampler with seed 0 draws AdaTT"
    grid = np.asarray(_utilisation_figure(adatt[0]).axes[0].images[0].get_array())
    assert grid.shape[1] == len(adatt[0].user_attrs[UTILISATION_ATTR]["levels"][0]["experts"])
    assert not np.isnan(grid).any()


def test_shipped_family_plus_studies_load():
    for name in ("family-plus", "census-family-plus", "video-4task-plus"):
        config = load_study_config(name)
        assert config.search_space == "family-plus"
