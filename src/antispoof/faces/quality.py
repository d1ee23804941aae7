"""The capture-quality gate: frames a model never learned from are refused before scoring.

Each measure is a cheap, documented proxy computed on the face box of the frame (the
box as the detector gives it, clipped to the image, in gray = BT.601 luma):

=================  ===============================================================  ==================
reason             measure                                                          limit (card)
=================  ===============================================================  ==================
``face_too_small``  shorter side of the face box, pixels                            ``min_face``
``too_blurred``     variance of the Laplacian (3x3) of the face, shrunk to 128 px    ``min_sharpness``
                    wide when wider (comparable across face sizes; smaller faces
                    are measured as they are, never enlarged). On the
                    three sample photos (faces ~200 px): 146-389 sharp; 19-39 after
                    a Gaussian blur of sigma 2 px; 7-13 at sigma 4; 3-5 at sigma 10
``too_dark``        mean luma of the face box                                        ``min_brightness``
``overexposed``     mean luma of the face box                                        ``max_brightness``
``clipped``         share of face pixels with luma >= 250 or <= 5                    ``max_clipped``
``turned_away``     distance between the eyes / face box width: about 0.35-0.45     ``min_eye_ratio``
                    for a frontal face, shrinking roughly with cos(yaw); 0.2 is
                    about 55-60 degrees of yaw. Skipped (measure ``None``) when the
                    detector gives no eye positions
=================  ===============================================================  ==================

The first failing check in the order above is the frame's reason; the measures are
returned so a caller can show them. Given the limits, :func:`measure_quality` computes
only the measures of enabled limits (a disabled one is ``None``): a gate with every limit
open, as the imported Silent-Face card has, costs nothing per frame.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from antispoof.faces.base import Face

__all__ = ["QualityLimits", "QualityMeasures", "measure_quality", "check_quality", "QUALITY_REASONS"]

QUALITY_REASONS = ("face_too_small", "too_blurred", "too_dark", "overexposed", "clipped", "turned_away")
_SHARPNESS_WIDTH = 128


class QualityLimits(BaseModel):
    """Limits of the capture-quality gate (each measure: the module docstring).

    A frame outside a limit is ``failed_to_acquire`` with that reason, not scored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_face: float = Field(32.0, ge=0, description="shorter side of the face box in pixels, at least")
    min_sharpness: float = Field(10.0, ge=0, description="variance of the Laplacian of the face (gray, 128 px wide), at least")
    min_brightness: float = Field(40.0, ge=0, le=255, description="mean luma of the face box (0-255), at least")
    max_brightness: float = Field(220.0, ge=0, le=255, description="mean luma of the face box (0-255), at most")
    max_clipped: float = Field(0.25, ge=0, le=1, description="share of face pixels at luma >= 250 or <= 5, at most")
    min_eye_ratio: float = Field(0.20, ge=0, le=1, description="eye distance / face box width, at least (head turned too far below)")

    def enabled(self) -> frozenset[str]:
        """The measures some limit of this gate reads (a limit at its open end reads nothing)."""
        on = set()
        if self.min_face > 0:
            on.add("face_size")
        if self.min_sharpness > 0:
            on.add("sharpness")
        if self.min_brightness > 0 or self.max_brightness < 255:
            on.add("brightness")
        if self.max_clipped < 1:
            on.add("clipped")
        if self.min_eye_ratio > 0:
            on.add("eye_ratio")
        return frozenset(on)

    @classmethod
    def open(cls, min_face: float = 0.0) -> QualityLimits:
        """A gate that refuses nothing but faces under ``min_face`` pixels."""
        return cls(min_face=min_face, min_sharpness=0.0, min_brightness=0.0, max_brightness=255.0, max_clipped=1.0,
                   min_eye_ratio=0.0)


@dataclass(frozen=True)
class QualityMeasures:
    """The gate's measures of one face (see the module docstring)."""

    face_size: float
    sharpness: float | None
    brightness: float | None
    clipped: float | None
    eye_ratio: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {k: (None if v is None else round(float(v), 4)) for k, v in asdict(self).items()}


_PIXEL_MEASURES = frozenset({"sharpness", "brightness", "clipped"})


def measure_quality(image: np.ndarray, face: Face, limits: QualityLimits | None = None) -> QualityMeasures:
    """Measure the face of ``image`` (RGB uint8 HxWx3) inside ``face.box``.

    ``limits``: measure only what its enabled limits read (:meth:`QualityLimits.enabled`;
    the others are ``None``, the face size is always given); None measures everything.
    """
    wanted = _PIXEL_MEASURES | {"eye_ratio"} if limits is None else limits.enabled()
    size = float(min(face.width, face.height))
    eye_ratio = None
    if "eye_ratio" in wanted and face.eyes is not None and face.width > 0:
        (ax, ay), (bx, by) = face.eyes
        eye_ratio = math.hypot(bx - ax, by - ay) / face.width
    if not wanted & _PIXEL_MEASURES:  # no pixel of the face is read
        return QualityMeasures(size, None, None, None, eye_ratio)
    import cv2

    h, w = image.shape[:2]
    x0, y0, x1, y1 = face.box
    ix0, iy0 = max(int(math.floor(x0)), 0), max(int(math.floor(y0)), 0)
    ix1, iy1 = min(int(math.ceil(x1)), w), min(int(math.ceil(y1)), h)
    if ix1 - ix0 < 2 or iy1 - iy0 < 2:
        return QualityMeasures(size, 0.0, 0.0, 1.0, None)
    gray = cv2.cvtColor(np.ascontiguousarray(image[iy0:iy1, ix0:ix1]), cv2.COLOR_RGB2GRAY)
    brightness = float(gray.mean()) if "brightness" in wanted else None
    clipped = float(((gray >= 250) | (gray <= 5)).mean()) if "clipped" in wanted else None
    sharpness = None
    if "sharpness" in wanted:
        small = gray
        if gray.shape[1] > _SHARPNESS_WIDTH:  # larger faces are brought down; smaller ones are not blown up (that blurs)
            height = max(int(round(gray.shape[0] * _SHARPNESS_WIDTH / gray.shape[1])), 2)
            small = cv2.resize(gray, (_SHARPNESS_WIDTH, height), interpolation=cv2.INTER_AREA)
        sharpness = float(cv2.Laplacian(small, cv2.CV_64F, ksize=1).var())
    return QualityMeasures(size, sharpness, brightness, clipped, eye_ratio)


def check_quality(measures: QualityMeasures, limits: QualityLimits) -> str:
    """The first reason the frame fails the gate, or '' when it passes (a measure not taken, ``None``, is not checked)."""
    if measures.face_size < limits.min_face:
        return "face_too_small"
    if measures.sharpness is not None and measures.sharpness < limits.min_sharpness:
        return "too_blurred"
    if measures.brightness is not None and measures.brightness < limits.min_brightness:
        return "too_dark"
    if measures.brightness is not None and measures.brightness > limits.max_brightness:
        return "overexposed"
    if measures.clipped is not None and measures.clipped > limits.max_clipped:
        return "clipped"
    if measures.eye_ratio is not None and measures.eye_ratio < limits.min_eye_ratio:
        return "turned_away"
    return ""
