"""Loss balancing: each method does what its paper promises, and every one trains end to end."""

from __future__ import annotations

import math

import pytest
import torch

from mtlsearch.config import LOSS_BALANCING, TrainingConfig, run_config_from_dict
from mtlsearch.data import FeatureSpec, TaskSpec
from mtlsearch.errors import MtlsearchError
from mtlsearch.models import ARCHITECTURES, ModelConfig, MultiTaskNetwork
from mtlsearch.training import (
    BALANCING,
    GradNormBalancing,
    JacobianBalancing,
    UncertaintyBalancing,
    make_balancing,
    train,
)
from mtlsearch.training._balancing import tower_input


def test_every_configurable_method_has_a_class_and_no_more():
    from mtlsearch.training._balancing import AGGREGATORS, _aggregators

    assert tuple(BALANCING) == LOSS_BALANCING
    assert tuple(_aggregators()) == AGGREGATORS  # each TorchJD name has its aggregator class


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("loss_balancing", "nash", "unknown loss_balancing 'nash'"),
        ("gradnorm_alpha", -1.0, "gradnorm_alpha must be a number >= 0"),
    ],
)
def test_bad_balancing_settings_name_the_field(field, value, message):
    with pytest.raises(MtlsearchError, match=f"training.{field}") as info:
        run_config_from_dict({"training": {field: value}})
    assert message in str(info.value)


def _regression_pair(rows: int, noise: tuple[float, float], seed: int = 0):
    """Two regression tasks on the same inputs, the second with far noisier labels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 4, generator=g)
    clean = x @ torch.tensor([1.0, -1.0, 0.5, 0.0])
    y = torch.stack(
        [clean + noise[0] * torch.randn(rows, generator=g), clean + noise[1] * torch.randn(rows, generator=g)], 1
    )
    return x, y


def _network(n_tasks: int = 2, architecture: str = "shared-bottom") -> MultiTaskNetwork:
    torch.manual_seed(0)
    config = ModelConfig.create(architecture, expert_hidden=(8,), tower_hidden=(4,))
    return MultiTaskNetwork(config, FeatureSpec(numeric=("a", "b", "c", "d")), n_tasks)


def _losses(network, x, y, scale=(1.0, 1.0)):
    with tower_input(network) as features:
        logits = network(torch.zeros(len(x), 0, dtype=torch.long), x)
    return ((logits - y) ** 2).mean(0) * torch.tensor(scale), features[0]


def test_uncertainty_gives_the_noisier_task_the_lower_weight():
    x, y = _regression_pair(512, noise=(0.1, 2.0))
    network = _network()
    balancing = UncertaintyBalancing([False, False])
    optimizer = torch.optim.Adam([*network.parameters(), *balancing.parameters()], lr=0.03)
    for _ in range(300):
        optimizer.zero_grad()
        losses, features = _losses(network, x, y)
        balancing.backward(losses, features)
        optimizer.step()
    weights = balancing.task_weights()  # 0.5 * exp(-s_k)
    assert weights[1] < 0.5 * weights[0]
    # at the optimum exp(-s_k) = 1 / L_k (regression form 0.5 exp(-s) L + s / 2)
    losses, _ = _losses(network, x, y)
    torch.testing.assert_close(torch.exp(-balancing.log_variance.detach()), 1 / losses.detach(), rtol=0.2, atol=0.0)


def test_uncertainty_uses_kendalls_binary_form_for_binary_tasks():
    balancing = UncertaintyBalancing([True, False])
    with torch.no_grad():
        balancing.log_variance.copy_(torch.tensor([math.log(2.0), math.log(2.0)]))
    torch.testing.assert_close(balancing.task_weights(), torch.tensor([0.5, 0.25]))


def _linear_conflict(method: str):
    """Two linear losses of a shared 2-vector whose gradients conflict: g1 = (10, 1), g2 = (-1, 1).

    Returns the losses before and after one SGD step with ``method``'s update.
    """
    theta = torch.nn.Parameter(torch.zeros(2))
    g = torch.tensor([[10.0, 1.0], [-1.0, 1.0]])

    def losses():
        features = theta * 1.0  # the shared representation
        return g @ features, features

    training = TrainingConfig(loss_balancing=method)
    if method in ("fixed",):
        balancing = make_balancing(training, [], torch.nn.Module())
    else:
        balancing = JacobianBalancing(method, heads=[], shared=[theta])
    before, features = losses()
    balancing.backward(before, features)
    with torch.no_grad():
        theta -= 0.01 * theta.grad
    after, _ = losses()
    return before.detach(), after.detach()


def test_the_toy_step_is_conflicting_for_the_plain_sum():
    before, after = _linear_conflict("fixed")
    assert after[0] < before[0] and after[1] > before[1]  # summing increases task 2's loss


@pytest.mark.parametrize("method", ["pcgrad", "upgrad", "mgda"])
def test_gradient_aggregators_decrease_every_task_loss_on_a_conflicting_step(method):
    before, after = _linear_conflict(method)
    assert (after < before).all(), f"{method}: {before.tolist()} -> {after.tolist()}"


def test_jacobian_balancing_gives_each_tower_only_its_own_task_gradient():
    x, y = _regression_pair(64, noise=(0.1, 0.1))
    network = _network()
    balancing = make_balancing(TrainingConfig(loss_balancing="upgrad"), [], network)
    losses, features = _losses(network, x, y)
    balancing.backward(losses, features)
    expected = torch.autograd.grad(_losses(network, x, y)[0].sum(), list(network.towers.parameters()))
    for param, grad in zip(network.towers.parameters(), expected):
        torch.testing.assert_close(param.grad, grad)
    assert all(p.grad is not None for p in network.parameters())
    assert balancing.task_weights().shape == (2,)


def test_gradnorm_renormalises_and_pulls_the_gradient_norms_together():
    x, y = _regression_pair(256, noise=(0.1, 0.1))
    network = _network()
    balancing = GradNormBalancing(2, alpha=0.0)  # alpha 0: the target is equal gradient norms
    optimizer = torch.optim.Adam([*network.parameters(), *balancing.parameters()], lr=0.02)
    ratios = []
    for _ in range(150):
        optimizer.zero_grad()
        losses, features = _losses(network, x, y, scale=(1.0, 10.0))  # task 2's gradient is 10x larger
        balancing.backward(losses, features)
        optimizer.step()
        balancing.after_step()
        assert balancing.weights.sum().item() == pytest.approx(2.0)
        norms = balancing.last_gradient_norms
        ratios.append(float(norms[1] / norms[0]))
    assert abs(math.log(ratios[-1])) < 0.3 * abs(math.log(ratios[0]))
    assert balancing.weights[1] < balancing.weights[0]  # the task with the large gradient is damped


def test_gradnorm_target_follows_the_inverse_training_rate():
    """With equal gradient norms, the task that trained slower (higher L/L0) gets the larger target
    and so its weight grows (dL_grad/dw_k < 0)."""
    balancing = GradNormBalancing(2, alpha=1.0)
    features = torch.ones(1, 2, 1, requires_grad=True)
    balancing.backward((features.sum((0, 2)) * 1.0), features)  # L(0) = (1, 1)
    features2 = torch.ones(1, 2, 1, requires_grad=True)
    losses = features2.sum((0, 2)) - torch.tensor([0.5, 0.0])  # equal gradients; task 1 halved its loss
    balancing.backward(losses, features2)
    assert balancing.weights.grad[0] > 0 > balancing.weights.grad[1]


def test_tower_input_captures_the_shared_representation_and_removes_its_hook():
    network = _network(n_tasks=3, architecture="ple")
    with tower_input(network) as features:
        network(torch.zeros(5, 0, dtype=torch.long), torch.randn(5, 4))
    assert features[0].shape == (5, 3, 8)
    assert not network.towers._forward_pre_hooks


@pytest.mark.parametrize("method", LOSS_BALANCING)
def test_every_method_trains_end_to_end(method):
    config = run_config_from_dict(
        {
            "data": {"name": "synthetic-video", "options": {"n_samples": 400}},
            "model": {"architecture": "cgc", "expert_hidden": [8], "tower_hidden": [4]},
            "training": {"epochs": 1, "batch_size": 128, "loss_balancing": method},
        }
    )
    result = train(config)
    assert all(math.isfinite(v) for v in result.validation.values())
    assert result.config.training.loss_balancing == method


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
@pytest.mark.parametrize("method", ["gradnorm", "upgrad"])
def test_gradient_methods_reach_every_parameter_of_every_architecture(architecture, method):
    torch.manual_seed(0)
    rule = ARCHITECTURES[architecture]
    sizes = {
        k: v for k, v in {"levels": 2, "specific_experts": 2, "shared_experts": 1}.items() if getattr(rule, k) is None
    }
    config = ModelConfig.create(architecture, expert_hidden=(6,), tower_hidden=(4,), **sizes)
    features = FeatureSpec(categorical=("c",), vocab_sizes=(5,), numeric=("a", "b", "c", "d"))
    network = MultiTaskNetwork(config, features, 3)
    tasks = [TaskSpec(f"t{k}", "regression") for k in range(3)]
    balancing = make_balancing(TrainingConfig(loss_balancing=method), tasks, network)
    g = torch.Generator().manual_seed(1)
    categorical, numeric = torch.randint(0, 5, (16, 1), generator=g), torch.randn(16, 4, generator=g)
    with tower_input(network) as captured:
        logits = network(categorical, numeric)
    losses = ((logits - torch.randn(16, 3, generator=g)) ** 2).mean(0)  # (T,)
    balancing.backward(losses, captured[0])
    for name, param in network.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
