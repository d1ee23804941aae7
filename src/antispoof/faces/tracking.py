"""Detection on key frames, the face box followed between them: a detector wrapper for videos and frame streams.

A face detector costs more than the rest of a liveness pipeline per frame. In a video the
face moves little from one frame to the next, so :class:`KeyFrameTracker` runs the
detector on a key frame, keeps its face, and reuses that box on the following frames
while the face region still looks like it did (the mean absolute difference of a 16x16
grey thumbnail of the box region, in grey levels, at most ``max_change``). It detects
again on every ``every``-th frame, when the region changed more (the face moved, turned
or left), and whenever the last detection found no face. :meth:`reset` forgets the
track; the Predictor calls it at the start of each presentation, so a track never
carries from one video or photo to another.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from antispoof.faces.base import Annotation, Face, FaceDetector, select_face

__all__ = ["KeyFrameTracker"]


def _thumbnail(image: np.ndarray, box: tuple[float, float, float, float], side: int = 16) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(np.ceil(box[2])), w), min(int(np.ceil(box[3])), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((side, side), dtype=np.float32)
    region = image[y0:y1, x0:x1]
    gray = region.mean(axis=2) if region.ndim == 3 else region
    return cv2.resize(gray.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)


class KeyFrameTracker(FaceDetector):
    """``detector`` on key frames; the last face reused in between while its region barely changes (see the module docstring).

    Args:
        detector: the detector of the key frames.
        every: a key frame at least every ``every`` frames (1: detect on every frame).
        max_change: mean absolute grey-level change of the face thumbnail that still keeps the box.
    """

    name = "keyframe"

    def __init__(self, detector: FaceDetector, every: int = 10, max_change: float = 6.0) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1 frame, got {every}")
        if max_change < 0:
            raise ValueError(f"max_change must be >= 0 grey levels, got {max_change}")
        self.detector, self.every, self.max_change = detector, int(every), float(max_change)
        self.detections = self.frames = 0
        self.reset()

    def reset(self) -> None:
        """Forget the track (a new presentation starts)."""
        self._faces: list[Face] = []
        self._face: Face | None = None
        self._template: np.ndarray | None = None
        self._since = 0

    def info(self) -> dict[str, Any]:
        return {**self.detector.info(), "tracking": {"every": self.every, "max_change": self.max_change}}

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        self.frames += 1
        if self._face is not None and self._since < self.every:
            change = float(np.abs(_thumbnail(image, self._face.box) - self._template).mean())
            if change <= self.max_change:
                self._since += 1
                return list(self._faces)
        self.detections += 1
        faces = self.detector.detect(image, annotation)
        face, _, _ = select_face(faces)
        self._faces, self._face, self._since = faces, face, 1
        self._template = None if face is None else _thumbnail(image, face.box)
        return faces
