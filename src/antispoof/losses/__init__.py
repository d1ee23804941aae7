"""Losses: one small ``nn.Module`` each, with its paper and equation in the docstring.

Losses register in :data:`LOSSES` and are built by name with :func:`create_loss`.
"""

from __future__ import annotations

from typing import Any

from antispoof._registry import LOSSES
from antispoof.losses.distillation import DistillationLoss  # (registers itself)
from antispoof.losses.gradient_reversal import GradientReversal  # (registers itself)
from antispoof.losses.live_cue import LiveCueL1Loss  # (registers itself)
from antispoof.losses.reduced_focal import ReducedFocalLoss  # (registers itself)
from antispoof.losses.triplet import LiveAnchorTripletLoss  # (registers itself)
from antispoof.losses.weighted_focal import BinaryWeightedFocalLoss, WeightedFocalLoss  # (registers itself)

__all__ = ["LOSSES", "create_loss", "list_losses", "ReducedFocalLoss", "DistillationLoss", "GradientReversal",
           "LiveAnchorTripletLoss", "LiveCueL1Loss", "WeightedFocalLoss", "BinaryWeightedFocalLoss"]


def create_loss(name: str, **kwargs: Any) -> Any:
    """Build the loss registered as ``name`` with its keyword arguments."""
    return LOSSES.create(name, **kwargs)


def list_losses(pattern: str = "*") -> list[str]:
    """Names of the registered losses matching a shell wildcard."""
    return LOSSES.list(pattern)
