"""Batch-all triplet loss with live anchors (LGSC's multi-scale metric learning)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from antispoof._registry import LOSSES

__all__ = ["LiveAnchorTripletLoss"]


@LOSSES.register("live_anchor_triplet")
class LiveAnchorTripletLoss(nn.Module):
    """Seed 004 Eq. 7: L_t = 1/T sum_i max(d(a_i, p_i) - d(a_i, n_i) + m, 0), anchors and positives live, negatives spoof.

    ``features [B, D]`` are L2-normalised here; d is the plain Euclidean distance; every
    (anchor, positive, negative) of the batch with anchor != positive is a triplet
    (batch-all mining, Hermans et al.). The mean is over the triplets whose loss is
    positive, as the authors' code does; the text's rule ("triplets with |d(a,n) -
    d(a,p)| < m") selects differently and is not used. ``labels [B]``: 1 live, 0 spoof,
    other values ignored. 0 (with a gradient graph) when no triplet has positive loss.
    """

    def __init__(self, margin: float = 0.5) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.margin = float(margin)

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        z = F.normalize(features.float(), dim=1)
        d = torch.cdist(z, z)  # [B, B] Euclidean
        live, spoof = labels == 1, labels == 0
        # loss[a, p, n] = d(a, p) - d(a, n) + m over live a != p live, n spoof
        loss = d.unsqueeze(2) - d.unsqueeze(1) + self.margin
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        valid = (live[:, None, None] & live[None, :, None] & spoof[None, None, :]) & ~eye[:, :, None]
        loss = torch.relu(loss) * valid
        positive = loss > 1e-16
        count = positive.sum()
        return loss.sum() / count.clamp(min=1)
