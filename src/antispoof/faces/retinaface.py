"""Silent-Face's face detector: its Caffe RetinaFace (``Widerface-RetinaFace.caffemodel``) without Caffe or OpenCV's importer.

The Silent-Face MiniFASNets were trained and published with crops around this
detector's boxes; their scores depend on the box (on ../shared/samples a BlazeFace box
moves the fused score by up to 0.16, this detector's by < 1e-4). The source runs it
with OpenCV's Caffe importer, which OpenCV 5 no longer has, so the network is read by
:mod:`antispoof.faces._caffe` and run with PyTorch layer by layer, or (the default)
written as an ONNX graph by :mod:`antispoof.faces._caffe_onnx` (batch norms folded into
the convolutions, each level's two heads one convolution, the frame read in its own RGB
layout) and run by onnxruntime, its numbers checked against the layer-by-layer run; the
heads' reshaping and the priors (fixed for an input size, computed once) are numpy's;
pre- and post-processing follow
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from antispoof._registry import DETECTORS
from antispoof.faces.base import Annotation, Face, FaceDetector

__all__ = ["RetinaFaceCaffe", "WEIGHTS_FILE", "PROTOTXT_FILE"]

WEIGHTS_FILE = "Widerface-RetinaFace.caffemodel"
PROTOTXT_FILE = "deploy.prototxt"
_MEAN_BGR = (104.0, 117.0, 123.0)
_MEAN_RGB = (*_MEAN_BGR[::-1], 0.0)  # cv2.subtract's scalar: the same means in the frame's RGB order
_OUTPUTS = ("mbox_loc", "mbox_conf_flatten", "mbox_priorbox")


@dataclass
class _Compiled:
    """The detector graph compiled for one input size: its onnxruntime session, where each level's heads lie, the priors."""

    session: Any
    levels: list[tuple[str, slice, slice]]  # (graph output, box channels, class channels), in the priors' order
    priors: np.ndarray  # [2, N, 4]: prior boxes, then variances


@DETECTORS.register("retinaface_caffe")
class RetinaFaceCaffe(FaceDetector):
    """Silent-Face's RetinaFace (Caffe weights, run with PyTorch); boxes only, no landmarks.

    Args:
        weights: the ``.caffemodel`` file.
        prototxt: its ``deploy.prototxt`` (default: beside the weights).
        min_score: confidence threshold of the returned faces.
        nms: IoU above which a less confident box is suppressed (the prototxt's 0.3).
        runtime: ``onnxruntime`` (default): the graph written as ONNX once per input shape, its
            outputs checked against the layer-by-layer run (max difference at most 1e-4, else
            it is refused), then run by onnxruntime; ``torch``: layer by layer. On one core
            (640x480 frames) about 3 ms against 12 ms, and the source's OpenCV DNN's 5 ms.
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
        # the mean subtracted in float32 (the numbers of the source's blob), the frame's RGB order and layout kept
        data = cv2.subtract(np.ascontiguousarray(small), _MEAN_RGB, dtype=cv2.CV_32F)[None]
        if self.runtime == "torch":
            loc, conf, priors = self._run_torch(data)
            return loc.reshape(-1, 4), conf.reshape(-1, 2)[:, 1], priors[0].reshape(2, -1, 4)
        compiled = self._sessions.get(data.shape) or self._compile(data)
        return (*_assemble(compiled, compiled.session.run(None, {"data": data})), compiled.priors)

    def _run_torch(self, data: np.ndarray) -> tuple[np.ndarray, ...]:
        """The layer-by-layer run of ``data`` (``[1, H, W, 3]`` RGB, mean subtracted): the source's three outputs."""
        import torch

        blob = torch.from_numpy(np.ascontiguousarray(data[..., ::-1].transpose(0, 3, 1, 2)))  # Caffe's BGR planes
        previous = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(int(self.threads))
        try:
            out = self.graph.run(blob, _OUTPUTS)
        finally:
            if self.threads is not None:
                torch.set_num_threads(previous)
        return tuple(out[k].numpy() for k in _OUTPUTS)

    def _compile(self, data: np.ndarray) -> _Compiled:
        """The graph for inputs of ``data``'s shape as onnxruntime runs it fastest (:mod:`antispoof.faces._caffe_onnx`).

        Its boxes and confidences are checked on ``data`` against the layer-by-layer run (at most
        1e-4 apart, else refused); the priors are that run's (they depend on the shape alone).
        """
        import onnxruntime as ort

        from antispoof.faces._caffe_onnx import caffe_to_onnx

        levels = _head_levels(self.graph)
        heads = [blob for pair in levels for blob in pair]
        model, where = caffe_to_onnx(self.graph, (1, 3, *data.shape[1:3]), heads, rgb_hwc=True)
        options = ort.SessionOptions()
        if self.threads is not None:
            options.intra_op_num_threads = int(self.threads)
            options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
        loc, conf, priors = self._run_torch(data)
        compiled = _Compiled(session, [(where[b][0], slice(*where[b][1:]), slice(*where[c][1:])) for b, c in levels],
                             np.ascontiguousarray(priors[0].reshape(2, -1, 4)))
        got_loc, got_conf = _assemble(compiled, session.run(None, {"data": data}))
        diff = max(float(np.abs(got_loc - loc.reshape(-1, 4)).max()), float(np.abs(got_conf - conf.reshape(-1, 2)[:, 1]).max()))
        if not diff <= 1e-4:
            raise ValueError(f"the ONNX form of {self.weights.name} differs from the layer-by-layer run by {diff:.3g}; "
                             "use runtime='torch'")
        self._sessions[data.shape] = compiled
        return compiled

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


def _head_levels(graph: Any) -> list[tuple[str, str]]:
    """``(box head, class head)`` blobs of each level, in the order the source concatenates them into ``mbox_loc`` / ``mbox_conf``.

    Each head is read as the source does: ``Permute(0, 2, 3, 1)`` then ``Flatten``, so the
    values of a cell's priors lie together (:func:`_assemble` reads them so).
    """
    made = {top[0]: (kind, bottom, layer) for _, kind, bottom, top, layer, _ in graph.layers}

    def heads(concat: str) -> list[str]:
        kind, bottoms, _ = made[concat]
        out = []
        for flat in bottoms:
            f_kind, (perm,), f_layer = made[flat]
            p_kind, (conv,), p_layer = made[perm]
            if (f_kind, p_kind) != ("Flatten", "Permute") or list(p_layer["permute_param"][0]["order"]) != [0, 2, 3, 1]:
                raise ValueError(f"{concat} is not built from permuted, flattened heads; this is not the Silent-Face RetinaFace "
                                 "layout: use runtime='torch'")
            out.append(conv)
        return out

    boxes, classes = heads("mbox_loc"), heads("mbox_conf")
    if len(boxes) != len(classes):
        raise ValueError(f"{len(boxes)} box heads but {len(classes)} class heads; use runtime='torch'")
    return list(zip(boxes, classes))


def _assemble(compiled: _Compiled, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(loc [N, 4], face confidence [N])`` from the heads' maps, as the source's Permute, Flatten, Concat and 2-class Softmax."""
    by_name = dict(zip((o.name for o in compiled.session.get_outputs()), outputs))
    locs, logits = [], []
    for name, box, cls in compiled.levels:
        maps = by_name[name][0]
        locs.append(maps[box].transpose(1, 2, 0).reshape(-1, 4))
        logits.append(maps[cls].transpose(1, 2, 0).reshape(-1, 2))
    z = np.concatenate(logits)
    # softmax over (background, face): the face's share is 1 / (1 + exp(z0 - z1)); clipped so exp cannot overflow
    conf = 1.0 / (1.0 + np.exp(np.clip(z[:, 0] - z[:, 1], -80.0, 80.0)))
    return np.concatenate(locs), conf

