"""One road from a frame to the crops a network reads: the acquisition record and the function that applies it.

Everything between a media file and the network input that is not the network's own
input spec is one :class:`AcquisitionSpec`: frame sampling; the face source (a registered
detector and its options, ``dataset`` for the dataset's own boxes or eye positions,
``whole_image`` for datasets that ship face crops); face selection (the largest face);
the crop (geometry, scale, views, size, eye alignment); the capture-quality gate. A frame
store records it in ``settings.json``, a run's weights in their metadata and a bundle in
its model card, each written by :meth:`AcquisitionSpec.record`.

:func:`acquire` applies it to one frame (plus pixel-aligned IR/depth), for ``prepare``,
evaluation, the Predictor and the service alike: detect (or read the dataset's face) ->
select -> gate -> crop every modality on the one box. Its failure reasons are
:data:`FAILURES`, the one list of reasons a frame is not acquired.

:func:`check_same_acquisition` refuses to score a model on data acquired another way
than its training data (another detector, crop scale, geometry, alignment or views).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from antispoof.data.sampling import FrameSampler
from antispoof.faces.base import Face, FaceDetector, select_face
from antispoof.faces.crop import DEFAULT_SCALE, MAX_SCALE, MIN_SCALE
from antispoof.faces.quality import QUALITY_REASONS, QualityLimits, check_quality, measure_quality

__all__ = ["FAILURES", "CropSpec", "AcquisitionSpec", "Acquired", "acquire", "crop_modalities", "check_same_acquisition",
           "AcquisitionMismatch"]

#: Every reason a frame is not acquired ('' when it is), on every road; detail may follow after ': '.
FAILURES = ("unreadable_file", "unreadable_frame", "no_face", *QUALITY_REASONS, "unreadable_ir", "unreadable_depth",
            "misaligned_ir", "misaligned_depth")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CropSpec(_Frozen):
    """How the face crop is cut around the face box."""

    size: int = Field(..., ge=8, description="side of the crop in pixels (the model's input.crop_size)")
    scale: float = Field(DEFAULT_SCALE, ge=MIN_SCALE, le=MAX_SCALE, description="crop side relative to the longer side of the face box")
    align: bool = Field(False, description="rotate so the eyes are level (when the face source gives eyes)")
    views: tuple[float, ...] = Field((), description="crop scales of a model reading several views of a face (input.views), one crop each")
    native: bool = Field(False, description="square geometry only: keep the face at the frame's resolution (no resizing; a "
                                            "square smaller than size is enlarged to it), for LGSC's patches (seed 004 Sec. 4.4)")
    geometry: Literal["square", "box_in_image", "resize"] = Field(
        "square", description="square: a padded square around the box (antispoof.faces.crop); box_in_image: the box scaled "
                              "and shifted to lie inside the frame (antispoof.faces.box_crop, Silent-Face's crop); resize: the "
                              "box itself resized, aspect not kept (a dataset's own face crops, read whole)")

    @model_validator(mode="after")
    def _native_square(self) -> CropSpec:
        if self.native and (self.geometry != "square" or self.views or self.align):
            raise ValueError("a native-resolution crop (crop.native) is a square around the face with no views and no eye "
                             f"alignment; this one has geometry {self.geometry!r}, views {list(self.views)}, align {self.align}")
        return self


class AcquisitionSpec(_Frozen):
    """How frames are taken from media and turned into face crops (the module docstring)."""

    sampling: dict[str, Any] = Field(default_factory=lambda: FrameSampler().to_dict(),
                                     description="frames taken from a video (antispoof.data.sampling.FrameSampler)")
    face_source: str = Field("blazeface", description="a registered detector (`antispoof list detectors`); dataset: the "
                                                      "dataset's boxes or eye positions; whole_image: its face crops")
    detector_options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the face source")
    detector: dict[str, Any] = Field(default_factory=dict, description="the face source's own record (weights, version, options)")
    selection: Literal["largest"] = Field("largest", description="which face of several: the largest box")
    crop: CropSpec
    quality: QualityLimits = Field(default_factory=QualityLimits, description="capture-quality gate (min_face included)")

    def create_detector(self) -> FaceDetector:
        """The face source, built from the registry."""
        import antispoof.faces  # noqa: F401  (registers the detectors)
        from antispoof._registry import DETECTORS

        return DETECTORS.create(self.face_source, **self.detector_options)

    def record(self) -> dict[str, Any]:
        """The JSON record a store, a weights file and a model card keep."""
        return self.model_dump(mode="json")

    @classmethod
    def of_weights(cls, metadata: dict[str, Any]) -> AcquisitionSpec | None:
        """The record a weights file's metadata carries (None for weights written before the record, or not from a store)."""
        return cls.model_validate(metadata["acquisition"]) if "acquisition" in metadata else None

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> AcquisitionSpec:
        """The record of a store's ``settings.json`` (stores before format 3 kept its fields at the top level)."""
        if "acquisition" in settings:
            return cls.model_validate(settings["acquisition"])
        detector = dict(settings.get("detector") or {})
        return cls(sampling=settings.get("sampling") or FrameSampler().to_dict(), face_source=detector.get("name", "blazeface"),
                   detector=detector, crop=CropSpec(size=int(settings["size"]), scale=float(settings.get("scale", DEFAULT_SCALE)),
                                                    align=bool(settings.get("align", False))),
                   quality=QualityLimits.open(float(settings.get("min_face", 0.0))))


@dataclass
class Acquired:
    """One frame's acquisition: the face box, detector confidence, face count, quality measures and failure ('' if acquired)."""

    box: tuple[float, float, float, float] | None = None
    score: float | None = None
    faces: int = 0
    quality: dict[str, float | None] = field(default_factory=dict)
    failure: str = ""
    crops: dict[str, np.ndarray] | None = None  # modality key (image, ir, depth) -> crop; None when not acquired


def acquire(image: np.ndarray, spec: AcquisitionSpec, detector: FaceDetector, *, extra: dict[str, np.ndarray] | None = None,
            annotation: dict[str, Any] | None = None, lap: Callable[[str], None] = lambda stage: None) -> Acquired:
    """Detect (or read the dataset's face), select, gate and crop one RGB uint8 frame and its ``extra`` modalities.

    ``extra``: ``{"ir": HxW, "depth": HxW}`` pixel-aligned with ``image``; ``annotation``: the
    dataset's own face of this frame (:class:`~antispoof.faces.base.Annotation`) for
    detectors that read it; ``lap(stage)`` is called as each of detect, quality and crop ends (the Predictor's timings).
    """
    faces = detector.detect(image, annotation if detector.needs_annotation else None)
    face, count, failure = select_face(faces)
    lap("detect")
    out = Acquired(faces=count, failure=failure)
    if face is None:
        return out
    out.box, out.score = tuple(float(v) for v in face.box), float(face.score)  # type: ignore[assignment]
    measures = measure_quality(image, face, spec.quality)  # only what an enabled limit reads
    out.quality = measures.to_dict()
    out.failure = check_quality(measures, spec.quality)
    lap("quality")
    if out.failure:
        return out
    images = {"image": image, **(extra or {})}
    if spec.face_source == "whole_image":  # shipped face crops: each modality's image is its face
        out.crops = {k: crop_modalities({k: v}, Face((0.0, 0.0, float(v.shape[1]), float(v.shape[0]))), spec.crop)[k]
                     for k, v in images.items()}
        lap("crop")
        return out
    h, w = image.shape[:2]
    for name, other in (extra or {}).items():
        if other.shape[:2] != (h, w):
            out.failure = f"misaligned_{name}: {name} is {other.shape[1]}x{other.shape[0]}, RGB {w}x{h}"
            return out
    out.crops = crop_modalities(images, face, spec.crop)
    lap("crop")
    return out


def crop_modalities(images: dict[str, np.ndarray], face: Face, crop: CropSpec) -> dict[str, np.ndarray]:
    """Every image of ``images`` cut on the one face box by ``crop`` (views stacked ``[V, S, S, ...]``)."""
    from antispoof.faces.box_crop import crop_box_in_image, crop_resized, crop_views
    from antispoof.faces.crop import crop_face

    align = crop.align and face.eyes is not None
    out = {}
    for key, image in images.items():
        if crop.views:  # a network reading several crops of the face: one per scale, cut from the whole frame
            out[key] = crop_views(image, face.box, crop.views, crop.size, crop.geometry)
        elif crop.geometry == "box_in_image":
            out[key] = crop_box_in_image(image, face.box, scale=crop.scale, size=crop.size)
        elif crop.geometry == "resize":
            out[key] = crop_resized(image, face.box, size=crop.size)
        else:
            out[key] = crop_face(image, face.box, size=crop.size, scale=crop.scale, eyes=face.eyes, align=align, native=crop.native)
    return out


class AcquisitionMismatch(ValueError):
    """Data acquired another way than a model's training data."""


#: The fields that change what a face crop looks like (sampling, size and the gate do not).
_COMPARED = ("face_source", "crop.scale", "crop.geometry", "crop.align", "crop.views", "crop.native")


def check_same_acquisition(trained: AcquisitionSpec | None, data: AcquisitionSpec, *, data_name: str,
                           allow: bool = False) -> list[str]:
    """Refuse (or, with ``allow``, return as notes) every field in which ``data`` was acquired unlike ``trained``."""
    if trained is None:
        return []
    diffs = []
    for name in _COMPARED:
        a, b = _field(trained, name), _field(data, name)
        if a != b:
            diffs.append(f"{name}: the model was trained with {a!r}, {data_name} has {b!r}")
    if diffs and not allow:
        c = trained.crop
        views = f" (views {list(c.views)}, geometry {c.geometry})" if c.views else ""
        fix = (f"antispoof prepare --dataset NAME --root DIR --out NEW_STORE --detector {trained.face_source} --scale {c.scale:g}"
               f"{' --align' if c.align else ''}{' --native' if c.native else ''}{views}")
        raise AcquisitionMismatch(
            f"{data_name} was prepared unlike the model's training data ({'; '.join(diffs)}); scores there would not mean what "
            f"they mean on the training data. Prepare it again with the model's settings ({fix}), or pass --allow-mismatch "
            "(train: allow_mismatch=true) if the difference is intended")
    return diffs


def _field(spec: AcquisitionSpec, dotted: str) -> Any:
    value: Any = spec
    for part in dotted.split("."):
        value = getattr(value, part)
    return list(value) if isinstance(value, tuple) else value
