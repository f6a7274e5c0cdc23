"""The network reproduces stored forwards: same logits and gate weights from the same state dict.

``tests/models/stored_forward/<architecture><variant>.pt`` holds, for each architecture, a tiny
network's state dict (two-layer experts; one-layer experts in the ``-one-layer`` files), a few
rows of categorical and numeric input, and the logits and gate weights that network produced
when the file was written. A rewrite of the network's internals must load those
state dicts (checkpoints written by ``mtlsearch train`` load the same way) and reproduce the
outputs within 1e-6.

A new architecture gets its file once, from the network as it then is::

    python tests/models/test_stored_forward.py ARCHITECTURE

Existing files are never overwritten: they pin the forward of the code that wrote them.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from mtlsearch.data import FeatureSpec
from mtlsearch.models import ARCHITECTURES, ModelConfig, MultiTaskNetwork

STORED = Path(__file__).resolve().parent / "stored_forward"
FEATURES = FeatureSpec(categorical=("c0", "c1"), vocab_sizes=(4, 6), numeric=("n0", "n1", "n2"))
N_TASKS = 3
ROWS = 5
SIZES = {"levels": 3, "specific_experts": 2, "shared_experts": 3}
VARIANTS = {"": (6, 5), "-one-layer": (6,)}  # file suffix -> expert widths


def config_for(architecture: str, variant: str = "") -> ModelConfig:
    """Tiny sizes with every free size above 1: each code path is taken."""
    rule = ARCHITECTURES[architecture]
    free = {k: v for k, v in SIZES.items() if getattr(rule, k) is None}
    widths = VARIANTS[variant]
    return ModelConfig.create(architecture, expert_hidden=widths, tower_hidden=(4,), embedding_dim=3, **free)


def write(architecture: str, variant: str = "") -> Path:
    """Store the current network's forward for ``architecture`` (seed 0); refuses to overwrite."""
    path = STORED / f"{architecture}{variant}.pt"
    if path.exists():
        raise SystemExit(f"{path} exists: stored forwards pin the code that wrote them; delete it only on purpose")
    torch.manual_seed(0)
    config = config_for(architecture, variant)
    network = MultiTaskNetwork(config, FEATURES, N_TASKS).eval()
    g = torch.Generator().manual_seed(1)
    categorical = torch.stack([torch.randint(0, v, (ROWS,), generator=g) for v in FEATURES.vocab_sizes], 1)  # (R, C)
    numeric = torch.randn(ROWS, FEATURES.n_numeric, generator=g)  # (R, F)
    with torch.no_grad():
        logits, gates = network.forward_with_gates(categorical, numeric)
    record = {
        "config": asdict(config),
        "state_dict": {k: v.clone() for k, v in network.state_dict().items()},
        "categorical": categorical,
        "numeric": numeric,
        "logits": logits,
        "gates_tasks": list(gates.tasks),
        "gates_shared": list(gates.shared),
    }
    STORED.mkdir(exist_ok=True)
    torch.save(record, path)
    return path


def load(architecture: str, variant: str = "") -> dict:
    path = STORED / f"{architecture}{variant}.pt"
    if not path.exists():
        pytest.fail(f"no stored forward {path.name}: run `python tests/models/{Path(__file__).name} {architecture}`")
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_network_reproduces_the_stored_forward(architecture, variant):
    record = load(architecture, variant)
    config = config_for(architecture, variant)
    assert asdict(config) == record["config"]
    network = MultiTaskNetwork(config, FEATURES, N_TASKS).eval()
    network.load_state_dict(record["state_dict"])  # strict: same keys and shapes as the stored network
    with torch.no_grad():
        logits, gates = network.forward_with_gates(record["categorical"], record["numeric"])
    torch.testing.assert_close(logits, record["logits"], rtol=0, atol=1e-6)
    assert len(gates.tasks) == len(record["gates_tasks"]) and len(gates.shared) == len(record["gates_shared"])
    for got, stored in zip((*gates.tasks, *gates.shared), (*record["gates_tasks"], *record["gates_shared"])):
        torch.testing.assert_close(got, stored, rtol=0, atol=1e-6)


def test_stored_forward_detects_a_changed_weight():
    """The comparison is tight enough to fail: one nudged weight changes the logits past 1e-6."""
    record = load("ple")
    state = dict(record["state_dict"])
    key = next(k for k in state if k.startswith("towers."))
    state[key] = state[key] + 1e-3
    network = MultiTaskNetwork(config_for("ple"), FEATURES, N_TASKS).eval()
    network.load_state_dict(state)
    with torch.no_grad():
        logits = network(record["categorical"], record["numeric"])
    assert (logits - record["logits"]).abs().max() > 1e-6


if __name__ == "__main__":
    for name in sys.argv[1:] or list(ARCHITECTURES):
        if name not in ARCHITECTURES:
            raise SystemExit(f"unknown architecture {name!r}: use one of {', '.join(ARCHITECTURES)}")
        for variant in VARIANTS:
            if not (STORED / f"{name}{variant}.pt").exists():
                print(f"wrote {write(name, variant)}")
