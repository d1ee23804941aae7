"""Face-recognition ResNets of seed 001: its "ResNet-34" (1-2-5-3 basic blocks, PReLU, 32-channel stem) and "ResNet-50".

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
the authors' code's network; CPU configs use less, and say so).

The "ResNet-50" (``face_resnet50``, :data:`LAYERS_50`). The paper names it and gives no
layout: Sec. 4.3 ("Our final network architecture is based on the ResNet-34 and ResNet-50
[10] backbone with SE modules as illustrated in Fig. 2"), Sec. 5.3 ("Due to the GPU
limitations we further focus only on ResNet-34 and add Resnet-50 only at the final stage"),
Table 2 (resnet-50 pretrained on MSCeleb-1M and an Asian face dataset) and Table 3 (models
B and C, "resnet-50 with MLFA"). The authors' public code holds no ResNet-50 (only
``resnet_caffe34``). So the layout is our choice: the face skeleton above (the same
32-channel stem, un-padded conv3x3-BN-PReLU-maxpool stage entries, PReLU, 48 px minimum),
so that the multimodal network, its MLFA blocks and its weight loading treat both
depths alike, holding He et al.'s ResNet-50 (the paper's [10], Table 1): 3, 4, 6 and 3
bottleneck blocks (:class:`FaceBottleneck`: 1x1 to a quarter of the width, 3x3, 1x1 back)
and stage widths 256, 512, 1024, 2048 (expansion 4 of 64, 128, 256, 512). At 112 px the
maps are 54, 26, 12 and 5 px, as the "ResNet-34"'s. It has 46.3 M parameters at width 1
(He et al.'s ResNet-50: 25.6 M), most of them in the full 3x3 stage-entry convolutions the
face skeleton uses where He et al. project with strided 1x1 shortcuts. ``width`` scales it too.

Tensor names (``stem.conv``, ``layer2.down.bn``, ``layer3.blocks.4.conv1``, ...) are our
own; :func:`from_caffe_layout` maps a checkpoint in the authors' layout onto them.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor, nn

from antispoof._registry import BACKBONES, NETWORKS

__all__ = ["FaceResNet", "FaceBlock", "FaceBottleneck", "face_stage", "stage_widths", "from_caffe_layout",
           "init_face_weights", "MIN_INPUT", "LAYERS", "LAYERS_50", "BLOCKS", "BACKBONE_LAYOUTS"]

#: Blocks per stage of the paper's "ResNet-34" (seed 001 Table 3; the authors' code's ``[1, 2, 5, 3]``).
LAYERS = (1, 2, 5, 3)
#: Bottleneck blocks per stage of the "ResNet-50" (our choice: He et al. 2016 Table 1's 3-4-6-3; see the module docstring).
LAYERS_50 = (3, 4, 6, 3)
#: The smallest input side the un-padded stages accept (the last stage needs a 4 px map).
MIN_INPUT = 48
_STEM, _WIDTHS = 32, (64, 128, 256, 512)
#: Channels out of a block per channel of its bottleneck (He et al. 2016 Sec. 4.1: 4 for the bottleneck).
_EXPANSION = {"basic": 1, "bottleneck": 4}


def stage_widths(width: float = 1.0, block: str = "basic") -> tuple[int, int, int, int, int]:
    """``(stem, stage 1..4)`` channel counts at multiplier ``width`` (at least 4 channels each).

    ``block="bottleneck"`` (the "ResNet-50"): stages of 4x the basic widths (256 .. 2048), the stem unchanged.
    """
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    if block not in _EXPANSION:
        raise ValueError(f"block must be one of {', '.join(_EXPANSION)}, got {block!r}")
    k = _EXPANSION[block]
    return tuple(max(4, round(c * width)) for c in (_STEM, *(k * c for c in _WIDTHS)))  # type: ignore[return-value]


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


class FaceBottleneck(nn.Module):
    """The face "ResNet-50"'s bottleneck block, He et al. 2016 Sec. 4.1 / Fig. 5 right (seed 001's [10]; layout: our choice).

    ``x + a3(bn3(conv1x1(a2(bn2(conv3x3(a1(bn1(conv1x1(x)))))))))``, ``a`` a PReLU;
    ``[B, C, H, W] -> [B, C, H, W]`` through ``C // 4`` inner channels (expansion 4). Our
    choice where seed 001 is silent: PReLU after each BN and none after the sum, as :class:`FaceBlock`.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"a bottleneck block needs at least 1 channel, got {channels}")
        inner = max(1, channels // _EXPANSION["bottleneck"])
        self.conv1 = nn.Conv2d(channels, inner, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(inner)
        self.act1 = nn.PReLU(inner)
        self.conv2 = nn.Conv2d(inner, inner, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.act2 = nn.PReLU(inner)
        self.conv3 = nn.Conv2d(inner, channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)
        self.act3 = nn.PReLU(channels)

    def forward(self, x: Tensor) -> Tensor:
        h = self.act1(self.bn1(self.conv1(x)))
        h = self.act2(self.bn2(self.conv2(h)))
        return x + self.act3(self.bn3(self.conv3(h)))


#: The block kinds a face ResNet stage is built of.
BLOCKS: dict[str, type[nn.Module]] = {"basic": FaceBlock, "bottleneck": FaceBottleneck}
#: Each registered face ResNet's ``(blocks per stage, block kind)``: what a multimodal branch of that name is built of.
BACKBONE_LAYOUTS: dict[str, tuple[tuple[int, ...], str]] = {"face_resnet34": (LAYERS, "basic"),
                                                            "face_resnet50": (LAYERS_50, "bottleneck")}


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
    def __init__(self, in_channels: int, out_channels: int, blocks: int, block: str = "basic") -> None:
        super().__init__()
        self.down = _Down(in_channels, out_channels)
        self.blocks = nn.Sequential(*(BLOCKS[block](out_channels) for _ in range(blocks)))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.down(x))


def face_stage(in_channels: int, out_channels: int, blocks: int, block: str = "basic") -> nn.Module:
    """One face-ResNet stage (``down`` + ``blocks`` of kind ``block``): halves the map (minus 2 px) and changes the width.

    The multimodal network's res4 and aggregation blocks are such stages (seed 001 Fig. 2).
    """
    if blocks < 0:
        raise ValueError(f"a stage holds 0 or more blocks, got {blocks}")
    if block not in BLOCKS:
        raise ValueError(f"block must be one of {', '.join(BLOCKS)}, got {block!r}")
    return _Stage(in_channels, out_channels, blocks, block)


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
    stage); :meth:`stages` gives every stage's map (``widths[1:]`` channels). ``depth`` 3
    builds res1-res3 only (a multimodal branch). ``layers`` blocks per stage (default
    1-2-5-3) of kind ``block`` (``basic``: the "ResNet-34"; ``bottleneck``: the "ResNet-50").
    """

    def __init__(self, layers: tuple[int, ...] | list[int] = LAYERS, width: float = 1.0, in_chans: int = 3,
                 depth: int = 4, block: str = "basic") -> None:
        super().__init__()
        layers = tuple(int(n) for n in layers)
        if len(layers) != 4:
            raise ValueError(f"layers gives the blocks of the 4 stages, e.g. (1, 2, 5, 3); got {layers}")
        if depth not in (1, 2, 3, 4):
            raise ValueError(f"depth is the number of stages built (1-4), got {depth}")
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {', '.join(BLOCKS)} (face_resnet34: basic, face_resnet50: "
                             f"bottleneck), got {block!r}")
        self.arch: dict[str, Any] = {"layers": list(layers), "width": width, "in_chans": in_chans, "depth": depth,
                                     "block": block}
        self.widths = stage_widths(width, block)
        self.layers = layers
        self.block = block
        self.stem = _Stem(in_chans, self.widths[0])
        for i in range(depth):
            setattr(self, f"layer{i + 1}", face_stage(self.widths[i], self.widths[i + 1], layers[i], block))
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


def _named_face_resnet(name: str, weights: Any, in_chans: int, kwargs: dict[str, Any]) -> FaceResNet:
    layers, block = BACKBONE_LAYOUTS[name]
    net = FaceResNet(kwargs.pop("layers", layers), in_chans=in_chans, block=block, **kwargs)
    if weights is not None:
        from antispoof.weights import load_state

        state = from_caffe_layout(load_state(weights))
        net.load_state_dict(state, strict=True)
    return net


@BACKBONES.register("face_resnet34")
def _face_resnet34(weights: Any = None, in_chans: int = 3, **kwargs: Any) -> FaceResNet:
    """Seed 001 Sec. 4.3's face "ResNet-34" (1-2-5-3 basic blocks) by name; ``weights``: our layout or the authors'."""
    return _named_face_resnet("face_resnet34", weights, in_chans, kwargs)


@BACKBONES.register("face_resnet50")
def _face_resnet50(weights: Any = None, in_chans: int = 3, **kwargs: Any) -> FaceResNet:
    """Seed 001 Sec. 4.3 / Table 3 B-C's "ResNet-50": 3-4-6-3 bottleneck blocks (He et al. Table 1; our choice) by name."""
    return _named_face_resnet("face_resnet50", weights, in_chans, kwargs)


_CAFFE_STEM = {"conv1.": "stem.conv.", "bn1.": "stem.bn.", "relu.": "stem.act."}
_CAFFE_DOWN = {"0": "conv", "1": "bn", "2": "act"}
_CAFFE_BLOCK = {"relu1": "act1", "relu2": "act2", "relu3": "act3"}


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

