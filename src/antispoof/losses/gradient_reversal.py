"""The gradient reversal layer of domain-adversarial training."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from antispoof._registry import LOSSES

__all__ = ["GradientReversal", "reverse_gradient"]


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, coefficient: float) -> Tensor:  # type: ignore[override]
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return -ctx.coefficient * grad, None


def reverse_gradient(x: Tensor, coefficient: float = 1.0) -> Tensor:
    """Identity forward; the gradient flowing back is multiplied by ``-coefficient``."""
    return _Reverse.apply(x, float(coefficient))


@LOSSES.register("gradient_reversal")
class GradientReversal(nn.Module):
    """Gradient reversal layer, Ganin & Lempitsky 2015 (seed 003 ref., Sec. 2.4 L_adv): R(x) = x, dR/dx = -coefficient * I.

    Placed between a feature extractor and a domain discriminator, it lets the
    discriminator learn to tell the domains apart while the extractor learns features
    that defeat it. ``coefficient`` is the reversal weight (Ganin & Lempitsky's lambda;
    named apart from PDLE's patch ratio lambda). Shapes: any tensor, returned unchanged.
    """

    def __init__(self, coefficient: float = 1.0) -> None:
        super().__init__()
        if coefficient < 0:
            raise ValueError(f"the reversal coefficient must be >= 0, got {coefficient}")
        self.coefficient = float(coefficient)

    def forward(self, x: Tensor) -> Tensor:
        return reverse_gradient(x, self.coefficient)
