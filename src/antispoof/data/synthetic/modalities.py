"""Near-infrared and depth: what an RGB-D-IR sensor (CASIA-SURF's RealSense style) records.

IR comes from an illuminator beside the lens, so brightness is reflectance at 850 nm
times the cosine to the camera: skin and paper reflect (differently: printed ink partly
vanishes), screens and black bezels are dark whatever they display, the room behind is
dim. Depth is encoded near = bright, with 0 meaning "no reading" (background): a live
face and a mask have relief, flat prints and screens are planes, bent prints are
cylinders. Both modalities are rendered in the RGB camera's pixel grid (aligned).
"""

from __future__ import annotations

import numpy as np

from antispoof.data.synthetic._imaging import luminance

__all__ = ["background_ir", "encode_ir", "encode_depth", "MODALITIES"]

MODALITIES = ("rgb", "ir", "depth")


def background_ir(bg: np.ndarray) -> np.ndarray:
    """IR of the room behind the subject: far from the illuminator, so dim."""
    return (0.04 + 0.18 * luminance(bg)[..., 0]).astype(np.float32)


def encode_ir(ir: np.ndarray, noise: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """IR frame as uint8 with sensor noise."""
    s = ir.shape[0]
    oy, ox = offset
    out = ir + 0.015 * noise[oy : oy + s, ox : ox + s]
    return (np.clip(out, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def encode_depth(depth: np.ndarray, noise: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """Depth frame as uint8 (near = bright, 0 = no reading) with a little measurement noise."""
    s = depth.shape[0]
    oy, ox = offset
    valid = depth > 0.05
    out = np.where(valid, depth + 0.006 * noise[oy : oy + s, ox : ox + s], 0.0)
    return (np.clip(out, 0, 1) * 255.0 + 0.5).astype(np.uint8)
