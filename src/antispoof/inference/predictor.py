"""The Predictor: a bundle loaded once, then images, videos and frame streams -> score, decision, reasons.

Per frame: :func:`antispoof.data.acquisition.acquire` with the card's acquisition record,
as ``prepare`` does (detect faces with the card's detector on the RGB frame -> take the
largest -> capture-quality gate, :mod:`antispoof.faces.quality` -> crop every modality
the card's input spec names on the same box) -> the spec's evaluation transform -> score in batches (frames, or clips of the spec's
length: one score per unit) -> aggregate the unit scores with the card's aggregation
(:mod:`antispoof.metrics.aggregate`) -> decide with the card's threshold (bona fide iff
``score >= threshold``, the metrics convention). A frame without a usable face is
``failed_to_acquire`` with its reason; a presentation none of whose units was scored is
``failed_to_acquire`` too. A model that reads IR or depth needs them beside the RGB
frames (``predict_image(rgb, ir=..., depth=...)``); a request without them is refused
with an error that names the missing modality.

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

from antispoof.faces.quality import QualityLimits
from antispoof.inference.bundle import Bundle

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
    maps: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

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
    units: list[dict[str, Any]] = field(default_factory=list)

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
            "units": self.units,
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
        backend: ``auto`` (onnxruntime when the bundle has an ONNX graph, else PyTorch), ``onnx``, ``openvino``
            (optional runtime; compiles the network at load, the fastest here for MiniFASNet), ``torch``, or
            ``torchscript`` (PyTorch traced and frozen, the network's fast equivalent form where it has one).
        precision: ``fp32``, ``int8`` (onnx; needs ``antispoof export --quantize int8``) or ``bf16`` (torchscript).
        detector: a detector name to use instead of the card's (e.g. ``mtcnn``).
        threads: CPU threads of the model backend (None: the backend's default).
        batch_size: crops scored per model call.
        quality: gate limits to use instead of the card's.
        sampling: a :class:`~antispoof.data.sampling.FrameSampler` for videos instead of the card's.
        keep_crops: keep each frame's crop (RGB uint8) in :attr:`FrameResult.crop`.
        keep_maps: keep the dense explanation maps (``HxW`` float arrays) in :attr:`FrameResult.maps`.
        detect_every: run the detector on every Nth frame of a video or stream at most, following the
            face box in between (:class:`~antispoof.faces.tracking.KeyFrameTracker`; 1 = every frame).
        track_max_shift: with ``detect_every``, detect again when the face moved more than this share of its box
            side since the key frame (None: only on key frames, a lost track or a large step).
        verify_margin: with ``detect_every``, a frame whose face was followed (not detected) and whose score lies
            within this distance of the threshold is detected again and, where the detector's box is not the
            followed one, scored again on it, so its decision is the every-frame pipeline's unless the followed box
            moved its score by more than the margin (None: never). A model whose scores follow the box
            (Silent-Face's) keeps its decisions so, at the cost of a detection (and a scoring) for each such frame.
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
        keep_maps: bool = False,
        detect_every: int = 1,
        track_max_shift: float | None = None,
        verify_margin: float | None = None,
    ) -> None:
        import antispoof.faces  # noqa: F401  (registers the detectors)
        from antispoof._registry import DETECTORS
        from antispoof.data.sampling import FrameSampler
        from antispoof.data.transforms import eval_transform
        from antispoof.inference.backends import open_backend

        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle)
        card = self.bundle.card
        self.card = card
        self.backend = open_backend(self.bundle, backend, precision, threads)
        name = detector or card.detector.name
        options = dict(card.detector.options) if detector is None else {}
        for key in getattr(DETECTORS.get(name), "file_options", ()):  # files the bundle carries for its detector
            if isinstance(options.get(key), str) and not Path(options[key]).is_absolute():
                options[key] = str(self.bundle.path / options[key])
        self.detector = DETECTORS.create(name, **options)
        if detect_every > 1:  # videos and streams: key-frame detection, the box followed in between
            from antispoof.faces.tracking import KeyFrameTracker

            self.detector = KeyFrameTracker(self.detector, every=detect_every, max_shift=track_max_shift)
        if verify_margin is not None and (detect_every <= 1 or not verify_margin >= 0):
            raise ValueError(f"verify_margin={verify_margin!r} needs detect_every > 1 (it checks followed faces) and a "
                             "margin >= 0 (a distance from the threshold)")
        self.verify_margin = verify_margin
        self.verified = 0  # followed frames detected again (a count for benchmarks) ...
        self.verified_unchanged = 0  # ... of which the detector's box was the tracker's (not scored again)
        if getattr(self.detector, "from_dataset", False) and detector is None:
            raise ValueError(f"detector {name!r} reads a dataset's own faces and cannot find faces in new images; choose blazeface or mtcnn")
        # the training data's acquisition, with this detector and gate
        self.acquisition = card.acquisition.model_copy(update={"quality": quality or card.quality})
        self.sampling = sampling or FrameSampler.from_dict(card.sampling)
        self.batch_size = int(batch_size)
        self.keep_crops, self.keep_maps = keep_crops, keep_maps
        self.spec = card.input
        # crops are cut at the training crop size, then fitted to the input as evaluation does
        self._transform = eval_transform(self.spec)
        self._direct = _direct_spec(self.spec)
        self.threshold = float(card.threshold.value)
        self.threshold_rule = card.threshold.rule
        self.cue_names = tuple(card.outputs[1:])
        self.map_names = tuple(card.maps)
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
        if self.extra_modalities:
            return self._failed(str(path), kind, f"missing_modality: this model reads {', '.join(self.spec.names)}; a file "
                                f"gives RGB only (use Predictor.predict_image(rgb, {', '.join(f'{m}=...' for m in self.extra_modalities)}))",
                                _Timer())
        try:
            return self.predict_video(path) if kind == "video" else self.predict_image(path)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop a batch
            log.warning("%s: prediction failed (%s: %s)", path, type(err).__name__, err, exc_info=True)
            return self._failed(str(path), kind, f"error: {type(err).__name__}: {err}", _Timer())

    @property
    def quality(self) -> QualityLimits:
        """The capture-quality gate this Predictor applies (the card's, or the one given)."""
        return self.acquisition.quality

    @property
    def extra_modalities(self) -> tuple[str, ...]:
        """The modalities the model reads beside RGB (``ir``, ``depth``): every request must bring them."""
        return self.spec.names[1:]

    def _check_modalities(self, given: dict[str, Any]) -> None:
        unknown = sorted(set(given) - set(self.extra_modalities))
        if unknown:
            raise ValueError(f"this model reads {', '.join(self.spec.names)}; it takes no {', '.join(unknown)} input")
        missing = [m for m in self.extra_modalities if given.get(m) is None]
        if missing:
            raise ValueError(
                f"this model ({self.card.method}) reads {', '.join(self.spec.names)}; the request lacks {', '.join(missing)}: "
                f"give {', '.join(f'{m}=...' for m in missing)} (uint8 images pixel-aligned with the RGB frames)"
            )

    def predict_image(self, image: str | Path | np.ndarray, **modalities: np.ndarray | str | Path) -> Prediction:
        """One still image: a file path or an RGB uint8 ``HxWx3`` array; plus ``ir=``/``depth=`` when the model reads them."""
        from antispoof.data.video import MediaError, read_image

        self._check_modalities(modalities)
        extra = {m: self._read_modality(v, m) for m, v in modalities.items()}
        timer = _Timer()
        source = "array"
        if not isinstance(image, np.ndarray):
            source = str(image)
            t = time.perf_counter()
            try:
                image = read_image(image)
            except MediaError as err:
                timer.add("decode", t)
                return self._failed(source, "image", f"{err.code}: {err.reason}", timer)
            timer.add("decode", t)
        return self._predict(iter([(-1, image, extra)]), source, "image", timer)

    def predict_video(self, path: str | Path, sampling: Any = None) -> Prediction:
        """A video file; frames chosen by ``sampling`` (default: the card's sampling policy)."""
        from antispoof.data.video import MediaError, VideoReader

        self._check_modalities({})
        timer = _Timer()
        source = str(path)
        t = time.perf_counter()
        try:
            video = VideoReader(path)
            wanted = (sampling or self.sampling).indices(video.num_frames)
        except MediaError as err:
            timer.add("decode", t)
            return self._failed(source, "video", f"{err.code}: {err.reason}", timer)
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
                yield index, frame, {}

        try:
            return self._predict(frames(), source, "video", timer, extra=failures)
        finally:
            video.close()

    def predict_frames(self, frames: Iterable[np.ndarray], source: str = "frames", **modalities: Iterable[np.ndarray]) -> Prediction:
        """A stream of RGB uint8 frames (a list, a generator, a camera loop), scored as one presentation.

        ``ir=``/``depth=``: iterables of the matching frames when the model reads them.
        """
        self._check_modalities(modalities)
        streams = {m: iter(v) for m, v in modalities.items()}

        def items() -> Iterator[tuple[int, Any, dict[str, Any]]]:
            for i, frame in enumerate(frames):
                extra = {}
                for m, stream in streams.items():
                    extra[m] = next(stream, None)
                    if extra[m] is None:
                        raise ValueError(f"the {m} stream ended at frame {i}, before the RGB frames; give one {m} frame per RGB frame")
                yield i, frame, extra

        return self._predict(items(), source, "frames", _Timer())

    @staticmethod
    def _read_modality(value: Any, name: str) -> np.ndarray:
        """An IR/depth image as a uint8 array (a path is read as grayscale)."""
        if isinstance(value, np.ndarray):
            if value.dtype != np.uint8 or value.ndim not in (2, 3):
                raise ValueError(f"{name} must be a uint8 HxW (or HxWxC) array, got dtype {value.dtype} shape {value.shape}")
            return value
        import cv2

        image = cv2.imread(str(value), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f"the {name} image {value} is missing or unreadable")
        return image

    def acquire(self, image: np.ndarray, annotation: dict[str, Any] | None = None,
                **modalities: np.ndarray | str | Path) -> tuple[FrameResult, dict[str, np.ndarray] | None]:
        """One RGB uint8 frame (plus ``ir=``/``depth=``) acquired as ``prepare`` acquires it: its record and raw crops.

        ``annotation``: the frame's own face (``{"box": ...}`` and/or ``{"eyes": ...}``) for a
        Predictor made with ``detector="dataset"``.
        """
        self._check_modalities(modalities)
        extra = {m: self._read_modality(v, m) for m, v in modalities.items()}
        return self._frame(0, image, extra, _Timer(), annotation)

    def inputs_for(self, image: np.ndarray, annotation: dict[str, Any] | None = None,
                   **modalities: np.ndarray | str | Path) -> dict[str, np.ndarray] | None:
        """The network inputs of one RGB uint8 frame (detect, gate, crop, transform), ``{key: [1, ...]}``; None without a usable face."""
        _, crops = self.acquire(image, annotation, **modalities)
        if crops is None:
            return None
        prepared = self._transform.apply(crops)
        return {k: prepared[k].numpy()[None] for k in self.spec.keys}

    # -- the pipeline ---------------------------------------------------------------------------

    def _failed(self, source: str, kind: str, reason: str, timer: _Timer) -> Prediction:
        frame = FrameResult(-1, failure=reason)
        return self._result(source, kind, [frame], timer)

    def _frame(self, index: int, image: Any, extra: dict[str, Any], timer: _Timer,
               annotation: dict[str, Any] | None = None) -> tuple[FrameResult, Any]:
        """Acquire one frame (:func:`antispoof.data.acquisition.acquire`, as prepare does); the frame record and its crops."""
        from antispoof.data.acquisition import acquire
        from antispoof.data.video import MediaError, to_rgb_uint8

        if not isinstance(image, np.ndarray):
            return FrameResult(index, failure=f"unreadable_frame: not an image array (got {type(image).__name__})"), None
        try:
            image = to_rgb_uint8(image, source=f"frame {index}") if not _is_rgb_uint8(image) else image
        except MediaError as err:
            return FrameResult(index, failure=f"unreadable_frame: {err.reason}"), None
        started = [time.perf_counter()]

        def lap(stage: str) -> None:
            started[0] = timer.add(stage, started[0])

        acquired = acquire(image, self.acquisition, self.detector, extra=extra, annotation=annotation, lap=lap)
        result = FrameResult(index, box=acquired.box, detector_score=acquired.score, faces=acquired.faces,
                             failure=acquired.failure, quality=acquired.quality or None)
        crops = acquired.crops
        if crops is not None and self.keep_crops:
            result.crop = crops["image"] if crops["image"].ndim == 3 else crops["image"][0]  # of several views, the first
        return result, crops

    def _predict(self, frames: Iterator[tuple[int, Any, dict[str, Any]]], source: str, kind: str, timer: _Timer,
                 extra: list[FrameResult] | None = None) -> Prediction:
        if hasattr(self.detector, "reset"):  # a tracking detector starts afresh with each presentation
            self.detector.reset()
        results: list[FrameResult] = []
        pending: list[tuple[list[FrameResult], dict[str, Any]]] = []
        acquired: list[tuple[FrameResult, dict[str, Any]]] = []
        units: list[list[FrameResult]] = []
        clip = self.spec.clip_len > 1
        followed: dict[int, tuple[np.ndarray, dict[str, Any]]] = {}  # frames to verify: id(result) -> (image, modalities)
        again: list[tuple[list[FrameResult], dict[str, Any]]] = []  # verified frames to score again, in full batches
        verify = self.verify_margin is not None and not clip
        for index, image, modalities in frames:
            result, crops = self._frame(index, image, modalities, timer)
            results.append(result)
            if crops is None:
                continue
            if clip:  # clips are cut once the presentation's acquired frames are known
                acquired.append((result, crops))
                continue
            if verify and getattr(self.detector, "tracked", False):
                followed[id(result)] = (image, modalities)
            pending.append(([result], crops))
            if len(pending) >= self.batch_size:
                units += self._score(pending, timer)
                again += self._verify(pending, followed, timer)
                pending = []
            if len(again) >= self.batch_size:
                self._score(again, timer)
                again = []
        if clip and acquired:
            from antispoof.data.store import clip_windows

            for positions in clip_windows(len(acquired), self.spec.clip_len, self.spec.clip_stride):
                members = [acquired[p] for p in positions]
                stacked = {k: np.stack([crops[k] for _, crops in members]) for k in members[0][1]}
                pending.append(([r for r, _ in members], stacked))
                if len(pending) >= self.batch_size:
                    units += self._score(pending, timer)
                    pending = []
        if pending:
            units += self._score(pending, timer)
            again += self._verify(pending, followed, timer)
        if again:
            self._score(again, timer)
        units = [u for u in units if u[0].score is not None]  # a verified frame may have lost its face
        results.extend(extra or [])
        if not results:
            results.append(FrameResult(-1, failure="no_frames"))
        return self._result(source, kind, results, timer, units)

    def _verify(self, scored: list[tuple[list[FrameResult], dict[str, Any]]],
                followed: dict[int, tuple[np.ndarray, dict[str, Any]]], timer: _Timer) -> list[tuple[list[FrameResult], dict[str, Any]]]:
        """Detect again the followed frames of ``scored`` whose score is within ``verify_margin`` of the threshold.

        Their records take the new detection (score cleared); returned are the units to score again.
        """
        from antispoof.data.acquisition import acquire

        again = []
        for members, _ in scored:
            result = members[0]
            kept = followed.pop(id(result), None)
            if kept is None or result.score is None or abs(result.score - self.threshold) >= self.verify_margin:
                continue
            image, modalities = kept
            started = [time.perf_counter()]

            def lap(stage: str) -> None:
                started[0] = timer.add(stage, started[0])

            acquired = acquire(image, self.acquisition, self.detector.detector, extra=modalities, lap=lap)  # type: ignore[attr-defined]
            self.verified += 1
            if acquired.crops is not None and not acquired.failure and acquired.box == result.box:
                # the detector puts the box where the tracker did: the same crops, so the score stands as it is
                self.verified_unchanged += 1
                result.detector_score, result.faces, result.quality = acquired.score, acquired.faces, acquired.quality or None
                continue
            result.box, result.detector_score, result.faces = acquired.box, acquired.score, acquired.faces
            result.failure, result.quality = acquired.failure, acquired.quality or None
            result.score, result.cues = None, {}
            if acquired.crops is not None:
                if self.keep_crops:
                    crop = acquired.crops["image"]
                    result.crop = crop if crop.ndim == 3 else crop[0]
                again.append(([result], acquired.crops))
        return again

    def _score(self, pending: list[tuple[list[FrameResult], dict[str, Any]]], timer: _Timer) -> list[list[FrameResult]]:
        """Score a batch of units (a frame, or a clip of frames); every frame of a unit gets the unit's score."""
        t = time.perf_counter()
        inputs = _direct_batch(self.spec, [crops["image"] for _, crops in pending]) if self._direct else None
        if inputs is None:
            prepared = [self._transform.apply(crops) for _, crops in pending]
            inputs = {k: np.stack([p[k].numpy() for p in prepared]) for k in self.spec.keys}
        out, maps = self.backend(inputs)
        for i, (members, _) in enumerate(pending):
            cues = {name: round(float(v), 6) for name, v in zip(self.cue_names, out[i, 1:])}
            for result in members:
                result.score = float(out[i, 0])
                result.cues = cues
            if self.keep_maps and maps is not None:
                members[0].maps = {name: maps[i, j] for j, name in enumerate(self.map_names)}
        timer.add("model", t)
        return [members for members, _ in pending]

    def _result(self, source: str, kind: str, frames: list[FrameResult], timer: _Timer,
                units: list[list[FrameResult]] | None = None) -> Prediction:
        t = time.perf_counter()
        units = units or []
        scored = [f for f in frames if f.score is not None]
        unit_scores = [float(u[0].score) for u in units]  # type: ignore[arg-type]
        score = _aggregate(unit_scores, self.card.aggregation) if unit_scores else None
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
            units=[{"frames": [f.index for f in u], "score": u[0].score} for u in units],
        )


def _direct_spec(spec: Any) -> bool:
    """Whether the evaluation transform of ``spec`` is a resize to the input size then the conversion alone.

    True for an RGB-only input (no IR, depth), one modality of 3 channels, whose fit resizes
    (``resize``, or a ``center_crop`` of crops already at the input size) and is not a grid of patches.
    """
    return (len(spec.modalities) == 1 and spec.modalities[0].channels == 3 and spec.fit != "patches"
            and (spec.fit == "resize" or spec.crop_size == spec.input_size))


def _direct_batch(spec: Any, crops: list[np.ndarray]) -> dict[str, np.ndarray] | None:
    """A batch's network input without the per-crop transform, when that would only convert (None otherwise).

    For a spec of :func:`_direct_spec`, crops already at the input size pass the transform's
    resize unchanged; what is left is :func:`~antispoof.data.transforms.to_tensor`'s conversion
    (channels first, BGR if the spec says so, ``(x * pixel_scale - mean) / std`` in float32),
    done here for the whole batch at once: the same numbers bit for bit
    (tests/test_silentface_speed.py), about 10x faster than the transform crop by crop.
    """
    size = spec.input_size
    if not crops or any(c.dtype != np.uint8 or c.shape[-3:] != (size, size, 3) or c.shape != crops[0].shape for c in crops):
        return None
    x = np.stack(crops)
    out = np.empty((*x.shape[:-3], 3, size, size), dtype=np.float32)
    for c, source in enumerate((2, 1, 0) if spec.colour_order == "BGR" else (0, 1, 2)):
        out[..., c, :, :] = x[..., source]
    m = spec.modalities[0]
    if (spec.pixel_scale, tuple(m.mean), tuple(m.std)) != (1.0, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)):
        out *= np.float32(spec.pixel_scale)
        out -= np.asarray(m.mean, dtype=np.float32).reshape(3, 1, 1)
        out /= np.asarray(m.std, dtype=np.float32).reshape(3, 1, 1)
    return {spec.keys[0]: out}


def _is_rgb_uint8(image: Any) -> bool:
    return isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def _aggregate(scores: list[float], method: str) -> float:
    """The presentation score from frame scores, with the metrics module's aggregation."""
    from antispoof.metrics import ScoreSet, aggregate_videos
    from antispoof.metrics.aggregate import parse_aggregation

    n = len(scores)
    if n == 1 and parse_aggregation("mean" if method == "none" else method).method in ("mean", "median", "min", "trimmed-mean"):
        return float(scores[0])  # one unit (a photo, a streamed frame): each of these gives its score (0.6 ms saved a call)
    frames = ScoreSet.from_arrays(np.asarray(scores, dtype=np.float64), np.ones(n, dtype=bool), video=["presentation"] * n,
                                  source="prediction")
    units, _ = aggregate_videos(frames, "mean" if method == "none" else method)
    return float(units.scores[0])
