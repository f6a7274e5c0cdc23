"""The input layer over every architecture: per-column widths, shared tables, multi-valued slots."""

from __future__ import annotations

import pytest
import torch

from mtlsearch.data import PAD, FeatureSpec, MultiValuedSpec
from mtlsearch.models import ARCHITECTURES, ModelConfig, MultiTaskNetwork

FEATURES = FeatureSpec(
    categorical=("user", "item", "device"),
    vocab_sizes=(9, 7, 3),
    numeric=("price",),
    embedding_dims=(5, 0, 0),
    share_embedding=("", "", ""),
    multi_valued=(
        MultiValuedSpec("history", vocab_size=7, max_len=3, pooling="mean", share_embedding="item"),
        MultiValuedSpec("tags", vocab_size=4, max_len=2, pooling="sum", embedding_dim=5),
    ),
)


def _codes(batch: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    single = torch.stack([torch.randint(0, n, (batch,), generator=g) for n in (9, 7, 3)], dim=1)
    history = torch.randint(0, 7, (batch, 3), generator=g)
    history[0] = PAD  # an empty list
    history[1, 2] = PAD
    tags = torch.randint(0, 4, (batch, 2), generator=g)
    return torch.cat([single, history, tags], dim=1).to(torch.int16)  # (B, 3 + 3 + 2)


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_every_architecture_reads_compact_codes_and_trains_every_table(architecture: str) -> None:
    torch.manual_seed(0)
    network = MultiTaskNetwork(ModelConfig.create(architecture, embedding_dim=3), FEATURES, n_tasks=2)
    logits = network(_codes(), torch.randn(6, 1))
    assert logits.shape == (6, 2) and torch.isfinite(logits).all()
    logits.sum().backward()
    for table in network.inputs.tables:
        assert table.weight.grad is not None and table.weight.grad.abs().sum() > 0
    # widths: user 5 + item 3 + device 3 + history 3 (item's table) + tags 5, then 1 numeric
    assert network.inputs.d_out == 5 + 3 + 3 + 3 + 5


def test_shared_column_reads_its_owners_rows() -> None:
    network = MultiTaskNetwork(ModelConfig.create("mmoe", embedding_dim=3), FEATURES, n_tasks=2)
    item_rows = torch.tensor([[0, 4, 0, 4, PAD, PAD, 0, 0]], dtype=torch.int16)  # history = [item 4]
    embedded = network.inputs(item_rows)[0, 0]  # (d,) width-3 group first: item, device, history
    assert torch.equal(embedded[:3], embedded[6:9])  # item 4 and the mean of [4] are the same row
