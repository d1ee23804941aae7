"""The Entry method (seed 000): a backbone with eight independent binary heads, Reduced Focal Loss.

The network is :class:`antispoof.models.entry.EntryNet`. Heads 1-7 (the attributes of
:data:`antispoof.data.base.ATTRIBUTES`) are trained where the data annotates them and
masked where it does not; head 8 is the spoof probability, whose complement is the
liveness score. ``model.heads: spoof_only`` keeps head 8 alone: the paper's Entry V1 (Sec. 5).

The paper freezes a self-supervised pretrained RegNet and trains the heads with the
Reduced Focal Loss and AdamW (Sec. 3.2.1); ``model.freeze_backbone`` (default: freeze exactly when
``model.weights`` is given) follows it, and refuses silently nothing: freezing random
weights logs a loud warning.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.losses import ReducedFocalLoss
from antispoof.methods.base import EngineConfig, Method
from antispoof.models.entry import EntryNet

__all__ = ["EntryModelConfig", "EntryLossConfig", "EntryConfig", "EntryMethod", "entry_net", "spoof_targets"]


class EntryModelConfig(ModelConfig):
    """The Entry network: backbone, heads, freezing."""

    method: str = Field("entry", description="method name (see `antispoof list methods`)")
    backbone: str = Field("regnety_032", description="timm architecture name (seed 000 Sec. 3.2.1: RegNet-32g of ref. [7], "
                                                       "Meta's SEER)")
    heads: Literal["all", "spoof_only"] = Field("all", description="all: the 8 heads of Entry V2; spoof_only: Entry V1")
    freeze_backbone: bool | None = Field(None, description="freeze the backbone (Sec. 3.2.1 does); null = freeze "
                                                     "when model.weights is given")
    drop_rate: float = Field(0.0, ge=0, lt=1, description="dropout before the heads")
    features: Literal["pooled", "stages"] = Field(
        "pooled",
        description="what the heads read: pooled = the backbone's pooled output (Sec. 3.2.1, Fig. 1); "
        "stages = also the mean and std of every stage's feature map (fine texture cues of a small backbone)",
    )


class EntryLossConfig(Section):
    """Reduced Focal Loss settings (seed 000 ref. [12])."""

    gamma: float = Field(2.0, ge=0, description="focusing exponent")
    threshold: float = Field(0.5, gt=0, le=1, description="p_t from which the loss is reduced")


class EntryConfig(EngineConfig):
    """A run of the Entry method."""

    model: EntryModelConfig = Field(default_factory=EntryModelConfig, description="network")
    loss: EntryLossConfig = Field(default_factory=EntryLossConfig, description="Reduced Focal Loss")


def entry_net(m: EntryModelConfig) -> EntryNet:
    """The network an Entry (or student) model section describes."""
    return EntryNet(m.backbone, heads=m.heads, weights=m.weights, freeze_backbone=m.freeze_backbone, drop_rate=m.drop_rate,
                    features=m.features)


def spoof_targets(batch: dict[str, Any]) -> Tensor:
    """Head-8 targets ``[B]``: 1 for an attack, 0 for bona fide (batch labels are 1 = bona fide)."""
    return 1.0 - batch["label"].float()


@METHODS.register("entry")
class EntryMethod(Method):
    """Entry (seed 000): Reduced Focal Loss over the heads, AdamW, score = 1 - p(spoof) of head 8."""

    config_schema = EntryConfig

    def __init__(self, config: EntryConfig) -> None:
        super().__init__(config)
        m = config.model
        self.net = entry_net(m)
        self.loss_fn = ReducedFocalLoss(gamma=config.loss.gamma, threshold=config.loss.threshold)

    def network(self) -> nn.Module:
        return self.net

    def targets(self, batch: dict[str, Any]) -> Tensor:
        """``[B, H]`` head targets: the attributes (NaN = unknown, masked) then the spoof target."""
        spoof = spoof_targets(batch).unsqueeze(1)
        if len(self.net.head_names) == 1:
            return spoof
        return torch.cat([batch["attributes"].float(), spoof], dim=1)

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        logits = self.net(batch["image"])
        targets = self.targets(batch).to(logits.device)
        loss = self.loss_fn(logits, targets)
        logs: dict[str, float | Tensor] = {}
        if len(self.net.head_names) > 1:
            logs["loss_spoof"] = self.loss_fn(logits[:, -1:], targets[:, -1:]).detach()
        return loss, logs

