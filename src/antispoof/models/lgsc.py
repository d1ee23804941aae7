"""The LGSC spoof-cue generator (seed 004): a U-Net on a pretrained encoder whose Tanh output is the cue map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from antispoof._registry import NETWORKS
from antispoof.models.backbones import create_feature_backbone, freeze

__all__ = ["ResidualBlock", "DecoderBlock", "LGSCNet"]


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"norm must be 'instance' or 'batch', got {kind!r}")


class ResidualBlock(nn.Module):
    """The decoder's "Encoder Residual Block" (seed 004 Sec. 3.3): two 3x3 conv-norm layers + a 1x1 conv shortcut, ReLU after the sum.

    ``[B, cin, H, W] -> [B, cout, H, W]``. The paper (Sec. 3.3): "We aggregate the feature
    maps from the symmetric position in the encoder to the decoder by the concatenation
    operation and add an Encoder Residual Block afterward"; Sec. 4.4 names "the residual 1x1
    Conv in Decoder Residual Block". A ResNet-18 stage, which the name suggests and the
    authors' code stacks, is two BasicBlocks; ours is one (the first of those two, with its
    1x1 projection shortcut). Our choice, kept because the quickstart's measured ACER
    (README) was made with it; a second block (two more 3x3 convolutions per decoder stage)
    waits for a quickstart run that shows LGSC learns as well with it.
    """

    def __init__(self, cin: int, cout: int, norm: str = "instance") -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), _norm(norm, cout), nn.ReLU(inplace=True),
                                  nn.Conv2d(cout, cout, 3, padding=1, bias=False), _norm(norm, cout))
        self.shortcut = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class DecoderBlock(nn.Module):
    """Seed 004 Sec. 3.3: nearest x2 upsampling, a 2x2 conv padded so the size doubles exactly, concatenation with
    the same-resolution encoder feature (when there is one), then a :class:`ResidualBlock`. ``[B, cin, h, w] -> [B, cout, 2h, 2w]``."""

    def __init__(self, cin: int, skip: int, cout: int, norm: str = "instance") -> None:
        super().__init__()
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.ZeroPad2d((0, 1, 0, 1)),
                                nn.Conv2d(cin, cout, 2))
        self.block = ResidualBlock(cout + skip, cout, norm)

    def forward(self, x: Tensor, skip: Tensor | None = None) -> Tensor:
        x = self.up(x)
        return self.block(x if skip is None else torch.cat([x, skip], dim=1))


@NETWORKS.register("lgsc_net")
class LGSCNet(nn.Module):
    """U-Net spoof-cue generator, seed 004 Fig. 2: encoder E1-E5, decoder D1-D5, Tanh -> cue ``[B, 3, H, W]``.

    ``forward(images [B, 3, H, W] in [-1, 1]) -> (cue, [GAP(E5), GAP(D1), .., GAP(D4)])``;
    H and W divisible by 32. D1-D4 each take the encoder feature of their resolution (E4..E1);
    D5 has none and a 1x1 convolution and Tanh give the 3-channel cue. Decoder widths are the
    paper's open choice (Sec. 3.3 gives none): each Dk has the channels of the encoder level it joins (D5: half of
    D4's). ``norm`` and ``freeze_encoder_bn`` follow the authors' code by default (instance
    norm in the decoder; encoder BatchNorm statistics kept as pretrained).
    Score (seed 004 Eq. 10): liveness = 1 - mean |cue| (clipped to [0, 1]).
    """

    def __init__(self, backbone: str = "resnet18", weights: str | Path | None = None, norm: str = "instance",
                 freeze_encoder_bn: bool = True, freeze_encoder: bool = False) -> None:
        super().__init__()
        # what rebuilds the network for inference; freezing is training-only (and would warn there: no weights file)
        self.arch: dict[str, Any] = {"backbone": backbone, "norm": norm, "freeze_encoder_bn": freeze_encoder_bn}
        self.encoder = create_feature_backbone(backbone, weights=weights)
        if freeze_encoder:  # a departure (Sec. 4.1 trains end to end): a CPU budget trains the decoder alone
            freeze(self.encoder, has_weights=weights is not None, name=f"encoder {backbone}", key="model.freeze_encoder")
            freeze_encoder_bn = True
        chs = [f["num_chs"] for f in self.encoder.feature_info]
        if len(chs) != 5 or [f["reduction"] for f in self.encoder.feature_info] != [2, 4, 8, 16, 32]:
            raise ValueError(f"{backbone} does not give five stages at strides 2..32; choose a ResNet-like encoder")
        widths = [chs[3], chs[2], chs[1], chs[0], max(chs[0] // 2, 8)]
        skips = [chs[3], chs[2], chs[1], chs[0], 0]
        cins = [chs[4], *widths[:-1]]
        self.decoder = nn.ModuleList([DecoderBlock(ci, sk, co, norm) for ci, sk, co in zip(cins, skips, widths)])
        self.head = nn.Conv2d(widths[-1], 3, 1)
        self.freeze_encoder_bn = freeze_encoder_bn
        self.feature_widths = (chs[4], *widths[:4])

    def train(self, mode: bool = True) -> LGSCNet:
        super().train(mode)
        if mode and self.freeze_encoder_bn:
            for m in self.encoder.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, images: Tensor) -> tuple[Tensor, list[Tensor]]:
        if images.shape[-1] % 32 or images.shape[-2] % 32:
            raise ValueError(f"LGSC input sides must be multiples of 32, got {tuple(images.shape[-2:])}")
        e1, e2, e3, e4, e5 = self.encoder(images)
        pooled = [e5.mean(dim=(2, 3))]
        x = e5
        for block, skip in zip(self.decoder, (e4, e3, e2, e1, None)):
            x = block(x, skip)
            if skip is not None:  # D1..D4 feed the triplet loss
                pooled.append(x.mean(dim=(2, 3)))
        return torch.tanh(self.head(x)), pooled

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"score": 1 - mean |cue| [B], "spoof_cue": mean |cue| over channels [B, H, W]}`` (seed 004 Eq. 10).

        A batch of patch grids ``[B, P, C, H, W]`` is scored per face: the mean |cue| over all its
        patches, and its map is the mean of the patches' maps."""
        images = batch["image"]
        grid = images.ndim == 5
        with torch.no_grad():
            cue, _ = self.forward(images.flatten(0, 1) if grid else images)
        magnitude = cue.abs().mean(dim=1)  # [N, H, W]
        if grid:
            magnitude = magnitude.unflatten(0, images.shape[:2]).mean(dim=1)
        return {"score": (1.0 - magnitude.mean(dim=(1, 2))).clamp(0.0, 1.0), "spoof_cue": magnitude}
