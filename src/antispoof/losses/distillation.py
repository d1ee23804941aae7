"""Knowledge distillation loss of seed 000 (Eq. 1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from antispoof._registry import LOSSES

__all__ = ["DistillationLoss", "binary_to_two_class"]


def binary_to_two_class(logit: Tensor) -> Tensor:
    """``[B]`` logits of one binary head -> ``[B, 2]`` class logits ``(0, z)``, whose softmax at any temperature is ``(1 - sigmoid(z/tau), sigmoid(z/tau))``."""
    return torch.stack([torch.zeros_like(logit), logit], dim=-1)


@LOSSES.register("distillation")
class DistillationLoss(nn.Module):
    """Weighted distillation, seed 000 Eq. 1 (after Chen et al. 2020): L = -(1-alpha) sum_L log P^S(y_i|x_i) - alpha sum_D sum_y P^T(y|x_i; tau) log P^S(y|x_i; tau).

    Shapes: ``student_logits`` and ``teacher_logits`` are ``[B, C]`` class logits (use
    :func:`binary_to_two_class` for a single binary logit); ``labels`` is ``[B]`` int64
    with ``-1`` for unlabelled samples (they enter only the soft term). The teacher is
    detached (it is frozen).

    Chosen where Eq. 1 is open: both sums become means (the hard term over labelled
    samples, the soft term over all samples), so the loss does not grow with batch
    size. The soft term is *not* multiplied by ``tau^2`` by default, because Eq. 1 has
    no such factor; Hinton et al. add it to keep the soft gradients' size independent
    of ``tau`` (they shrink as 1/tau^2). ``scale_soft_by_tau_squared=True`` turns it on.
    """

    def __init__(self, alpha: float = 0.5, tau: float = 1.0, scale_soft_by_tau_squared: bool = False) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if tau <= 0:
            raise ValueError(f"tau must be > 0, got {tau}")
        self.alpha = float(alpha)
        self.tau = float(tau)
        self.scale_soft_by_tau_squared = bool(scale_soft_by_tau_squared)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor, labels: Tensor) -> Tensor:
        if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
            raise ValueError(
                f"student {tuple(student_logits.shape)} and teacher {tuple(teacher_logits.shape)} logits must both be [B, C]"
            )
        student_logits = student_logits.float()
        teacher_logits = teacher_logits.detach().float()
        labelled = labels >= 0
        if labelled.any():
            hard = F.cross_entropy(student_logits[labelled], labels[labelled].long())
        else:
            hard = student_logits.sum() * 0.0
        teacher_p = F.softmax(teacher_logits / self.tau, dim=-1)
        student_logp = F.log_softmax(student_logits / self.tau, dim=-1)
        soft = -(teacher_p * student_logp).sum(dim=-1).mean()
        if self.scale_soft_by_tau_squared:
            soft = soft * self.tau**2
        return (1.0 - self.alpha) * hard + self.alpha * soft
