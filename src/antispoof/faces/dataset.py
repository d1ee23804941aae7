"""The dataset's own faces: ``dataset`` reads its boxes and eye positions, ``whole_image`` its face crops.

Replay-Attack ships face locations per frame, OULU-NPU eye positions, CelebA-Spoof and
the synthetic generator boxes. The frame store passes each frame's annotation (from the
manifest's ``box_*`` columns or ``DatasetAdapter.face_annotations``); with eyes only, the
box is derived from them (a square of 2.5 inter-ocular distances, the eyes at 40% of
its height, the usual face geometry).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from antispoof._registry import DETECTORS
from antispoof.faces.base import Annotation, Face, FaceDetector

__all__ = ["DatasetBoxes", "WholeImage", "box_from_eyes"]


def box_from_eyes(eyes: tuple[tuple[float, float], tuple[float, float]]) -> tuple[float, float, float, float]:
    """A face box from two eye centres: side 2.5 x inter-ocular distance, eyes at 40% height."""
    (ax, ay), (bx, by) = eyes
    distance = math.hypot(bx - ax, by - ay)
    if distance <= 0:
        raise ValueError(f"the two eye positions coincide: {eyes}")
    side = 2.5 * distance
    cx, cy = (ax + bx) / 2.0, (ay + by) / 2.0 + 0.1 * side
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


@DETECTORS.register("dataset")
class DatasetBoxes(FaceDetector):
    """Uses the dataset's own annotation of the frame; no annotation means ``no_face``."""

    name = "dataset"
    needs_annotation = True
    from_dataset = True

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        if not annotation:
            return []
        eyes = annotation.get("eyes")
        if eyes is not None:
            eyes = (tuple(map(float, eyes[0])), tuple(map(float, eyes[1])))
            if eyes[1][0] < eyes[0][0]:
                eyes = (eyes[1], eyes[0])
        box = annotation.get("box")
        if box is None or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in box):
            if eyes is None:
                return []
            box = box_from_eyes(eyes)  # type: ignore[arg-type]
        x0, y0, x1, y1 = (float(v) for v in box)
        if not (x1 > x0 and y1 > y0):
            return []
        return [Face((x0, y0, x1, y1), 1.0, eyes)]  # type: ignore[arg-type]

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "source": "dataset annotations (manifest box columns or face_annotations)"}


@DETECTORS.register("whole_image")
class WholeImage(FaceDetector):
    """The whole image is the face: datasets that ship face crops (CASIA-SURF, seed 001 section 5.2), read as shipped."""

    name = "whole_image"
    from_dataset = True

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        h, w = image.shape[:2]
        return [Face((0.0, 0.0, float(w), float(h)), 1.0, None)]

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "source": "the dataset's own face crops, each image whole"}
