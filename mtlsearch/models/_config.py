"""Typed, frozen model configuration and the architecture presets.

Every architecture is the same network (embeddings, extraction levels, towers) with some sizes
fixed and one of three ways of fusing a level's experts (``fusion``):

=============  ======  ==================  ==============  ================  ============
architecture   levels  specific per task   shared experts  embedding tables  fusion
=============  ======  ==================  ==============  ================  ============
single-task    1       >= 1                0               one per task      gated
shared-bottom  1       0                   1               shared            gated
mmoe           1       0                   >= 1            shared            gated
ml-mmoe        >= 1    0                   >= 1            shared            gated
cgc            1       >= 1                >= 1            shared            gated
ple            >= 1    >= 1                >= 1            shared            gated
adatt          >= 1    >= 1                >= 0            shared            adatt
cross-stitch   >= 1    1                   0               shared            cross-stitch
=============  ======  ==================  ==============  ================  ============

``gated``: task k's softmax gate weights its own and the shared experts (PLE, Tang et al. 2020).
``adatt``: task k's softmax gate weights *all* experts, plus a residual linear combination of
its own experts (AdaTT, Li et al., KDD 2023); ``shared_experts = 0`` is AdaTT-sp.
``cross-stitch``: one column (expert) per task, mixed by a learned ``(T, T)`` cross-stitch unit
after every level (Misra et al., CVPR 2016). See ``mtlsearch/models/_fusion.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from mtlsearch.errors import MtlsearchError

__all__ = ["ARCHITECTURES", "ArchitectureRule", "ModelConfig"]


@dataclass(frozen=True)
class ArchitectureRule:
    """What an architecture fixes; ``None`` leaves the field free (checked against ``min_*``)."""

    levels: int | None
    specific_experts: int | None
    shared_experts: int | None
    min_specific: int = 0
    min_shared: int = 0
    per_task_embedding: bool = False
    default_shared: int = 1  # shared experts when the config names none
    summary: str = ""
    fusion: str = "gated"  # how a level combines its experts: "gated", "adatt" or "cross-stitch"


ARCHITECTURES: dict[str, ArchitectureRule] = {
    "single-task": ArchitectureRule(
        1,
        None,
        0,
        min_specific=1,
        per_task_embedding=True,
        summary="one independent network per task (the MTL-gain baseline)",
    ),
    "shared-bottom": ArchitectureRule(1, 0, 1, summary="hard parameter sharing: one shared MLP, one tower per task"),
    "mmoe": ArchitectureRule(
        1, 0, None, min_shared=1, default_shared=4, summary="shared experts, one softmax gate per task"
    ),
    "ml-mmoe": ArchitectureRule(
        None, 0, None, min_shared=1, default_shared=4, summary="MMoE stacked in levels (PLE without task experts)"
    ),
    "cgc": ArchitectureRule(
        1, None, None, min_specific=1, min_shared=1, summary="task-specific plus shared experts, gated per task"
    ),
    "ple": ArchitectureRule(
        None, None, None, min_specific=1, min_shared=1, summary="CGC extraction layers stacked in levels"
    ),
    "adatt": ArchitectureRule(
        None,
        None,
        None,
        min_specific=1,
        min_shared=0,
        summary="task-to-task fusion: gates over all experts plus a residual of the task's own (AdaTT)",
        fusion="adatt",
    ),
    "cross-stitch": ArchitectureRule(
        None,
        1,
        0,
        summary="one column per task, mixed by learned linear cross-stitch units between levels",
        fusion="cross-stitch",
    ),
}


@dataclass(frozen=True)
class ModelConfig:
    """The network: architecture preset plus sizes. Build one with :meth:`create`.

    >>> ModelConfig.create("mmoe", shared_experts=4).levels
    1
    """

    architecture: str = "ple"  # one of ARCHITECTURES
    levels: int = 2  # extraction levels L
    specific_experts: int = 1  # task-specific experts per task at each level (m_k)
    shared_experts: int = 1  # shared experts at each level (m_s)
    expert_hidden: tuple[int, ...] = (16,)  # layer widths of each expert MLP; the last is its output size
    tower_hidden: tuple[int, ...] = (8,)  # hidden widths of each task tower (a final width-1 layer is added)
    embedding_dim: int = 4  # size of each categorical feature's embedding
    dropout: float = 0.0  # after each hidden layer of experts and towers
    gate_dropout: float = 0.0  # on gate weights during training (drops whole experts per sample)

    def __post_init__(self) -> None:
        rule = ARCHITECTURES.get(self.architecture)
        if rule is None:
            raise MtlsearchError(
                f"unknown architecture {self.architecture!r}",
                where="model.architecture",
                fix=f"use one of {', '.join(ARCHITECTURES)}",
            )
        for name in ("levels", "specific_experts", "shared_experts"):
            fixed = getattr(rule, name)
            value = getattr(self, name)
            if fixed is not None and value != fixed:
                raise MtlsearchError(
                    f"{self.architecture} has {name} = {fixed}, not {value}",
                    where=f"model.{name}",
                    fix="remove the field or choose an architecture that varies it",
                )
        checks = [
            ("levels", self.levels, 1),
            ("specific_experts", self.specific_experts, rule.min_specific),
            ("shared_experts", self.shared_experts, rule.min_shared),
            ("embedding_dim", self.embedding_dim, 1),
        ]
        for name, value, low in checks:
            if not isinstance(value, int) or value < low:
                raise MtlsearchError(
                    f"{name} must be an integer >= {low} for {self.architecture}, got {value!r}",
                    where=f"model.{name}",
                    fix=f"use {low} or more",
                )
        for name in ("expert_hidden", "tower_hidden"):
            widths = getattr(self, name)
            if not isinstance(widths, tuple) or any(not isinstance(w, int) or w < 1 for w in widths):
                raise MtlsearchError(
                    f"{name} must be a list of positive integers, got {widths!r}",
                    where=f"model.{name}",
                    fix="e.g. [64, 32]",
                )
        if not self.expert_hidden:
            raise MtlsearchError("expert_hidden is empty", where="model.expert_hidden", fix="give at least one width")
        for name in ("dropout", "gate_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise MtlsearchError(f"{name} must lie in [0, 1), got {value!r}", where=f"model.{name}", fix="e.g. 0.1")

    @staticmethod
    def preset(architecture: str) -> dict[str, int]:
        """The sizes ``architecture`` fixes, plus defaults for those it leaves free."""
        rule = ARCHITECTURES.get(architecture)
        if rule is None:
            ModelConfig(architecture=architecture)  # raises the unknown-architecture error
        return {
            "levels": rule.levels if rule.levels is not None else ModelConfig.levels,
            "specific_experts": (
                rule.specific_experts
                if rule.specific_experts is not None
                else max(ModelConfig.specific_experts, rule.min_specific)
            ),
            "shared_experts": rule.shared_experts if rule.shared_experts is not None else rule.default_shared,
        }

    @classmethod
    def create(cls, architecture: str, **sizes: Any) -> ModelConfig:
        """A config for ``architecture`` with its fixed sizes filled in and ``sizes`` applied."""
        preset = cls.preset(architecture)
        known = {f.name for f in fields(cls)} - {"architecture"}
        for name in sizes:
            if name not in known:
                raise MtlsearchError(
                    f"unknown model field {name!r}", where=f"model.{name}", fix=f"use one of {', '.join(sorted(known))}"
                )
        for name in ("expert_hidden", "tower_hidden"):
            if isinstance(sizes.get(name), list):
                sizes[name] = tuple(sizes[name])
        return cls(architecture=architecture, **{**preset, **sizes})

    @property
    def rule(self) -> ArchitectureRule:
        return ARCHITECTURES[self.architecture]

    def with_sizes(self, **sizes: Any) -> ModelConfig:
        return replace(self, **sizes)
