"""The multi-modal fusion network of seed 001 (Parkin & Grinchuk, Fig. 2): three face-ResNet branches, SE fusion, MLFA.

Each branch (RGB, IR, Depth by default; any modality per branch for the paper's Sec. 5.10
ablation) runs res1-res3 of a face ResNet (:mod:`antispoof.models.face_resnet`: the
"ResNet-34" of basic blocks, or the "ResNet-50" of bottlenecks, ``block``). The
res3 maps are re-weighted by squeeze-and-excitation and concatenated (the paper, Sec. 4.3,
follows its reference [26], Zhang et al., which puts one SE block on each branch; ``fusion="se_concat"``
puts a single SE on the concatenation, ``"none"`` concatenates as the authors' code
``ResNetDLAS`` type A does), then res4. The multi-level feature aggregation (MLFA) blocks:
at res1, res2 and res3 the three branches' maps are concatenated, reduced by a 1x1
convolution with ReLU, added to the previous aggregation block's output (from agg2 on)
and passed through a down-sampling stage of the face ResNet (agg1..agg3 have the shapes
of res2..res4). The agg3 output and the res4 output are each globally average-pooled and
summed (the authors' code sums after pooling; the paper's Fig. 2 draws the sum and then
the GAP: because GAP is linear, GAP(a) + GAP(b) = GAP(a + b), so the two orders give the
same output, which a test checks); a linear layer gives 2 logits (attack, bona fide).

Where the paper (Sec. 4.3, Fig. 2) is silent and we chose (configurable where it matters):
- the aggregation blocks read the branches' res3 maps *before* SE re-weighting (Fig. 2
  draws the taps before the fusion block; the authors' type A has no SE at all);
- the aggregation blocks' stages have the blocks of the stage they mirror (agg1: res2's,
  agg2: res3's, agg3: res4's), as in the authors' code; they start random (the paper,
  Sec. 5.6: "We initialize aggregation modules with random weights"), or from those
  stages of the pretrained network as the authors' code does (``aggregation_init`` of
  :func:`antispoof.methods.multimodal.load_face_weights`);
- SE reduction ratio 16 (Hu et al.'s default); IR and depth enter with 3 (replicated)
  channels, so a branch pretrained on RGB faces loads unchanged, as the authors feed them;
- a missing modality (a branch whose modality is not in ``inputs``) is fed zeros, the
  normalised value a modality-dropout-trained model saw for an absent input.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from antispoof._registry import NETWORKS
from antispoof.data.inputs import MODALITY_NAMES, modality_key
from antispoof.models.face_resnet import LAYERS, FaceResNet, face_stage, init_face_weights, stage_widths

__all__ = ["MultiModalNet", "SqueezeExcitation", "AggregationBlock", "FUSIONS"]

FUSIONS = ("se_branch", "se_concat", "none")


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation, Hu et al. 2018 Eq. 2-4: ``x * sigmoid(W2 relu(W1 GAP(x)))`` per channel.

    ``[B, C, H, W] -> [B, C, H, W]``; ``W1``: C -> C / r, ``W2``: C / r -> C (with biases).
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        if reduction < 1:
            raise ValueError(f"the SE reduction ratio must be >= 1, got {reduction}")
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def weights(self, x: Tensor) -> Tensor:
        """The excitation ``s [B, C]`` in (0, 1)."""
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.weights(x)[:, :, None, None]


class AggregationBlock(nn.Module):
    """One MLFA block of seed 001 (Sec. 4.3, Fig. 2): ``stage(relu(conv1x1(concat(branches))) [+ previous])``.

    ``forward(maps [3 x [B, C_in, H, W]], previous [B, C_in, H, W] or None) -> [B, C_out, H', W']``.
    """

    def __init__(self, branches: int, in_channels: int, out_channels: int, blocks: int, block: str = "basic") -> None:
        super().__init__()
        self.reduce = nn.Conv2d(branches * in_channels, in_channels, 1)
        self.stage = face_stage(in_channels, out_channels, blocks, block)

    def forward(self, maps: list[Tensor], previous: Tensor | None = None) -> Tensor:
        x = torch.relu(self.reduce(torch.cat(maps, dim=1)))
        if previous is not None:
            x = x + previous
        return self.stage(x)


@NETWORKS.register("multimodal_net")
class MultiModalNet(nn.Module):
    """Seed 001's network (see the module docstring): ``forward(batch) -> logits [B, 2]`` (class 1 = bona fide).

    Args:
        branches: the modality each of the three branches reads (``["rgb", "ir", "depth"]``;
            ``["ir", "ir", "ir"]`` is the IR-only ablation of the paper's Table 5).
        inputs: the modalities the deployed network is given (default: those of
            ``branches``); a branch whose modality is absent reads zeros.
        layers, width: the face ResNet's blocks per stage and channel multiplier.
        block: the face ResNet's block kind: ``basic`` ("ResNet-34") or ``bottleneck`` ("ResNet-50").
        fusion: ``se_branch`` (one SE per branch: Sec. 4.3 follows [26]), ``se_concat`` or ``none``.
        aggregation: the MLFA blocks on (off: the paper's "resnet-34" rows of Table 3 without MLFA).
        in_chans: channels of each branch's input (3: IR and depth replicated).
    """

    def __init__(self, branches: tuple[str, ...] | list[str] = ("rgb", "ir", "depth"), inputs: list[str] | None = None,
                 layers: tuple[int, ...] | list[int] = LAYERS, width: float = 1.0, fusion: str = "se_branch",
                 aggregation: bool = True, se_reduction: int = 16, in_chans: int = 3, block: str = "basic") -> None:
        super().__init__()
        branches = [str(b) for b in branches]
        unknown = [b for b in branches if b not in MODALITY_NAMES]
        if len(branches) < 1 or unknown:
            raise ValueError(f"branches name a modality each ({', '.join(MODALITY_NAMES)}), got {branches}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
        inputs = list(dict.fromkeys(branches)) if inputs is None else [str(m) for m in inputs]
        stray = [m for m in inputs if m not in MODALITY_NAMES]
        if stray:
            raise ValueError(f"inputs name modalities ({', '.join(MODALITY_NAMES)}), got {inputs}")
        if not set(inputs) & set(branches):
            raise ValueError(f"none of the inputs {inputs} feeds a branch ({branches}); the network would see only zeros")
        layers = [int(n) for n in layers]
        self.arch: dict[str, Any] = {"branches": branches, "inputs": inputs, "layers": layers, "width": width,
                                     "fusion": fusion, "aggregation": bool(aggregation), "se_reduction": se_reduction,
                                     "in_chans": in_chans, "block": block}
        self.branch_names = tuple(branches)
        self.inputs = tuple(inputs)
        self.in_chans = in_chans
        w = stage_widths(width, block)
        n = len(branches)
        self.branches = nn.ModuleList([FaceResNet(layers, width=width, in_chans=in_chans, depth=3, block=block)
                                       for _ in branches])
        if fusion == "se_branch":
            self.se: nn.ModuleList | nn.Module = nn.ModuleList([SqueezeExcitation(w[3], se_reduction) for _ in branches])
        elif fusion == "se_concat":
            self.se = SqueezeExcitation(n * w[3], se_reduction)
        else:
            self.se = nn.Identity()
        self.fusion = fusion
        self.res4 = face_stage(n * w[3], w[4], layers[3], block)
        self.aggregation = bool(aggregation)
        if self.aggregation:
            self.agg = nn.ModuleList([AggregationBlock(n, w[i], w[i + 1], layers[i], block) for i in (1, 2, 3)])
        self.classifier = nn.Linear(w[4], 2)
        self.num_features = w[4]
        init_face_weights(self)

    def branch_inputs(self, batch: dict[str, Tensor]) -> list[Tensor]:
        """Each branch's input: its modality's tensor, or zeros shaped like the RGB input when that modality is absent."""
        reference = batch[modality_key(self.inputs[0])]
        out = []
        for name in self.branch_names:
            if name in self.inputs:
                key = modality_key(name)
                if key not in batch:
                    raise KeyError(f"this network reads {', '.join(self.inputs)}; the batch has no {key!r} ({name})")
                out.append(batch[key])
            else:
                shape = (reference.shape[0], self.in_chans, *reference.shape[-2:])
                out.append(reference.new_zeros(shape))
        return out

    def features(self, batch: dict[str, Tensor], pool_first: bool = True) -> Tensor:
        """The pooled fused features ``[B, num_features]`` (``pool_first=False``: sum the maps, then pool: the same value)."""
        maps = [branch.stages(x) for branch, x in zip(self.branches, self.branch_inputs(batch))]
        top = [m[2] for m in maps]
        if self.fusion == "se_branch":
            fused = torch.cat([se(x) for se, x in zip(self.se, top)], dim=1)
        else:
            fused = self.se(torch.cat(top, dim=1))
        main = self.res4(fused)
        if not self.aggregation:
            return main.mean(dim=(2, 3))
        agg = None
        for level, block in enumerate(self.agg):
            agg = block([m[level] for m in maps], agg)
        if pool_first:  # the authors' order
            return main.mean(dim=(2, 3)) + agg.mean(dim=(2, 3))
        return (main + agg).mean(dim=(2, 3))

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return self.classifier(self.features(batch))

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"score": softmax bona fide probability [B]}`` (seed 001 scores with the softmax of the live class)."""
        with torch.no_grad():
            logits = self.forward(batch)
        return {"score": torch.softmax(logits.float(), dim=1)[:, 1]}
