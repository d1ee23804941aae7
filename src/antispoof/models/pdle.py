"""The PDLE network (seed 003): an encoder, a linear layer to K+1 logits, the expected liveness score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from antispoof._registry import NETWORKS
from antispoof.models.backbones import create_backbone, freeze, stage_layout, stage_statistics

__all__ = ["PDLENet", "liveness_levels"]


def liveness_levels(k: int) -> Tensor:
    """The values c_0..c_K of seed 003 Eq. 3: ``i / K`` (c_0 = 0, c_K = 1).

    The text's ``interval = ceil((y_r - y_s) / K)`` rounds up to 1 for any K > 1, which
    would put every c_i with 0 < i < K at or above 1; the reading taken here (and the only
    one that makes the levels discretise [0, 1] as Eq. 1's lambda = u / K does) is
    ``interval = 1 / K``.
    """
    if k < 1:
        raise ValueError(f"K must be >= 1, got {k}")
    return torch.arange(k + 1, dtype=torch.float32) / k


@NETWORKS.register("pdle_net")
class PDLENet(nn.Module):
    """Encoder -> FC to K+1 logits -> softmax -> rho = sum_i c_i p_i, seed 003 Eq. 3-4 (Fig. 2).

    ``forward(images [B, 3, H, W]) -> (rho [B], logits [B, K+1], features [B, F])``; the
    features feed the domain discriminator during training. The paper's Sec. 2.3 speaks of
    K outputs and a list c_0..c_K (K+1 values): ``outputs="k_plus_one"`` (default) takes the
    K+1 values the list needs; ``outputs="k"`` uses K levels i / (K - 1).
    """

    def __init__(self, backbone: str = "resnet18", k: int = 10, outputs: str = "k_plus_one", drop_rate: float = 0.0,
                 weights: str | Path | None = None, features: str = "pooled", freeze_encoder: bool = False) -> None:
        super().__init__()
        if outputs not in ("k_plus_one", "k"):
            raise ValueError(f"outputs must be 'k_plus_one' or 'k', got {outputs!r}")
        if outputs == "k" and k < 2:
            raise ValueError("outputs='k' needs K >= 2")
        if features not in ("pooled", "stages"):
            raise ValueError(f"features must be 'pooled' or 'stages', got {features!r}")
        # what rebuilds the network for inference; freezing is training-only
        self.arch: dict[str, Any] = {"backbone": backbone, "k": k, "outputs": outputs, "drop_rate": drop_rate,
                                     "features": features}
        self.encoder = create_backbone(backbone, weights=weights)
        self.frozen = bool(freeze_encoder)
        if self.frozen:  # a departure (Sec. 3.2 trains the encoder): a CPU budget trains the FC alone
            freeze(self.encoder, has_weights=weights is not None, name=f"encoder {backbone}", key="model.freeze_encoder")
        self.features = features
        if features == "stages":  # a departure for frozen small encoders (see models.backbones.stage_layout)
            self.stage_indices, width = stage_layout(self.encoder, f"encoder {backbone}")
            self.standardize: nn.Module = nn.BatchNorm1d(width, affine=False)
        else:
            width = getattr(self.encoder, "head_hidden_size", None) or self.encoder.num_features
            self.standardize = nn.Identity()
        levels = liveness_levels(k) if outputs == "k_plus_one" else liveness_levels(k - 1)
        self.register_buffer("levels", levels, persistent=False)
        self.dropout = nn.Dropout(drop_rate)
        self.fc = nn.Linear(width, len(levels))
        self.num_features = width

    def train(self, mode: bool = True) -> PDLENet:
        super().train(mode)
        if self.frozen:  # a frozen encoder keeps its BatchNorm statistics
            self.encoder.eval()
        return self

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if self.features == "stages":
            features = self.standardize(stage_statistics(self.encoder, images, self.stage_indices))
        else:
            features = self.encoder(images)
        logits = self.fc(self.dropout(features))
        rho = (torch.softmax(logits.float(), dim=1) * self.levels).sum(dim=1)
        return rho, logits, features

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"score": rho [B]}``: the expected liveness score is the liveness score."""
        with torch.no_grad():
            rho, _, _ = self.forward(batch["image"])
        return {"score": rho.clamp(0.0, 1.0)}
