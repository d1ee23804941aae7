"""The backbone a self-supervised objective trains (``antispoof pretrain ssl``), as a rebuildable network."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from antispoof._registry import NETWORKS
from antispoof.models.backbones import create_backbone

__all__ = ["SSLEncoder"]


@NETWORKS.register("ssl_encoder")
class SSLEncoder(nn.Module):
    """A backbone alone (pooled ``[B, num_features]`` features): what pretraining makes; it scores nothing.

    Its ``backbone`` state dict has the backbone's own names, so the ``backbone.safetensors``
    a pretraining run writes loads as ``model.weights=`` into any method with that backbone.
    """

    def __init__(self, backbone: str, weights: Any = None) -> None:
        super().__init__()
        self.arch: dict[str, Any] = {"backbone": backbone}
        self.backbone = create_backbone(backbone, weights=weights)
        self.num_features = int(getattr(self.backbone, "num_features"))

    def forward(self, images: Tensor) -> Tensor:
        return self.backbone(images)

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        raise TypeError("a pretrained backbone gives features, not liveness scores: train a method on it "
                        "(model.weights=RUN/backbone.safetensors) and score that")
