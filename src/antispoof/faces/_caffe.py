"""Read a Caffe network (``deploy.prototxt`` + ``.caffemodel``) without Caffe or OpenCV's importer, and run it with PyTorch.

OpenCV 5 dropped ``cv2.dnn.readNetFromCaffe``; this module reads the two files itself:

- the prototxt (protobuf text format) with a small parser into nested dicts;
- the caffemodel (protobuf binary ``NetParameter``) with a wire-format decoder that keeps
  each layer's name and blobs (``LayerParameter`` field 100, ``BlobProto`` shape and data);

and :class:`CaffeGraph` runs the layers the Silent-Face RetinaFace uses (Convolution,
Deconvolution, BatchNorm, Scale, ReLU, Crop, Eltwise, Concat, Permute, Flatten, Reshape,
Softmax, PriorBox) with Caffe's semantics; ``DetectionOutput`` is left to the caller
(its inputs are returned). Nothing is unpickled and no code is executed from the files.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["parse_prototxt", "read_caffemodel", "CaffeGraph"]

_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|("(?:[^"\\]|\\.)*")|([{}:])|([^\s{}:"#]+))')


def parse_prototxt(text: str) -> dict[str, list[Any]]:
    """Protobuf text format -> ``{field: [values...]}`` (messages are nested dicts of the same kind)."""
    tokens = [m.group(2) or m.group(3) or m.group(4) for m in _TOKEN.finditer(text) if not m.group(1) and m.group(0).strip()]
    pos = 0

    def message() -> dict[str, list[Any]]:
        nonlocal pos
        out: dict[str, list[Any]] = {}
        while pos < len(tokens) and tokens[pos] != "}":
            key = tokens[pos]
            pos += 1
            if tokens[pos] == ":":
                pos += 1
            if tokens[pos] == "{":
                pos += 1
                value: Any = message()
                pos += 1  # the closing brace
            else:
                value = _scalar(tokens[pos])
                pos += 1
            out.setdefault(key, []).append(value)
        return out

    return message()


def _scalar(token: str) -> Any:
    if token.startswith('"'):
        return token[1:-1]
    for kind in (int, float):
        try:
            return kind(token)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(token, token)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """``(field number, wire type, value)`` of one protobuf message (length-delimited values as bytes)."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(data, pos)
            value, pos = data[pos : pos + n], pos + n
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} (field {number}); is this a .caffemodel file?")
        out.append((number, wire, value))
    return out


def _blob(data: bytes) -> np.ndarray:
    """A ``BlobProto`` as a float32 array of its shape (``shape.dim``, or the legacy num/channels/height/width)."""
    dims: list[int] = []
    legacy = {}
    values: list[np.ndarray] = []
    for number, wire, value in _fields(data):
        if number == 7:  # BlobShape
            for n2, w2, v2 in _fields(value):
                if n2 == 1:
                    if w2 == 2:  # packed
                        p = 0
                        while p < len(v2):
                            d, p = _varint(v2, p)
                            dims.append(d)
                    else:
                        dims.append(v2)
        elif number in (1, 2, 3, 4):
            legacy[number] = value
        elif number == 5:  # float data, packed or one value a field
            values.append(np.frombuffer(value, dtype="<f4") if wire == 2 else np.array(struct.unpack("<f", value), dtype="<f4"))
        elif number == 8:  # double data
            values.append(np.frombuffer(value, dtype="<f8").astype(np.float32) if wire == 2 else np.array(struct.unpack("<d", value), dtype=np.float32))
    flat = np.concatenate(values).astype(np.float32) if values else np.zeros(0, np.float32)
    if not dims:
        dims = [legacy.get(i, 1) for i in (1, 2, 3, 4)]
    return flat.reshape(dims) if flat.size == math.prod(dims) else flat


def read_caffemodel(path: str | Path) -> dict[str, list[np.ndarray]]:
    """``{layer name: [blobs]}`` of a binary ``.caffemodel`` (new-style ``layer`` and V1 ``layers`` alike)."""
    data = Path(path).read_bytes()
    out: dict[str, list[np.ndarray]] = {}
    for number, wire, value in _fields(data):
        if wire != 2 or number not in (100, 2):
            continue
        name, blobs = None, []
        name_field, blob_field = (1, 7) if number == 100 else (4, 6)
        for n2, _, v2 in _fields(value):
            if n2 == name_field:
                name = v2.decode("utf-8")
            elif n2 == blob_field:
                blobs.append(_blob(v2))
        if name is not None and blobs:
            out[name] = blobs
    if not out:
        raise ValueError(f"{path} holds no layer with weights; is it a Caffe .caffemodel?")
    return out


def _one(params: dict[str, list[Any]], key: str, default: Any) -> Any:
    return params.get(key, [default])[0]


class CaffeGraph:
    """The layers of a prototxt with their caffemodel blobs, run in order with PyTorch (CPU, float32, no autograd)."""

    def __init__(self, prototxt: str | Path, caffemodel: str | Path) -> None:
        import torch

        net = parse_prototxt(Path(prototxt).read_text(encoding="utf-8"))
        blobs = read_caffemodel(caffemodel)
        self.input = _one(net, "input", "data")
        self.layers: list[tuple[str, str, list[str], list[str], dict[str, Any], list[Any]]] = []
        for layer in net.get("layer", []):
            phase = [i.get("phase", [None])[0] for i in layer.get("include", [])]
            if phase and "TEST" not in phase:
                continue
            name, kind = layer["name"][0], layer["type"][0]
            weights = [torch.from_numpy(np.ascontiguousarray(b)) for b in blobs.get(name, [])]
            self.layers.append((name, kind, layer.get("bottom", []), layer.get("top", []), layer, weights))
        self._prepare_batchnorm()

    def _prepare_batchnorm(self) -> None:
        """Caffe BatchNorm stores mean and variance multiplied by a scale factor (the third blob); divide it out once."""
        for i, (name, kind, bottom, top, layer, w) in enumerate(self.layers):
            if kind == "BatchNorm":
                factor = float(w[2].reshape(-1)[0]) if len(w) > 2 else 1.0
                factor = 0.0 if factor == 0 else 1.0 / factor
                self.layers[i] = (name, kind, bottom, top, layer, [w[0] * factor, w[1] * factor])

    def run(self, data: Any, outputs: tuple[str, ...]) -> dict[str, Any]:
        """Run the graph on ``data`` ``[1, C, H, W]`` (a float tensor) and return the blobs named in ``outputs``."""
        import torch
        import torch.nn.functional as F

        env: dict[str, Any] = {self.input: data}
        with torch.no_grad():
            for name, kind, bottom, top, layer, w in self.layers:
                x = [env[b] for b in bottom]
                if kind == "DetectionOutput":
                    continue
                if kind in ("Convolution", "Deconvolution"):
                    p = layer["convolution_param"][0]
                    k, s = _one(p, "kernel_size", 1), _one(p, "stride", 1)
                    pad, g, d = _one(p, "pad", 0), _one(p, "group", 1), _one(p, "dilation", 1)
                    bias = w[1].reshape(-1) if _one(p, "bias_term", True) and len(w) > 1 else None
                    if kind == "Convolution":
                        y = F.conv2d(x[0], w[0], bias, stride=s, padding=pad, dilation=d, groups=g)
                    else:
                        y = F.conv_transpose2d(x[0], w[0], bias, stride=s, padding=pad, dilation=d, groups=g)
                elif kind == "BatchNorm":
                    eps = _one(layer.get("batch_norm_param", [{}])[0], "eps", 1e-5)
                    y = F.batch_norm(x[0], w[0].reshape(-1), w[1].reshape(-1), training=False, eps=eps)
                elif kind == "Scale":
                    shape = (1, -1, 1, 1)
                    y = x[0] * w[0].reshape(shape)
                    if len(w) > 1:
                        y = y + w[1].reshape(shape)
                elif kind == "ReLU":
                    slope = _one(layer.get("relu_param", [{}])[0], "negative_slope", 0.0)
                    y = F.leaky_relu(x[0], slope) if slope else F.relu(x[0])
                elif kind == "Crop":
                    p = layer.get("crop_param", [{}])[0]
                    axis, offset = _one(p, "axis", 2), _one(p, "offset", 0)
                    y = x[0]
                    for ax in range(axis, x[0].dim()):
                        y = y.narrow(ax, offset, x[1].shape[ax])
                elif kind == "Eltwise":
                    op = _one(layer.get("eltwise_param", [{}])[0], "operation", "SUM")
                    if op != "SUM":
                        raise ValueError(f"Eltwise {op} is not supported")
                    y = sum(x[1:], x[0])
                elif kind == "Concat":
                    y = torch.cat(x, dim=_one(layer.get("concat_param", [{}])[0], "axis", 1))
                elif kind == "Permute":
                    y = x[0].permute(*layer["permute_param"][0]["order"]).contiguous()
                elif kind == "Flatten":
                    y = x[0].flatten(_one(layer.get("flatten_param", [{}])[0], "axis", 1))
                elif kind == "Reshape":
                    dims = layer["reshape_param"][0]["shape"][0]["dim"]
                    y = x[0].reshape([x[0].shape[i] if v == 0 else v for i, v in enumerate(dims)])
                elif kind == "Softmax":
                    y = torch.softmax(x[0], dim=_one(layer.get("softmax_param", [{}])[0], "axis", 1))
                elif kind == "PriorBox":
                    y = _prior_box(x[0].shape[2:], x[1].shape[2:], layer["prior_box_param"][0])
                else:
                    raise ValueError(f"Caffe layer type {kind} ({name}) is not supported")
                env[top[0]] = y
        return {k: env[k] for k in outputs}


def _prior_box(feature: tuple[int, int], image: tuple[int, int], p: dict[str, list[Any]]) -> Any:
    """Caffe's PriorBox with square priors (aspect ratio 1, no max_size): ``[1, 2, N * 4]`` boxes then variances."""
    import torch

    if p.get("max_size") or p.get("aspect_ratio"):
        raise ValueError("PriorBox with max_size or aspect_ratio is not supported")
    fh, fw = int(feature[0]), int(feature[1])
    ih, iw = int(image[0]), int(image[1])
    step = float(_one(p, "step", 0.0)) or None
    sh, sw = (step, step) if step else (ih / fh, iw / fw)
    offset = float(_one(p, "offset", 0.5))
    sizes = [float(s) for s in p["min_size"]]
    ys, xs = np.meshgrid((np.arange(fh) + offset) * sh, (np.arange(fw) + offset) * sw, indexing="ij")
    boxes = []
    for cy, cx in zip(ys.ravel(), xs.ravel()):
        for s in sizes:
            boxes.append([(cx - s / 2) / iw, (cy - s / 2) / ih, (cx + s / 2) / iw, (cy + s / 2) / ih])
    b = np.asarray(boxes, dtype=np.float32)
    if _one(p, "clip", False):
        b = b.clip(0, 1)
    var = np.tile(np.asarray(p["variance"], dtype=np.float32), (len(b), 1))
    return torch.from_numpy(np.stack([b.reshape(-1), var.reshape(-1)])[None])
