"""A user's face photo as a :class:`~antispoof.data.synthetic.faces.FaceRig`: the face box from a skin-colour
blob, then the photo cropped around it, with a generic ellipsoid relief for IR and depth."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from antispoof.data.synthetic._imaging import luminance, pixel_grid
from antispoof.data.synthetic.faces import FaceRig

__all__ = ["find_face_box", "photo_rig"]


def find_face_box(rgb: np.ndarray) -> tuple[float, float, float, float]:
    """Face box (x0, y0, x1, y1) in pixels from the largest skin-coloured blob near the centre."""
    h, w = rgb.shape[:2]
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    skin = cv2.inRange(ycc, (40, 135, 80), (250, 178, 130))
    k = max(3, min(h, w) // 60) | 1
    skin = cv2.morphologyEx(skin, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(skin)
    best, best_score = None, 0.0
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area < 0.02 * h * w:
            continue
        cx, cy = centroids[i]
        central = 1.0 - min(1.0, np.hypot((cx - w / 2) / w, (cy - h / 2) / h) * 2)
        score = area * (0.3 + central)
        if score > best_score:
            best, best_score = (x, y, bw, bh), score
    if best is None:
        side = 0.5 * min(h, w)
        return (w / 2 - side / 2, h / 2 - side * 0.6, w / 2 + side / 2, h / 2 + side * 0.6)
    x, y, bw, bh = best
    bh = min(bh, int(1.35 * bw))  # skin below the chin (neck) is not face
    return float(x), float(y), float(x + bw), float(y + bh)


def photo_rig(path: str | Path, size: int) -> FaceRig:
    """A face rig made from a photo: the face framed like a procedural face, static (no blinks)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}; use a JPEG or PNG face photo")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    x0, y0, x1, y1 = find_face_box(rgb)
    fw, fh = x1 - x0, y1 - y0
    # Frame the face as procedural faces are framed: face height ~ 0.52 of the frame, centre at 0.47.
    side = max(fh / 0.52, fw / 0.42)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = cx - side / 2, cy - 0.47 * side
    k = size / side
    m = np.float32([[k, 0, -left * k], [0, k, -top * k]])
    crop = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE).astype(np.float32) / 255.0
    bx0, by0, bx1, by1 = ((x0 - left) * k, (y0 - top) * k, (x1 - left) * k, (y1 - top) * k)
    bw, bh = bx1 - bx0, by1 - by0
    fcx, fcy = (bx0 + bx1) / 2, (by0 + by1) / 2
    xs, ys = pixel_grid(size)
    e = 1 - ((xs - fcx) / (bw / 2)) ** 2 - ((ys - fcy) / (bh / 2)) ** 2
    relief = np.sqrt(np.clip(e, 0, None)).astype(np.float32)
    face = (e > 0).astype(np.float32)
    depth = face * (0.55 + 0.3 * relief)
    ir = (0.2 + 0.3 * luminance(crop)[..., 0]) * (1 - face) + face * 0.75 * (0.25 + 0.75 * relief)
    zero = np.zeros_like(crop)
    landmarks = {
        "eye_left": (bx0 + 0.3 * bw, by0 + 0.4 * bh, 0.11 * bw, 0.05 * bh),
        "eye_right": (bx0 + 0.7 * bw, by0 + 0.4 * bh, 0.11 * bw, 0.05 * bh),
        "nose": (fcx, by0 + 0.58 * bh, 0.1 * bw, 0.13 * bh),
        "mouth": (fcx, by0 + 0.78 * bh, 0.2 * bw, 0.07 * bh),
    }
    return FaceRig(
        size=size,
        rgb=crop,
        d_blink=zero,
        d_mouth=zero,
        alpha=np.ones((size, size), np.float32),
        depth=depth.astype(np.float32),
        ir=ir.astype(np.float32),
        box=(bx0, by0, bx1, by1),
        center=(fcx, fcy),
        landmarks=landmarks,
        border=cv2.BORDER_REPLICATE,
    )
