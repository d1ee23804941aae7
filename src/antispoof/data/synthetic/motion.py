"""Motion over a clip: non-rigid live motion (head jitter, blinks, speech) and rigid hand-held motion.

Frames of a clip are sampled sparsely from a video (every few frames, as the sequence
method does), so a blink spans one to three frames. Trajectories are sums of two slow
sinusoids plus a little jitter, in pixels and degrees for a frame of ``size`` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Trajectory", "live_motion", "rigid_motion", "similarity", "flicker_gains"]


@dataclass(frozen=True)
class Trajectory:
    """Per-frame pose (dx, dy in pixels, angle in degrees, scale), eyelid closure and mouth opening."""

    dx: np.ndarray
    dy: np.ndarray
    angle: np.ndarray
    scale: np.ndarray
    blink: np.ndarray
    mouth: np.ndarray

    def affine(self, t: int, center: tuple[float, float], base: np.ndarray | None = None) -> np.ndarray:
        """2x3 matrix of frame ``t`` about ``center``, applied after the 3x3 ``base`` when given."""
        m = similarity(center, float(self.dx[t]), float(self.dy[t]), float(self.angle[t]), float(self.scale[t]))
        if base is not None:
            m = (np.vstack([m, [0, 0, 1]]) @ base)[:2]
        return m.astype(np.float32)


def similarity(center: tuple[float, float], dx: float, dy: float, angle: float, scale: float) -> np.ndarray:
    """Rotation by ``angle`` degrees and scaling about ``center``, then translation by (dx, dy)."""
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle, scale)
    m[0, 2] += dx
    m[1, 2] += dy
    return m


def _wander(rng: np.random.Generator, frames: int, amplitude: float) -> np.ndarray:
    t = np.arange(frames, dtype=np.float64)
    out = np.zeros(frames)
    for _ in range(2):
        f = rng.uniform(0.03, 0.2)
        out += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    out += 0.15 * rng.standard_normal(frames)
    return amplitude * out / 1.6


def live_motion(rng: np.random.Generator, frames: int, size: int, blinks: bool = True, speech: bool = True) -> Trajectory:
    """Head jitter with blinks and mouth movement (non-rigid), as a person in front of a camera."""
    blink = np.zeros(frames)
    if blinks:
        for _ in range(int(rng.poisson(0.09 * frames + 0.2))):
            t0 = rng.integers(frames)
            blink[t0] = 1.0
            for dt, v in ((-1, rng.uniform(0.2, 0.6)), (1, rng.uniform(0.3, 0.7))):
                if 0 <= t0 + dt < frames:
                    blink[t0 + dt] = max(blink[t0 + dt], v)
    mouth = np.zeros(frames)
    if speech and rng.random() < 0.6:
        mouth = np.clip(_wander(rng, frames, 0.8) + rng.uniform(0, 0.4), 0, 1)
    return Trajectory(
        dx=_wander(rng, frames, 0.03 * size) + rng.uniform(-0.02, 0.02) * size,
        dy=_wander(rng, frames, 0.02 * size) + rng.uniform(-0.02, 0.02) * size,
        angle=_wander(rng, frames, 4.0) + rng.uniform(-5, 5),
        scale=1.0 + _wander(rng, frames, 0.03),
        blink=blink,
        mouth=mouth,
    )


def rigid_motion(rng: np.random.Generator, frames: int, size: int) -> Trajectory:
    """Hand tremor of a held print or device: rigid, no blinks, no mouth movement."""
    zero = np.zeros(frames)
    return Trajectory(
        dx=_wander(rng, frames, 0.02 * size),
        dy=_wander(rng, frames, 0.015 * size),
        angle=_wander(rng, frames, 2.5),
        scale=1.0 + _wander(rng, frames, 0.02),
        blink=zero,
        mouth=zero,
    )


def flicker_gains(rng: np.random.Generator, frames: int, size: int, strength: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Screen flicker: a per-frame brightness gain and a rolling horizontal band (per-row gains)."""
    t = np.arange(frames)
    gain = 1.0 + 0.08 * strength * np.sin(2 * np.pi * rng.uniform(0.2, 0.45) * t + rng.uniform(0, 2 * np.pi))
    rows = np.arange(size, dtype=np.float32)
    speed = rng.uniform(0.15, 0.4) * size
    width = rng.uniform(0.08, 0.2) * size
    start = rng.uniform(0, size)
    bands = []
    for k in range(frames):
        centre = (start + speed * k) % (size + 2 * width) - width
        bands.append((1.0 - 0.1 * strength * np.exp(-(((rows - centre) / width) ** 2))).astype(np.float32))
    return gain.astype(np.float32), bands
