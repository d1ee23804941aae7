"""YuNet, a fast face detector, run with onnxruntime from a local ONNX file, its boxes optionally mapped onto another detector's.

Wu, Peng and Yu, "YuNet: A Tiny Millisecond-level Face Detector", Machine Intelligence
Research 2023. An anchor-free detector: one prior per cell at strides 8, 16 and 32, with
per-prior outputs ``cls_*`` and ``obj_*`` (already in [0, 1]; the score of a prior is
``sqrt(cls * obj)``), ``bbox_*`` (centre offset in cells and log size in strides) and
``kps_*`` (five landmarks: the eyes, the nose tip, the mouth corners, as offsets in
cells). Input: BGR, raw 0-255, ``[1, 3, H, W]`` with H and W multiples of 32. The facts
come from the weights' README (../shared/weights/yunet/README.md: libfacedetection.train,
Apache-2.0); the decoding here is written from them.

Weights are a local file (``weights=PATH``, e.g. ``yunet_s_dynamic.onnx``, or
``face_detection_yunet_2023mar.onnx`` of OpenCV's model zoo, which is the same small
model): nothing is downloaded and nothing ships in this package; :meth:`YuNet.info`
records the file's name and SHA-256, so a card says which file found its faces.

The frame is shrunk (halved by area averaging, then bilinear) so that its longer side is ``size`` pixels, padded
with zeros at the right and bottom to multiples of 32; boxes are mapped back to the frame.

Box correction. YuNet's boxes are not those of the detector a model was trained with
(the Silent-Face RetinaFace's are about 1.11x wider, 0.85x as tall and 0.15 of the box
height lower), and MiniFASNet's scores follow the box. ``correction = (sx, sy, dx, dy)``
maps a box of centre ``(cx, cy)`` and size ``(w, h)`` to centre ``(cx + dx * w, cy + dy * h)``
and size ``(sx * w, sy * h)``. It is fitted, never typed: ``benchmarks/fit_yunet_correction.py``
fits it against a reference detector on photos at many scales, positions and crops and
writes it (with the fit's record) into a bundle's detector options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from antispoof._registry import DETECTORS
from antispoof.faces.base import Annotation, Face, FaceDetector
from antispoof.faces.mtcnn import _nms

__all__ = ["YuNet", "apply_correction", "STRIDES"]

STRIDES = (8, 16, 32)


def apply_correction(boxes: np.ndarray, correction: tuple[float, float, float, float] | None) -> np.ndarray:
    """``[N, 4]`` boxes ``(x0, y0, x1, y1)`` mapped by ``correction = (sx, sy, dx, dy)`` (the module docstring); None: unchanged."""
    if correction is None:
        return boxes
    sx, sy, dx, dy = (float(v) for v in correction)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 + dx * w, (boxes[:, 1] + boxes[:, 3]) / 2 + dy * h
    return np.stack([cx - sx * w / 2, cy - sy * h / 2, cx + sx * w / 2, cy + sy * h / 2], axis=1)


def _shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` resized to ``width x height``: halved by area averaging while 2x or more too large, then bilinear.

    Area averaging does not alias a large frame's detail, but OpenCV's is slow at other
    factors than 2 (1.7 ms for 640x480 -> 192x144 on one core, against 0.08 ms for a halving);
    after the halvings the bilinear step shrinks by less than 2x, where it aliases little.
    """
    import cv2

    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if (image.shape[1], image.shape[0]) == (width, height):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


@DETECTORS.register("yunet")
class YuNet(FaceDetector):
    """YuNet from a local ONNX file; boxes with eyes; optional box correction (module docstring).

    Args:
        weights: the ONNX file (``yunet_s_dynamic.onnx`` or any YuNet graph with a dynamic input).
        size: the longer side of the frame as the network sees it, pixels (a multiple of 32 after padding).
        min_score: score threshold (``sqrt(cls * obj)``) of the returned faces.
        nms: IoU above which a less confident box is suppressed.
        correction: ``(sx, sy, dx, dy)`` fitted by ``benchmarks/fit_yunet_correction.py``, or None.
        fit: that script's record of the fit (reference detector, photos, IoU before and after); kept in ``info()``.
        threads: onnxruntime intra-op threads.
    """

    name = "yunet"
    #: options that name files; a bundle's card may give them relative to the bundle folder
    file_options: ClassVar[tuple[str, ...]] = ("weights",)

    def __init__(self, weights: str | Path | None = None, size: int = 192, min_score: float = 0.6, nms: float = 0.3,
                 correction: tuple[float, float, float, float] | list[float] | None = None,
                 fit: dict[str, Any] | None = None, threads: int | None = 1) -> None:
        import onnxruntime as ort

        if weights is None:
            raise FileNotFoundError("the yunet detector reads a local ONNX file and has none by default; give weights=PATH "
                                    "(yunet_s_dynamic.onnx of github.com/ShiqiYu/libfacedetection.train, onnx/, Apache-2.0, "
                                    "or face_detection_yunet_2023mar.onnx of OpenCV's model zoo)")
        self.weights = Path(weights)
        if not self.weights.is_file():
            raise FileNotFoundError(f"YuNet weights {self.weights} not found; give the path of a YuNet .onnx file")
        if size < 32:
            raise ValueError(f"size must be at least 32 pixels, got {size}")
        if correction is not None and (len(correction) != 4 or not all(np.isfinite(correction))
                                       or min(correction[0], correction[1]) <= 0):
            raise ValueError(f"correction must be 4 finite numbers (sx > 0, sy > 0, dx, dy), got {correction!r}")
        self.size, self.min_score, self.nms = int(size), float(min_score), float(nms)
        self.correction = None if correction is None else tuple(float(v) for v in correction)
        self.fit = dict(fit or {})
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.weights), sess_options=options, providers=["CPUExecutionProvider"])
        names = [o.name for o in self.session.get_outputs()]
        wanted = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES]
        if sorted(names) != sorted(wanted):
            raise ValueError(f"{self.weights.name} is not a YuNet graph: outputs {names}, expected {wanted}")
        self._input = self.session.get_inputs()[0].name
        self._sha256: str | None = None

    def info(self) -> dict[str, Any]:
        from antispoof.weights import sha256_file

        if self._sha256 is None:
            self._sha256 = sha256_file(self.weights)
        return {"name": self.name, "weights": self.weights.name, "sha256": self._sha256, "size": self.size,
                "min_score": self.min_score, "nms": self.nms, "correction": self.correction, "fit": self.fit}

    def raw(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(boxes [N, 4] in frame pixels, before the correction; scores [N]; landmarks [N, 5, 2])`` of every prior."""
        import cv2

        h, w = image.shape[:2]
        scale = self.size / max(w, h)
        sw, sh = max(int(round(w * scale)), 1), max(int(round(h * scale)), 1)
        small = _shrink(image, sw, sh)
        pw, ph = -(-sw // 32) * 32, -(-sh // 32) * 32
        data = np.zeros((1, 3, ph, pw), dtype=np.float32)
        for c in range(3):  # BGR planes, raw 0-255
            data[0, c, :sh, :sw] = small[:, :, 2 - c]
        out = dict(zip((o.name for o in self.session.get_outputs()), self.session.run(None, {self._input: data})))
        boxes, scores, marks = [], [], []
        for stride in STRIDES:
            rows, cols = ph // stride, pw // stride
            ys, xs = np.meshgrid(np.arange(rows, dtype=np.float64), np.arange(cols, dtype=np.float64), indexing="ij")
            xs, ys = xs.ravel(), ys.ravel()
            score = np.sqrt(np.clip(out[f"cls_{stride}"][0, :, 0], 0, 1) * np.clip(out[f"obj_{stride}"][0, :, 0], 0, 1))
            b = out[f"bbox_{stride}"][0].astype(np.float64)
            k = out[f"kps_{stride}"][0].astype(np.float64).reshape(-1, 5, 2)
            cx, cy = (xs + b[:, 0]) * stride, (ys + b[:, 1]) * stride
            bw, bh = np.exp(b[:, 2]) * stride, np.exp(b[:, 3]) * stride
            boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1))
            marks.append(np.stack([(xs[:, None] + k[:, :, 0]) * stride, (ys[:, None] + k[:, :, 1]) * stride], axis=2))
            scores.append(score.astype(np.float64))
        return np.concatenate(boxes) / scale, np.concatenate(scores), np.concatenate(marks) / scale

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        boxes, scores, marks = self.raw(image)
        keep = np.nonzero(scores >= self.min_score)[0]
        if not len(keep):
            return []
        boxes, scores, marks = boxes[keep], scores[keep], marks[keep]
        order = _nms(boxes, scores, self.nms)
        corrected = apply_correction(boxes[order], self.correction)
        faces = []
        for box, i in zip(corrected, order):
            (lx, ly), (rx, ry) = marks[i, 0], marks[i, 1]
            eyes = ((lx, ly), (rx, ry)) if lx <= rx else ((rx, ry), (lx, ly))
            faces.append(Face(tuple(float(v) for v in box), float(scores[i]), tuple((float(x), float(y)) for x, y in eyes)))  # type: ignore[arg-type]
        return faces
