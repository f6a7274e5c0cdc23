"""AdaTT and cross-stitch levels against a loop-by-loop statement of the reference equations.

The reference is facebookresearch/AdaTT ``mtl_lib.py`` (MIT): ``AdaTTWSharedExps`` (AdaTT with
shared experts), ``AdaTTSp`` (no shared experts) and ``CrossStitch``. Its code is not copied
here: ``reference_*`` below restate its forward passes one expert, gate and unit at a time
(``nn.Linear`` weights as ``(d_out, d_in)``, a Python loop per expert), with the parameters laid
out as the reference lays them out (``self_exp_weights[unit][layer]``). The batched levels get
the same weights and must agree to 1e-5 on random input.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from mtlsearch.data import FeatureSpec
from mtlsearch.models import ModelConfig, MultiTaskNetwork

D_IN, B = 7, 11


def _mlp(h: torch.Tensor, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    for weight, bias in layers:  # weight (d_out, d_in) as nn.Linear stores it
        h = F.relu(h @ weight.T + bias)  # the reference MLP: Linear then ReLU after every layer
    return h


def reference_adatt(x, experts, gates, self_exp_weights, n_tasks, m_k, m_s, res_connect=True):
    """``mtl_lib.py`` AdaTTWSharedExps (``m_s > 0``) / AdaTTSp (``m_s = 0``) forward, loop by loop.

    ``experts[l][e]``: list of (weight, bias) layers; ``gates[l][u]``: (weight (E, d), bias (E,));
    ``self_exp_weights[u]``: (levels or levels - 1, m_u) learned residual weights, or None.
    """
    n_levels = len(experts)
    sizes = [m_k] * n_tasks + ([m_s] if m_s else [])
    owner = [u for u, size in enumerate(sizes) for _ in range(size)]
    inputs = [x] * (n_tasks + (1 if m_s else 0))  # (B, d) per unit; the reference expands x
    for layer in range(n_levels):
        n_units = n_tasks + (1 if m_s and layer < n_levels - 1 else 0)
        outs = torch.stack([_mlp(inputs[owner[e]], experts[layer][e]) for e in range(len(owner))], 1)  # (B, E, h)
        gate = torch.stack(
            [torch.softmax(inputs[u] @ gates[layer][u][0].T + gates[layer][u][1], -1) for u in range(n_units)], 1
        )  # (B, units, E)
        if m_s:  # AdaTTWSharedExps: add the native-expert weights to the gates
            if res_connect:
                gate = gate.clone()
                start = 0
                for u in range(n_units):
                    stop = start + sizes[u]
                    if all(size == 1 for size in sizes):
                        gate[:, u, start:stop] += torch.ones(1, sizes[u])
                    else:
                        gate[:, u, start:stop] += self_exp_weights[u][layer].unsqueeze(0)
                    start = stop
            fused = torch.bmm(gate, outs)  # (B, units, h)
        else:  # AdaTTSp: gated fusion plus the residual of the task's own experts
            fused = torch.bmm(gate, outs)
            if res_connect:
                if m_k > 1:
                    own = torch.stack([self_exp_weights[t][layer] for t in range(n_tasks)])  # (T, m_k)
                    fused = fused + torch.einsum("te,bted->btd", own, outs.view(B, n_tasks, m_k, -1))
                else:
                    fused = fused + outs
        inputs = [fused[:, u] for u in range(fused.shape[1])]
    return torch.stack(inputs[:n_tasks], 1)  # (B, T, h)


def reference_cross_stitch(x, experts, stitches, n_tasks):
    """``mtl_lib.py`` CrossStitch forward: one column MLP per task, then Linear(T, T, bias=False)
    over the task axis."""
    columns = [x] * n_tasks
    for layer, stitch in enumerate(stitches):
        outs = torch.stack([_mlp(columns[t], experts[layer][t]) for t in range(n_tasks)], 1)  # (B, T, h)
        mixed = (outs.transpose(1, 2) @ stitch.T).transpose(1, 2)  # nn.Linear on the T axis
        columns = [mixed[:, t] for t in range(n_tasks)]
    return torch.stack(columns, 1)


def _network(architecture: str, n_tasks: int, **sizes) -> MultiTaskNetwork:
    torch.manual_seed(0)
    config = ModelConfig.create(architecture, expert_hidden=(6, 5), **sizes)
    return MultiTaskNetwork(config, FeatureSpec(numeric=tuple(f"x{i}" for i in range(D_IN))), n_tasks)


def _randomise(network: MultiTaskNetwork) -> None:
    """Weights far from their initial values, so that no term can vanish by accident."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in network.parameters():
            param.copy_(torch.randn(param.shape, generator=g) * 0.7)


def _levels_out(network: MultiTaskNetwork, x: torch.Tensor) -> torch.Tensor:
    tasks_in, shared_in = x, x
    for level in network.levels:
        tasks_in, shared_in, _, _ = level(tasks_in, shared_in)
    return tasks_in


def _expert_layers(level) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Per expert, its (weight (d_out, d_in), bias) layers, read from the stacked tensors."""
    n = level.experts.layers[0].weight.shape[0]
    return [[(layer.weight[e].T, layer.bias[e]) for layer in level.experts.layers] for e in range(n)]


ADATT_CASES = [
    # (n_tasks, levels, m_k, m_s): learned residuals, unit residuals, AdaTT-sp with and without learned ones
    (3, 3, 2, 2),
    (2, 2, 1, 1),
    (2, 3, 1, 3),
    (3, 2, 2, 0),
    (2, 2, 1, 0),
]


@pytest.mark.parametrize(("n_tasks", "levels", "m_k", "m_s"), ADATT_CASES)
def test_adatt_matches_the_reference_equations(n_tasks, levels, m_k, m_s):
    net = _network("adatt", n_tasks, levels=levels, specific_experts=m_k, shared_experts=m_s).eval()
    _randomise(net)
    sizes = [m_k] * n_tasks + ([m_s] if m_s else [])
    learned = any(size != 1 for size in sizes)
    experts = [_expert_layers(level) for level in net.levels]
    gates = [[(level.gates.weight[u].T, level.gates.bias[u]) for u in range(level.n_units)] for level in net.levels]
    # The reference keeps one residual vector per unit and level: self_exp_weights[unit][level].
    self_exp = None
    if learned:
        self_exp = []
        for u, size in enumerate(sizes):
            rows = []
            for level in net.levels[: levels if u < n_tasks else levels - 1]:
                start = u * m_k
                rows.append(level.residual[start : start + size])
            self_exp.append(torch.stack(rows))
    x = torch.randn(B, D_IN, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = reference_adatt(x, experts, gates, self_exp, n_tasks, m_k, m_s)
        actual = _levels_out(net, x)
    assert actual.shape == (B, n_tasks, 5)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def test_adatt_has_learned_residual_weights_exactly_when_a_unit_has_several_experts():
    with_unit = _network("adatt", 2, levels=2, specific_experts=1, shared_experts=1)
    with_learned = _network("adatt", 2, levels=2, specific_experts=1, shared_experts=2)
    names = {n for n, _ in with_unit.named_parameters()}
    assert not any("residual" in n for n in names)
    first, last = with_learned.levels
    assert first.residual.shape == (2 * 1 + 2,)  # both tasks' experts and the shared unit's
    assert last.residual.shape == (2 * 1,)  # the last level has no shared unit
    # initialised as the reference: uniform(-sqrt(1/m_u), sqrt(1/m_u)) per unit
    assert first.residual[2:].abs().max() <= math.sqrt(1 / 2)


def test_cross_stitch_matches_the_reference_equations():
    net = _network("cross-stitch", 3, levels=3).eval()
    _randomise(net)
    experts = [_expert_layers(level) for level in net.levels]
    stitches = [level.stitch for level in net.levels]
    x = torch.randn(B, D_IN, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(
            _levels_out(net, x), reference_cross_stitch(x, experts, stitches, 3), atol=1e-5, rtol=1e-5
        )


def test_cross_stitch_units_start_at_the_papers_values_and_mix_tasks():
    net = _network("cross-stitch", 2, levels=1)
    torch.testing.assert_close(net.levels[0].stitch.detach(), torch.tensor([[0.9, 0.1], [0.1, 0.9]]))
    # with identity units the columns are independent: task 1's logit ignores task 0's column
    with torch.no_grad():
        net.levels[0].stitch.copy_(torch.eye(2))
    numeric = torch.randn(4, D_IN)
    net(torch.zeros(4, 0, dtype=torch.long), numeric)[:, 1].sum().backward()
    assert net.levels[0].experts.layers[0].weight.grad[0].abs().sum() == 0
    assert net.levels[0].experts.layers[0].weight.grad[1].abs().sum() > 0
