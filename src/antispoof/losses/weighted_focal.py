"""Weighted focal loss (Lin et al. 2017), for a sigmoid real/fake output and for a softmax over classes."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from antispoof._registry import LOSSES

__all__ = ["WeightedFocalLoss", "BinaryWeightedFocalLoss"]


def _reduce(loss: Tensor, valid: Tensor, reduction: str) -> Tensor:
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / valid.sum().clamp(min=1)


def _check(gamma: float, reduction: str) -> None:
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


@LOSSES.register("weighted_focal")
class WeightedFocalLoss(nn.Module):
    """Weighted focal loss over K classes, Lin et al. 2017 Eq. 5 as seed 002 writes it: FL(p_t) = -alpha_t (1 - p_t)^gamma log p_t.

    ``p_t`` is the softmax probability of the true class and ``alpha_t = weights[class]``
    (seed 002's bonus task: 0.5 / 0.25 / 0.25 for real / print / replay). Shapes:
    ``logits [B, K]``, ``targets [B]`` class indices; a negative target is left out
    (``ignore_index`` -1). Reduction: the mean over the counted samples (0 with a zero
    gradient when none count), their sum, or the per-sample values (``none``).

    Open in both papers and chosen here: ``gamma`` (seed 002 does not give it; 2 is Lin
    et al.'s default), the normalisation (Lin et al. divide by the anchors assigned to a
    box, which have no counterpart here: the mean over samples); the weights are not
    renormalised to sum to one.
    """

    def __init__(self, weights: Sequence[float], gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        _check(gamma, reduction)
        if len(weights) < 2 or any(w < 0 for w in weights):
            raise ValueError(f"weights are one non-negative number per class (at least two), got {list(weights)}")
        self.register_buffer("weights", torch.tensor([float(w) for w in weights]), persistent=False)
        self.gamma, self.reduction = float(gamma), reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        if logits.dim() != 2 or logits.shape[1] != len(self.weights) or targets.shape != logits.shape[:1]:
            raise ValueError(f"expected logits [B, {len(self.weights)}] and targets [B], got {tuple(logits.shape)} and "
                             f"{tuple(targets.shape)}")
        valid = targets >= 0
        safe = torch.where(valid, targets, torch.zeros_like(targets)).long()
        log_p_t = F.log_softmax(logits.float(), dim=1).gather(1, safe[:, None]).squeeze(1)
        alpha_t = self.weights.to(logits.device)[safe]
        loss = -alpha_t * (1.0 - log_p_t.exp()).pow(self.gamma) * log_p_t
        return _reduce(loss, valid, self.reduction)


@LOSSES.register("binary_weighted_focal")
class BinaryWeightedFocalLoss(nn.Module):
    """Weighted focal loss of one sigmoid output, Lin et al. 2017 Eq. 5 as seed 002 writes it: FL(p_t) = -alpha_t (1 - p_t)^gamma log p_t.

    ``logits [B]``: the logit of the *positive* class (here: real, so that the sigmoid
    is the liveness score); ``targets [B]``: 1 positive, 0 negative, anything else left
    out. ``p_t = p`` for a positive sample and ``1 - p`` for a negative one.
    ``alpha_t = alpha`` on the weighted class and ``1 - alpha`` on the other, as Lin et
    al. define it; seed 002 puts alpha = 0.8 on its Real class (``weighted`` = 1, the
    positive class; ``weighted`` = 0 puts alpha on the negative class instead).
    Reduction as :class:`WeightedFocalLoss`. With ``gamma = 0`` and ``alpha = 0.5`` it
    is half the binary cross-entropy.
    """

    def __init__(self, alpha: float = 0.8, gamma: float = 2.0, weighted: int = 1, reduction: str = "mean") -> None:
        super().__init__()
        _check(gamma, reduction)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if weighted not in (0, 1):
            raise ValueError(f"weighted is the class alpha weighs, 1 (positive) or 0 (negative), got {weighted}")
        self.alpha, self.gamma, self.weighted, self.reduction = float(alpha), float(gamma), int(weighted), reduction

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        if logits.shape != targets.shape or logits.dim() != 1:
            raise ValueError(f"expected logits [B] and targets [B], got {tuple(logits.shape)} and {tuple(targets.shape)}")
        logits = logits.float()
        valid = (targets == 0) | (targets == 1)
        positive = targets == 1
        log_p_t = F.logsigmoid(torch.where(positive, logits, -logits))  # log p for positives, log (1 - p) for negatives
        alpha_t = torch.where(positive == bool(self.weighted), torch.full_like(logits, self.alpha),
                              torch.full_like(logits, 1.0 - self.alpha))
        loss = -alpha_t * (1.0 - log_p_t.exp()).pow(self.gamma) * log_p_t
        return _reduce(loss, valid, self.reduction)
