"""Flat and bent media (paper sheets, device screens) placed in a frame by a homography.

A medium is a canvas in its own pixel coordinates holding colour, alpha (1 on the
medium, 0 outside it and in cut-out holes), near-infrared reflectance and a "screen"
flag. :func:`place` samples the canvas for every frame pixel through the inverse of a
3x3 homography, optionally unrolling a cylindrical bend, with one ``cv2.remap``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from antispoof.data.synthetic._imaging import pixel_grid

__all__ = ["Medium", "Placed", "place", "base_homography"]


@dataclass
class Medium:
    """A canvas: ``layers`` (H, W, C) float32 = colour(3), alpha, IR reflectance, screen flag."""

    layers: np.ndarray
    bend: float = 0.0  # half arc angle of a cylindrical bend, radians (0 = flat)

    @property
    def height(self) -> int:
        return self.layers.shape[0]

    @property
    def width(self) -> int:
        return self.layers.shape[1]


@dataclass
class Placed:
    """A medium sampled into a frame: colour, alpha, IR, screen mask, depth and Lambert factor."""

    rgb: np.ndarray
    alpha: np.ndarray
    ir: np.ndarray
    screen: np.ndarray
    depth: np.ndarray
    lambert: np.ndarray


def base_homography(
    canvas: tuple[int, int], centre: tuple[float, float], height: float, tilt: float, rng: np.random.Generator
) -> np.ndarray:
    """Homography taking a (h, w) canvas to a quad of the given ``height`` about ``centre``, with perspective ``tilt``."""
    h, w = canvas
    k = height / h
    cx, cy = centre
    hw, hh = w * k / 2, h * k / 2
    dst = np.array([[cx - hw, cy - hh], [cx + hw, cy - hh], [cx + hw, cy + hh], [cx - hw, cy + hh]], dtype=np.float64)
    if tilt > 0:
        dst += rng.uniform(-tilt, tilt, (4, 2)) * min(hw, hh)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64) - 0.5
    return cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32)).astype(np.float64)


def place(medium: Medium, homography: np.ndarray, size: int, light_dir: np.ndarray, plane_depth: float) -> Placed:
    """Sample ``medium`` into a ``size`` x ``size`` frame through ``homography`` (canvas -> frame)."""
    xs, ys = pixel_grid(size)
    hinv = np.linalg.inv(homography).astype(np.float32)
    den = hinv[2, 0] * xs + hinv[2, 1] * ys + hinv[2, 2]
    qx = (hinv[0, 0] * xs + hinv[0, 1] * ys + hinv[0, 2]) / den
    qy = (hinv[1, 0] * xs + hinv[1, 1] * ys + hinv[1, 2]) / den
    w = medium.width
    lambert_n = np.full((size, size), float(light_dir[2]), np.float32)
    bend_depth = np.zeros((size, size), np.float32)
    if medium.bend > 1e-3:
        # Cylinder about the canvas' vertical centre line: the visible chord coordinate qx
        # comes from arc length u via qx = xc + R sin(theta), u = xc + R theta.
        xc = (w - 1) / 2.0
        radius = (w / 2.0) / medium.bend
        sin_t = np.clip((qx - xc) / radius, -1.0, 1.0)
        theta = np.arcsin(sin_t)
        outside = np.abs(qx - xc) > radius * np.sin(medium.bend)
        qx = np.where(outside, -10.0, xc + radius * theta).astype(np.float32)
        cos_t = np.cos(theta)
        lambert_n = np.clip(sin_t * light_dir[0] + cos_t * light_dir[2], 0, 1).astype(np.float32)
        bend_depth = (radius * (1 - cos_t) / w * 0.6).astype(np.float32)  # canvas width ~ 0.6 depth units
    out = cv2.remap(medium.layers, qx.astype(np.float32), qy.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    alpha = out[..., 3]
    # Depth of a plane: a linear function of the frame position (from the homography's tilt) minus the bend.
    tilt_x = float(np.clip(homography[2, 0] * size * 15, -1, 1))
    tilt_y = float(np.clip(homography[2, 1] * size * 15, -1, 1))
    plane = plane_depth + (tilt_x * (xs / size - 0.5) + tilt_y * (ys / size - 0.5)) * 0.1
    depth = (plane - bend_depth) * (alpha > 0.5)
    return Placed(
        rgb=out[..., :3], alpha=alpha, ir=out[..., 4], screen=out[..., 5], depth=depth.astype(np.float32), lambert=lambert_n
    )
