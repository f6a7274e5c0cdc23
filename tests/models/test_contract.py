"""Contract tests: the same checks for every architecture, no per-model branches."""

from __future__ import annotations

import pytest
import torch

from mtlsearch.config import run_config_from_dict
from mtlsearch.data import FeatureSpec
from mtlsearch.models import ARCHITECTURES, ModelConfig, MultiTaskNetwork
from mtlsearch.training import task_losses

FEATURES = FeatureSpec(categorical=("c0", "c1"), vocab_sizes=(4, 6), numeric=("n0", "n1", "n2"))
N_TASKS = 3
SIZES = {"levels": 3, "specific_experts": 2, "shared_experts": 3}


def config_for(architecture: str) -> ModelConfig:
    """Every free size set to a non-trivial value, so each architecture's full structure is exercised."""
    rule = ARCHITECTURES[architecture]
    free = {k: v for k, v in SIZES.items() if getattr(rule, k) is None}
    return ModelConfig.create(architecture, expert_hidden=(8, 6), tower_hidden=(5,), **free)


def inputs(batch: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    categorical = torch.stack(
        [torch.randint(0, 4, (batch,), generator=g), torch.randint(0, 6, (batch,), generator=g)], 1
    )
    return categorical, torch.randn(batch, 3, generator=g)


@pytest.fixture(params=list(ARCHITECTURES))
def network(request) -> MultiTaskNetwork:
    torch.manual_seed(0)
    return MultiTaskNetwork(config_for(request.param), FEATURES, N_TASKS)


def test_output_shape_is_batch_by_tasks(network):
    logits = network(*inputs(batch=16))
    assert logits.shape == (16, N_TASKS)
    assert torch.isfinite(logits).all()


def test_gate_weights_sum_to_one(network):
    network.eval()
    _, gates = network.forward_with_gates(*inputs())
    assert len(gates.tasks) == network.config.levels
    assert len(gates.shared) == sum(level.has_shared_output for level in network.levels)
    for weights in (*gates.tasks, *gates.shared):
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
    n_experts = N_TASKS * network.config.specific_experts + network.config.shared_experts
    for level, task_weights in zip(network.levels, gates.tasks):
        # each task gate weights the experts its level's ``select`` names, all of them valid
        assert task_weights.shape == (16, N_TASKS, level.select.shape[1])
        assert level.select.shape[0] == N_TASKS and 0 <= level.select.min() <= level.select.max() < n_experts
    for weights in gates.shared:
        assert weights.shape == (16, n_experts)


def test_loss_is_finite_and_gradients_reach_every_expert(network):
    categorical, numeric = inputs(batch=32)
    labels = torch.rand(32, N_TASKS).round()
    losses = task_losses(
        network(categorical, numeric), labels, torch.ones(32, N_TASKS), torch.tensor([True, False, True])
    )
    assert torch.isfinite(losses).all()
    losses.sum().backward()
    for level in network.levels:
        for layer in level.experts.layers:
            per_expert = layer.weight.grad.flatten(1).abs().sum(1)  # (E,)
            assert (per_expert > 0).all(), "an expert received no gradient"
    for name, param in network.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_config_round_trips_through_yaml_dict(network):
    config = run_config_from_dict({"model": {"architecture": network.config.architecture}})
    restored = run_config_from_dict(config.to_dict())
    assert restored == config
    model_only = run_config_from_dict({"model": {**config.to_dict()["model"], **sizes_of(network.config)}})
    assert model_only.model == network.config


def sizes_of(config: ModelConfig) -> dict:
    return {
        k: getattr(config, k) for k in ("levels", "specific_experts", "shared_experts", "expert_hidden", "tower_hidden")
    }


def test_tasks_do_not_share_weights_across_two_builds(network):
    twin = MultiTaskNetwork(network.config, FEATURES, N_TASKS)
    shared = {id(p) for p in network.parameters()} & {id(p) for p in twin.parameters()}
    assert not shared


def test_experts_are_one_batched_tensor_per_level(network):
    """Experts of one level are one (E, d_in, d_out) weight, not a list of modules."""
    config = network.config
    n_experts = N_TASKS * config.specific_experts + config.shared_experts
    for level in network.levels:
        assert level.experts.layers[0].weight.shape[0] == n_experts


def test_expert_utilisation_is_recorded_for_every_gate(network):
    from mtlsearch.analysis import expert_utilisation
    from mtlsearch.data import Split

    categorical, numeric = inputs(batch=24)
    split = Split(categorical, numeric, torch.zeros(24, N_TASKS), torch.ones(24, N_TASKS, dtype=torch.bool))
    stats = expert_utilisation(network, split, ["t0", "t1", "t2"])
    _, gates = network.eval().forward_with_gates(categorical, numeric)
    assert len(stats["levels"]) == network.config.levels
    for j, level in enumerate(stats["levels"]):
        task_gates = [g for g in level["gates"] if g["gate"] != "shared"]
        assert [g["gate"] for g in task_gates] == ["t0", "t1", "t2"]
        for k, gate in enumerate(task_gates):
            assert len(gate["experts"]) == len(gate["mean"]) == gates.tasks[j].shape[-1]
            assert gate["mean"] == pytest.approx(gates.tasks[j][:, k].mean(0).tolist(), abs=1e-5)


def test_single_task_networks_are_independent_per_task():
    net = MultiTaskNetwork(config_for("single-task"), FEATURES, N_TASKS)
    categorical, numeric = inputs(batch=8)
    net(categorical, numeric)[:, 0].sum().backward()
    # Only task 0's expert and tower and its own embedding table receive gradient.
    expert_grad = net.levels[0].experts.layers[0].weight.grad.flatten(1).abs().sum(1)
    assert expert_grad[0] > 0
    assert (expert_grad[SIZES["specific_experts"] :] == 0).all()
    tower_grad = net.towers.layers[0].weight.grad.flatten(1).abs().sum(1)
    assert tower_grad[0] > 0 and (tower_grad[1:] == 0).all()


@pytest.mark.parametrize(
    ("architecture", "sizes", "message"),
    [
        ("mmoe", {"specific_experts": 2}, "mmoe has specific_experts = 0"),
        ("cgc", {"levels": 2}, "cgc has levels = 1"),
        ("ple", {"shared_experts": 0}, "shared_experts must be an integer >= 1"),
        ("transformer", {}, "unknown architecture 'transformer'"),
        ("ple", {"expert_hidden": ()}, "expert_hidden is empty"),
        ("ple", {"dropout": 1.5}, "dropout must lie in [0, 1)"),
        ("ple", {"expert_width": 3}, "unknown model field 'expert_width'"),
    ],
)
def test_invalid_model_configs_name_the_field(architecture, sizes, message):
    from mtlsearch.errors import MtlsearchError

    with pytest.raises(MtlsearchError, match="model\\.") as info:
        ModelConfig.create(architecture, **sizes)
    assert message in str(info.value)
