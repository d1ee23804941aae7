"""Small image helpers shared by the generator's modules (cached pixel grids, smooth noise, luminance)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

__all__ = ["pixel_grid", "smooth_noise", "luminance"]


@lru_cache(maxsize=8)
def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y), each (size, size) float32; cached, read-only."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    xs.setflags(write=False)
    ys.setflags(write=False)
    return xs, ys


def smooth_noise(rng: np.random.Generator, size: int, cells: int, channels: int = 1) -> np.ndarray:
    """Zero-mean, unit-variance-ish smooth noise: ``cells`` x ``cells`` random values resized to ``size``."""
    small = rng.standard_normal((cells, cells, channels), dtype=np.float32)
    big = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    return big.reshape(size, size, channels) if channels > 1 else big.reshape(size, size)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Luma (H, W, 1) of a float32 RGB image (much faster than ``mean(axis=2)``)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)[..., None]
