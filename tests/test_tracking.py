"""KeyFrameTracker: detection on key frames, the box tracked in between, a new detection when the track is lost."""

from __future__ import annotations

import numpy as np
import pytest

from antispoof.faces.base import Face, FaceDetector
from antispoof.faces.tracking import KeyFrameTracker


class SquareDetector(FaceDetector):
    """Finds the bright square of :func:`_frame` (a stand-in for a face detector), counting its calls."""

    name = "square"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image, annotation=None):
        self.calls += 1
        ys, xs = np.nonzero(image[:, :, 0] > 150)
        return [Face((xs.min() - 8.0, ys.min() - 8.0, xs.max() + 9.0, ys.max() + 9.0), 0.9)] if len(xs) else []


def _frame(dx: int = 0, dy: int = 0) -> np.ndarray:
    image = np.full((96, 96, 3), 60, dtype=np.uint8)
    image[30 + dy : 50 + dy, 30 + dx : 50 + dx] = 200
    image[36 + dy : 40 + dy, 34 + dx : 46 + dx] = 120  # some structure inside, like eyes
    return image


def test_key_frames_on_a_still_face() -> None:
    base = SquareDetector()
    tracker = KeyFrameTracker(base, every=5)
    boxes = [tracker.detect(_frame())[0].box for _ in range(12)]
    assert base.calls == 3  # frames 1, 6, 11
    assert all(np.allclose(b, boxes[0], atol=0) for b in boxes)  # a still face keeps its box exactly


def test_the_box_follows_a_moving_face() -> None:
    base = SquareDetector()
    tracker = KeyFrameTracker(base, every=100)
    tracker.detect(_frame())
    for step in range(1, 5):
        box = tracker.detect(_frame(2 * step, step))[0].box
        assert np.allclose(box, base.detect(_frame(2 * step, step))[0].box, atol=0.6), step
    assert tracker.detections == 1


def test_a_lost_track_or_no_face_detects_again() -> None:
    base = SquareDetector()
    tracker = KeyFrameTracker(base, every=100)
    tracker.detect(_frame())
    noise = np.random.default_rng(0).integers(0, 140, size=(96, 96, 3), dtype=np.uint8)
    assert tracker.detect(noise) == [] and tracker.detections == 2  # the template is gone: detect again
    tracker.detect(noise)  # no face last time: detect again
    assert tracker.detections == 3
    tracker.reset()
    tracker.detect(_frame())
    assert tracker.detections == 4
    with pytest.raises(ValueError, match="every"):
        KeyFrameTracker(base, every=0)


def test_a_face_that_moved_since_the_key_frame_is_detected_again() -> None:
    base = SquareDetector()
    tracker = KeyFrameTracker(base, every=100, max_shift=0.05)  # box side 37 px: more than 1.85 px since the key frame
    tracker.detect(_frame())
    tracker.detect(_frame(1, 0))  # 1 px: tracked
    assert tracker.detections == 1
    box = tracker.detect(_frame(3, 0))[0].box  # 3 px: detected again, the detector's own box
    assert tracker.detections == 2 and box == base.detect(_frame(3, 0))[0].box
    tracker.detect(_frame(3, 0))  # still since the new key frame: tracked
    assert tracker.detections == 2 and tracker.info()["tracking"]["max_shift"] == 0.05
    with pytest.raises(ValueError, match="max_shift"):
        KeyFrameTracker(base, max_shift=-1)
