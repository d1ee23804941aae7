"""Detection on key frames, the face box tracked between them: a detector wrapper for videos and frame streams.

A face detector costs more than the rest of a liveness pipeline per frame, and in a
video the face moves little from one frame to the next. :class:`KeyFrameTracker` runs
the detector on a key frame and keeps the face's grey patch as a template; on the
following frames it finds that patch again (normalised cross-correlation,
``cv2.matchTemplate``, at a reduced resolution in a window around the last box, the peak
refined to sub-pixel by a parabola, then to the whole pixel by matching the face's central
patch at full resolution within 3 pixels) and moves the key frame's box by that offset
(a face that did not move keeps its box exactly). It detects
again on every ``every``-th frame, when the best correlation falls below
``min_correlation`` (the face turned, changed or left: the track is lost), when the face
moved more than ``max_step`` of its size since the last frame, when it moved more than
``max_shift`` of its size since the key frame (a detector's box is not its key-frame box
moved: its grid and scale put it a little elsewhere, and models that read a tight crop,
such as Silent-Face's, score the box, so a moved face is detected again), and whenever
the last detection found no face. :meth:`reset` forgets the track; the Predictor calls it at the
start of each presentation, so a track never carries from one video or photo to another.
:attr:`KeyFrameTracker.tracked` says whether the last frame's face was followed or detected
(the Predictor's ``verify_margin`` detects again the followed frames whose score is close
to the threshold).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from antispoof.faces.base import Annotation, Face, FaceDetector, select_face

__all__ = ["KeyFrameTracker"]

_TEMPLATE = 48  # side of the template in tracking pixels (the face box brought to about this size)


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def _step(face: Face) -> int:
    """The whole-pixel step ``k`` that brings the face box to about :data:`_TEMPLATE` pixels.

    Tracking images are shrunk by exactly ``k`` (blocks of ``k x k`` pixels averaged): OpenCV's
    area resize runs 4x faster at a whole factor than at any other (0.05 against 0.23 ms for
    a face window of 320x312 pixels).
    """
    return max(1, int(round(max(face.width, face.height) / _TEMPLATE)))


def _peak(scores: np.ndarray) -> tuple[float, float, float]:
    """``(x, y, score)`` of the correlation maximum, refined to sub-pixel by a parabola through its neighbours."""
    y, x = np.unravel_index(int(np.argmax(scores)), scores.shape)
    best = float(scores[y, x])

    def refine(a: float, b: float, c: float) -> float:
        d = a - 2 * b + c
        return 0.0 if d >= 0 else 0.5 * (a - c) / d

    dx = refine(scores[y, x - 1], best, scores[y, x + 1]) if 0 < x < scores.shape[1] - 1 else 0.0
    dy = refine(scores[y - 1, x], best, scores[y + 1, x]) if 0 < y < scores.shape[0] - 1 else 0.0
    return x + dx, y + dy, best


class KeyFrameTracker(FaceDetector):
    """``detector`` on key frames; the face box tracked in between by template matching (see the module docstring).

    Args:
        detector: the detector of the key frames.
        every: a key frame at least every ``every`` frames (1: detect on every frame).
        min_correlation: the normalised correlation below which the track counts as lost.
        max_step: the largest move from one frame to the next, as a share of the box side, still tracked.
        max_shift: the largest move since the key frame, as a share of the box side, that keeps the key frame's box
            (moved); beyond it the detector runs again. None: no limit (only ``every``, the correlation and ``max_step``).
    """

    name = "keyframe"

    def __init__(self, detector: FaceDetector, every: int = 10, min_correlation: float = 0.9, max_step: float = 0.25,
                 max_shift: float | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1 frame, got {every}")
        if not 0 <= min_correlation <= 1:
            raise ValueError(f"min_correlation must be in [0, 1], got {min_correlation}")
        if max_shift is not None and max_shift < 0:
            raise ValueError(f"max_shift must be >= 0 (a share of the box side) or None, got {max_shift}")
        self.detector, self.every = detector, int(every)
        self.min_correlation, self.max_step = float(min_correlation), float(max_step)
        self.max_shift = None if max_shift is None else float(max_shift)
        self.detections = self.frames = 0
        self.tracked = False  # whether the last frame's face was followed (True) or detected (False)
        self.reset()

    def reset(self) -> None:
        """Forget the track (a new presentation starts)."""
        self._faces: list[Face] = []
        self._face: Face | None = None
        self._template: np.ndarray | None = None
        self._factor = 1.0
        self._since = 0

    def info(self) -> dict[str, Any]:
        return {**self.detector.info(), "tracking": {"every": self.every, "min_correlation": self.min_correlation,
                                                     "max_step": self.max_step, "max_shift": self.max_shift}}

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        self.frames += 1
        if self._face is not None and self._since < self.every:
            moved = self._track(image)
            if moved is not None:
                self._since += 1
                self._face = moved
                self.tracked = True
                return [moved]
        self.tracked = False
        self.detections += 1
        faces = self.detector.detect(image, annotation)
        face, _, _ = select_face(faces)
        self._face, self._since = face, 1
        if face is not None:
            self._key_box, self._key_eyes = face.box, face.eyes
            self._keep_template(image, face)
        return faces

    def _keep_template(self, image: np.ndarray, face: Face) -> None:
        import cv2

        k = _step(face)
        self._factor = 1.0 / k
        h, w = image.shape[:2]
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        x1, y1 = x0 + (x1 - x0) // k * k, y0 + (y1 - y0) // k * k  # whole blocks of k x k pixels
        if x1 - x0 < max(8, 4 * k) or y1 - y0 < max(8, 4 * k):
            self._template = None
            return
        patch = _gray(np.ascontiguousarray(image[y0:y1, x0:x1]))
        self._template = cv2.resize(patch, ((x1 - x0) // k, (y1 - y0) // k), interpolation=cv2.INTER_AREA)
        self._origin = (x0, y0)
        side = max(min(x1 - x0, y1 - y0) // 3, 8)  # the face's central third, at full resolution, for the last pixel
        cx, cy = (x0 + x1) // 2 - side // 2, (y0 + y1) // 2 - side // 2
        self._patch = (np.ascontiguousarray(_gray(np.ascontiguousarray(image[cy : cy + side, cx : cx + side]))), (cx, cy))

    def _refine(self, image: np.ndarray, dx: float, dy: float, radius: int = 3) -> tuple[float, float]:
        """The whole-pixel offset near ``(dx, dy)`` at which the key frame's central face patch matches best, at full resolution."""
        import cv2

        patch, (px0, py0) = self._patch
        h, w = image.shape[:2]
        ph, pw = patch.shape
        x0, y0 = int(round(px0 + dx)) - radius, int(round(py0 + dy)) - radius
        if x0 < 0 or y0 < 0 or x0 + pw + 2 * radius > w or y0 + ph + 2 * radius > h:
            return float(round(dx)), float(round(dy))
        window = _gray(np.ascontiguousarray(image[y0 : y0 + ph + 2 * radius, x0 : x0 + pw + 2 * radius]))
        scores = cv2.matchTemplate(window, patch, cv2.TM_CCOEFF_NORMED)
        y, x = np.unravel_index(int(np.argmax(scores)), scores.shape)
        return float(x0 + x - px0), float(y0 + y - py0)

    def _track(self, image: np.ndarray) -> Face | None:
        """The face moved to where its template correlates best, or None when the track is lost."""
        import cv2

        if self._template is None:
            return None
        face, f = self._face, self._factor
        k = int(round(1.0 / f))
        h, w = image.shape[:2]
        margin = self.max_step * max(face.width, face.height)
        x0, y0 = max(int(face.box[0] - margin), 0), max(int(face.box[1] - margin), 0)
        x1, y1 = min(int(face.box[2] + margin) + 1, w), min(int(face.box[3] + margin) + 1, h)
        x1, y1 = x0 + (x1 - x0) // k * k, y0 + (y1 - y0) // k * k
        th, tw = self._template.shape
        size = ((x1 - x0) // k, (y1 - y0) // k)
        if size[0] <= tw or size[1] <= th:
            return None
        window = _gray(np.ascontiguousarray(image[y0:y1, x0:x1]))
        small = cv2.resize(window, size, interpolation=cv2.INTER_AREA)
        px, py, score = _peak(cv2.matchTemplate(small, self._template, cv2.TM_CCOEFF_NORMED))
        if score < self.min_correlation:
            return None
        # where the template's top-left corner now lies, in frame pixels, against where it was cut
        nx, ny = x0 + px / f, y0 + py / f
        dx, dy = self._refine(image, nx - self._origin[0], ny - self._origin[1])
        kx0, ky0, kx1, ky1 = self._key_box
        if self.max_shift is not None and max(abs(dx), abs(dy)) > self.max_shift * max(kx1 - kx0, ky1 - ky0):
            return None  # moved since the key frame: the detector's box would not be this one moved
        return Face((kx0 + dx, ky0 + dy, kx1 + dx, ky1 + dy), face.score, None if face.eyes is None else
                    tuple((ex + dx, ey + dy) for ex, ey in self._key_eyes))  # type: ignore[arg-type]
