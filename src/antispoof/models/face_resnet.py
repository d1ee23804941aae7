"""Face-recognition ResNets: the "ResNet-34" of seed 001 (a 1-2-5-3 block variant with PReLU and a 32-channel stem).

Seed 001 (Parkin & Grinchuk) builds its branches from networks pretrained for face
recognition, not from ImageNet ResNets. Its text calls the backbone "resnet-34"; the
authors' public code (``resnet_caffe.py`` / ``resnet_caffe_DLAS.py`` of
AlexanderParkin/ChaLearn_liveness_challenge, read for the facts below, none of its code
used) shows what that network is:

- stem: 3x3 convolution, stride 1, no padding, 32 channels, BatchNorm, PReLU;
- four stages of widths 64, 128, 256, 512; each opens with a 3x3 convolution (no padding,
  stride 1), BatchNorm, PReLU and a 2x2 max-pool (the only down-sampling), then holds 1, 2,
  5 and 3 basic blocks;
- a basic block is conv3x3-BN-PReLU-conv3x3-BN-PReLU plus the identity (the activation
  comes *before* the sum, and nothing follows it).

At 112 px the maps are 110 (stem), 54, 26, 12 and 5 px. The un-padded convolutions make
48 px the smallest input (:data:`MIN_INPUT`). ``width`` scales every channel count (1.0 is
the paper's network; CPU configs use less, and say so).

Tensor names (``stem.conv``, ``layer2.down.bn``, ``layer3.blocks.4.conv1``, ...) are our
own; :func:`from_caffe_layout` maps a checkpoint in the authors' layout onto them.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor, nn

from antispoof._registry import BACKBONES, NETWORKS

__all__ = ["FaceResNet", "FaceBlock", "face_stage", "stage_widths", "from_caffe_layout", "init_face_weights", "MIN_INPUT", "LAYERS"]

#: Blocks per stage of the paper's "ResNet-34" (seed 001; the authors' ``[1, 2, 5, 3]``).
LAYERS = (1, 2, 5, 3)
#: The smallest input side the un-padded stages accept (the last stage needs a 4 px map).
MIN_INPUT = 48
_STEM, _WIDTHS = 32, (64, 128, 256, 512)


def stage_widths(width: float = 1.0) -> tuple[int, int, int, int, int]:
    """``(stem, stage 1..4)`` channel counts at multiplier ``width`` (at least 4 channels each)."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return tuple(max(4, round(c * width)) for c in (_STEM, *_WIDTHS))  # type: ignore[return-value]


class FaceBlock(nn.Module):
    """The face ResNet's basic block, seed 001's backbone: ``x + PReLU(BN(conv(PReLU(BN(conv(x))))))`` (activation before the sum)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.act2 = nn.PReLU(channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))


class _Down(nn.Module):
    """A stage's entry: un-padded conv3x3 to the new width, BN, PReLU, 2x2 max-pool (the stage's only down-sampling)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.PReLU(out_channels)
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.act(self.bn(self.conv(x))))


class _Stage(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, blocks: int) -> None:
        super().__init__()
        self.down = _Down(in_channels, out_channels)
        self.blocks = nn.Sequential(*(FaceBlock(out_channels) for _ in range(blocks)))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.down(x))


def face_stage(in_channels: int, out_channels: int, blocks: int) -> nn.Module:
    """One face-ResNet stage (``down`` + ``blocks``): halves the map (minus 2 px) and changes the width.

    The multimodal network's res4 and aggregation blocks are such stages (seed 001 Fig. 2).
    """
    if blocks < 0:
        raise ValueError(f"a stage holds 0 or more blocks, got {blocks}")
    return _Stage(in_channels, out_channels, blocks)


class _Stem(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.PReLU(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


def init_face_weights(module: nn.Module) -> None:
    """Kaiming-normal convolutions (fan out), BN weight 1 / bias 0: the authors' ``ResNetCaffe`` initialisation."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


@NETWORKS.register("face_resnet")
class FaceResNet(nn.Module):
    """The face-recognition ResNet of seed 001 (see the module docstring): stem + ``depth`` stages; GAP features.

    ``forward(x [B, C, H, W]) -> [B, num_features]`` (global average pool of the last
    stage); :meth:`stages` gives every stage's map. ``depth`` 3 builds res1-res3 only (a
    multimodal branch). ``layers`` blocks per stage (default 1-2-5-3).
    """

    def __init__(self, layers: tuple[int, ...] | list[int] = LAYERS, width: float = 1.0, in_chans: int = 3,
                 depth: int = 4) -> None:
        super().__init__()
        layers = tuple(int(n) for n in layers)
        if len(layers) != 4:
            raise ValueError(f"layers gives the blocks of the 4 stages, e.g. (1, 2, 5, 3); got {layers}")
        if depth not in (1, 2, 3, 4):
            raise ValueError(f"depth is the number of stages built (1-4), got {depth}")
        self.arch: dict[str, Any] = {"layers": list(layers), "width": width, "in_chans": in_chans, "depth": depth}
        self.widths = stage_widths(width)
        self.layers = layers
        self.stem = _Stem(in_chans, self.widths[0])
        for i in range(depth):
            setattr(self, f"layer{i + 1}", face_stage(self.widths[i], self.widths[i + 1], layers[i]))
        self.depth = depth
        self.num_features = self.widths[depth]
        init_face_weights(self)

    def stages(self, x: Tensor) -> list[Tensor]:
        """The map after each stage (res1 .. res``depth``)."""
        tracing = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
        if not tracing and min(x.shape[-2:]) < MIN_INPUT:
            raise ValueError(f"the face ResNet needs inputs of at least {MIN_INPUT} px (its convolutions are un-padded), "
                             f"got {tuple(x.shape[-2:])}; raise data.image_size")
        x = self.stem(x)
        out = []
        for i in range(self.depth):
            x = getattr(self, f"layer{i + 1}")(x)
            out.append(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(x)[-1].mean(dim=(2, 3))

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        raise TypeError("a face-recognition backbone gives features, not liveness scores: train `multimodal` on it "
                        "(model.weights=RUN/backbone.safetensors) and score that")


@BACKBONES.register("face_resnet34")
def _face_resnet34(weights: Any = None, in_chans: int = 3, **kwargs: Any) -> FaceResNet:
    """The paper's face "ResNet-34" (1-2-5-3 blocks) as a backbone by name; ``weights``: our layout or the authors'."""
    net = FaceResNet(LAYERS, in_chans=in_chans, **kwargs)
    if weights is not None:
        from antispoof.weights import load_state

        state = from_caffe_layout(load_state(weights))
        net.load_state_dict(state, strict=True)
    return net


_CAFFE_STEM = {"conv1.": "stem.conv.", "bn1.": "stem.bn.", "relu.": "stem.act."}
_CAFFE_DOWN = {"0": "conv", "1": "bn", "2": "act"}
_CAFFE_BLOCK = {"relu1": "act1", "relu2": "act2"}


def from_caffe_layout(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """A state dict in the authors' ``ResNetCaffe`` layout renamed to :class:`FaceResNet`'s; our own layout passes unchanged.

    The authors' layout (the face-recognition checkpoints their code loads): ``conv1``,
    ``bn1``, ``relu`` (the stem's conv, BN, PReLU); ``layerN.0`` / ``.1`` / ``.2`` (a
    stage's entry conv, BN, PReLU; ``.3`` is the parameter-free max-pool); ``layerN.K.*``
    for K >= 4 the blocks (``conv1 bn1 relu1 conv2 bn2 relu2``). A ``module.`` prefix
    (DataParallel) and a ``model_state_dict`` wrapper are removed; keys that match
    neither layout (a classifier ``fc``, say) are kept as they are, for the caller's
    report of unexpected keys.
    """
    if "model_state_dict" in state and isinstance(state["model_state_dict"], dict):
        state = state["model_state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, Tensor)}
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        out[_rename(key)] = value
    return out


def _rename(key: str) -> str:
    if key.startswith("stem.") or re.match(r"layer\d\.(down|blocks)\.", key):
        return key  # already ours
    for old, new in _CAFFE_STEM.items():
        if key.startswith(old):
            return new + key[len(old):]
    m = re.match(r"(layer\d)\.(\d+)\.(.+)$", key)
    if m is None:
        return key
    layer, index, rest = m.group(1), int(m.group(2)), m.group(3)
    if index < 3:
        return f"{layer}.down.{_CAFFE_DOWN[str(index)]}.{rest}"
    if index == 3:
        return key  # the max-pool has no tensors; anything here is foreign: kept for the report
    name, _, tail = rest.partition(".")
    return f"{layer}.blocks.{index - 4}.{_CAFFE_BLOCK.get(name, name)}.{tail}"


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)

