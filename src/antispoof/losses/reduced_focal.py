"""Reduced Focal Loss for independent binary heads, with a mask for unknown targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from antispoof._registry import LOSSES

__all__ = ["ReducedFocalLoss", "reduced_focal_weight"]


def reduced_focal_weight(p_t: Tensor, gamma: float, threshold: float) -> Tensor:
    """The factor multiplying ``-log p_t``: 1 below ``threshold``, ``(1 - p_t)^gamma / threshold^gamma`` from it on."""
    focal = (1.0 - p_t).pow(gamma) / threshold**gamma
    return torch.where(p_t < threshold, torch.ones_like(p_t), focal)


@LOSSES.register("reduced_focal")
class ReducedFocalLoss(nn.Module):
    """Reduced Focal Loss, Sergievskiy & Pomarev 2019 (seed 000 ref. [12]), Eq. FrFL: -log p_t if p_t < th else -((1-p_t)^gamma / th^gamma) log p_t.

    Applied to every binary head independently (a multi-label sigmoid classifier), with
    ``p_t`` the sigmoid probability of the true class of each head.

    Shapes: ``logits`` and ``targets`` are ``[B, H]`` (or ``[B]``); targets are 0/1 floats,
    NaN where the attribute is unknown. ``mask`` (optional, same shape, bool) marks the
    entries that count; NaN targets are always left out. The loss is the mean over the
    counted entries (0 with a zero gradient when none count), or their sum with
    ``reduction="sum"``, or the per-entry values (0 where not counted) with ``"none"``.

    Open in the RFL paper and chosen here (ref. [12] is not among our seed texts, so these
    two readings of it are unchecked): the weight is not detached (it writes one
    differentiable expression); the normalisation is the number of counted entries (it
    normalises by anchors, which have no counterpart here). With
    ``gamma=0`` or ``threshold=1`` it is binary cross-entropy; where every ``p_t >=
    threshold`` it is the focal loss (alpha off) divided by ``threshold^gamma``; at
    ``p_t = threshold = 0.5`` the two branches meet, so the loss is continuous there.
    """

    def __init__(self, gamma: float = 2.0, threshold: float = 0.5, reduction: str = "mean") -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.gamma = float(gamma)
        self.threshold = float(threshold)
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        if logits.shape != targets.shape:
            raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} must have the same shape")
        logits = logits.float()
        targets = targets.to(logits.dtype)
        valid = ~torch.isnan(targets)
        if mask is not None:
            valid = valid & mask.bool()
        safe_targets = torch.where(valid, targets, torch.zeros_like(targets))
        nll = F.binary_cross_entropy_with_logits(logits, safe_targets, reduction="none")  # -log p_t
        p_t = torch.exp(-nll)
        loss = reduced_focal_weight(p_t, self.gamma, self.threshold) * nll
        loss = torch.where(valid, loss, torch.zeros_like(loss))
        if self.reduction == "none":
            return loss
        total = loss.sum()
        if self.reduction == "sum":
            return total
        return total / valid.sum().clamp(min=1)
