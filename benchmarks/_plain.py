"""An independent, hand-written batched PLE and its training loop: the yardstick for the network.

Written from the PLE paper (Tang et al. 2020, figure 4), not from mtlsearch's network, as one
would write a fast PLE for these sizes only (one-layer experts, one-layer towers): one
embedding table over all categorical features (rows gathered with ``index_select``); per
level, task experts and task gates as one ``baddbmm`` each over tasks, shared experts and the
shared gate as one ``addmm`` each, with weights stored in the layout the matmuls want; gates
mixed by a broadcast multiply and sum; batched towers. Same sizes, initialisation of linear
layers (``nn.Linear``'s uniform bound 1/sqrt(fan_in)) and data as the network it is compared
with; the embedding initialisation is a parameter (issue 15's AUC gap).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from mtlsearch.data import BatchLoader, MultiTaskData

EMBEDDING_INITS = ("normal", "uniform-0.05", "normal-0.01", "xavier")


def init_embedding(weight: torch.Tensor, how: str) -> None:
    """``normal``: N(0, 1), ``nn.Embedding``'s default; ``uniform-0.05``: U(-0.05, 0.05) (Keras);
    ``normal-0.01``: N(0, 0.01^2); ``xavier``: Glorot uniform over (vocabulary, dimension)."""
    with torch.no_grad():
        if how == "normal":
            weight.normal_(0.0, 1.0)
        elif how == "uniform-0.05":
            weight.uniform_(-0.05, 0.05)
        elif how == "normal-0.01":
            weight.normal_(0.0, 0.01)
        elif how == "xavier":
            nn.init.xavier_uniform_(weight)
        else:
            raise ValueError(f"unknown embedding init {how!r}: use one of {', '.join(EMBEDDING_INITS)}")


def _param(*shape: int, fan_in: int) -> nn.Parameter:
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


class PlainPLE(nn.Module):
    """PLE with ``levels`` levels of ``m_k`` task and ``m_s`` shared one-layer experts of ``hidden``
    units, towers of ``tower`` units; ``forward`` returns logits ``(B, T)``.

    Weights are stored in the layout the matmuls want: task experts ``(T, d, m_k * h)`` (one
    ``baddbmm`` over tasks), shared experts ``(d, m_s * h)`` (one ``addmm``), gates likewise.
    """

    def __init__(
        self,
        vocab_sizes: tuple[int, ...],
        n_numeric: int,
        n_tasks: int,
        m_k: int,
        m_s: int,
        *,
        levels: int = 2,
        hidden: int = 16,
        tower: int = 8,
        embedding_dim: int = 4,
        embedding_init: str = "normal",
    ) -> None:
        super().__init__()
        T, n_experts, n_select = n_tasks, n_tasks * m_k + m_s, m_k + m_s
        self.n_tasks, self.m_k, self.m_s, self.hidden = n_tasks, m_k, m_s, hidden
        self.embedding = nn.Embedding(sum(vocab_sizes), embedding_dim)
        init_embedding(self.embedding.weight, embedding_init)
        self.register_buffer("offsets", torch.tensor([0, *vocab_sizes[:-1]]).cumsum(0))  # (C,)
        d = len(vocab_sizes) * embedding_dim + n_numeric
        self.levels = nn.ModuleList()
        for j in range(levels):
            level = nn.Module()
            level.task_w = _param(T, d, m_k * hidden, fan_in=d)  # (T, d, m_k * h)
            level.task_b = _param(T, 1, m_k * hidden, fan_in=d)
            level.shared_w = _param(d, m_s * hidden, fan_in=d)  # (d, m_s * h)
            level.shared_b = _param(m_s * hidden, fan_in=d)
            level.gate_w = _param(T, d, n_select, fan_in=d)  # (T, d, m_k + m_s)
            level.gate_b = _param(T, 1, n_select, fan_in=d)
            if j < levels - 1:
                level.shared_gate_w = _param(d, n_experts, fan_in=d)  # (d, E)
                level.shared_gate_b = _param(n_experts, fan_in=d)
            self.levels.append(level)
            d = hidden
        self.tower1_w, self.tower1_b = _param(T, d, tower, fan_in=d), _param(T, 1, tower, fan_in=d)
        self.tower2_w, self.tower2_b = _param(T, tower, 1, fan_in=tower), _param(T, 1, 1, fan_in=tower)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        T, m_k, m_s, h = self.n_tasks, self.m_k, self.m_s, self.hidden
        B = categorical.shape[0]
        # index_select rather than F.embedding: the same rows, and its backward is several times faster on CPU.
        embedded = self.embedding.weight.index_select(0, (categorical + self.offsets).flatten()).view(B, -1)
        x = torch.cat([embedded, numeric], 1)  # (B, d)
        task_in, shared_in = x.expand(T, -1, -1), x  # (T, B, d), (B, d)
        for level in self.levels:
            task_h = F.relu(torch.baddbmm(level.task_b, task_in, level.task_w)).view(T, B, m_k, h)
            shared_h = F.relu(torch.addmm(level.shared_b, shared_in, level.shared_w)).view(B, m_s, h)
            gate = torch.softmax(torch.baddbmm(level.gate_b, task_in, level.gate_w), -1)  # (T, B, m_k + m_s)
            out = (gate[..., :m_k, None] * task_h).sum(2) + (gate[..., m_k:, None] * shared_h).sum(2)  # (T, B, h)
            if hasattr(level, "shared_gate_w"):
                g = torch.softmax(torch.addmm(level.shared_gate_b, shared_in, level.shared_gate_w), -1)  # (B, E)
                on_task = g[:, : T * m_k].view(B, T, m_k).transpose(0, 1)  # (T, B, m_k)
                shared_in = (on_task[..., None] * task_h).sum((0, 2)) + (g[:, T * m_k :, None] * shared_h).sum(1)
            task_in = out
        t = F.relu(torch.baddbmm(self.tower1_b, task_in, self.tower1_w))  # (T, B, tower)
        return torch.baddbmm(self.tower2_b, t, self.tower2_w).squeeze(-1).t()  # (B, T)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def plain_loss(logits: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Sum over tasks of the masked mean BCE."""
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none") * masks  # (B, T)
    return (bce.sum(0) / masks.sum(0).clamp_min(1)).sum()


def train_plain(model: nn.Module, data: MultiTaskData, *, epochs: int, lr: float, batch_size: int, seed: int) -> None:
    """Adam (fused) on the summed task losses, batches shuffled by ``BatchLoader``'s seed."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    loader = BatchLoader(data.train, batch_size, shuffle=True, seed=seed)
    for _ in range(epochs):
        model.train()
        for categorical, numeric, labels, masks in loader:
            loss = plain_loss(model(categorical, numeric), labels, masks.float())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def copy_from_network(plain: PlainPLE, network: torch.nn.Module) -> None:
    """Give ``plain`` the weights of a one-layer-expert, one-layer-tower ``MultiTaskNetwork`` of the
    same sizes, in its own layout (for :func:`check_same_function`)."""
    T, m_k, m_s = plain.n_tasks, plain.m_k, plain.m_s
    with torch.no_grad():
        plain.embedding.weight.copy_(network.embedding.weight)
        for level, mine in zip(network.levels, plain.levels):
            weight, bias = level.experts.layers[0].weight, level.experts.layers[0].bias  # (E, d, h), (E, h)
            d, h = weight.shape[1:]
            mine.task_w.copy_(weight[: T * m_k].view(T, m_k, d, h).permute(0, 2, 1, 3).reshape(T, d, m_k * h))
            mine.task_b.copy_(bias[: T * m_k].reshape(T, 1, m_k * h))
            mine.shared_w.copy_(weight[T * m_k :].permute(1, 0, 2).reshape(d, m_s * h))
            mine.shared_b.copy_(bias[T * m_k :].flatten())
            mine.gate_w.copy_(level.task_gates.weight)
            mine.gate_b.copy_(level.task_gates.bias.unsqueeze(1))
            if level.shared_gate is not None:
                mine.shared_gate_w.copy_(level.shared_gate.weight[0])
                mine.shared_gate_b.copy_(level.shared_gate.bias[0])
        first, last = network.towers.layers
        plain.tower1_w.copy_(first.weight)
        plain.tower1_b.copy_(first.bias.unsqueeze(1))
        plain.tower2_w.copy_(last.weight)
        plain.tower2_b.copy_(last.bias.unsqueeze(1))


def check_same_function() -> None:
    """The yardstick is the same model: with the network's weights copied in, the same logits
    (and the same parameter count) at (1,1), (3,2) and (8,8) experts."""
    from mtlsearch.data import FeatureSpec
    from mtlsearch.models import ModelConfig, MultiTaskNetwork

    vocab = (5, 7, 3)
    features = FeatureSpec(categorical=("a", "b", "c"), vocab_sizes=vocab, numeric=("x", "y"))
    torch.manual_seed(0)
    categorical = torch.stack([torch.randint(0, v, (50,)) for v in vocab], 1)  # (50, 3)
    numeric = torch.randn(50, 2)
    for m_k, m_s in ((1, 1), (3, 2), (8, 8)):
        config = ModelConfig.create("ple", specific_experts=m_k, shared_experts=m_s, expert_hidden=(16,))
        network = MultiTaskNetwork(config, features, 2).eval()
        plain = PlainPLE(vocab, 2, 2, m_k, m_s, levels=config.levels).eval()
        copy_from_network(plain, network)
        assert plain.n_parameters == network.n_parameters
        with torch.no_grad():
            gap = (network(categorical, numeric) - plain(categorical, numeric)).abs().max().item()
        assert gap < 1e-6, gap
        print(f"({m_k}, {m_s}): {plain.n_parameters:,} parameters each, logits within {gap:.1e}")


if __name__ == "__main__":
    check_same_function()
