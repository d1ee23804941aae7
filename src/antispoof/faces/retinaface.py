"""Silent-Face's face detector: its Caffe RetinaFace (``Widerface-RetinaFace.caffemodel``) without Caffe or OpenCV's importer.

The Silent-Face MiniFASNets were trained and published with crops around this
detector's boxes; their scores depend on the box (on ../shared/samples a BlazeFace box
moves the fused score by up to 0.16, this detector's by < 1e-4). The source runs it
with OpenCV's Caffe importer, which OpenCV 5 no longer has, so the network is read by
:mod:`antispoof.faces._caffe` and run with PyTorch layer by layer, or (the default)
exported from that run to ONNX and run by onnxruntime; pre- and post-processing follow
the source's ``Detection.get_bbox`` (minivision-ai/Silent-Face-Anti-Spoofing,
``src/anti_spoof_predict.py``):

- a frame of at least 192x192 pixels is resized (bilinear) to about 192x192 pixels of
  the same aspect ratio: ``(int(192 * sqrt(w / h)), int(192 / sqrt(w / h)))``;
- BGR, mean (104, 117, 123) subtracted, no scaling;
- SSD decoding (centre-size, variances 0.1 / 0.2) of the priors, NMS at IoU 0.3 among
  priors above ``min_score``;
- a box is reported as the source reports it, whole pixels ``(int(x0), int(y0))`` and
  size ``int(x1 - x0 + 1)`` by ``int(y1 - y0 + 1)`` in the original frame.

The source takes the single most confident detection, whatever its confidence (so it
scores a random box in a frame without a face); here faces above ``min_score`` are
returned (0.6, the source's ``detector_confidence``) and the Predictor takes the largest.

Large frames. The resize to about 192x192 is bilinear, which at a decimation of 5-10x
reads 2x2 of every 5x5-10x10 pixels: a large photo's fine detail (skin texture, hair,
sensor noise, JPEG blocks) aliases into noise, and the face's confidence falls (the
issue's 1479x1849, 720x1080 and 1757x988 photos: 0.33, 0.60, 0.47). Measured on
../shared/samples' live photo enlarged 4x with per-pixel noise of sigma 16 (a stand-in for
a large photo's detail): 0.45 bilinear, 0.98 with an area-averaging resize to the same
size; without the noise, or enlarged smoothly, both stay at 0.98 (so the face's size, its
filling the frame and the prior sizes are not the cause: the face cut tight, 276x276 or
828x828, scores 0.999). The rule (``second_pass``): when the source's pass finds no face
above ``min_score`` in a frame it shrank by 2x or more, the frame is shrunk again to the
same size by area averaging (``cv2.INTER_AREA``) and detected again; a face found there
above ``min_score`` is a face. Its box is the first pass's most confident box, with that
box's own confidence, when the two overlap (IoU >= 0.5): the box the source would have
scored, so the scores stay the source's; otherwise the second pass's box. A frame with no
face stays ``no_face``: on 15 face-free images (noise, flat grey, scikit-image's coffee,
cat, rocket, Hubble field and micrograph, native and 3x) the best confidence of either
pass is at most 0.01. Frames whose first pass finds a face never run the second.

Weights: the two files of the source's
``resources/detection_model/``, given as paths (``antispoof import silentface`` copies them
into the bundle, whose card names them).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from antispoof._registry import DETECTORS
from antispoof.faces.base import Annotation, Face, FaceDetector

__all__ = ["RetinaFaceCaffe", "WEIGHTS_FILE", "PROTOTXT_FILE"]

WEIGHTS_FILE = "Widerface-RetinaFace.caffemodel"
PROTOTXT_FILE = "deploy.prototxt"
_MEAN_BGR = (104.0, 117.0, 123.0)
_OUTPUTS = ("mbox_loc", "mbox_conf_flatten", "mbox_priorbox")


def _graph_module(graph: Any) -> Any:
    import torch

    class GraphModule(torch.nn.Module):
        """The Caffe graph as a module, so TorchScript can trace it (the priors become constants of the input shape)."""

        def __init__(self) -> None:
            super().__init__()
            self.graph = graph

        def forward(self, data: Any) -> tuple[Any, ...]:
            out = self.graph.run(data, _OUTPUTS)
            return tuple(out[k] for k in _OUTPUTS)

    return GraphModule()


_GraphModule = _graph_module


@DETECTORS.register("retinaface_caffe")
class RetinaFaceCaffe(FaceDetector):
    """Silent-Face's RetinaFace (Caffe weights, run with PyTorch); boxes only, no landmarks.

    Args:
        weights: the ``.caffemodel`` file.
        prototxt: its ``deploy.prototxt`` (default: beside the weights).
        min_score: confidence threshold of the returned faces.
        nms: IoU above which a less confident box is suppressed (the prototxt's 0.3).
        runtime: ``onnxruntime`` (default): the graph exported to ONNX once per input shape, its
            outputs checked against the layer-by-layer run (max difference at most 1e-4, else
            it is refused), then run by onnxruntime; ``torch``: layer by layer. On one core
            (640x480 frames) about 2 ms against 12 ms, and the source's OpenCV DNN's 5 ms.
        threads: torch intra-op threads while detecting (1 by default: one small frame gains nothing from more; None: torch's setting).
        second_pass: detect again on an area-averaged shrink when a frame shrunk 2x or more gives no face (module docstring).
    """

    name = "retinaface_caffe"
    #: options that name files; a bundle's card gives them relative to the bundle folder
    file_options: ClassVar[tuple[str, ...]] = ("weights", "prototxt")

    def __init__(self, weights: str | Path | None = None, prototxt: str | Path | None = None, min_score: float = 0.6,
                 nms: float = 0.3, threads: int | None = 1, runtime: str = "onnxruntime", second_pass: bool = True) -> None:
        from antispoof.faces._caffe import CaffeGraph

        if weights is None:
            raise FileNotFoundError(f"the retinaface_caffe detector reads Silent-Face's {WEIGHTS_FILE}; give weights=PATH "
                                    "(resources/detection_model/ of the source repository), or use a bundle made by "
                                    "`antispoof import silentface`, which carries it")
        self.weights = Path(weights)
        self.prototxt = Path(prototxt) if prototxt is not None else self.weights.with_name(PROTOTXT_FILE)
        for path in (self.weights, self.prototxt):
            if not path.is_file():
                raise FileNotFoundError(f"{path} not found; the retinaface_caffe detector needs {WEIGHTS_FILE} and {PROTOTXT_FILE}")
        self.min_score, self.nms, self.threads = float(min_score), float(nms), threads
        self.second_pass = bool(second_pass)
        self.second_passes = 0  # frames that needed the second pass (a count for benchmarks)
        self.graph = CaffeGraph(self.prototxt, self.weights)
        if runtime not in ("onnxruntime", "torch"):
            raise ValueError(f"unknown runtime {runtime!r}; choose onnxruntime or torch")
        self.runtime = runtime
        self._sessions: dict[tuple[int, ...], Any] = {}

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "weights": self.weights.name, "min_score": self.min_score, "nms": self.nms,
                "second_pass": "area-averaged shrink when a frame shrunk 2x or more gives no face" if self.second_pass else None}

    @staticmethod
    def input_size(width: int, height: int) -> tuple[int, int] | None:
        """The ``(width, height)`` the source resizes a frame to, or None when it keeps the frame as it is."""
        if width * height < 192 * 192:
            return None
        ar = width / height
        return int(192 * math.sqrt(ar)), int(192 / math.sqrt(ar))

    def raw(self, image: np.ndarray, min_score: float = -1.0, area: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes [N, 4] normalised x0, y0, x1, y1, face confidence [N])`` of the priors above ``min_score`` (default: all).

        ``area``: shrink the frame by area averaging instead of the source's bilinear resize.
        """
        loc, conf, priors = self._outputs(image, area)
        keep = np.nonzero(conf >= min_score)[0]
        return _decode(loc[keep], priors[:, keep]), conf[keep].astype(np.float64)

    def _outputs(self, image: np.ndarray, area: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network's raw ``(loc [N, 4], face confidence [N], priors and variances [2, N, 4])`` for one frame."""
        import cv2

        h, w = image.shape[:2]
        small = image
        size = self.input_size(w, h)
        if size is not None:  # resized before the channel flip: the same pixels, and a contiguous (fast) resize
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if area else cv2.INTER_LINEAR)
        sh, sw = small.shape[:2]
        data = np.empty((1, 3, sh, sw), dtype=np.float32)
        for c in range(3):  # BGR planes, the mean subtracted in float32: the numbers of the source's blob
            np.subtract(small[:, :, 2 - c], np.float32(_MEAN_BGR[c]), out=data[0, c], dtype=np.float32)
        loc, conf, priors = self._forward(data)
        return loc.reshape(-1, 4), conf.reshape(-1, 2)[:, 1], priors[0].reshape(2, -1, 4)

    def _forward(self, data: np.ndarray) -> tuple[np.ndarray, ...]:
        import torch

        if self.runtime == "torch":
            previous = torch.get_num_threads()
            if self.threads is not None:
                torch.set_num_threads(int(self.threads))
            try:
                out = self.graph.run(torch.from_numpy(data), _OUTPUTS)
            finally:
                if self.threads is not None:
                    torch.set_num_threads(previous)
            return tuple(out[k].numpy() for k in _OUTPUTS)
        key = tuple(data.shape)
        if key not in self._sessions:
            self._sessions[key] = self._export(torch.from_numpy(data))
        return tuple(self._sessions[key].run(None, {"data": data}))

    def _export(self, data: Any) -> Any:
        """An onnxruntime session of the graph for inputs of ``data``'s shape, checked against the layer-by-layer run."""
        import io
        import warnings

        import onnxruntime as ort
        import torch

        module = _GraphModule(self.graph).eval()
        buffer = io.BytesIO()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (data,), buffer, dynamo=False, opset_version=17, input_names=["data"],
                              output_names=list(_OUTPUTS))
            reference = module(data)
        options = ort.SessionOptions()
        if self.threads is not None:
            options.intra_op_num_threads = int(self.threads)
            options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(buffer.getvalue(), sess_options=options, providers=["CPUExecutionProvider"])
        got = session.run(None, {"data": data.numpy()})
        diff = max(float(np.abs(g - r.numpy()).max()) for g, r in zip(got, reference))
        if not diff <= 1e-4:
            raise ValueError(f"the ONNX form of {self.weights.name} differs from the layer-by-layer run by {diff:.3g}; "
                             "use runtime='torch'")
        return session

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        h, w = image.shape[:2]
        loc, conf, priors = self._outputs(image)
        keep = np.nonzero(conf >= self.min_score)[0]  # only these priors are decoded
        faces = self._faces(_decode(loc[keep], priors[:, keep]), conf[keep].astype(np.float64), w, h)
        size = self.input_size(w, h)
        if faces or not self.second_pass or size is None or w < 2 * size[0]:
            return faces
        again = self._faces(*self.raw(image, self.min_score, area=True), w, h)  # shrunk by area averaging: no aliasing
        self.second_passes += 1
        if not again:
            return []
        best = np.array([int(np.argmax(conf))])
        first = self._faces(_decode(loc[best], priors[:, best]), conf[best].astype(np.float64), w, h, min_score=-1.0)
        return [first[0] if first and _iou(first[0].box, face.box) >= 0.5 else face for face in again]

    def _faces(self, boxes: np.ndarray, conf: np.ndarray, w: int, h: int, min_score: float | None = None) -> list[Face]:
        """Faces of the raw boxes above ``min_score`` (default: the detector's) after NMS, in the source's whole pixels."""
        from antispoof.faces.mtcnn import _nms

        keep = conf >= (self.min_score if min_score is None else min_score)
        boxes, conf = boxes[keep], conf[keep]
        if not len(conf):
            return []
        pixels = boxes * np.array([w, h, w, h], dtype=np.float64)
        faces = []
        for i in _nms(pixels, conf, self.nms):
            x0, y0, x1, y1 = pixels[i]
            left, top = int(x0), int(y0)
            width, height = int(x1 - x0 + 1), int(y1 - y0 + 1)
            if width > 0 and height > 0:
                faces.append(Face((float(left), float(top), float(left + width), float(top + height)), float(conf[i])))
        return faces


def _decode(loc: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """SSD centre-size decoding (variances in ``priors[1]``): normalised ``(x0, y0, x1, y1)`` boxes ``[N, 4]``, float64."""
    loc, priors = loc.astype(np.float64), priors.astype(np.float64)
    (pri, var) = priors
    pw, ph = pri[:, 2] - pri[:, 0], pri[:, 3] - pri[:, 1]
    pcx, pcy = (pri[:, 0] + pri[:, 2]) / 2, (pri[:, 1] + pri[:, 3]) / 2
    cx = var[:, 0] * loc[:, 0] * pw + pcx
    cy = var[:, 1] * loc[:, 1] * ph + pcy
    bw = np.exp(var[:, 2] * loc[:, 2]) * pw
    bh = np.exp(var[:, 3] * loc[:, 3]) * ph
    return np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
