"""MiniFASNet V1, V2, V1SE, V2SE: the small face anti-spoofing networks of minivision's Silent-Face.

Written from the published architecture (minivision-ai/Silent-Face-Anti-Spoofing,
``src/model_lib/MiniFASNet.py`` at commit b6d5f04): a MobileFaceNet-style body of
depth-wise separable blocks, pruned to the channel widths listed in :data:`KEEP`
("1.8M" for V1, "1.8M_" for V2), a global depth-wise convolution (kernel
``ceil(input / 16)``), a 128-d embedding and a linear layer to 3 classes (class 1 is the
live face). The SE variants add squeeze-and-excitation to the last block of each
residual stage. The module names follow the published state dicts, so their weights
load key for key (after the ``module.`` prefix of DataParallel is dropped).

Two registrations:

- ``BACKBONES`` ``minifasnet_v1``, ``minifasnet_v2``, ``minifasnet_v1se``,
  ``minifasnet_v2se``: a feature extractor (``[B, 128]`` embedding, ``num_features``) for
  any method (``model.backbone=minifasnet_v2``; ``model.weights`` a Silent-Face ``.pth``
  or a bundle's safetensors);
- ``NETWORKS`` ``silentface``: the two-member ensemble of Silent-Face
  (:class:`SilentFaceNet`), reading one view of the face per member.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from antispoof._registry import BACKBONES, NETWORKS

__all__ = ["KEEP", "VARIANTS", "MiniFASNet", "SilentFaceNet", "SplitPReLU", "split_prelus", "minifasnet", "conv6_kernel"]

#: Channel widths kept after pruning (the source's ``keep_dict``): 49 numbers, read in order by the stages.
KEEP: dict[str, tuple[int, ...]] = {
    "1.8M": (32, 32, 103, 103, 64, 13, 13, 64, 26, 26, 64, 13, 13, 64, 52, 52, 64, 231, 231, 128,
             154, 154, 128, 52, 52, 128, 26, 26, 128, 52, 52, 128, 26, 26, 128, 26, 26, 128, 308, 308,
             128, 26, 26, 128, 26, 26, 128, 512, 512),
    "1.8M_": (32, 32, 103, 103, 64, 13, 13, 64, 13, 13, 64, 13, 13, 64, 13, 13, 64, 231, 231, 128,
              231, 231, 128, 52, 52, 128, 26, 26, 128, 77, 77, 128, 26, 26, 128, 26, 26, 128, 308, 308,
              128, 26, 26, 128, 26, 26, 128, 512, 512),
}

#: variant -> (widths, squeeze-and-excitation)
VARIANTS: dict[str, tuple[str, bool]] = {
    "MiniFASNetV1": ("1.8M", False),
    "MiniFASNetV2": ("1.8M_", False),
    "MiniFASNetV1SE": ("1.8M", True),
    "MiniFASNetV2SE": ("1.8M_", True),
}


#: keep[] positions of the inner (expanded, depth-wise) widths of each block: padding them changes no output
_INNER = tuple(i for start in (1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43) for i in (start + 1, start + 2))


def padded_widths(keep: Sequence[int], multiple: int) -> tuple[int, ...]:
    """``keep`` with each block's inner widths rounded up to a multiple of ``multiple`` (SIMD-friendly; see :meth:`MiniFASNet.padded`)."""
    return tuple(-(-w // multiple) * multiple if i in _INNER else w for i, w in enumerate(keep))


def conv6_kernel(input_size: int) -> int:
    """Side of the global depth-wise kernel for a square input: ``(size + 15) // 16`` (the source's ``get_kernel``)."""
    return (int(input_size) + 15) // 16


class ConvBNPReLU(nn.Module):
    """Conv (no bias) -> BatchNorm -> PReLU, MobileFaceNet's conv block (Chen et al. 2018, Table 1; Silent-Face ``Conv_block``)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, padding: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.prelu = nn.PReLU(cout)

    def forward(self, x: Tensor) -> Tensor:
        return self.prelu(self.bn(self.conv(x)))


class SplitPReLU(nn.Module):
    """PReLU written as ``x + (1 - a) * relu(-x)`` (He et al. 2015, Eq. 1: ``max(0, x) + a * min(0, x)``); ``[B, C, H, W]`` in and out.

    Two 1x1 depth-wise convolutions: ``conv(relu(conv(x, -1)), 1 - a) + x``. For ``x >= 0``
    the second term is an exact zero, so the output is ``x`` bit for bit; for ``x < 0`` it is
    ``x - (1 - a) * x``, PReLU's ``a * x`` up to float rounding (``1 - a`` is rounded once and
    the sum cancels: a few units in the last place of ``x``; on the real weights the summed
    probabilities move by at most 3e-7). It exists for ONNX graphs. onnxruntime runs
    ``PRelu`` as a separate pass (49% of MiniFASNet's time there); element-wise
    ``Neg``/``Mul``/``Sub`` leave its blocked (NCHWc) layout and the reorders around them
    cost a quarter of the time; as depth-wise convolutions every step stays blocked, the
    ``Relu`` fuses into the first and the addition of ``x`` into the second (a convolution's
    fused sum). Each step reads and writes the whole activation, so the number of steps is
    the cost: ``relu(x) - a * relu(-x)`` took three (it was bit-identical, 4.1 ms a frame
    for both members, 8 frames, one thread), this form two (3.4 ms on the same run). In
    PyTorch (TorchScript, oneDNN) the plain PReLU is the faster form, so only graphs use this.
    """

    def __init__(self, prelu: nn.PReLU) -> None:
        super().__init__()
        c = prelu.weight.numel()
        self.channels = c
        self.register_buffer("minus", -torch.ones(c, 1, 1, 1))
        self.register_buffer("rest", (1.0 - prelu.weight.detach()).clone().reshape(c, 1, 1, 1))  # 1 - a

    def forward(self, x: Tensor) -> Tensor:
        import torch.nn.functional as F

        c = self.channels
        return F.conv2d(torch.relu(F.conv2d(x, self.minus, groups=c)), self.rest, groups=c) + x


def split_prelus(module: nn.Module) -> nn.Module:
    """``module`` with every :class:`torch.nn.PReLU` replaced, in place, by its :class:`SplitPReLU` (returned for chaining)."""
    for name, child in module.named_children():
        if isinstance(child, nn.PReLU):
            setattr(module, name, SplitPReLU(child))
        else:
            split_prelus(child)
    return module


class ConvBN(nn.Module):
    """Conv (no bias) -> BatchNorm with no activation, the linear bottleneck projection (Sandler et al. 2018, Sec. 3.2; Silent-Face ``Linear_block``)."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, padding: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation with BatchNorm after both 1x1 convolutions (Hu et al. 2018, Fig. 3; Silent-Face ``SEModule``).

    ``x [B, C, H, W] -> x * sigmoid(bn2(fc2(relu(bn1(fc1(mean_hw(x)))))))``; the hidden width is
    ``C // reduction``.
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        if channels // reduction < 1:
            raise ValueError(f"SE reduction {reduction} leaves no hidden channel of {channels}")
        hidden = channels // reduction
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        w = x.mean(dim=(2, 3), keepdim=True)
        w = self.bn2(self.fc2(self.relu(self.bn1(self.fc1(w)))))
        return x * torch.sigmoid(w)


class DepthWiseBlock(nn.Module):
    """1x1 expand (PReLU) -> 3x3 depth-wise (PReLU) -> 1x1 linear project, MobileFaceNet's bottleneck (Chen et al. 2018; Silent-Face ``Depth_Wise``).

    ``widths = (expand_in, expand_out, dw_out, project_out)``; with ``residual`` the input
    is added to the output (stride 1, equal widths), after the optional SE of the output.
    """

    def __init__(self, widths: Sequence[int], stride: int = 1, residual: bool = False, se_reduction: int | None = None) -> None:
        super().__init__()
        cin, c1, c2, c3 = (int(w) for w in widths)
        if residual and (stride != 1 or cin != c3):
            raise ValueError(f"a residual block needs stride 1 and equal in/out widths, got stride {stride}, {cin} -> {c3}")
        self.conv = ConvBNPReLU(cin, c1, 1)
        self.conv_dw = ConvBNPReLU(c1, c2, 3, stride=stride, padding=1, groups=c1)
        self.project = ConvBN(c2, c3, 1)
        self.residual = residual
        if se_reduction is not None:
            self.se_module = SqueezeExcite(c3, se_reduction)

    def forward(self, x: Tensor) -> Tensor:
        out = self.project(self.conv_dw(self.conv(x)))
        if not self.residual:
            return out
        if hasattr(self, "se_module"):
            out = self.se_module(out)
        return x + out


class ResidualStage(nn.Module):
    """A stack of residual :class:`DepthWiseBlock` s; with ``se`` the last one carries SE (Silent-Face ``Residual`` / ``ResidualSE``)."""

    def __init__(self, widths: Sequence[Sequence[int]], se_reduction: int | None = None) -> None:
        super().__init__()
        n = len(widths)
        self.model = nn.Sequential(*(
            DepthWiseBlock(w, residual=True, se_reduction=se_reduction if i == n - 1 else None) for i, w in enumerate(widths)
        ))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def _stage_widths(keep: Sequence[int], start: int, blocks: int) -> list[tuple[int, int, int, int]]:
    """Widths of ``blocks`` consecutive blocks from ``keep[start]``: block i reads keep[start + 3i .. start + 3i + 3]."""
    return [tuple(keep[start + 3 * i : start + 3 * i + 4]) for i in range(blocks)]  # type: ignore[misc]


class MiniFASNet(nn.Module):
    """MiniFASNet (Silent-Face ``MiniFASNet`` / ``MiniFASNetSE``): ``[B, 3, S, S] -> logits [B, num_classes]``.

    Stages (strides): conv1 3x3/2, conv2_dw 3x3 depth-wise, conv_23 /2, 4 residual blocks,
    conv_34 /2, 6 residual blocks, conv_45 /2, 2 residual blocks, conv_6_sep 1x1 to 512,
    conv_6_dw global depth-wise ``conv6_kernel(S)``, embedding (a linear layer to
    ``embedding_size`` unless it is 512), BatchNorm1d, dropout, linear to the classes.
    The source's ``img_channel`` is ``in_chans``; its SE reduction is 4.
    """

    def __init__(self, variant: str = "MiniFASNetV2", input_size: int = 80, num_classes: int = 3, embedding_size: int = 128,
                 drop_rate: float = 0.0, in_chans: int = 3, pad_to: int = 1) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise KeyError(f"unknown MiniFASNet variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        if input_size < 16:
            raise ValueError(f"MiniFASNet needs inputs of at least 16 px, got {input_size}")
        if pad_to < 1:
            raise ValueError(f"pad_to must be >= 1, got {pad_to}")
        widths, se = VARIANTS[variant]
        k = padded_widths(KEEP[widths], pad_to)
        red = 4 if se else None
        self.variant, self.input_size, self.num_classes = variant, int(input_size), int(num_classes)
        self.embedding_size = int(embedding_size)
        self.num_features = self.embedding_size
        self.conv1 = ConvBNPReLU(in_chans, k[0], 3, stride=2, padding=1)
        self.conv2_dw = ConvBNPReLU(k[0], k[1], 3, padding=1, groups=k[1])
        self.conv_23 = DepthWiseBlock((k[1], k[2], k[3], k[4]), stride=2)
        self.conv_3 = ResidualStage(_stage_widths(k, 4, 4), red)
        self.conv_34 = DepthWiseBlock((k[16], k[17], k[18], k[19]), stride=2)
        self.conv_4 = ResidualStage(_stage_widths(k, 19, 6), red)
        self.conv_45 = DepthWiseBlock((k[37], k[38], k[39], k[40]), stride=2)
        self.conv_5 = ResidualStage(_stage_widths(k, 40, 2), red)
        self.conv_6_sep = ConvBNPReLU(k[46], k[47], 1)
        kernel = conv6_kernel(input_size)
        self.conv_6_dw = ConvBN(k[47], k[48], kernel, groups=k[48])
        self.linear = nn.Linear(512, self.embedding_size, bias=False)
        self.bn = nn.BatchNorm1d(self.embedding_size)
        self.drop = nn.Dropout(drop_rate)
        self.prob = nn.Linear(self.embedding_size, num_classes, bias=False)
        self._check_size(input_size)

    def _check_size(self, input_size: int) -> None:
        side = input_size
        for _ in range(4):  # four stride-2 stages with padding 1 and kernel 3
            side = (side - 1) // 2 + 1
        if side != conv6_kernel(input_size):
            raise ValueError(f"an input of {input_size} px leaves {side}x{side} maps for a {conv6_kernel(input_size)} px "
                             "global kernel; use a multiple of 16 (80 for the published weights)")

    def input_range(self) -> tuple[int, int]:
        """``(smallest, largest)`` input side this network takes: the sides whose maps after the four stride-2 stages
        are exactly its final depth-wise kernel (found by trying: 65..80 px for the 80 px network's 5x5 kernel).

        Smaller maps are narrower than the kernel (a convolution error); larger ones leave it more than one
        position, so the flattened features no longer fit the embedding layer.
        """
        kernel = self.conv_6_dw.conv.kernel_size[0]
        return 16 * (kernel - 1) + 1, 16 * kernel

    def _check_input(self, x: Tensor) -> None:
        """Refuse an input side outside :meth:`input_range`, naming the range and the size the network was built for."""
        if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export():
            return  # export traces the size it was given, already checked
        side = min(x.shape[-2:])
        smallest, largest = self.input_range()
        if smallest <= side and max(x.shape[-2:]) <= largest:
            return
        bound = f"no input under {smallest} px" if side < smallest else f"no input over {largest} px"
        kernel = self.conv_6_dw.conv.kernel_size[0]
        raise ValueError(
            f"{self.variant} built for {self.input_size} px inputs takes {bound} (its final depth-wise kernel is "
            f"{kernel}x{kernel}, so inputs must be {smallest} to {largest} px), got {x.shape[-2]}x{x.shape[-1]}; "
            f"set data.image_size={self.input_size} (the size it was built and trained at)"
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """The embedding ``[B, embedding_size]`` after the BatchNorm1d (before dropout and the classifier)."""
        self._check_input(x)
        for stage in (self.conv1, self.conv2_dw, self.conv_23, self.conv_3, self.conv_34, self.conv_4, self.conv_45,
                      self.conv_5, self.conv_6_sep, self.conv_6_dw):
            x = stage(x)
        x = x.flatten(1)
        if self.embedding_size != 512:
            x = self.linear(x)
        return self.bn(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.prob(self.drop(self.forward_features(x)))

    @torch.no_grad()
    def padded(self, multiple: int = 8) -> MiniFASNet:
        """An equivalent copy whose inner widths are padded to ``multiple`` channels (faster on SIMD CPUs; same outputs).

        Each padded channel has zero weights in, a neutral BatchNorm (mean 0, var 1, weight and
        bias 0) and zero weights out, so it stays 0 through PReLU and adds nothing downstream.
        The pruned widths (13, 26, 103, 231, ...) leave vector lanes idle; padded to 8 the
        model stage runs about 1.6x faster with oneDNN (benchmarks/bench_silentface.py).
        """
        copy = type(self)(self.variant, input_size=self.input_size, num_classes=self.num_classes,
                          embedding_size=self.embedding_size, pad_to=multiple).eval()
        own = copy.state_dict()
        for key, value in self.state_dict().items():
            target = own[key]
            if key.endswith("running_var"):
                target.fill_(1.0)
            else:
                target.zero_()
            target[tuple(slice(0, n) for n in value.shape)] = value
        copy.load_state_dict(own)
        return copy


class MiniFASNetBackbone(MiniFASNet):
    """A MiniFASNet as a feature extractor: ``forward`` gives the ``[B, 128]`` embedding (``num_features``); no classifier."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drop, self.prob = nn.Identity(), nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_features(x)


def _load_backbone_weights(model: nn.Module, weights: str | Path) -> None:
    """Load a Silent-Face ``.pth`` (``module.`` prefix dropped, weights_only), a state dict, or a silentface bundle's member into ``model``.

    The classifier ``prob`` of a full MiniFASNet is not part of the backbone and is left out;
    any other missing or unexpected key is an error.
    """
    from antispoof.weights import load_state, read_metadata, weights_file

    state = load_state(weights)
    if any(k.startswith("members.") for k in state):  # a silentface bundle: the member of this variant
        path = weights_file(weights)
        members = read_metadata(path).get("network", {}).get("kwargs", {}).get("members", []) if path.suffix == ".safetensors" else []
        variant = getattr(model, "variant", None)
        if variant not in members:
            raise ValueError(f"{weights} holds the Silent-Face members {members}, none of them a {variant}; "
                             f"choose the backbone of one of them")
        prefix = f"members.{members.index(variant)}."
        state = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    state = {k: v for k, v in state.items() if not k.startswith("prob.")}
    own = model.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(k for k in state if k in own and tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or mismatched:
        raise ValueError(f"{weights} does not fit the {getattr(model, 'variant', type(model).__name__)} backbone: "
                         f"{len(missing)} missing {missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, "
                         f"{len(mismatched)} of another shape {mismatched[:3]}")
    model.load_state_dict(state)


def minifasnet(variant: str, weights: str | Path | None = None, in_chans: int = 3, input_size: int = 80, **kwargs: Any) -> MiniFASNetBackbone:
    """A MiniFASNet backbone of ``variant``; ``weights``: a Silent-Face ``.pth`` or a safetensors state dict of it."""
    model = MiniFASNetBackbone(variant, input_size=input_size, in_chans=in_chans, **kwargs)
    if weights is not None:
        _load_backbone_weights(model, weights)
    return model


def _register_backbones() -> None:
    for variant in VARIANTS:
        name = "minifasnet_" + variant.removeprefix("MiniFASNet").lower()

        def factory(weights: str | Path | None = None, in_chans: int = 3, _variant: str = variant, **kwargs: Any) -> MiniFASNetBackbone:
            return minifasnet(_variant, weights=weights, in_chans=in_chans, **kwargs)

        factory.__name__ = name
        factory.__doc__ = f"The {variant} backbone (``[B, 128]`` embedding); see :func:`minifasnet`."
        BACKBONES.register(name)(factory)


_register_backbones()


@NETWORKS.register("silentface")
class SilentFaceNet(nn.Module):
    """The Silent-Face ensemble: one MiniFASNet per view of the face, softmax probabilities summed (source ``test.py``).

    ``predict({"image": [B, V, 3, S, S]})`` (view ``v`` is the crop member ``v`` reads: BGR,
    raw 0-255) gives a liveness ``score`` in [0, 1] from the mean over members of the class
    probabilities ``p`` (live class ``live_class``), by ``score_rule``:

    - ``"live_probability"``: ``p_live``. The source's decision (the class of the highest
      summed probability) is not a threshold on it: with 3 classes a face at ``p_live``
      0.34-0.5 may be live or not;
    - ``"live_vs_strongest_attack"``: ``p_live / (p_live + max over attack classes p_k)``,
      the live probability when only live and the likeliest attack are in question. It is
      >= 0.5 exactly when live is the source's winning class (ties aside), so a threshold
      of 0.5 is the source's decision; ``p_live`` is then a cue, ``live_probability``.

    ``forward`` gives the summed probabilities ``[B, num_classes]``.
    """

    SCORE_RULES = ("live_probability", "live_vs_strongest_attack")

    def __init__(self, members: Sequence[str] = ("MiniFASNetV2", "MiniFASNetV1SE"), input_size: int = 80, num_classes: int = 3,
                 live_class: int = 1, score_rule: str = "live_probability") -> None:
        super().__init__()
        if not members:
            raise ValueError("a Silent-Face ensemble needs at least one member")
        if not 0 <= live_class < num_classes:
            raise ValueError(f"live_class {live_class} is not one of the {num_classes} classes")
        if score_rule not in self.SCORE_RULES:
            raise ValueError(f"unknown score_rule {score_rule!r}; one of {', '.join(self.SCORE_RULES)}")
        if score_rule == "live_vs_strongest_attack" and num_classes < 2:
            raise ValueError("score_rule live_vs_strongest_attack needs at least one attack class")
        # the default is the rule of cards written before score_rule existed, so they read the same
        self.arch: dict[str, Any] = {"members": list(members), "input_size": int(input_size), "num_classes": int(num_classes),
                                     "live_class": int(live_class), "score_rule": score_rule}
        self.members = nn.ModuleList(MiniFASNet(v, input_size=input_size, num_classes=num_classes) for v in members)
        self.live_class = int(live_class)
        self.score_rule = score_rule

    def inference_copy(self, graph: bool = False) -> SilentFaceNet:
        """An equivalent copy for fast CPU inference: each member :meth:`~MiniFASNet.padded` to 8 channels.

        ``graph``: the form for an ONNX graph, with every PReLU a :class:`SplitPReLU` too
        (faster in onnxruntime, slower in TorchScript; measured in :class:`SplitPReLU`).
        """
        copy = SilentFaceNet(self.arch["members"], self.arch["input_size"], self.arch["num_classes"], self.live_class,
                             self.score_rule)
        copy.members = nn.ModuleList(split_prelus(m.padded(8)) if graph else m.padded(8) for m in self.members)
        return copy.eval()

    def probabilities(self, views: Tensor) -> Tensor:
        """Per-member softmax probabilities ``[B, M, num_classes]`` from views ``[B, M, 3, S, S]``."""
        if views.dim() != 5 or views.shape[1] != len(self.members):
            raise ValueError(f"expected views [B, {len(self.members)}, 3, S, S] (one crop per member), got {tuple(views.shape)}")
        return torch.stack([torch.softmax(m(views[:, i]).float(), dim=1) for i, m in enumerate(self.members)], dim=1)

    def forward(self, views: Tensor) -> Tensor:
        return self.probabilities(views).sum(dim=1)

    @torch.no_grad()
    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"score": [B] by the score rule, "spoof_class_<k>": mean probability of attack class k [B]}``, and
        ``"live_probability"`` [B] when the score is not that.

        The source's decision takes the class of the highest summed probability, so the
        class probabilities are its explanation (what it prints: the winning one).
        """
        mean = self.probabilities(batch["image"]).mean(dim=1)
        live = mean[:, self.live_class]
        attacks = torch.cat([mean[:, : self.live_class], mean[:, self.live_class + 1 :]], dim=1)
        if self.score_rule == "live_vs_strongest_attack":
            out = {"score": live / (live + attacks.max(dim=1).values), "live_probability": live}
        else:
            out = {"score": live}
        for k in range(mean.shape[1]):
            if k != self.live_class:
                out[f"spoof_class_{k}"] = mean[:, k]
        return out


def silentface_member_name(filename: str) -> tuple[float | None, int, int, str]:
    """``(crop scale or None, height, width, variant)`` from a Silent-Face weights file name.

    ``2.7_80x80_MiniFASNetV2.pth`` -> ``(2.7, 80, 80, "MiniFASNetV2")``; ``4_0_0_80x80_MiniFASNetV1SE.pth``
    -> ``(4.0, 80, 80, "MiniFASNetV1SE")`` (the source reads the scale from the first ``_`` field only);
    ``org_1_80x60_...`` -> scale None (the whole image, resized).
    """
    stem = Path(filename).name
    if not stem.endswith(".pth"):
        raise ValueError(f"{filename}: a Silent-Face weights file ends in .pth")
    parts = stem.removesuffix(".pth").split("_")
    if len(parts) < 3 or "x" not in parts[-2]:
        raise ValueError(f"{filename}: expected SCALE_..._HxW_VARIANT.pth (e.g. 2.7_80x80_MiniFASNetV2.pth)")
    variant = parts[-1]
    if variant not in VARIANTS:
        raise ValueError(f"{filename}: unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    h, w = (int(v) for v in parts[-2].split("x"))
    scale = None if parts[0] == "org" else float(parts[0])
    if scale is not None and not math.isfinite(scale):
        raise ValueError(f"{filename}: crop scale {parts[0]!r} is not a number")
    return scale, h, w, variant
