"""The one crop function: a square around the face box, optionally eye-aligned, resized (or kept at native resolution).

Training, evaluation and inference all call :func:`crop_face`, so a model never sees a
crop made differently from the ones it was trained on. Colour order stays what it was
given (the toolkit passes RGB uint8 everywhere); no normalisation happens here: pixel
scaling to the network's mean/std belongs to the model's transform.

Geometry: the square is centred on the box centre with side ``scale * max(box width,
box height)``; pixels outside the image are black (0). Without alignment the square is
rounded to whole pixels and resized with area interpolation when shrinking (linear when
enlarging); with alignment the square is rotated about its centre so the eyes lie on a
horizontal line, and sampled with linear interpolation. With ``native`` the square keeps
the frame's own pixels (no resizing) unless it is smaller than ``size``, which it is then
enlarged to: LGSC's patches are cut from faces at native resolution (seed 004, Sec. 4.4).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MIN_SCALE", "MAX_SCALE", "DEFAULT_SCALE", "square_region", "crop_face"]

MIN_SCALE = 1.0
MAX_SCALE = 4.0
#: Crop side / longer face-box side when none is chosen: our choice, context for device borders and fingers.
DEFAULT_SCALE = 1.5


def square_region(box: tuple[float, float, float, float], scale: float) -> tuple[float, float, float]:
    """``(centre_x, centre_y, side)`` of the square crop around ``box = (x0, y0, x1, y1)``."""
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"crop scale must be in [{MIN_SCALE}, {MAX_SCALE}], got {scale}")
    x0, y0, x1, y1 = (float(v) for v in box)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"face box must have positive width and height, got {box}")
    return (x0 + x1) / 2.0, (y0 + y1) / 2.0, scale * max(x1 - x0, y1 - y0)


def crop_face(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    *,
    size: int = 256,
    scale: float = DEFAULT_SCALE,
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None,
    align: bool = False,
    native: bool = False,
) -> np.ndarray:
    """Crop the square around ``box`` from ``image`` (HxW or HxWxC) and resize it to ``size`` x ``size``.

    Args:
        image: RGB uint8 HxWx3 (or a one-channel IR/depth image: the same box gives a
            pixel-aligned crop).
        box: ``(x0, y0, x1, y1)`` face box in pixels, x1/y1 exclusive.
        size: output side in pixels.
        scale: square side relative to the longer box side, 1.0 to 4.0 (context around
            the face carries spoof cues: device borders, fingers).
        eyes: ``((x, y), (x, y))`` eye centres, needed when ``align`` is True.
        align: rotate so that the eyes are level.
        native: keep the square at the frame's resolution (its side in frame pixels); only a square
            smaller than ``size`` is resized, up to ``size``. Not with ``align`` (a rotation resamples).
    """
    import cv2

    if size < 1:
        raise ValueError(f"crop size must be a positive number of pixels, got {size}")
    cx, cy, side = square_region(box, scale)
    if native and align:
        raise ValueError("a native-resolution crop keeps the frame's pixels; eye alignment would resample them (use one)")
    if align:
        if eyes is None:
            raise ValueError("eye alignment needs the eye positions; this face has none (use align=False)")
        (ax, ay), (bx, by) = eyes
        if bx < ax:
            (ax, ay), (bx, by) = (bx, by), (ax, ay)
        angle = math.atan2(by - ay, bx - ax)
        return _warp(image, cx, cy, side, angle, size)
    x0 = int(round(cx - side / 2.0))
    y0 = int(round(cy - side / 2.0))
    n = max(int(round(side)), 1)
    patch = _padded_slice(image, x0, y0, n)
    if n == size or (native and n > size):
        return patch
    interp = cv2.INTER_AREA if n > size else cv2.INTER_LINEAR
    out = cv2.resize(patch, (size, size), interpolation=interp)
    return out.reshape(size, size, *image.shape[2:]) if image.ndim == 3 else out


def _padded_slice(image: np.ndarray, x0: int, y0: int, n: int) -> np.ndarray:
    h, w = image.shape[:2]
    out = np.zeros((n, n, *image.shape[2:]), dtype=image.dtype)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + n, w), min(y0 + n, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def _warp(image: np.ndarray, cx: float, cy: float, side: float, angle: float, size: int) -> np.ndarray:
    """Sample the square of ``side`` centred at (cx, cy), rotated by ``angle`` radians, into size x size."""
    import cv2

    step = side / size
    cos, sin = math.cos(angle) * step, math.sin(angle) * step
    # Output pixel centre (u + 0.5, v + 0.5) maps to the input point
    # centre + R(angle) @ ((u + 0.5 - size/2) * step, (v + 0.5 - size/2) * step); input pixel
    # centres sit at integer + 0.5, and OpenCV samples at integer coordinates, hence the -0.5.
    half = size / 2.0 - 0.5
    matrix = np.array(
        [
            [cos, -sin, cx - 0.5 - cos * half + sin * half],
            [sin, cos, cy - 0.5 - sin * half - cos * half],
        ],
        dtype=np.float64,
    )
    out = cv2.warpAffine(
        image,
        matrix,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return out.reshape(size, size, *image.shape[2:]) if image.ndim == 3 else out
