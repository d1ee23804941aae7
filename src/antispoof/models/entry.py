"""The Entry network (seed 000): a backbone with eight independent binary heads.

Heads, in the paper's order (Sec. 3.2.1): fingers, device border, mobile UI, moire,
screen glare, reflection, invisible attack, spoof. Heads 1-7 are the attributes of
:data:`antispoof.data.base.ATTRIBUTES`; head 8 is the spoof probability, whose
complement is the liveness score. ``heads="spoof_only"`` keeps head 8 alone: Entry V1 (Sec. 5).
A plain ``nn.Module``: the method that trains it is :mod:`antispoof.methods.entry`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from antispoof._registry import NETWORKS
from antispoof.data.base import ATTRIBUTES
from antispoof.models.backbones import create_backbone, freeze, stage_layout, stage_statistics

__all__ = ["HEAD_NAMES", "EntryNet"]

HEAD_NAMES = (*ATTRIBUTES, "spoof")


@NETWORKS.register("entry_net")
class EntryNet(nn.Module):
    """Backbone + independent binary heads (seed 000 Fig. 1); ``forward`` gives one logit per head ``[B, H]``.

    The heads are one ``Linear(num_features, H)``: each output row has its own weights
    and bias and its own sigmoid, i.e. H independent binary classifiers.

    ``features="stages"`` feeds the heads the pooled output plus the mean and standard
    deviation of each stage's feature map (strides 4 to 32), standardised by a BatchNorm
    without affine terms. It departs from the paper, whose heads read the output of a far
    larger SEER RegNet-32g (Sec. 3.2.1, ref. [7]): a small ImageNet backbone's last layer has pooled away the fine
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
        # what rebuilds this network for inference (a bundle never reaches for a backbone file)
        self.arch: dict[str, Any] = {"backbone": backbone, "heads": heads, "drop_rate": drop_rate, "features": features}
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
            self.stage_indices, width = stage_layout(self.backbone, f"backbone {backbone}")
            self.standardize: nn.Module = nn.BatchNorm1d(width, affine=False)
        else:
            self.standardize = nn.Identity()
        self.heads = nn.Linear(width, len(self.head_names))

    def train(self, mode: bool = True) -> EntryNet:
        super().train(mode)
        if self.frozen:  # a frozen backbone keeps its BatchNorm statistics
            self.backbone.eval()
        return self

    def embed(self, images: Tensor) -> Tensor:
        """What the heads read, ``[B, width]`` (before standardisation and dropout)."""
        if self.features == "pooled":
            return self.backbone(images)
        return stage_statistics(self.backbone, images, self.stage_indices)

    def forward(self, images: Tensor) -> Tensor:
        return self.heads(self.dropout(self.standardize(self.embed(images))))

    def spoof_logit(self, logits: Tensor) -> Tensor:
        """The head-8 logit ``[B]`` from ``forward``'s output."""
        return logits[:, -1]

    @torch.no_grad()
    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"score": liveness [B], <cue name>: probability [B], ...}`` from ``batch["image"]`` (cues only with all heads)."""
        probs = torch.sigmoid(self.forward(batch["image"]).float())
        out = {"score": 1.0 - probs[:, -1]}
        for i, name in enumerate(self.head_names[:-1]):
            out[name] = probs[:, i]
        return out
