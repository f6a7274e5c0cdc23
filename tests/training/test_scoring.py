"""Test scoring outside Lightning gives exactly what Lightning's test loop gives."""

from __future__ import annotations

from mtlsearch.config import run_config_from_dict
from mtlsearch.data import BatchLoader
from mtlsearch.training import MultiTaskModule, make_trainer, prepare_data, train


def test_test_metrics_equal_lightnings_test_loop():
    config = run_config_from_dict(
        {
            "data": {"name": "synthetic-video", "options": {"n_samples": 600, "dim": 8}},
            "model": {"architecture": "ple", "expert_hidden": [4], "tower_hidden": [4]},
            "training": {"epochs": 1, "batch_size": 64, "eval_batch_size": 50},  # several test batches
        }
    )
    data = prepare_data(config)
    result = train(config, data)
    module = MultiTaskModule(result.network, data.tasks, config.training, [1.0, 1.0], [1.0, 1.0])
    trainer = make_trainer(config.training)
    trainer.test(module, dataloaders=BatchLoader(data.test, config.training.eval_batch_size), verbose=False)
    assert result.test == module.last_metrics
