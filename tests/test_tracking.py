"""KeyFrameTracker: detection on key frames, the box followed in between, a new detection when the face region changes."""

from __future__ import annotations

import numpy as np
import pytest

from antispoof.faces.base import Face, FaceDetector
from antispoof.faces.tracking import KeyFrameTracker


class CountingDetector(FaceDetector):
    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image, annotation=None):
        self.calls += 1
        return [Face((20.0, 20.0, 44.0, 44.0), 0.9)] if image.mean() > 0 else []


def _frame(level: int = 120) -> np.ndarray:
    image = np.full((64, 64, 3), level, dtype=np.uint8)
    image[24:40, 24:40] = 200
    return image


def test_key_frames_on_a_still_face() -> None:
    base = CountingDetector()
    tracker = KeyFrameTracker(base, every=5)
    for _ in range(12):
        assert tracker.detect(_frame())[0].box == (20.0, 20.0, 44.0, 44.0)
    assert base.calls == 3  # frames 1, 6, 11


def test_a_changed_face_region_or_no_face_detects_again() -> None:
    base = CountingDetector()
    tracker = KeyFrameTracker(base, every=100, max_change=6.0)
    tracker.detect(_frame())
    tracker.detect(_frame(123))  # 3 grey levels: the box is kept
    assert base.calls == 1
    tracker.detect(_frame(160))  # the region changed: detect again
    assert base.calls == 2
    assert tracker.detect(np.zeros((64, 64, 3), np.uint8)) == []
    tracker.detect(np.zeros((64, 64, 3), np.uint8))  # no face last time: detect again
    assert base.calls == 4
    tracker.reset()
    tracker.detect(_frame())
    assert base.calls == 5
    with pytest.raises(ValueError, match="every"):
        KeyFrameTracker(base, every=0)
