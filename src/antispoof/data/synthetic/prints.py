"""Print attacks: a photo printed on paper, flat or bent, optionally with cut-out holes.

The printing process reduces gamut and dynamic range, screens the image into halftone
dots, adds paper fibre texture and ink blur. Cut-outs follow CASIA-SURF's attack types
1-6 (eyes; eyes and nose; eyes, nose and mouth; on flat or bent paper): the wearer's own
face shows through the holes, so its eyes still blink there.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from antispoof.data.synthetic._imaging import luminance
from antispoof.data.synthetic.media import Medium

__all__ = ["make_print", "halftone"]


@lru_cache(maxsize=16)
def _screens(size: int, period: float, seed: int) -> np.ndarray:
    """Three rotated dot screens (size, size, 3) in [0, 1], one per ink (C, M, Y)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.empty((size, size, 3), np.float32)
    for c, angle in enumerate(np.deg2rad([15.0, 75.0, 0.0]) + rng.uniform(0, 0.2)):
        u = xs * np.cos(angle) + ys * np.sin(angle)
        v = -xs * np.sin(angle) + ys * np.cos(angle)
        out[..., c] = 0.5 + 0.25 * (np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period))
    out.setflags(write=False)
    return out


def halftone(rgb: np.ndarray, period: float, seed: int = 0, sharpness: float = 6.0) -> np.ndarray:
    """Soft halftone of a float RGB image: each ink is a dot where its coverage exceeds the screen."""
    screens = _screens(rgb.shape[0], round(period, 1), seed % 4) if rgb.shape[0] == rgb.shape[1] else None
    if screens is None:
        raise ValueError("halftone expects a square image")
    ink = 1.0 - rgb
    dots = 1.0 / (1.0 + np.exp(-sharpness * (ink - screens) * 2))
    return 1.0 - dots


def _hole_mask(size: int, landmarks: dict, cutouts: tuple[str, ...], offset: int, canvas: int) -> np.ndarray:
    mask = np.zeros((canvas, canvas), np.uint8)
    shift = 4
    one = 1 << shift

    def ell(cx, cy, rx, ry):
        cv2.ellipse(
            mask, (int((cx + offset) * one), int((cy + offset) * one)), (max(1, int(rx * one)), max(1, int(ry * one))), 0, 0, 360, 255, -1, cv2.LINE_AA, shift
        )

    for part in cutouts:
        if part == "eyes":
            for side in ("eye_left", "eye_right"):
                x, y, rx, ry = landmarks[side]
                ell(x, y, rx * 1.45, ry * 2.3)
        elif part == "nose":
            x, y, rx, ry = landmarks["nose"]
            ell(x, y + 0.15 * ry, rx * 1.1, ry * 0.9)
        elif part == "mouth":
            x, y, rx, ry = landmarks["mouth"]
            ell(x, y, rx * 1.05, ry * 1.2)
        else:
            raise ValueError(f"unknown cut-out {part!r}; use eyes, nose or mouth")
    return mask.astype(np.float32) / 255.0


def make_print(
    source: np.ndarray,
    landmarks: dict,
    cutouts: tuple[str, ...],
    bend: float,
    strength: float,
    rng: np.random.Generator,
) -> Medium:
    """Print ``source`` (float RGB, square) on paper.

    ``strength`` in (0, 1] scales how visible the printing artefacts are.
    """
    s = source.shape[0]
    sat = 1.0 - strength * rng.uniform(0.15, 0.4)
    lum = luminance(source)
    img = lum + (source - lum) * sat
    black = strength * rng.uniform(0.03, 0.1)
    white = 1.0 - strength * rng.uniform(0.0, 0.08)
    img = black + np.clip(img, 0, 1) * (white - black)
    period = float(rng.uniform(2.2, 3.4) * s / 112.0)
    weight = min(1.0, strength * rng.uniform(0.3, 0.8))
    img = img * (1 - weight) + halftone(img, period, int(rng.integers(4))) * weight
    fibres = cv2.resize(rng.standard_normal((max(4, s // 8), s), dtype=np.float32), (s, s), interpolation=cv2.INTER_LINEAR)
    img = img * (1 + 0.05 * strength * fibres)[..., None]
    blur = float(rng.uniform(0.3, 0.8) * s / 112.0)
    img = cv2.GaussianBlur(np.clip(img, 0, 1).astype(np.float32), (0, 0), blur)

    margin = int(rng.integers(0, max(1, s // 8)))
    canvas = s + 2 * margin
    layers = np.zeros((canvas, canvas, 6), np.float32)
    paper = np.array([0.93, 0.93, 0.9], np.float32) * rng.uniform(0.9, 1.0)
    layers[..., :3] = paper
    layers[margin : margin + s, margin : margin + s, :3] = img
    layers[..., 3] = 1.0
    ink = 1.0 - luminance(layers[..., :3])[..., 0]
    layers[..., 4] = 0.85 * (1.0 - 0.55 * ink)  # carbon-free inks partly vanish in near infrared
    if cutouts:
        holes = _hole_mask(s, landmarks, cutouts, margin, canvas)
        rim = np.clip(cv2.GaussianBlur(holes, (0, 0), max(0.8, s / 90)) - holes, 0, 1) * 2.0
        layers[..., :3] *= (1 - 0.5 * np.clip(rim, 0, 1))[..., None]  # paper edge shadow
        layers[..., 3] *= 1 - holes
    return Medium(layers=layers, bend=bend)
