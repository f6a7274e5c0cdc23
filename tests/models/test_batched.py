"""The batched layers against a plain reference (one linear layer per slot), and the whole network
against the einsum formulation it was first written in."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from mtlsearch.data import FeatureSpec
from mtlsearch.models import BatchedLinear, BatchedMLP, ModelConfig, MultiTaskNetwork


def reference_linear(layer: BatchedLinear, x: torch.Tensor) -> torch.Tensor:
    """``(B, d)`` or ``(B, n, d)`` -> ``(B, n, d_out)``, one slot at a time."""
    n = layer.weight.shape[0]
    inputs = [x if x.dim() == 2 else x[:, i] for i in range(n)]
    return torch.stack([inputs[i] @ layer.weight[i] + layer.bias[i] for i in range(n)], 1)


@pytest.mark.parametrize("shared_input", [True, False])
def test_batched_linear_matches_one_layer_per_slot(shared_input):
    torch.manual_seed(0)
    layer = BatchedLinear(3, 5, 4)
    x = torch.randn(7, 5) if shared_input else torch.randn(7, 3, 5)
    out = layer(x)
    assert out.shape == (7, 3, 4)
    torch.testing.assert_close(out, reference_linear(layer, x), rtol=0, atol=1e-6)
    if not shared_input:  # the layer-major entry point is the same map on (n, B, d)
        torch.testing.assert_close(layer.forward_layer_major(x.transpose(0, 1)).transpose(0, 1), out)


@pytest.mark.parametrize("last_activation", [True, False])
@pytest.mark.parametrize("shared_input", [True, False])
def test_batched_mlp_matches_one_mlp_per_slot(shared_input, last_activation):
    torch.manual_seed(0)
    mlp = BatchedMLP(3, 5, (6, 4, 2), dropout=0.0, last_activation=last_activation)
    x = torch.randn(7, 5) if shared_input else torch.randn(7, 3, 5)
    expected = x
    for i, layer in enumerate(mlp.layers):
        expected = reference_linear(layer, expected)
        if i < len(mlp.layers) - 1 or last_activation:
            expected = F.relu(expected)
    out = mlp(x)
    assert out.shape == (7, 3, 2)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    assert (out < 0).any() != last_activation  # the last ReLU is there exactly when asked for


def test_batched_mlp_dropout_only_in_training():
    torch.manual_seed(0)
    mlp = BatchedMLP(2, 4, (64,), dropout=0.5, last_activation=True)
    x = torch.randn(32, 4)
    assert torch.equal(mlp.eval()(x), mlp(x))
    train_out = mlp.train()(x)
    assert (train_out == 0).float().mean() > (mlp.eval()(x) == 0).float().mean()


def reference_forward(net: MultiTaskNetwork, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
    """The network's forward as first written (expert-input gather, einsum layers and mixing), from
    its parameters: the yardstick for the fused rewrite at sizes the stored forwards do not reach."""

    def mlp(m: BatchedMLP, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(m.layers):
            eq = "bd,ndh->bnh" if x.dim() == 2 else "bnd,ndh->bnh"
            x = torch.einsum(eq, x, layer.weight) + layer.bias
            if i < len(m.layers) - 1 or m.last_activation:
                x = F.relu(x)
        return x

    x = net._inputs(categorical, numeric)  # (B, d) or (B, T, d)
    tasks_in, shared_in = x, (x if x.dim() == 2 else None)
    for level in net.levels:
        m_k, m_s, n_tasks = level.m_k, level.m_s, level.n_tasks
        if tasks_in.dim() == 2:
            expert_in, gate_tasks, gate_shared = tasks_in, tasks_in, tasks_in
        else:
            slots = tasks_in if shared_in is None else torch.cat([tasks_in, shared_in.unsqueeze(1)], 1)
            owner = torch.tensor([k for k in range(n_tasks) for _ in range(m_k)] + [n_tasks] * m_s)
            expert_in, gate_tasks, gate_shared = slots.index_select(1, owner), tasks_in, shared_in
        experts = mlp(level.experts, expert_in)  # (B, E, h)
        selected = experts.index_select(1, level.select.flatten()).view(experts.shape[0], n_tasks, m_k + m_s, -1)
        if level.task_gates is None:
            weights = selected.new_ones(selected.shape[:3])
        else:
            eq = "bd,ndh->bnh" if gate_tasks.dim() == 2 else "bnd,ndh->bnh"
            weights = torch.softmax(torch.einsum(eq, gate_tasks, level.task_gates.weight) + level.task_gates.bias, -1)
        new_tasks = torch.einsum("btn,btnh->bth", weights, selected)
        if level.has_shared_output:
            gate = level.shared_gate
            w = torch.softmax(gate_shared @ gate.weight[0] + gate.bias[0], -1) if gate is not None else None
            shared_in = experts[:, 0] if w is None else torch.einsum("be,beh->bh", w, experts)
        tasks_in = new_tasks
    return mlp(net.towers, tasks_in).squeeze(-1)  # (B, T)


@pytest.mark.parametrize(
    ("architecture", "sizes"),
    [
        ("ple", {"levels": 3, "specific_experts": 8, "shared_experts": 8}),  # gates of 16 and 24 experts
        ("ple", {"levels": 2, "specific_experts": 1, "shared_experts": 1}),
        ("ml-mmoe", {"levels": 2, "shared_experts": 20}),
        ("single-task", {"specific_experts": 17}),
    ],
)
def test_network_matches_the_einsum_formulation(architecture, sizes):
    """Both gate-softmax branches (under and from 16 experts) and every level kind, against the
    formulation the network was first written in."""
    torch.manual_seed(0)
    features = FeatureSpec(categorical=("c0", "c1"), vocab_sizes=(5, 7), numeric=("n0", "n1"))
    net = MultiTaskNetwork(ModelConfig.create(architecture, expert_hidden=(12,), **sizes), features, 2).eval()
    categorical = torch.stack([torch.randint(0, 5, (64,)), torch.randint(0, 7, (64,))], 1)
    numeric = torch.randn(64, 2)
    with torch.no_grad():
        torch.testing.assert_close(
            net(categorical, numeric), reference_forward(net, categorical, numeric), rtol=0, atol=1e-5
        )
