"""MTCNN, the accurate detector: the three-stage cascade of Zhang et al. 2016.

Zhang, Zhang, Li, Qiao, "Joint Face Detection and Alignment Using Multitask Cascaded
Convolutional Networks", IEEE SPL 2016 (P-Net proposals over an image pyramid, R-Net
refinement, O-Net output with five landmarks). It is the detector most FAS papers crop
with.

Weights: the P/R/O-Net state dicts shipped inside the ``facenet-pytorch`` package
(``facenet_pytorch/data/{pnet,rnet,onet}.pt``, MIT licence), loaded with
``torch.load(weights_only=True)`` into the network definitions below. The package itself
is never imported: it pins old torch/numpy/Pillow releases, so it cannot be declared as
a dependency of this toolkit; install it without its pins::

    pip install --no-deps facenet-pytorch

Network layout and the conventions of those weights (input ``(x - 127.5) / 128`` in RGB;
the dense layers read features in width-major order) follow the published model.
Defaults: minimum face 20 px, thresholds 0.6/0.7/0.7, pyramid factor 0.709 (the paper's).
Cost is dominated by the finest pyramid levels: on a 480x640 photo, one thread, the
minimum face of 20/32/40/60 px took 92/48/36/23 ms with the same box (within 4 px), so
``MTCNN(min_face=40)`` suits FAS videos, whose faces are large.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from antispoof._registry import DETECTORS
from antispoof.faces._weights import package_file, package_version
from antispoof.faces.base import Annotation, Face, FaceDetector

__all__ = ["MTCNN"]

_INSTALL = "install it with `pip install --no-deps facenet-pytorch` (its own pins would downgrade torch)"


def _networks() -> tuple[Any, Any, Any]:
    import torch
    from torch import nn

    class _Flatten(nn.Module):
        """Flatten NCHW features in N, W, H, C order, the order the published dense weights expect."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)

    class PNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
            self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
            self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
            self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
            return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)

    class RNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
            self.flatten = _Flatten()
            self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
            self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.prelu4(self.dense4(self.flatten(self.prelu3(self.conv3(x)))))
            return self.dense5_2(x), torch.softmax(self.dense5_1(x), dim=1)

    class ONet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
            self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
            self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
            self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
            self.flatten = _Flatten()
            self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
            self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            x = self.pool1(self.prelu1(self.conv1(x)))
            x = self.pool2(self.prelu2(self.conv2(x)))
            x = self.pool3(self.prelu3(self.conv3(x)))
            x = self.prelu5(self.dense5(self.flatten(self.prelu4(self.conv4(x)))))
            return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), dim=1)

    return PNet(), RNet(), ONet()


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression on (x0, y0, x1, y1) boxes; 'min' divides by the smaller area."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x0, y0, x1, y1 = boxes.T
    area = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = np.argsort(scores)[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if mode == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return np.asarray(keep, dtype=np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w / 2 - side / 2
    out[:, 1] = boxes[:, 1] + h / 2 - side / 2
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: np.ndarray, offsets: np.ndarray, plus_one: bool = True) -> np.ndarray:
    out = boxes.copy()
    extra = 1.0 if plus_one else 0.0
    w = boxes[:, 2] - boxes[:, 0] + extra
    h = boxes[:, 3] - boxes[:, 1] + extra
    out[:, 0] += offsets[:, 0] * w
    out[:, 1] += offsets[:, 1] * h
    out[:, 2] += offsets[:, 2] * w
    out[:, 3] += offsets[:, 3] * h
    return out


@DETECTORS.register("mtcnn")
class MTCNN(FaceDetector):
    """Three-stage MTCNN cascade on CPU with five landmarks (the eyes feed alignment).

    Args:
        min_face: smallest face side searched for, in pixels.
        thresholds: P/R/O-Net score thresholds.
        factor: image-pyramid scale step.
        max_side: images are shrunk so their longer side is at most this before
            detection (boxes are mapped back), bounding the cost of large frames.
        threads: torch intra-op threads used while detecting (None leaves torch's setting).
    """

    name = "mtcnn"

    def __init__(
        self,
        min_face: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        max_side: int = 640,
        threads: int | None = 1,
    ) -> None:
        import torch

        if min_face < 12:
            raise ValueError(f"MTCNN min_face must be >= 12 pixels (its P-Net window), got {min_face}")
        self.min_face, self.thresholds, self.factor = int(min_face), tuple(thresholds), float(factor)
        self.max_side, self.threads = int(max_side), threads
        self.pnet, self.rnet, self.onet = _networks()
        self.weights = {}
        for net, key in ((self.pnet, "pnet"), (self.rnet, "rnet"), (self.onet, "onet")):
            path = package_file("facenet_pytorch", f"data/{key}.pt", _INSTALL)
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            net.eval()
            self.weights[key] = str(path)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weights": "facenet-pytorch data/{pnet,rnet,onet}.pt",
            "version": package_version("facenet-pytorch"),
            "min_face": self.min_face,
            "thresholds": list(self.thresholds),
            "factor": self.factor,
            "max_side": self.max_side,
        }

    def detect(self, image: np.ndarray, annotation: Annotation | None = None) -> list[Face]:
        import torch

        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                return self._detect(image)
        finally:
            if self.threads:
                torch.set_num_threads(previous)

    def _detect(self, image: np.ndarray) -> list[Face]:
        import cv2

        h, w = image.shape[:2]
        shrink = min(1.0, self.max_side / max(h, w))
        if shrink < 1.0:
            image = cv2.resize(image, (round(w * shrink), round(h * shrink)), interpolation=cv2.INTER_AREA)
        boxes = self._stage1(image)
        if len(boxes):
            boxes = self._stage2(image, boxes)
        faces: list[Face] = []
        if len(boxes):
            boxes, points = self._stage3(image, boxes)
            for box, pts in zip(boxes, points):
                eyes = sorted(((float(pts[0]), float(pts[5])), (float(pts[1]), float(pts[6]))))
                faces.append(
                    Face(
                        tuple(float(v) / shrink for v in box[:4]),  # type: ignore[arg-type]
                        float(box[4]),
                        tuple((x / shrink, y / shrink) for x, y in eyes),  # type: ignore[arg-type]
                    )
                )
        return faces

    def _tensor(self, patches: np.ndarray) -> Any:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(patches)).permute(0, 3, 1, 2).float()
        return (x - 127.5) * 0.0078125

    def _stage1(self, image: np.ndarray) -> np.ndarray:
        import cv2

        h, w = image.shape[:2]
        scale = 12.0 / self.min_face
        shortest = min(h, w) * scale
        found = []
        while shortest >= 12:
            hs, ws = int(h * scale + 1), int(w * scale + 1)
            resized = cv2.resize(image, (ws, hs), interpolation=cv2.INTER_AREA)
            offsets, probs = self.pnet(self._tensor(resized[None]))
            prob = probs[0, 1].numpy()
            ys, xs = np.nonzero(prob >= self.thresholds[0])
            if len(ys):
                reg = offsets[0].numpy()[:, ys, xs].T
                x0 = np.floor((2 * xs + 1) / scale)
                y0 = np.floor((2 * ys + 1) / scale)
                x1 = np.floor((2 * xs + 12) / scale)
                y1 = np.floor((2 * ys + 12) / scale)
                cand = np.column_stack([x0, y0, x1, y1, prob[ys, xs], reg])
                found.append(cand[_nms(cand[:, :4], cand[:, 4], 0.5)])
            scale *= self.factor
            shortest *= self.factor
        if not found:
            return np.zeros((0, 5))
        boxes = np.concatenate(found)
        boxes = boxes[_nms(boxes[:, :4], boxes[:, 4], 0.7)]
        out = _regress(boxes[:, :5], boxes[:, 5:9], plus_one=False)
        return _square(out)

    def _patches(self, image: np.ndarray, boxes: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Resized crops of the boxes (clipped to the image as the published cascade does)."""
        import cv2

        h, w = image.shape[:2]
        crops, kept = [], []
        for i, box in enumerate(np.trunc(boxes[:, :4]).astype(int)):
            x0, y0 = max(box[0], 1), max(box[1], 1)
            x1, y1 = min(box[2], w), min(box[3], h)
            if x1 > x0 - 1 and y1 > y0 - 1 and x1 - (x0 - 1) > 0 and y1 - (y0 - 1) > 0:
                patch = image[y0 - 1 : y1, x0 - 1 : x1]
                if patch.size:
                    crops.append(cv2.resize(patch, (side, side), interpolation=cv2.INTER_AREA))
                    kept.append(i)
        if not crops:
            return np.zeros((0, side, side, 3), np.uint8), np.zeros(0, dtype=np.int64)
        return np.stack(crops), np.asarray(kept)

    def _stage2(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        patches, kept = self._patches(image, boxes, 24)
        if not len(kept):
            return np.zeros((0, 5))
        offsets, probs = self.rnet(self._tensor(patches))
        score = probs[:, 1].numpy()
        ok = score > self.thresholds[1]
        boxes = np.column_stack([boxes[kept][ok, :4], score[ok]])
        offsets = offsets.numpy()[ok]
        keep = _nms(boxes[:, :4], boxes[:, 4], 0.7)
        return _square(_regress(boxes[keep], offsets[keep]))

    def _stage3(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        patches, kept = self._patches(image, boxes, 48)
        if not len(kept):
            return np.zeros((0, 5)), np.zeros((0, 10))
        offsets, landmarks, probs = self.onet(self._tensor(patches))
        score = probs[:, 1].numpy()
        ok = score > self.thresholds[2]
        boxes = np.column_stack([boxes[kept][ok, :4], score[ok]])
        landmarks = landmarks.numpy()[ok]
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        points = np.concatenate(
            [w[:, None] * landmarks[:, :5] + boxes[:, :1] - 1, h[:, None] * landmarks[:, 5:] + boxes[:, 1:2] - 1],
            axis=1,
        )
        boxes = _regress(boxes, offsets.numpy()[ok])
        keep = _nms(boxes[:, :4], boxes[:, 4], 0.7, mode="min")
        return boxes[keep], points[keep]
