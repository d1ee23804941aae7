"""Dense explanations as pictures: a cue map drawn as a heat map over the face crop it explains."""

from __future__ import annotations

import numpy as np

__all__ = ["heatmap_overlay"]


def heatmap_overlay(crop: np.ndarray, cue_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """RGB uint8 ``crop`` with ``cue_map`` (``[h, w]``, any range) blended on top as a JET heat map.

    The map is scaled by its own maximum magnitude (a flat map stays dark blue), resized to
    the crop with linear interpolation, and blended with weight ``alpha``.
    """
    import cv2

    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3:
        raise ValueError(f"crop must be an RGB uint8 HxWx3 image, got dtype {crop.dtype} shape {crop.shape}")
    heat = np.abs(np.asarray(cue_map, dtype=np.float32))
    if heat.ndim != 2:
        raise ValueError(f"cue_map must be a 2-D [h, w] map, got shape {heat.shape}")
    peak = float(heat.max())
    heat = heat / peak if peak > 0 else heat
    heat = cv2.resize(heat, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)
    coloured = cv2.applyColorMap(np.clip(heat * 255.0, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1]
    blended = (1.0 - alpha) * crop.astype(np.float32) + alpha * coloured.astype(np.float32)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)
