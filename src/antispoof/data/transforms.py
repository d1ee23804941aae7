"""Image transforms: the one normalisation and the augmentation pipelines, named in config.

Every model input goes through :func:`build_transform` (training) or
:func:`eval_transform` (evaluation, inference). Both take an
:class:`~antispoof.data.inputs.InputSpec` (or an ``int``, meaning
``InputSpec.rgb(size)``: one RGB frame, ImageNet statistics) and end with the one
normalisation, :func:`to_tensor`: a ``uint8`` frame of one modality -> float32
``[C, H, W]``, channels fitted to the spec, RGB flipped to BGR if the spec says so,
then ``(x * pixel_scale - mean) / std``. :func:`normalize` is its ImageNet RGB case.

Pipelines register by name in :data:`PIPELINES` (``train.augment`` in a config); each
takes the input size and returns albumentations steps whose output is that size:

- ``none``: the evaluation fit (``spec.fit``): resize, or a centre crop of
  ``input_size`` from larger stored crops;
- ``light``: flip + mild random resized crop + mild colour jitter;
- ``entry``: the list of seed 000, Sec. 3.2.1: random resized crop (scale 0.33-1,
  ratio 0.7-1.35), HSV shift, Gaussian noise, motion blur, ISO noise, 90-degree
  rotation, horizontal flip;
- ``crop_flip``: random crop of the input size from the larger stored crop, horizontal
  flip (seed 003: resize to 256, random crop, flip; the centre crop at test is the fit);
- ``patch``: a random patch of the input size cut from the stored crop at its own
  resolution, no resizing, horizontal flip (seed 004 Sec. 4.4: "we sample patches from
  images as the network input during training. These patches keep the input image
  resolution"; the flip is our choice). Its evaluation fit is ``patches``: a grid of
  ``spec.patches`` x ``spec.patches`` patches evenly spaced over the crop, corner to
  corner, stacked ``[P, C, H, W]`` (:func:`patch_grid`).

:meth:`Transform.apply` transforms a whole sample (every frame of a clip, every
modality) with one random draw, so a clip stays one motion and IR/depth stay aligned
with RGB. Augmentation draws come from the pipeline's own generator;
:meth:`Transform.seed` reseeds it, which the training data module does per
(seed, epoch, sample) so that a resumed or multi-process run sees the same augmented
images as a single uninterrupted one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from antispoof._registry import Registry
from antispoof.data.inputs import IMAGENET_MEAN, IMAGENET_STD, InputSpec, ModalitySpec

__all__ = [
    "MEAN", "STD", "PIPELINES", "Transform", "build_transform", "eval_transform", "normalize", "to_tensor",
    "list_pipelines", "patch_grid",
]

MEAN = IMAGENET_MEAN
STD = IMAGENET_STD

PIPELINES: Registry[Callable[[int], list[Any]]] = Registry("augmentation pipelines")

# the spec behind normalize(); to_tensor reads no size from it, so the size is arbitrary
_IMAGENET_RGB = InputSpec.rgb(224)


def _describe(array: Any) -> str:
    return f"dtype {getattr(array, 'dtype', type(array).__name__)} shape {tuple(getattr(array, 'shape', ()))}"


def to_tensor(array: np.ndarray, modality: ModalitySpec, spec: InputSpec) -> torch.Tensor:
    """One ``uint8`` frame of ``modality`` -> float32 ``[modality.channels, H, W]``, normalised as ``spec`` says.

    RGB frames are ``HxWx3``; IR and depth frames ``HxW``, ``HxWx1`` or ``HxWx3``. A
    one-channel frame is replicated when the modality reads 3 channels; a 3-channel
    frame is averaged when it reads 1. RGB is flipped to BGR when
    ``spec.colour_order == "BGR"``; ``modality.mean``/``std`` are in the network's
    channel order (after the flip).
    """
    a = np.asarray(array)
    channels = (3,) if modality.name == "rgb" else (1, 3)
    frame_ok = (a.ndim == 3 and a.shape[2] in channels) or (a.ndim == 2 and modality.name != "rgb")
    if a.dtype != np.uint8 or not frame_ok:
        wanted = "HxWx3" if modality.name == "rgb" else "HxW, HxWx1 or HxWx3"
        raise ValueError(f"expected one {modality.name} uint8 {wanted} frame, got {_describe(array)}")
    if a.ndim == 2:
        a = a[:, :, None]
    x = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float()
    if x.shape[0] != modality.channels:
        if x.shape[0] == 1:
            x = x.expand(modality.channels, -1, -1)
        elif modality.channels == 1:
            x = x.mean(dim=0, keepdim=True)
        else:
            raise ValueError(f"{modality.name}: cannot make {modality.channels} channels from a {x.shape[0]}-channel frame")
    if modality.name == "rgb" and spec.colour_order == "BGR":
        x = x.flip(0)
    mean = torch.tensor(modality.mean, dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(modality.std, dtype=torch.float32).view(-1, 1, 1)
    return (x * spec.pixel_scale - mean) / std


def normalize(image: np.ndarray) -> torch.Tensor:
    """RGB ``uint8`` HWC array -> float32 CHW tensor, ``(x / 255 - MEAN) / STD`` (:func:`to_tensor`'s default case)."""
    return to_tensor(image, _IMAGENET_RGB.modalities[0], _IMAGENET_RGB)


def _as_spec(spec: int | InputSpec) -> InputSpec:
    if isinstance(spec, InputSpec):
        return spec
    if isinstance(spec, int) and not isinstance(spec, bool):
        return InputSpec.rgb(spec)
    raise TypeError(f"expected an InputSpec or an input size in pixels (e.g. 224), got {spec!r}")


def _as_rgb3(frame: np.ndarray, name: str) -> np.ndarray:
    """A frame as ``HxWx3`` uint8 for the albumentations call (gray replicated, so colour steps apply)."""
    a = np.asarray(frame)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3:
        return a
    if a.dtype == np.uint8 and name != "rgb" and (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 1)):
        return np.repeat(a.reshape(*a.shape[:2], 1), 3, axis=2)
    wanted = "HxWx3" if name == "rgb" else "HxW, HxWx1 or HxWx3"
    raise ValueError(f"expected {name} frames as uint8 {wanted}, got {_describe(frame)}")


class Transform:
    """An albumentations pipeline followed by :func:`to_tensor`, for the inputs ``spec`` declares.

    Call it on one RGB frame (``transform(rgb) -> [3, H, W]``), or use :meth:`apply` on
    a sample dict (clips, IR, depth). One ``Compose`` is built per set of targets and
    kept; :meth:`seed` reseeds all of them.
    """

    def __init__(self, steps: list[Any], name: str, spec: InputSpec) -> None:
        self.name = name
        self.spec = spec
        self._steps = steps  # never run themselves: each Compose gets its own copy (own random state)
        self._seed = 0
        self._composes: dict[tuple[str, ...], Any] = {}

    def seed(self, seed: int) -> None:
        """Reseed the augmentation draws (deterministic per sample when called before each one)."""
        self._seed = int(seed) % (2**32)
        for compose in self._composes.values():
            compose.set_random_seed(self._seed)

    def _compose(self, extra: tuple[str, ...]) -> Any:
        """The cached ``Compose`` whose targets are ``image`` plus the image targets ``extra``."""
        compose = self._composes.get(extra)
        if compose is None:
            import albumentations as A

            compose = A.Compose(copy.deepcopy(self._steps), additional_targets=dict.fromkeys(extra, "image"), seed=self._seed)
            self._composes[extra] = compose
        return compose

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        """One RGB ``uint8`` ``HxWx3`` frame -> ``[3, H, W]`` tensor."""
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise ValueError(f"{self!r} is called on one RGB uint8 HxWx3 frame, got {_describe(image)}; "
                             "use .apply(sample) for clips, IR and depth")
        return self._grid(to_tensor(self._compose(())(image=image)["image"], self.spec.modalities[0], self.spec))

    def _grid(self, x: torch.Tensor) -> torch.Tensor:
        """The evaluation grid of patches of a ``[C, H, W]`` input when the spec's fit is ``patches`` (else ``x``)."""
        if self.name != "none" or self.spec.fit != "patches":
            return x
        return patch_grid(x, self.spec.input_size, self.spec.patches)

    def apply(self, sample: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``sample`` with each of the spec's modality keys replaced by its tensor.

        ``image`` is RGB ``uint8`` ``HxWx3`` (a clip: ``[T, H, W, 3]``); ``ir`` / ``depth``
        are ``uint8`` ``HxW`` or ``HxWx3`` (a clip: ``[T, H, W]`` or ``[T, H, W, 3]``).
        Tensors are ``[C, H, W]``, or ``[T, C, H, W]`` when ``spec.clip_len > 1``. All
        frames and modalities share one random draw. Other keys pass through.
        """
        spec = self.spec
        missing = [m for m in spec.modalities if m.key not in sample]
        if missing:
            names = ", ".join(f"{m.key!r} ({m.name})" for m in missing)
            raise ValueError(f"the sample has no {names}: this input spec reads {', '.join(spec.names)}, so the "
                             f"frame store / dataset must provide it (sample keys: {', '.join(map(str, sample))})")
        data: dict[str, np.ndarray] = {}
        targets: dict[str, list[str]] = {}
        for m in spec.modalities:
            frames = self._frames(sample[m.key], m)
            targets[m.key] = ["image" if m.name == "rgb" and t == 0 else f"{m.key}_{t}" for t in range(len(frames))]
            data.update(zip(targets[m.key], frames))
        size = data["image"].shape[:2]
        for target, frame in data.items():
            if frame.shape[:2] != size:
                raise ValueError(f"{target} is {frame.shape[0]}x{frame.shape[1]} px but the rgb frame is {size[0]}x{size[1]}: "
                                 "the frames and modalities of a sample must be pixel-aligned crops of one size")
        out = self._compose(tuple(t for t in data if t != "image"))(**data)
        result = dict(sample)
        for m in spec.modalities:
            tensors = [self._grid(to_tensor(out[t], m, spec)) for t in targets[m.key]]
            result[m.key] = tensors[0] if spec.clip_len == 1 and spec.views == 1 else torch.stack(tensors)
        return result

    def _frames(self, value: Any, modality: ModalitySpec) -> list[np.ndarray]:
        """The frames of one modality of a sample, each ``HxWx3`` uint8; checks the clip length."""
        clip_len = self.spec.clip_len
        if self.spec.views > 1:
            if np.ndim(value) != 4 or len(value) != self.spec.views:
                raise ValueError(f"{modality.key}: this model reads {self.spec.views} views of each face ([V, H, W, 3], cut from the "
                                 f"whole frame at the card's crop.views scales), got {_describe(value)}; a frame store holds one "
                                 "crop per frame, so score such a model with the Predictor on the frames themselves")
            return [_as_rgb3(frame, modality.name) for frame in value]
        if clip_len == 1:
            return [_as_rgb3(value, modality.name)]
        if not isinstance(value, (np.ndarray, Sequence)) or np.ndim(value) < 3:
            raise ValueError(f"{modality.key}: expected a clip of {clip_len} frames ([T, H, W, ...] uint8), got {_describe(value)}")
        if len(value) != clip_len:
            raise ValueError(f"{modality.key}: the input spec reads clips of {clip_len} frames, the sample has {len(value)}")
        return [_as_rgb3(frame, modality.name) for frame in value]

    def __repr__(self) -> str:
        return f"Transform({self.name!r}, {self.spec.describe()})"


@PIPELINES.register("none")
def _none(size: int) -> list[Any]:
    import albumentations as A

    return [A.Resize(size, size)]


@PIPELINES.register("light")
def _light(size: int) -> list[Any]:
    import albumentations as A

    return [
        A.RandomResizedCrop(size=(size, size), scale=(0.7, 1.0), ratio=(0.9, 1.1)),
        A.HueSaturationValue(hue_shift_limit=5, sat_shift_limit=10, val_shift_limit=10, p=0.5),
        A.HorizontalFlip(p=0.5),
    ]


@PIPELINES.register("entry")
def _entry(size: int) -> list[Any]:
    import albumentations as A

    return [
        A.RandomResizedCrop(size=(size, size), scale=(0.33, 1.0), ratio=(0.7, 1.35)),
        A.HueSaturationValue(p=0.5),
        A.GaussNoise(std_range=(0.02, 0.1), p=0.3),
        A.MotionBlur(blur_limit=(3, 7), p=0.3),
        A.ISONoise(p=0.3),
        A.RandomRotate90(p=0.5),
        A.HorizontalFlip(p=0.5),
    ]


@PIPELINES.register("crop_flip")
def _crop_flip(size: int) -> list[Any]:
    """Random ``size`` crop of the (larger) stored crop and a horizontal flip: seed 003's training augmentation."""
    import albumentations as A

    return [A.RandomCrop(size, size), A.HorizontalFlip(p=0.5)]


@PIPELINES.register("patch")
def _patch(size: int) -> list[Any]:
    """A random ``size`` patch of the stored crop at its own resolution and a horizontal flip: seed 004's training input."""
    import albumentations as A
    import cv2

    # a crop under the patch size (a store not prepared with --native) is padded with black, never resized
    return [A.PadIfNeeded(size, size, border_mode=cv2.BORDER_CONSTANT, fill=0), A.RandomCrop(size, size), A.HorizontalFlip(p=0.5)]


def patch_grid(x: torch.Tensor, size: int, n: int) -> torch.Tensor:
    """``n`` x ``n`` patches of ``size`` from ``x`` ``[C, H, W]`` (H, W >= size), evenly spaced corner to corner: ``[n*n, C, size, size]``.

    Row-major order (top-left first). ``n = 1`` is the centre patch. Patches overlap where
    ``n * size`` exceeds the side, and leave gaps where it falls short.
    """
    h, w = x.shape[-2:]
    if h < size or w < size:
        raise ValueError(f"a grid of {size} px patches needs a crop of at least {size} px, got {h}x{w}")

    def starts(side: int) -> list[int]:
        if n == 1:
            return [(side - size) // 2]
        return [round(i * (side - size) / (n - 1)) for i in range(n)]

    return torch.stack([x[:, y : y + size, x0 : x0 + size] for y in starts(h) for x0 in starts(w)])


def _fit(spec: InputSpec) -> list[Any]:
    """The evaluation steps from a stored crop to the input: ``spec.fit``."""
    import albumentations as A

    if spec.fit == "patches":  # the crop keeps its resolution; Transform cuts the grid after the normalisation
        import cv2

        return [A.PadIfNeeded(spec.input_size, spec.input_size, border_mode=cv2.BORDER_CONSTANT, fill=0)]
    if spec.fit == "center_crop" and spec.crop_size != spec.input_size:
        # bring any stored crop to the trained crop size first, so the centre crop covers the trained field of view
        return [A.Resize(spec.crop_size, spec.crop_size), A.CenterCrop(spec.input_size, spec.input_size)]
    return _none(spec.input_size)


def list_pipelines(pattern: str = "*") -> list[str]:
    """Names of the augmentation pipelines (values of ``train.augment``)."""
    return PIPELINES.list(pattern)


def build_transform(name: str, spec: int | InputSpec) -> Transform:
    """The training transform named ``name`` (see :data:`PIPELINES`) for ``spec`` (an ``int``: ``InputSpec.rgb(size)``)."""
    spec = _as_spec(spec)
    # `none` is the evaluation pipeline, so it follows spec.fit; the others end in their own random crop
    steps = _fit(spec) if name == "none" else PIPELINES.get(name)(spec.input_size)
    return Transform(steps, name, spec)


def eval_transform(spec: int | InputSpec) -> Transform:
    """The evaluation / inference transform: ``spec.fit`` (resize or centre crop) to the input size, then :func:`to_tensor`."""
    return build_transform("none", spec)
