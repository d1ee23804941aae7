"""The face-detector interface and the face record every detector returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["Face", "FaceDetector", "Annotation", "select_face"]

# A dataset's own annotation of one frame: {"box": (x0, y0, x1, y1)} and/or
# {"eyes": ((left_x, left_y), (right_x, right_y))}, as DatasetAdapter.face_annotations gives.
Annotation = dict[str, Any]


@dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes:
        box: ``(x0, y0, x1, y1)`` in pixels of the image given to the detector, x1/y1 exclusive.
        score: detector confidence in [0, 1] (1.0 for boxes a dataset provides).
        eyes: ``((x, y), (x, y))`` of the eye on the image's left then the one on its right,
            when the detector gives them; used by eye alignment.
    """

    box: tuple[float, float, float, float]
    score: float = 1.0
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


class FaceDetector(ABC):
    """Finds faces in an RGB uint8 ``HxWx3`` image.

    Subclasses register with ``@DETECTORS.register("name")``, load their weights in
    ``__init__`` from an installed package (never from the network, never with
    unrestricted pickle) and implement :meth:`detect`. :meth:`info` is what a frame store
    records about the detector that made it.
    """

    name: ClassVar[str] = ""
    #: True when the detector needs the dataset's annotation of the frame (``dataset``).
    needs_annotation: ClassVar[bool] = False
    #: True when the faces come from the dataset (its boxes, eyes or crops): no face is found in a new image.
    from_dataset: ClassVar[bool] = False

    @abstractmethod
    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        """Faces found in ``image`` (RGB uint8 HxWx3), any order. ``annotation`` is the dataset's own, if any."""

    def info(self) -> dict[str, Any]:
        """Name, weights and options: enough to say exactly which detector produced a box."""
        return {"name": self.name}


def select_face(faces: list[Face]) -> tuple[Face | None, int, str]:
    """Pick the largest face; return ``(face, count, failure)``: failure ``no_face`` when none was found, else ''.

    Whether the face is usable (large, sharp, lit enough) is the capture-quality gate's question
    (:mod:`antispoof.faces.quality`, ``min_face`` among its limits), asked after the selection.
    """
    if not faces:
        return None, 0, "no_face"
    return max(faces, key=lambda f: f.area), len(faces), ""
