"""Image transforms: the one normalisation and the augmentation pipelines, named in config.

Every model input goes through :func:`build_transform` (training) or
:func:`eval_transform` (evaluation, inference), which end with the one normalisation:
RGB ``uint8`` HWC -> float32 CHW tensor, ``(x / 255 - MEAN) / STD`` with ImageNet's
statistics (:data:`MEAN`, :data:`STD`), the statistics of every timm ImageNet backbone.

Pipelines register by name in :data:`PIPELINES` (``train.augment`` in a config):

- ``none``: resize only;
- ``light``: flip + mild random resized crop + mild colour jitter;
- ``entry``: the list of seed 000, Sec. 3.2.1: random resized crop (scale 0.33-1,
  ratio 0.7-1.35), HSV shift, Gaussian noise, motion blur, ISO noise, 90-degree
  rotation, horizontal flip.

Augmentation draws come from the pipeline's own generator; :meth:`Transform.seed`
reseeds it, which the training data module does per (seed, epoch, sample) so that a
resumed or multi-process run sees the same augmented images as a single
uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from antispoof._registry import Registry

__all__ = ["MEAN", "STD", "PIPELINES", "Transform", "build_transform", "eval_transform", "normalize", "list_pipelines"]

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

PIPELINES: Registry[Callable[[int], list[Any]]] = Registry("augmentation pipelines")


def normalize(image: np.ndarray) -> torch.Tensor:
    """RGB ``uint8`` HWC array -> normalised float32 CHW tensor (the one normalisation)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 HxWx3 image, got dtype {image.dtype} shape {image.shape}")
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    return (x - mean) / std


class Transform:
    """An albumentations pipeline followed by :func:`normalize`; call it on an RGB uint8 array."""

    def __init__(self, steps: list[Any], name: str) -> None:
        import albumentations as A

        self.name = name
        self._compose = A.Compose(steps, seed=0)

    def seed(self, seed: int) -> None:
        """Reseed the augmentation draws (deterministic per sample when called before each one)."""
        self._compose.set_random_seed(int(seed) % (2**32))

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        return normalize(self._compose(image=image)["image"])

    def __repr__(self) -> str:
        return f"Transform({self.name!r})"


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


def list_pipelines(pattern: str = "*") -> list[str]:
    """Names of the augmentation pipelines (values of ``train.augment``)."""
    return PIPELINES.list(pattern)


def build_transform(name: str, image_size: int) -> Transform:
    """The training transform named ``name`` (see :data:`PIPELINES`) for ``image_size`` square inputs."""
    return Transform(PIPELINES.get(name)(image_size), name)


def eval_transform(image_size: int) -> Transform:
    """The evaluation / inference transform: resize to ``image_size`` and normalise."""
    return build_transform("none", image_size)
