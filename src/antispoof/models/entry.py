"""The Entry method (seed 000): a backbone with eight independent binary heads.

Heads, in the paper's order (Sec. 3.2.1): fingers, device border, mobile UI, moire,
screen glare, reflection, invisible attack, spoof. Heads 1-7 are the attributes of
:data:`antispoof.data.base.ATTRIBUTES`, trained where the data annotates them and
masked where it does not; head 8 is the spoof probability, whose complement is the
liveness score. ``model.heads: spoof_only`` keeps head 8 alone: the paper's Entry V1.

The paper freezes a self-supervised pretrained RegNet and trains the heads with the
Reduced Focal Loss and AdamW; ``model.freeze_backbone`` (default: freeze exactly when
``model.weights`` is given) follows it, and refuses silently nothing: freezing random
weights logs a loud warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.data.base import ATTRIBUTES
from antispoof.losses import ReducedFocalLoss
from antispoof.models.backbones import create_backbone, freeze
from antispoof.training.config import EngineConfig
from antispoof.training.method import Method

__all__ = ["HEAD_NAMES", "EntryNet", "EntryModelConfig", "EntryLossConfig", "EntryConfig", "EntryMethod", "spoof_targets"]

HEAD_NAMES = (*ATTRIBUTES, "spoof")


class EntryModelConfig(ModelConfig):
    """The Entry network: backbone, heads, freezing."""

    method: str = Field("entry", description="method name (see `antispoof list methods`)")
    backbone: str = Field("regnety_032", description="timm architecture name (the paper: a SEER RegNet)")
    heads: Literal["all", "spoof_only"] = Field("all", description="all: the 8 heads of Entry V2; spoof_only: Entry V1")
    freeze_backbone: bool | None = Field(None, description="freeze the backbone (the paper does); null = freeze when model.weights is given")
    drop_rate: float = Field(0.0, ge=0, lt=1, description="dropout before the heads")
    features: Literal["pooled", "stages"] = Field(
        "pooled",
        description="what the heads read: pooled = the backbone's pooled output (the paper); "
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


class EntryNet(nn.Module):
    """Backbone + independent binary heads (seed 000 Fig. 1); ``forward`` gives one logit per head ``[B, H]``.

    The heads are one ``Linear(num_features, H)``: each output row has its own weights
    and bias and its own sigmoid, i.e. H independent binary classifiers.

    ``features="stages"`` feeds the heads the pooled output plus the mean and standard
    deviation of each stage's feature map (strides 4 to 32), standardised by a BatchNorm
    without affine terms. It departs from the paper, whose heads read a 1B-parameter
    SEER RegNet's output: a small ImageNet backbone's last layer has pooled away the fine
    texture (halftone, moire, paper grain) that its earlier stages still see.
    """

    def __init__(
        self,
        backbone: str,
        heads: Literal["all", "spoof_only"] = "all",
        weights: str | Path | None = None,
        freeze_backbone: bool | None = None,
        drop_rate: float = 0.0,
        features: Literal["pooled", "stages"] = "pooled",
    ) -> None:
        super().__init__()
        if heads not in ("all", "spoof_only"):
            raise ValueError(f"heads must be 'all' or 'spoof_only', got {heads!r}")
        self.head_names: tuple[str, ...] = HEAD_NAMES if heads == "all" else ("spoof",)
        self.backbone = create_backbone(backbone, weights=weights)
        self.frozen = bool(weights is not None) if freeze_backbone is None else bool(freeze_backbone)
        if self.frozen:
            freeze(self.backbone, has_weights=weights is not None, name=f"backbone {backbone}")
        if features not in ("pooled", "stages"):
            raise ValueError(f"features must be 'pooled' or 'stages', got {features!r}")
        self.features = features
        self.dropout = nn.Dropout(drop_rate)
        # pooled output width: timm's head_hidden_size where a conv head follows the pooling (lcnet, mobilenetv3)
        width = getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features
        if features == "stages":
            if not hasattr(self.backbone, "forward_intermediates"):
                raise ValueError(f"backbone {backbone} has no stage outputs (timm forward_intermediates); use model.features=pooled")
            info = self.backbone.feature_info
            self.stage_indices = list(range(1, len(info)))  # strides 4..32: stride 2 is little more than pixels
            width += 2 * sum(info[i]["num_chs"] for i in self.stage_indices)
            self.standardize: nn.Module = nn.BatchNorm1d(width, affine=False)
        else:
            self.standardize = nn.Identity()
        self.heads = nn.Linear(width, len(self.head_names))

    @classmethod
    def from_config(cls, m: EntryModelConfig) -> EntryNet:
        """The network an Entry (or student) model section describes."""
        return cls(m.backbone, heads=m.heads, weights=m.weights, freeze_backbone=m.freeze_backbone, drop_rate=m.drop_rate,
                   features=m.features)

    def train(self, mode: bool = True) -> EntryNet:
        super().train(mode)
        if self.frozen:  # a frozen backbone keeps its BatchNorm statistics
            self.backbone.eval()
        return self

    def embed(self, images: Tensor) -> Tensor:
        """What the heads read, ``[B, width]`` (before standardisation and dropout)."""
        if self.features == "pooled":
            return self.backbone(images)
        final, stages = self.backbone.forward_intermediates(images, indices=self.stage_indices)
        parts = [self.backbone.forward_head(final, pre_logits=True)]
        for x in stages:
            parts += [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        return torch.cat(parts, dim=1)

    def forward(self, images: Tensor) -> Tensor:
        return self.heads(self.dropout(self.standardize(self.embed(images))))

    def spoof_logit(self, logits: Tensor) -> Tensor:
        """The head-8 logit ``[B]`` from ``forward``'s output."""
        return logits[:, -1]

    @torch.no_grad()
    def predict(self, images: Tensor) -> dict[str, Tensor]:
        """``{"score": liveness [B], <cue name>: probability [B], ...}`` (cues only with all heads)."""
        probs = torch.sigmoid(self.forward(images).float())
        out = {"score": 1.0 - probs[:, -1]}
        for i, name in enumerate(self.head_names[:-1]):
            out[name] = probs[:, i]
        return out


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
        self.net = EntryNet.from_config(m)
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

    def score(self, batch: dict[str, Any]) -> Tensor:
        return self.net.predict(batch["image"])["score"]

    def explain(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        out = self.net.predict(batch["image"])
        out.pop("score")
        return out
