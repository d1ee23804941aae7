"""The Predictor: a bundle loaded once, then images, videos and frame streams -> score, decision, reasons.

Per frame: detect faces (the card's detector) -> take the largest -> capture-quality gate
(:mod:`antispoof.inference.quality`, limits from the card) -> crop with the one crop
function and the card's crop settings -> the one normalisation -> score in batches ->
aggregate the frame scores with the card's aggregation (:mod:`antispoof.metrics.aggregate`)
-> decide with the card's threshold (bona fide iff ``score >= threshold``, the metrics
convention). A frame without a usable face is ``failed_to_acquire`` with its reason; a
presentation none of whose frames was scored is ``failed_to_acquire`` too.

Example::

    predictor = Predictor("runs/my_run/bundle")
    result = predictor.predict_image("photo.jpg")
    print(result.decision, result.score, result.threshold_rule, result.reasons)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.inference.bundle import Bundle
from antispoof.inference.card import QualityLimits
from antispoof.inference.quality import check_quality, measure_quality

__all__ = ["Predictor", "Prediction", "FrameResult", "DECISIONS", "STAGES"]

log = logging.getLogger(__name__)

DECISIONS = ("bonafide", "attack", "failed_to_acquire")
#: Stages timed in :attr:`Prediction.timings_ms` (milliseconds summed over the frames).
STAGES = ("decode", "detect", "quality", "crop", "model", "aggregate")


@dataclass
class FrameResult:
    """One frame: its score (None when not acquired), face box and detector confidence, failure, quality, cues."""

    index: int
    score: float | None = None
    box: tuple[float, float, float, float] | None = None
    detector_score: float | None = None
    faces: int = 0
    failure: str = ""
    quality: dict[str, float | None] | None = None
    cues: dict[str, float] = field(default_factory=dict)
    crop: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "score": self.score,
            "box": None if self.box is None else [round(float(v), 2) for v in self.box],
            "detector_score": None if self.detector_score is None else round(self.detector_score, 4),
            "faces": self.faces,
            "failure": self.failure,
            "quality": self.quality,
            "cues": self.cues,
        }


@dataclass
class Prediction:
    """The result for one image, video or frame stream."""

    source: str
    kind: str
    score: float | None
    decision: str
    threshold: float
    threshold_rule: str
    aggregation: str
    frames: list[FrameResult]
    reasons: list[str]
    explanation: dict[str, float]
    timings_ms: dict[str, float]
    backend: str

    @property
    def frame_scores(self) -> list[float | None]:
        return [f.score for f in self.frames]

    @property
    def boxes(self) -> list[tuple[float, float, float, float] | None]:
        return [f.box for f in self.frames]

    def to_dict(self, frames: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source,
            "kind": self.kind,
            "decision": self.decision,
            "score": self.score,
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "aggregation": self.aggregation,
            "reasons": self.reasons,
            "explanation": self.explanation,
            "n_frames": len(self.frames),
            "n_scored": sum(f.score is not None for f in self.frames),
            "timings_ms": self.timings_ms,
            "backend": self.backend,
        }
        if frames:
            out["frames"] = [f.to_dict() for f in self.frames]
        return out


class _Timer:
    def __init__(self) -> None:
        self.ms = dict.fromkeys(STAGES, 0.0)

    def add(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.ms[stage] += (now - since) * 1000.0
        return now


class Predictor:
    """A bundle loaded once and reused for many predictions.

    Args:
        bundle: a bundle folder or an opened :class:`Bundle`.
        backend: ``auto`` (onnxruntime when the bundle has an ONNX graph, else PyTorch), ``onnx`` or ``torch``.
        precision: ``fp32`` or ``int8`` (int8 needs ``antispoof export --quantize int8``).
        detector: a detector name to use instead of the card's (e.g. ``mtcnn``).
        threads: CPU threads of the model backend (None: the backend's default).
        batch_size: crops scored per model call.
        quality: gate limits to use instead of the card's.
        sampling: a :class:`~antispoof.data.sampling.FrameSampler` for videos instead of the card's.
        keep_crops: keep each frame's crop (RGB uint8) in :attr:`FrameResult.crop`.
    """

    def __init__(
        self,
        bundle: str | Path | Bundle,
        *,
        backend: str = "auto",
        precision: str = "fp32",
        detector: str | None = None,
        threads: int | None = None,
        batch_size: int = 32,
        quality: QualityLimits | None = None,
        sampling: Any = None,
        keep_crops: bool = False,
    ) -> None:
        from antispoof._registry import DETECTORS, load_all
        from antispoof.data.sampling import FrameSampler
        from antispoof.data.transforms import eval_transform, normalize
        from antispoof.inference.backends import open_backend

        load_all()
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle)
        card = self.bundle.card
        self.card = card
        self.backend = open_backend(self.bundle, backend, precision, threads)
        name = detector or card.detector.name
        options = card.detector.options if detector is None else {}
        self.detector = DETECTORS.create(name, **options)
        if getattr(self.detector, "needs_annotation", False):
            raise ValueError(f"detector {name!r} reads a dataset's own boxes and cannot find faces in new images; choose blazeface or mtcnn")
        self.quality = quality or card.quality
        self.sampling = sampling or FrameSampler.from_dict(card.sampling)
        self.batch_size = int(batch_size)
        self.keep_crops = keep_crops
        # the crop is cut at the training crop size, then brought to the input size as evaluation does
        self._to_tensor = normalize if card.crop.size == card.input.size else eval_transform(card.input.size)
        self.threshold = float(card.threshold.value)
        self.threshold_rule = card.threshold.rule
        self.cue_names = tuple(card.outputs[1:])
        log.info("predictor: %s (%s %s) on %s, threshold %.6g (%s)", self.bundle.path, card.method, card.backbone,
                 self.backend.name, self.threshold, self.threshold_rule)

    # -- public API ---------------------------------------------------------------------------

    def predict_path(self, path: str | Path) -> Prediction:
        """An image or a video file, chosen by its extension; never raises on a bad file (the result says why).

        Anything the readers do not recognise as a damaged file (a decoder crash, say) is
        logged with its traceback and returned as ``failed_to_acquire`` with reason ``error``,
        so that a batch over many files goes on.
        """
        from antispoof.data.video import is_video_path

        kind = "video" if is_video_path(path) else "image"
        try:
            return self.predict_video(path) if kind == "video" else self.predict_image(path)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop a batch
            log.warning("%s: prediction failed (%s: %s)", path, type(err).__name__, err, exc_info=True)
            return self._failed(str(path), kind, f"error: {type(err).__name__}: {err}", _Timer())

    def predict_image(self, image: str | Path | np.ndarray) -> Prediction:
        """One still image: a file path or an RGB uint8 ``HxWx3`` array."""
        from antispoof.data.video import MediaError, read_image

        timer = _Timer()
        source = "array"
        if not isinstance(image, np.ndarray):
            source = str(image)
            t = time.perf_counter()
            try:
                image = read_image(image)
            except MediaError as err:
                timer.add("decode", t)
                return self._failed(source, "image", f"unreadable_file: {err.reason}", timer)
            timer.add("decode", t)
        return self._predict(iter([(-1, image)]), source, "image", timer)

    def predict_video(self, path: str | Path, sampling: Any = None) -> Prediction:
        """A video file; frames chosen by ``sampling`` (default: the card's sampling policy)."""
        from antispoof.data.video import MediaError, VideoReader

        timer = _Timer()
        source = str(path)
        t = time.perf_counter()
        try:
            video = VideoReader(path)
            wanted = (sampling or self.sampling).indices(video.num_frames)
        except MediaError as err:
            timer.add("decode", t)
            return self._failed(source, "video", f"unreadable_file: {err.reason}", timer)
        timer.add("decode", t)
        failures: list[FrameResult] = []

        def frames() -> Iterator[tuple[int, np.ndarray]]:
            done: set[int] = set()
            it = video.frames(wanted)
            while True:
                start = time.perf_counter()
                try:
                    index, frame = next(it)
                except StopIteration:
                    timer.add("decode", start)
                    break
                except MediaError as err:
                    timer.add("decode", start)
                    failures.extend(FrameResult(i, failure=f"unreadable_frame: {err.reason}") for i in wanted if i not in done)
                    break
                timer.add("decode", start)
                done.add(index)
                yield index, frame

        try:
            return self._predict(frames(), source, "video", timer, extra=failures)
        finally:
            video.close()

    def predict_frames(self, frames: Iterable[np.ndarray], source: str = "frames") -> Prediction:
        """A stream of RGB uint8 frames (a list, a generator, a camera loop), scored as one presentation."""
        return self._predict(((i, f) for i, f in enumerate(frames)), source, "frames", _Timer())

    # -- the pipeline ---------------------------------------------------------------------------

    def _failed(self, source: str, kind: str, reason: str, timer: _Timer) -> Prediction:
        frame = FrameResult(-1, failure=reason)
        return self._result(source, kind, [frame], timer)

    def _frame(self, index: int, image: Any, timer: _Timer) -> tuple[FrameResult, Any]:
        """Detect, gate and crop one frame; returns the frame record and its normalised crop (None when not acquired)."""
        from antispoof.data.video import MediaError, to_rgb_uint8
        from antispoof.faces import crop_face, select_face

        if not isinstance(image, np.ndarray):
            return FrameResult(index, failure=f"unreadable_frame: not an image array (got {type(image).__name__})"), None
        try:
            image = to_rgb_uint8(image, source=f"frame {index}") if not _is_rgb_uint8(image) else image
        except MediaError as err:
            return FrameResult(index, failure=f"unreadable_frame: {err.reason}"), None
        t = time.perf_counter()
        face, count, reason = select_face(self.detector.detect(image))
        t = timer.add("detect", t)
        result = FrameResult(index, faces=count, failure=reason)
        if face is None:
            return result, None
        result.box = tuple(float(v) for v in face.box)  # type: ignore[assignment]
        result.detector_score = float(face.score)
        measures = measure_quality(image, face)
        result.quality = measures.to_dict()
        result.failure = check_quality(measures, self.quality)
        t = timer.add("quality", t)
        if result.failure:
            return result, None
        crop = crop_face(image, face.box, size=self.card.crop.size, scale=self.card.crop.scale,
                         eyes=face.eyes, align=self.card.crop.align and face.eyes is not None)
        if self.keep_crops:
            result.crop = crop
        tensor = self._to_tensor(crop)
        timer.add("crop", t)
        return result, tensor

    def _predict(self, frames: Iterator[tuple[int, Any]], source: str, kind: str, timer: _Timer,
                 extra: list[FrameResult] | None = None) -> Prediction:
        results: list[FrameResult] = []
        pending: list[tuple[FrameResult, Any]] = []
        for index, image in frames:
            result, tensor = self._frame(index, image, timer)
            results.append(result)
            if tensor is not None:
                pending.append((result, tensor))
                if len(pending) >= self.batch_size:
                    self._score(pending, timer)
                    pending = []
        if pending:
            self._score(pending, timer)
        results.extend(extra or [])
        if not results:
            results.append(FrameResult(-1, failure="no_frames"))
        return self._result(source, kind, results, timer)

    def _score(self, pending: list[tuple[FrameResult, Any]], timer: _Timer) -> None:
        import torch

        t = time.perf_counter()
        batch = torch.stack([tensor for _, tensor in pending]).numpy()
        out = self.backend(batch)
        for row, (result, _) in zip(out, pending):
            result.score = float(row[0])
            result.cues = {name: round(float(v), 6) for name, v in zip(self.cue_names, row[1:])}
        timer.add("model", t)

    def _result(self, source: str, kind: str, frames: list[FrameResult], timer: _Timer) -> Prediction:
        t = time.perf_counter()
        scored = [f for f in frames if f.score is not None]
        score = _aggregate([f.score for f in scored], self.card.aggregation) if scored else None  # type: ignore[misc]
        if score is None:
            decision = "failed_to_acquire"
            reasons = sorted({f.failure.split(":")[0] for f in frames if f.failure}) or ["no_face"]
        else:
            decision = "bonafide" if score >= self.threshold else "attack"
            reasons = sorted({f.failure.split(":")[0] for f in frames if f.failure})
        explanation = {name: float(np.mean([f.cues[name] for f in scored])) for name in self.cue_names} if scored else {}
        timer.add("aggregate", t)
        return Prediction(
            source=source,
            kind=kind,
            score=score,
            decision=decision,
            threshold=self.threshold,
            threshold_rule=self.threshold_rule,
            aggregation=self.card.aggregation,
            frames=sorted(frames, key=lambda f: f.index),
            reasons=reasons,
            explanation=explanation,
            timings_ms={k: round(v, 3) for k, v in timer.ms.items()},
            backend=self.backend.name,
        )


def _is_rgb_uint8(image: Any) -> bool:
    return isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def _aggregate(scores: list[float], method: str) -> float:
    """The presentation score from frame scores, with the metrics module's aggregation."""
    from antispoof.metrics import ScoreSet, aggregate_videos

    n = len(scores)
    frames = ScoreSet.from_arrays(np.asarray(scores, dtype=np.float64), np.ones(n, dtype=bool), video=["presentation"] * n,
                                  source="prediction")
    units, _ = aggregate_videos(frames, "mean" if method == "none" else method)
    return float(units.scores[0])
