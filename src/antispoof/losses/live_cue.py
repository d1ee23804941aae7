"""L1 regression of the spoof cues of live samples to zero (LGSC)."""

from __future__ import annotations

from torch import Tensor, nn

from antispoof._registry import LOSSES

__all__ = ["LiveCueL1Loss"]


@LOSSES.register("live_cue_l1")
class LiveCueL1Loss(nn.Module):
    """Seed 004 Eq. 6: L_r = 1/N_l sum_{live i} ||C_i||_1 — spoof samples are left free (no term at all).

    ``cues [B, C, H, W]``, ``labels [B]`` (1 live). ``reduction="sample_sum"`` is Eq. 6 as
    written: each live map's L1 norm (summed over its pixels), averaged over live samples;
    ``"pixel_mean"`` (default) averages over the live samples' pixels, as the authors'
    code does: it keeps the paper's weight 5 (Sec. 4.1) in proportion to the other terms at any input
    size (the sum grows with H x W). 0 when the batch has no live sample.
    """

    def __init__(self, reduction: str = "pixel_mean") -> None:
        super().__init__()
        if reduction not in ("pixel_mean", "sample_sum"):
            raise ValueError(f"reduction must be 'pixel_mean' or 'sample_sum', got {reduction!r}")
        self.reduction = reduction

    def forward(self, cues: Tensor, labels: Tensor) -> Tensor:
        live = labels == 1
        if not bool(live.any()):
            return cues.sum() * 0.0
        per_sample = cues[live].abs().flatten(1)
        if self.reduction == "sample_sum":
            return per_sample.sum(dim=1).mean()
        return per_sample.mean()
