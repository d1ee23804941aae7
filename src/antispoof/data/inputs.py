"""The input spec: what a method's network reads, declared once and carried with its weights.

Like timm's pretrained config, an :class:`InputSpec` travels from the method to every
place that turns pixels into tensors: the training datasets and their augmentation,
scoring, the model card of a bundle, the ONNX graph's inputs and the Predictor. So the
preprocessing at inference is by construction the preprocessing of training.

A spec says:

- which **modalities** the network reads (``rgb``, ``ir``, ``depth``), each with its
  channel count and per-channel mean/std; each modality is one batch key and one ONNX
  input (:meth:`InputSpec.keys`: ``image`` for RGB, then ``ir``, ``depth``);
- the **clip** length and stride (``clip_len = 1``: one frame; else ``T`` stored frames
  ``clip_stride`` apart, batch tensors ``[B, T, C, H, W]``);
- the **views**: how many crops of the same face, cut at the model card's crop scales
  (``crop.views``), the network reads at once (``views = 1``: one; else batch tensors
  ``[B, V, C, H, W]``, as the Silent-Face ensemble reads one crop per member);
- the stored **crop size** versus the model's **input size** and how one becomes the
  other at evaluation (``fit``: resize, or a centre crop as seed 001 takes 112x112 from
  125x125 crops);
- the **colour order** (RGB, or BGR for networks trained through OpenCV) and the
  **value range**: a pixel ``x`` (0-255) enters as ``(x * pixel_scale - mean) / std``;
  ImageNet statistics by default, ``[-1, 1]`` with mean = std = 0.5 (seed 004), raw
  0-255 with ``pixel_scale = 1``, mean 0, std 1.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MODALITY_NAMES", "IMAGENET_MEAN", "IMAGENET_STD", "ModalitySpec", "InputSpec", "modality_key"]

MODALITY_NAMES = ("rgb", "ir", "depth")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def modality_key(name: str) -> str:
    """The batch key (and ONNX input name) of a modality: ``image`` for RGB, else its own name."""
    return "image" if name == "rgb" else name


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModalitySpec(_Frozen):
    """One input modality: its name, channels and per-channel normalisation."""

    name: Literal["rgb", "ir", "depth"] = Field(..., description="modality")
    channels: int = Field(..., ge=1, le=3, description="channels the network reads (3 for RGB; 1 or 3 for IR and depth)")
    mean: tuple[float, ...] = Field(..., description="per-channel mean after pixel_scale")
    std: tuple[float, ...] = Field(..., description="per-channel std after pixel_scale")

    @model_validator(mode="after")
    def _check(self) -> ModalitySpec:
        if self.name == "rgb" and self.channels != 3:
            raise ValueError(f"the rgb modality has 3 channels, got {self.channels}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(f"{self.name}: mean and std need {self.channels} values each, got {self.mean} / {self.std}")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"{self.name}: std values must be positive, got {self.std}")
        return self

    @property
    def key(self) -> str:
        return modality_key(self.name)


def _rgb(mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD) -> ModalitySpec:
    return ModalitySpec(name="rgb", channels=3, mean=mean, std=std)


class InputSpec(_Frozen):
    """What a network reads (see the module docstring)."""

    modalities: tuple[ModalitySpec, ...] = Field(default_factory=lambda: (_rgb(),), min_length=1, description="inputs, RGB first")
    clip_len: int = Field(1, ge=1, description="frames per sample (1 = a single frame)")
    clip_stride: int = Field(1, ge=1, description="step between the frames of a clip, in stored frames")
    views: int = Field(1, ge=1, description="crops of one face at the card's crop.views scales, stacked [B, V, C, H, W] (1 = one crop)")
    crop_size: int = Field(..., ge=8, description="side of the stored / cut face crop in pixels")
    input_size: int = Field(..., ge=8, description="side of the square network input in pixels")
    fit: Literal["resize", "center_crop", "patches"] = Field(
        "resize", description="how a crop becomes the input at evaluation; patches: a grid of input_size patches cut at the "
                              "crop's own resolution, scored as one face (LGSC, seed 004)")
    patches: int = Field(1, ge=1, description="with fit=patches: patches per side of the evaluation grid, stacked [B, P, C, H, "
                                              "W] with P = patches^2 (1 = the centre patch)")
    colour_order: Literal["RGB", "BGR"] = Field("RGB", description="channel order of the colour input")
    pixel_scale: float = Field(1 / 255, gt=0, description="pixels (0-255) are multiplied by this before (x - mean) / std")
    layout: Literal["NCHW"] = Field("NCHW", description="tensor layout (clips: N, T, C, H, W)")

    @model_validator(mode="after")
    def _check(self) -> InputSpec:
        names = [m.name for m in self.modalities]
        if names[0] != "rgb" or len(set(names)) != len(names):
            raise ValueError(f"modalities must start with rgb and name each modality once, got {names}")
        if self.views > 1 and self.clip_len > 1:
            raise ValueError("an input of several views per face (views > 1) reads single frames (clip_len 1)")
        if self.fit == "patches" and (self.views > 1 or self.clip_len > 1):
            raise ValueError("a grid of patches (fit=patches) is cut from one crop of one frame (views 1, clip_len 1)")
        if self.patches > 1 and self.fit != "patches":
            raise ValueError(f"patches={self.patches} needs fit=patches, got fit={self.fit!r}")
        if self.fit == "center_crop" and self.crop_size < self.input_size:
            raise ValueError(f"a centre crop of {self.input_size} px needs crops of at least that size, got {self.crop_size}")
        return self

    @classmethod
    def rgb(cls, size: int, *, crop_size: int | None = None, **kwargs: Any) -> InputSpec:
        """A single-frame RGB spec with ImageNet statistics (the toolkit's default)."""
        return cls(crop_size=crop_size or size, input_size=size, **kwargs)

    @property
    def names(self) -> tuple[str, ...]:
        """Modality names, RGB first."""
        return tuple(m.name for m in self.modalities)

    @property
    def keys(self) -> tuple[str, ...]:
        """Batch keys / ONNX input names, one per modality."""
        return tuple(m.key for m in self.modalities)

    def modality(self, name: str) -> ModalitySpec:
        for m in self.modalities:
            if m.name == name:
                return m
        raise KeyError(f"this model reads {', '.join(self.names)}; it has no {name!r} input")

    @property
    def value_range(self) -> tuple[float, float]:
        """The range of the RGB input's first channel (0-255 pixels after scaling and normalisation)."""
        m = self.modalities[0]
        lo, hi = (0.0 - m.mean[0]) / m.std[0], (255.0 * self.pixel_scale - m.mean[0]) / m.std[0]
        return (round(lo, 6), round(hi, 6))

    def shape(self, name: str) -> tuple[int, ...]:
        """One sample's tensor shape for modality ``name``: ``(C, H, W)``, or ``(T, C, H, W)`` for clips."""
        c = self.modality(name).channels
        frame = (c, self.input_size, self.input_size)
        if self.views > 1:
            return (self.views, *frame)
        if self.patches > 1:
            return (self.patches**2, *frame)
        return frame if self.clip_len == 1 else (self.clip_len, *frame)

    def example(self, batch_size: int = 1, seed: int | None = None) -> dict[str, Any]:
        """A batch of inputs of the declared shapes (zeros, or standard normal with ``seed``)."""
        import torch

        out = {}
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        for m in self.modalities:
            shape = (batch_size, *self.shape(m.name))
            out[m.key] = torch.zeros(shape) if g is None else torch.randn(shape, generator=g)
        return out

    def describe(self) -> str:
        """One line for logs and cards."""
        mods = "+".join(f"{m.name}({m.channels})" for m in self.modalities)
        clip = "" if self.clip_len == 1 else f", clips of {self.clip_len} (stride {self.clip_stride})"
        clip += "" if self.views == 1 else f", {self.views} views per face"
        clip += "" if self.fit != "patches" else f", a {self.patches}x{self.patches} grid of patches per face"
        lo, hi = self.value_range
        return (f"{mods} {self.input_size}x{self.input_size} from {self.crop_size} px crops ({self.fit}){clip}, "
                f"{self.colour_order}, values {lo:g}..{hi:g}")
