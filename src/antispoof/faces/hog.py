"""dlib's HOG + linear SVM frontal face detector (the detector LGSC's authors used).

King, "Dlib-ml: A Machine Learning Toolkit", JMLR 2009; HOG features of Dalal & Triggs.
The model is compiled into the ``dlib-bin`` wheel: nothing to download. Frames are
shrunk so the longer side is at most ``max_side`` (dlib's window is 80 px, so faces
must keep at least that size after shrinking).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from antispoof._registry import DETECTORS
from antispoof.faces._weights import package_version
from antispoof.faces.base import Annotation, Face, FaceDetector

__all__ = ["DlibHOG"]


@DETECTORS.register("hog")
class DlibHOG(FaceDetector):
    """dlib HOG detector; score is the SVM margin squashed to (0, 1) by a logistic."""

    name = "hog"

    def __init__(self, max_side: int = 480, upsample: int = 0) -> None:
        try:
            import dlib
        except ImportError:
            raise FileNotFoundError("the hog detector needs dlib: pip install dlib-bin") from None
        self.max_side, self.upsample = int(max_side), int(upsample)
        self._detector = dlib.get_frontal_face_detector()

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "weights": "dlib-bin built-in frontal_face_detector", "version": package_version("dlib-bin"), "max_side": self.max_side, "upsample": self.upsample}

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        import cv2

        h, w = image.shape[:2]
        shrink = min(1.0, self.max_side / max(h, w))
        small = image if shrink == 1.0 else cv2.resize(image, (round(w * shrink), round(h * shrink)), interpolation=cv2.INTER_AREA)
        rects, scores, _ = self._detector.run(np.ascontiguousarray(small), self.upsample, 0.0)
        return [
            Face(
                (r.left() / shrink, r.top() / shrink, (r.right() + 1) / shrink, (r.bottom() + 1) / shrink),
                float(1.0 / (1.0 + np.exp(-s))),
            )
            for r, s in zip(rects, scores)
        ]
