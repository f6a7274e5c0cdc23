"""Expert utilisation on networks whose gates are set by hand."""

from __future__ import annotations

import math

import pytest
import torch

from mtlsearch.analysis import _utilisation, expert_utilisation
from mtlsearch.data import FeatureSpec, Split
from mtlsearch.models import ModelConfig, MultiTaskNetwork


def _split(rows: int = 50, seed: int = 0) -> Split:
    g = torch.Generator().manual_seed(seed)
    return Split(
        torch.zeros(rows, 0, dtype=torch.long),
        torch.randn(rows, 3, generator=g),
        torch.zeros(rows, 2),
        torch.ones(rows, 2, dtype=torch.bool),
    )


def _set_gate(gate, probabilities):
    """Zero weights and log-probability biases: softmax gives ``probabilities`` for every input."""
    with torch.no_grad():
        gate.weight.zero_()
        gate.bias.copy_(torch.tensor(probabilities).log())


def _network(architecture: str, **sizes) -> MultiTaskNetwork:
    torch.manual_seed(0)
    return MultiTaskNetwork(ModelConfig.create(architecture, **sizes), FeatureSpec(numeric=("a", "b", "c")), n_tasks=2)


def test_constant_gates_give_their_softmax_with_zero_spread_and_flag_the_unused_expert():
    net = _network("cgc", specific_experts=1, shared_experts=2)
    # Task a selects [a/0, shared/0, shared/1]; task b selects [b/0, shared/0, shared/1].
    _set_gate(net.levels[0].task_gates, [[0.7, 0.28, 0.02], [0.5, 0.46, 0.04]])
    stats = expert_utilisation(net, _split(), ["a", "b"])
    (level,) = stats["levels"]
    assert level["experts"] == ["a/0", "b/0", "shared/0", "shared/1"]
    gate_a, gate_b = level["gates"]
    assert gate_a["gate"] == "a" and gate_a["experts"] == ["a/0", "shared/0", "shared/1"]
    assert gate_a["mean"] == pytest.approx([0.7, 0.28, 0.02], abs=1e-5)
    assert gate_b["mean"] == pytest.approx([0.5, 0.46, 0.04], abs=1e-5)
    assert gate_a["std"] == pytest.approx([0.0] * 3, abs=1e-3)
    assert stats["unused"] == ["level 0: shared/1"]  # below 0.05 in both gates that can select it


def test_an_expert_one_gate_uses_is_not_unused():
    net = _network("cgc", specific_experts=1, shared_experts=2)
    _set_gate(net.levels[0].task_gates, [[0.7, 0.28, 0.02], [0.5, 0.4, 0.1]])
    assert expert_utilisation(net, _split(), ["a", "b"])["unused"] == []


def test_ple_reports_shared_gates_and_matches_a_direct_computation_across_chunks(monkeypatch):
    net = _network("ple", levels=2, specific_experts=1, shared_experts=1)
    split = _split(rows=37)
    _, gates = net.eval().forward_with_gates(split.categorical, split.numeric)
    monkeypatch.setattr(_utilisation, "_CHUNK", 8)  # several chunks, the last one short
    stats = expert_utilisation(net, split, ["a", "b"])
    assert [g["gate"] for g in stats["levels"][0]["gates"]] == ["a", "b", "shared"]
    assert [g["gate"] for g in stats["levels"][1]["gates"]] == ["a", "b"]
    shared = stats["levels"][0]["gates"][2]
    assert shared["experts"] == ["a/0", "b/0", "shared/0"]
    assert shared["mean"] == pytest.approx(gates.shared[0].mean(0).tolist(), abs=1e-5)
    assert shared["std"] == pytest.approx(gates.shared[0].std(0, unbiased=False).tolist(), abs=1e-4)
    task_b = stats["levels"][1]["gates"][1]
    assert task_b["mean"] == pytest.approx(gates.tasks[1][:, 1].mean(0).tolist(), abs=1e-5)
    for level in stats["levels"]:
        for gate in level["gates"]:
            assert math.isclose(sum(gate["mean"]), 1.0, abs_tol=1e-4)


def test_a_single_expert_gate_is_the_constant_one():
    stats = expert_utilisation(_network("shared-bottom"), _split(), ["a", "b"])
    assert [g["mean"] for g in stats["levels"][0]["gates"]] == [[1.0], [1.0]]
    assert stats["unused"] == []
