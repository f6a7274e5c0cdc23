"""The batched layers against a plain reference: one ``nn.Linear``-style layer per slot."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from mtlsearch.models import BatchedLinear, BatchedMLP


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
