"""MTL gain sign conventions (AUC up, MSE and logloss down) and the seesaw marks."""

from __future__ import annotations

import pytest

from mtlsearch.analysis import SEESAW_BEATEN, SEESAW_SHOWN, mtl_gain, seesaw


def test_auc_gain_is_mtl_minus_single():
    assert mtl_gain({"ctr/auc": 0.70}, {"ctr/auc": 0.68}, ["ctr/auc"]) == pytest.approx({"ctr/auc": 0.02})
    assert mtl_gain({"ctr/auc": 0.66}, {"ctr/auc": 0.68}, ["ctr/auc"]) == pytest.approx({"ctr/auc": -0.02})


@pytest.mark.parametrize("metric", ["mse", "logloss"])
def test_lower_is_better_gain_is_single_minus_mtl(metric):
    name = f"t/{metric}"
    assert mtl_gain({name: 0.10}, {name: 0.13}, [name]) == pytest.approx({name: 0.03})
    assert mtl_gain({name: 0.15}, {name: 0.13}, [name]) == pytest.approx({name: -0.02})


def test_ple_table_one_numbers():
    """PLE Table 1: PLE 0.6831 / 0.1307 against single-task 0.6787 / 0.1321 gains on both tasks."""
    gains = mtl_gain(
        {"vtr/auc": 0.6831, "vcr/mse": 0.1307}, {"vtr/auc": 0.6787, "vcr/mse": 0.1321}, ["vtr/auc", "vcr/mse"]
    )
    assert gains == pytest.approx({"vtr/auc": 0.0044, "vcr/mse": 0.0014})
    assert seesaw(gains) == SEESAW_BEATEN
    hard = mtl_gain(
        {"vtr/auc": 0.6740, "vcr/mse": 0.1320}, {"vtr/auc": 0.6787, "vcr/mse": 0.1321}, ["vtr/auc", "vcr/mse"]
    )
    assert seesaw(hard) == SEESAW_SHOWN


def test_missing_metrics_are_left_out_and_marks_need_two_tasks():
    assert mtl_gain({"a/auc": 0.7}, {}, ["a/auc"]) == {}
    assert seesaw({"a/auc": 0.1}) == ""
    assert seesaw({"a/auc": -0.1, "b/mse": -0.2}) == ""
    assert seesaw({"a/auc": 0.1, "b/mse": 0.0}) == ""
