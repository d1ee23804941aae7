"""The ``box_in_image`` crop geometry: the face box scaled about its centre, shifted to lie inside the frame.

This is the crop the Silent-Face MiniFASNets were trained on (the geometry of
``CropImage`` in minivision-ai/Silent-Face-Anti-Spoofing, ``src/generate_patches.py``),
written again here; a model card names it with ``crop.geometry: box_in_image``. Unlike
:func:`antispoof.faces.crop.crop_face` the region keeps the box's aspect ratio, is never
padded (it is moved back inside the frame, and the scale shrinks when the frame is too
small), and is resized with bilinear interpolation, as the source does:

1. ``s = min(scale, (H - 1) / box_h, (W - 1) / box_w)``; the region is ``s * box_w`` by
   ``s * box_h`` centred on the box centre;
2. a region past an edge is shifted back inside ``[0, W - 1] x [0, H - 1]``;
3. its corners are truncated to whole pixels, the pixels from the top-left to the
   bottom-right corner (both inclusive) are taken and resized with ``cv2.INTER_LINEAR``.

:func:`crop_views` cuts the regions of several scales of one face in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["box_region", "crop_box_in_image", "crop_resized", "crop_views"]


def box_region(image_size: tuple[int, int], box: tuple[float, float, float, float], scale: float) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` (inclusive pixel corners) of the region for ``box = (x0, y0, x1, y1)`` in a ``(H, W)`` frame."""
    h, w = int(image_size[0]), int(image_size[1])
    bx, by = float(box[0]), float(box[1])
    bw, bh = float(box[2]) - bx, float(box[3]) - by
    if not (bw > 0 and bh > 0):
        raise ValueError(f"face box must have positive width and height, got {box}")
    if scale <= 0:
        raise ValueError(f"crop scale must be positive, got {scale}")
    s = min((h - 1) / bh, (w - 1) / bw, float(scale))
    nw, nh = bw * s, bh * s
    cx, cy = bx + bw / 2, by + bh / 2
    x0, y0, x1, y1 = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if x0 < 0:
        x1 -= x0
        x0 = 0
    if y0 < 0:
        y1 -= y0
        y0 = 0
    if x1 > w - 1:
        x0 -= x1 - w + 1
        x1 = w - 1
    if y1 > h - 1:
        y0 -= y1 - h + 1
        y1 = h - 1
    return int(x0), int(y0), int(x1), int(y1)


def crop_box_in_image(image: np.ndarray, box: tuple[float, float, float, float], *, scale: float, size: int) -> np.ndarray:
    """The ``box_in_image`` crop of ``box`` at ``scale``, resized to ``size`` x ``size`` (same dtype and channels as ``image``)."""
    import cv2

    x0, y0, x1, y1 = box_region(image.shape[:2], box, scale)
    patch = image[max(y0, 0) : y1 + 1, max(x0, 0) : x1 + 1]
    if patch.size == 0:
        raise ValueError(f"the crop region {(x0, y0, x1, y1)} of box {box} is empty in a {image.shape[1]}x{image.shape[0]} frame")
    out = cv2.resize(patch, (size, size), interpolation=cv2.INTER_LINEAR)
    return out.reshape(size, size, *image.shape[2:]) if image.ndim == 3 else out


def crop_resized(image: np.ndarray, box: tuple[float, float, float, float], *, size: int) -> np.ndarray:
    """The pixels of ``box`` (rounded to whole pixels, clipped to the frame) resized to ``size`` x ``size``, aspect not kept."""
    import cv2

    h, w = image.shape[:2]
    x0, y0 = max(int(round(box[0])), 0), max(int(round(box[1])), 0)
    x1, y1 = min(int(round(box[2])), w), min(int(round(box[3])), h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"the face box {box} lies outside the {w}x{h} frame")
    patch = image[y0:y1, x0:x1]
    interp = cv2.INTER_AREA if max(patch.shape[:2]) > size else cv2.INTER_LINEAR
    out = cv2.resize(patch, (size, size), interpolation=interp)
    return out.reshape(size, size, *image.shape[2:]) if image.ndim == 3 else out


def crop_views(image: np.ndarray, box: tuple[float, float, float, float], scales: Sequence[float], size: int,
               geometry: str = "box_in_image") -> np.ndarray:
    """One crop per scale of the same face, stacked ``[V, size, size, ...]``; ``geometry`` as the model card names it."""
    if geometry == "box_in_image":
        crops = [crop_box_in_image(image, box, scale=s, size=size) for s in scales]
    elif geometry == "square":
        from antispoof.faces.crop import crop_face

        crops = [crop_face(image, box, size=size, scale=s) for s in scales]
    else:
        raise ValueError(f"unknown crop geometry {geometry!r}; choose square or box_in_image")
    return np.stack(crops)
