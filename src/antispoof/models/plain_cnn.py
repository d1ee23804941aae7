"""A plain VGG-style backbone, small enough to train from scratch on a CPU in minutes.

Spoof cues in a face crop are fine texture (halftone dots, moire, paper grain, screen
pixels). Mobile architectures such as LCNet or MobileNetV3 halve the resolution in their
first layer and again soon after; trained from scratch on a few thousand crops they
barely learn those cues (measured on the quickstart's synthetic data, 20 epochs with a
one-cycle learning rate: held-out AUC 0.83 for lcnet_050 against 0.99 for a network of
this kind). This one keeps full resolution in its first convolution and halves it only
after each stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch import Tensor, nn

from antispoof._registry import BACKBONES

__all__ = ["PlainCNN", "plain_cnn"]


class PlainCNN(nn.Module):
    """VGG-style stages (Simonyan & Zisserman 2015, Sec. 2.1: 3x3 convolutions, 2x2 max-pooling), BatchNorm, global average pool.

    ``forward`` gives pooled features ``[B, num_features]`` like a timm model built with
    ``num_classes=0``; stage ``k`` is conv3x3-BN-ReLU at ``widths[k]`` channels, and every
    stage but the last is followed by a 2x2 max-pool.
    """

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 128), in_chans: int = 3) -> None:
        super().__init__()
        if not widths:
            raise ValueError("widths must name at least one stage")
        layers: list[nn.Module] = []
        cin = in_chans
        for k, cout in enumerate(widths):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            if k < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.num_features = int(widths[-1])

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x).mean(dim=(2, 3))


@BACKBONES.register("plain_cnn")
def plain_cnn(weights: str | Path | None = None, in_chans: int = 3, widths: Sequence[int] = (16, 32, 64, 128)) -> PlainCNN:
    """The :class:`PlainCNN` backbone; ``weights``: a local state dict (.safetensors or .pth) of the same widths, loaded by timm."""
    model = PlainCNN(widths, in_chans=in_chans)
    if weights is not None:  # create_backbone has checked that the file exists
        from timm.models import load_checkpoint

        load_checkpoint(model, str(weights), weights_only=True)
    return model
