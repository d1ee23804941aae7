"""Backbones: timm architectures by name, with optional local weights and never a download."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor, nn

from antispoof._registry import BACKBONES

__all__ = ["create_backbone", "create_classifier", "create_feature_backbone", "freeze", "stage_layout", "stage_statistics", "Standardize"]

log = logging.getLogger(__name__)


def create_backbone(name: str, weights: str | Path | None = None, in_chans: int = 3, **kwargs) -> nn.Module:
    """A feature extractor (``num_classes=0``, pooled ``[B, num_features]`` output) named ``name``.

    ``name`` is a locally registered backbone or any timm architecture. ``weights`` is a
    local file loaded through timm's ``pretrained_cfg_overlay=dict(file=...)``; without it
    the network starts from random weights. Nothing is ever fetched from a hub.
    """
    if weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(f"backbone weights {weights} not found; give a local .pth/.safetensors file or model.weights=null")
    if name in BACKBONES:
        return BACKBONES.create(name, weights=weights, in_chans=in_chans, **kwargs)
    import timm

    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('_')[0]}*")[:5]
        hint = f" Close names: {', '.join(close)}." if close else ""
        raise KeyError(f"unknown backbone {name!r}.{hint} List them with `antispoof list backbones 'pattern*'`.")
    if weights is None:
        return timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_chans, **kwargs)
    path = Path(weights)
    model = timm.create_model(
        name,
        pretrained=True,
        pretrained_cfg_overlay=dict(file=str(path), hf_hub_id=None, url=None),
        num_classes=0,
        in_chans=in_chans,
        **kwargs,
    )
    log.info("backbone %s: weights loaded from %s", name, path)
    return model


def create_classifier(name: str, num_classes: int, weights: str | Path | None = None, **kwargs) -> nn.Module:
    """A timm classifier named ``name`` with a new ``num_classes``-way head (``[B, num_classes]`` logits).

    ``weights`` as :func:`create_backbone`: a local file through timm's
    ``pretrained_cfg_overlay=dict(file=...)`` whose own classifier (e.g. ImageNet's 1000
    classes) timm drops, or random; nothing is fetched.
    """
    import timm

    if num_classes < 1:
        raise ValueError(f"a classifier needs num_classes >= 1, got {num_classes}; for pooled features use create_backbone")
    if weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(f"classifier weights {weights} not found; give a local .pth/.safetensors file or null")
    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('_')[0]}*")[:5]
        hint = f" Close names: {', '.join(close)}." if close else ""
        raise KeyError(f"unknown classifier {name!r} (a timm architecture).{hint} "
                       "List them with `antispoof list backbones 'pattern*'`.")
    extra = {} if weights is None else {"pretrained_cfg_overlay": dict(file=str(weights), hf_hub_id=None, url=None)}
    model = timm.create_model(name, pretrained=weights is not None, num_classes=num_classes, **extra, **kwargs)
    if weights is not None:
        log.info("classifier %s: weights loaded from %s (its own head dropped: %d new classes)", name, weights, num_classes)
    return model


def create_feature_backbone(name: str, weights: str | Path | None = None, out_indices: tuple[int, ...] = (0, 1, 2, 3, 4),
                            **kwargs) -> nn.Module:
    """A timm feature extractor returning the maps of ``out_indices`` (strides 2 to 32 by default); ``.feature_info``.

    Weights as :func:`create_backbone`: a local file, or random; nothing is fetched.
    """
    import timm

    if weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(f"backbone weights {weights} not found; give a local .pth/.safetensors file or model.weights=null")
    if not timm.is_model(name):
        raise KeyError(f"unknown timm backbone {name!r} (an encoder with stage outputs is needed); "
                       "list them with `antispoof list backbones 'resnet*'`")
    extra = {} if weights is None else {"pretrained_cfg_overlay": dict(file=str(weights), hf_hub_id=None, url=None)}
    model = timm.create_model(name, pretrained=weights is not None, features_only=True, out_indices=out_indices, **extra, **kwargs)
    if weights is not None:
        log.info("encoder %s: weights loaded from %s", name, weights)
    return model


def freeze(module: nn.Module, has_weights: bool, name: str = "backbone", key: str = "model.freeze_backbone") -> None:
    """Stop training ``module``; a loud warning when it has no pretrained weights (it would learn nothing).

    ``key`` is the config setting that froze it, named in the warning.
    """
    if not has_weights:
        log.warning(
            "FREEZING %s WITHOUT PRETRAINED WEIGHTS: a frozen random network learns nothing. "
            "Give model.weights=FILE, or set %s=false.",
            name, key,
        )
    for p in module.parameters():
        p.requires_grad_(False)



def stage_layout(backbone: nn.Module, name: str = "backbone") -> tuple[list[int], int]:
    """``(stage indices, feature width)`` of :func:`stage_statistics` for a timm backbone.

    A small ImageNet network pools away the fine texture (print dots, screen pixels) that
    its earlier stages still hold; their per-channel statistics keep it for a linear layer
    on top (measured on the quickstart's data: see configs/quickstart.yaml). The stages at
    strides 4-32 are read; stride 2 is little more than pixels.
    """
    if not hasattr(backbone, "forward_intermediates"):
        raise ValueError(f"{name} has no stage outputs (timm forward_intermediates); use model.features=pooled")
    info = backbone.feature_info
    indices = list(range(1, len(info)))
    pooled = getattr(backbone, "head_hidden_size", None) or backbone.num_features
    return indices, int(pooled + 2 * sum(info[i]["num_chs"] for i in indices))


def stage_statistics(backbone: nn.Module, images: Tensor, indices: list[int]) -> Tensor:
    """The pooled output plus the channel mean and std of the stages ``indices``, ``[B, width]`` (see :func:`stage_layout`)."""
    final, stages = backbone.forward_intermediates(images, indices=indices)
    parts = [backbone.forward_head(final, pre_logits=True)]
    for x in stages:
        one_pixel = x.shape[2] * x.shape[3] == 1  # a 1x1 map (small inputs) has no spread: 0, not NaN
        parts += [x.mean(dim=(2, 3)), x.std(dim=(2, 3), correction=0 if one_pixel else 1)]
    return torch.cat(parts, dim=1)


class Standardize(nn.BatchNorm1d):
    """A BatchNorm1d without affine parameters over the last axis of any shape (``[..., C]``), its eval pass written out
    as ``(x - mean) / sqrt(var + eps)``: the ONNX exporter refuses a BatchNorm whose channel count it cannot infer, as
    after a reshape of a dynamic batch of clips."""

    def __init__(self, width: int) -> None:
        super().__init__(width, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return super().forward(x.reshape(-1, x.shape[-1])).reshape(x.shape)
        return (x - self.running_mean) * torch.rsqrt(self.running_var + self.eps)
