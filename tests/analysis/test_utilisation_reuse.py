"""Expert utilisation from the gate sums of the best epoch's validation equals a fresh pass."""

from __future__ import annotations

import pytest

from mtlsearch.analysis import expert_utilisation
from mtlsearch.config import run_config_from_dict
from mtlsearch.training import prepare_data, train


@pytest.mark.parametrize("lr", [0.3, 0.003])  # 0.3: an unstable run whose best epoch is not the last
def test_recorded_gate_sums_give_the_fresh_pass_utilisation(lr):
    config = run_config_from_dict(
        {
            "data": {"name": "synthetic-video", "options": {"n_samples": 600, "dim": 8}},
            "model": {"architecture": "ple", "levels": 2, "specific_experts": 2, "shared_experts": 2,
                      "expert_hidden": [4], "tower_hidden": [4]},
            "training": {"epochs": 4, "batch_size": 64, "lr": lr, "patience": 0},
        }
    )  # fmt: skip
    data = prepare_data(config)
    result = train(config, data)
    assert lr != 0.3 or result.best_epoch < result.epochs - 1  # the sums must be the best epoch's
    assert result.validation_gates is not None and result.validation_gates.rows == len(data.validation)
    fresh = expert_utilisation(result.network, data.validation, data.task_names)
    assert expert_utilisation(result.network, data.validation, data.task_names, sums=result.validation_gates) == fresh
