"""The LightningModule and ``train``: masked losses, dynamic weights, determinism, early stopping."""

from __future__ import annotations

import math

import pytest
import torch

from mtlsearch.config import run_config_from_dict
from mtlsearch.data import TaskSpec
from mtlsearch.training import TrainingDiverged, task_losses, task_metrics, train


def tiny_config(**training):
    return run_config_from_dict(
        {
            "model": {"architecture": "cgc", "expert_hidden": [8], "tower_hidden": [4]},
            "training": {"epochs": 2, "batch_size": 16, **training},
        }
    )


def test_masked_loss_ignores_samples_outside_the_sample_space():
    logits = torch.tensor([[0.0, 1.0], [0.0, 100.0]])
    labels = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    masks = torch.tensor([[1.0, 1.0], [1.0, 0.0]])  # row 1 is outside task 1's space
    losses = task_losses(logits, labels, masks, torch.tensor([True, False]))
    assert losses[1].item() == pytest.approx(0.0)  # (1 - 1)^2 on row 0 only; the 100 is ignored
    assert losses[0].item() == pytest.approx(math.log(2.0))
    changed = task_losses(logits + torch.tensor([[0.0, 0.0], [0.0, -50.0]]), labels, masks, torch.tensor([True, False]))
    assert changed[1] == losses[1]


def test_metrics_use_each_task_space_and_name_keys_by_task():
    tasks = (TaskSpec("click", "binary"), TaskSpec("watch", "regression"))
    logits = torch.tensor([[2.0, 0.5], [-2.0, 9.0], [1.0, 0.5]])
    labels = torch.tensor([[1.0, 0.5], [0.0, 0.0], [0.0, 1.5]])
    masks = torch.tensor([[True, True], [True, False], [True, True]])
    metrics = task_metrics(tasks, logits, labels, masks)
    assert metrics["click/auc"] == pytest.approx(1.0)
    assert metrics["watch/mse"] == pytest.approx((0.0 + 1.0) / 2)
    assert set(metrics) == {"click/auc", "click/logloss", "watch/mse", "loss"}


def test_training_is_deterministic_for_a_seed(tiny_data):
    first = train(tiny_config(), tiny_data)
    second = train(tiny_config(), tiny_data)
    assert first.validation == second.validation
    assert first.test == second.test
    other_seed = train(run_config_from_dict({**tiny_config().to_dict(), "seed": 1}), tiny_data)
    assert other_seed.validation != first.validation


def test_dynamic_weights_follow_w0_times_gamma_to_the_epoch(tiny_data, monkeypatch):
    """The weights the training step uses at epoch t are w0 * gamma ** t."""
    seen = {}
    config = run_config_from_dict(
        {
            **tiny_config(epochs=3, patience=0).to_dict(),
            "tasks": [{"name": "t0", "weight": 2.0, "decay": 0.5}, {"name": "t1", "weight": 0.5, "decay": 1.0}],
        }
    )
    from mtlsearch.training import MultiTaskModule

    original = MultiTaskModule.training_step

    def spy(self, batch, batch_idx):
        seen[self.current_epoch] = self._epoch_weights.tolist()
        return original(self, batch, batch_idx)

    monkeypatch.setattr(MultiTaskModule, "training_step", spy)
    train(config, tiny_data)
    assert seen == {0: [2.0, 0.5], 1: [1.0, 0.5], 2: [0.5, 0.5]}


def test_zero_weight_task_does_not_train_its_tower(tiny_data):
    config = run_config_from_dict(
        {**tiny_config().to_dict(), "tasks": [{"name": "t0", "weight": 1.0}, {"name": "t1", "weight": 0.0}]}
    )
    torch.manual_seed(0)
    result = train(config, tiny_data)
    import pytorch_lightning as pl

    from mtlsearch.models import MultiTaskNetwork

    pl.seed_everything(config.seed, verbose=False)
    initial = MultiTaskNetwork(config.model, tiny_data.features, 2)
    tower = result.network.towers.layers[-1].weight
    start = initial.towers.layers[-1].weight
    assert torch.equal(tower[1], start[1])  # task t1's tower never moved
    assert not torch.equal(tower[0], start[0])


def test_early_stopping_keeps_the_best_epoch(tiny_data):
    result = train(tiny_config(epochs=30, patience=2, lr=0.05), tiny_data)
    assert result.epochs < 30
    best = min(result.history, key=lambda h: h["loss"])
    assert result.best_epoch == best["epoch"]
    assert result.epochs - 1 - result.best_epoch == 2
    assert result.validation == {k: v for k, v in best.items() if k != "epoch"}


def test_monitor_by_auc_maximises(tiny_data):
    result = train(tiny_config(epochs=4, patience=0, monitor="t0/auc", lr=0.05), tiny_data)
    assert result.validation["t0/auc"] == max(h["t0/auc"] for h in result.history)


def test_unknown_monitor_is_a_clear_error(tiny_data):
    from mtlsearch.errors import MtlsearchError

    with pytest.raises(MtlsearchError, match="training.monitor.*use one of loss, t0/auc"):
        train(tiny_config(monitor="t0/mse"), tiny_data)


def test_diverging_training_raises_training_diverged(tiny_data):
    with pytest.raises(TrainingDiverged, match="training loss is nan"):
        train(tiny_config(lr=1e30, optimizer="sgd", epochs=3), tiny_data)


def test_result_reports_parameters_history_and_time(tiny_data):
    result = train(tiny_config(), tiny_data)
    assert result.n_parameters == sum(p.numel() for p in result.network.parameters())
    assert [h["epoch"] for h in result.history] == [0, 1]
    assert result.train_seconds > 0


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_lr_schedule_sets_the_lr_of_every_step(tiny_data, monkeypatch, schedule):
    """Cosine anneals per batch from lr to 0 over all planned epochs; constant keeps lr."""
    from mtlsearch.training import _module

    seen: list[float] = []
    make_optimizer = _module.make_optimizer

    def recording_optimizer(config, params):
        optimizer = make_optimizer(config, params)
        optimizer.register_step_pre_hook(lambda opt, args, kwargs: seen.append(opt.param_groups[0]["lr"]))
        return optimizer

    monkeypatch.setattr(_module, "make_optimizer", recording_optimizer)
    train(tiny_config(epochs=2, patience=0, lr=0.05, lr_schedule=schedule), tiny_data)
    steps = len(seen)
    assert steps == 2 * math.ceil(len(tiny_data.train) / 16)
    cosine = [(1 + math.cos(math.pi * i / steps)) / 2 for i in range(steps)]
    factors = [1.0] * steps if schedule == "constant" else cosine
    assert seen == pytest.approx([0.05 * f for f in factors])


def test_unknown_lr_schedule_is_a_clear_error():
    from mtlsearch.errors import MtlsearchError

    with pytest.raises(MtlsearchError, match="unknown lr_schedule 'step'"):
        tiny_config(lr_schedule="step")


def test_training_shows_no_warning_users_cannot_act_on(tiny_data):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(tiny_config(), tiny_data)
    assert not [w for w in caught if "LeafSpec" in str(w.message)]


# --- the Lightning step path (issue 15): the same update as a hand loop, fewer calls a step ----------


def _hand_trained(config, data, weights, decays):
    """``MultiTaskModule``'s update written out as a plain loop: the same seed, network, batch
    order, balancing, optimiser and per-step schedule (what the Lightning path must reproduce)."""
    import pytorch_lightning as pl

    from mtlsearch.data import BatchLoader
    from mtlsearch.training import make_balancing, make_optimizer
    from mtlsearch.training._balancing import tower_input
    from mtlsearch.training._checks import build_network
    from mtlsearch.training._module import cosine_schedule

    pl.seed_everything(config.seed, verbose=False)
    network = build_network(config, data)
    balancing = make_balancing(config.training, data.tasks, network)
    groups = [{"params": list(network.parameters())}]
    if list(balancing.parameters()):
        groups.append({"params": list(balancing.parameters()), "weight_decay": 0.0})
    optimizer = make_optimizer(config.training, groups)
    loader = BatchLoader(data.train, config.training.batch_size, shuffle=True, seed=config.seed)
    epochs = config.training.epochs
    schedule = cosine_schedule(optimizer, epochs * len(loader)) if config.training.lr_schedule == "cosine" else None
    binary = torch.tensor([t.type == "binary" for t in data.tasks])
    network.train()
    for epoch in range(epochs):
        epoch_weights = torch.tensor(weights) * torch.tensor(decays) ** epoch
        for categorical, numeric, labels, masks in loader:
            with tower_input(network) as features:
                logits = network(categorical, numeric)
            losses = task_losses(logits, labels, masks.float(), binary)
            optimizer.zero_grad()
            balancing.backward(epoch_weights * losses, features[0])
            optimizer.step()
            balancing.after_step()
            if schedule is not None:
                schedule.step()
    return network, balancing


@pytest.mark.filterwarnings("ignore:.*no `val_dataloader`")
@pytest.mark.parametrize(
    "balancing, schedule",
    [("fixed", "constant"), ("fixed", "cosine"), ("uncertainty", "cosine"), ("gradnorm", "constant")],
)
def test_lightning_step_path_gives_the_hand_loops_weights(tiny_data, balancing, schedule):
    """Through ``Trainer.fit`` the module steps the plain optimiser and counts the steps itself:
    the weights must be exactly those of the hand-written update, and ``global_step`` the number
    of optimiser steps."""
    from mtlsearch.data import BatchLoader
    from mtlsearch.training import MultiTaskModule, make_trainer
    from mtlsearch.training._checks import build_network

    config = tiny_config(epochs=3, lr=0.02, loss_balancing=balancing, lr_schedule=schedule)
    weights, decays = [2.0, 0.5], [0.5, 1.0]
    import pytorch_lightning as pl

    pl.seed_everything(config.seed, verbose=False)
    network = build_network(config, tiny_data)
    module = MultiTaskModule(network, tiny_data.tasks, config.training, weights, decays)
    loader = BatchLoader(tiny_data.train, 16, shuffle=True, seed=config.seed)
    trainer = make_trainer(config.training, limit_val_batches=0)
    trainer.fit(module, train_dataloaders=loader)

    assert module._step_progress is not None  # the plain optimiser was stepped
    assert trainer.global_step == 3 * len(loader)
    hand, hand_balancing = _hand_trained(config, tiny_data, weights, decays)
    for (name, mine), theirs in zip(network.state_dict().items(), hand.state_dict().values()):
        assert torch.equal(mine, theirs), name
    for mine, theirs in zip(module.balancing.parameters(), hand_balancing.parameters()):
        assert torch.equal(mine, theirs)


@pytest.mark.filterwarnings("ignore:.*no `val_dataloader`")
def test_lightning_step_path_keeps_lightnings_optimizer_under_another_precision(tiny_data):
    """A precision plugin that steps the optimiser itself (here bf16 autocast) keeps Lightning's
    wrapper, which counts the steps: ``global_step`` is right either way."""
    from mtlsearch.data import BatchLoader
    from mtlsearch.training import MultiTaskModule, make_trainer
    from mtlsearch.training._checks import build_network

    config = tiny_config(epochs=2)
    module = MultiTaskModule(build_network(config, tiny_data), tiny_data.tasks, config.training, [1.0] * 2, [1.0] * 2)
    loader = BatchLoader(tiny_data.train, 16, shuffle=True, seed=0)
    trainer = make_trainer(config.training, limit_val_batches=0, precision="bf16-mixed")
    trainer.fit(module, train_dataloaders=loader)
    assert module._step_progress is None
    assert trainer.global_step == 2 * len(loader)


@pytest.mark.parametrize("balancing, captures", [("fixed", False), ("uncertainty", False), ("gradnorm", True)])
def test_towers_input_is_captured_only_for_a_method_that_reads_it(tiny_data, monkeypatch, balancing, captures):
    """The forward hook on the towers costs every step: only gradnorm and the TorchJD methods get it."""
    from mtlsearch.training import _module

    calls = []
    original = _module.tower_input

    def counting(network):
        calls.append(1)
        return original(network)

    monkeypatch.setattr(_module, "tower_input", counting)
    train(tiny_config(epochs=1, loss_balancing=balancing), tiny_data)
    assert bool(calls) is captures
