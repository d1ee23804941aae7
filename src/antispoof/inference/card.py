"""The model card: every fact needed to turn a camera frame into a decision, in one validated JSON file.

A bundle's ``model_card.json`` is read through :class:`ModelCard` (pydantic, unknown keys
refused), so a missing or mistyped fact is an error at load time, never a silent default
at prediction time. Integrity:

- ``files`` lists every file of the bundle with its sha256; a weights or ONNX file that
  differs from its record is refused;
- ``card_sha256`` is the sha256 of the card's canonical JSON without that field; a card
  edited by hand (a threshold changed, a limit loosened) is refused. Change a card through
  :meth:`antispoof.inference.bundle.Bundle.save_card`, which signs it again.

The card's ``input`` is the method's :class:`~antispoof.data.inputs.InputSpec`
(modalities, clip length, crop and input size, colour order, value range): the
Predictor and the ONNX graph read it, so preprocessing cannot drift from training.
``network`` rebuilds the plain network without Lightning. A shipped bundle holds no
machine paths: the run's config is recorded with every path cleared.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from antispoof.data.inputs import InputSpec

__all__ = [
    "CARD_FILE",
    "CardError",
    "ModelCard",
    "InputSpec",
    "CropSpec",
    "NetworkSpec",
    "DetectorSpec",
    "ThresholdSpec",
    "TrainingData",
    "QualityLimits",
    "FileRecord",
    "sha256_file",
    "clear_paths",
    "read_card",
    "write_card",
]

CARD_FILE = "model_card.json"
CARD_FORMAT = "antispoof-model-card"


class CardError(ValueError):
    """A model card that is missing, incomplete, malformed or does not match its files."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkSpec(_Strict):
    """The plain network to rebuild: its NETWORKS name and constructor kwargs (:mod:`antispoof.weights`)."""

    name: str = Field(..., description="registered network name (antispoof._registry.NETWORKS)")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="constructor keyword arguments")


class CropSpec(_Strict):
    """How the face crop is cut (:func:`antispoof.faces.crop.crop_face`): side, scale around the box, eye alignment."""

    size: int = Field(..., ge=8, description="side of the crop in pixels (input.crop_size; fitted to input.input_size)")
    scale: float = Field(..., ge=1.0, le=4.0, description="crop side relative to the longer side of the face box")
    align: bool = Field(False, description="rotate so the eyes are level (when the detector gives eyes)")
    views: tuple[float, ...] = Field((), description="crop scales of a model reading several views of a face (input.views), one crop each")
    geometry: Literal["square", "box_in_image"] = Field(
        "square", description="square: a padded square around the box (antispoof.faces.crop); box_in_image: the box scaled "
                              "and shifted to lie inside the frame (antispoof.faces.box_crop, Silent-Face's crop)")


class DetectorSpec(_Strict):
    """The face detector used at inference, and the one that made the training crops."""

    name: str = Field(..., description="registered detector name (`antispoof list detectors`)")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the detector")
    trained_with: dict[str, Any] = Field(default_factory=dict, description="the training store's detector record")


class ThresholdSpec(_Strict):
    """The decision threshold: bona fide iff ``score >= value``; how and where it was chosen, and the metrics there."""

    value: float = Field(..., description="the threshold on the aggregated liveness score")
    rule: str = Field(..., description="threshold rule of antispoof.metrics (eer, bpcer@apcer=X, apcer@bpcer=X, ...)")
    split: str = Field(..., description="the split it was chosen on (dev)")
    dataset: str = Field(..., description="the dataset (and protocol) of that split")
    metrics: dict[str, Any] = Field(..., description="the metrics report of that split at this threshold")


class TrainingData(_Strict):
    """What the model was trained on."""

    dataset: str
    protocol: str | None = None
    description: str = ""


class QualityLimits(_Strict):
    """Limits of the capture-quality gate (see :mod:`antispoof.inference.quality` for each measure).

    A frame outside a limit is ``failed_to_acquire`` with that reason, not scored.
    """

    min_face: float = Field(32.0, ge=0, description="shorter side of the face box in pixels, at least")
    min_sharpness: float = Field(10.0, ge=0, description="variance of the Laplacian of the face (gray, 128 px wide), at least")
    min_brightness: float = Field(40.0, ge=0, le=255, description="mean luma of the face box (0-255), at least")
    max_brightness: float = Field(220.0, ge=0, le=255, description="mean luma of the face box (0-255), at most")
    max_clipped: float = Field(0.25, ge=0, le=1, description="share of face pixels at luma >= 250 or <= 5, at most")
    min_eye_ratio: float = Field(0.20, ge=0, le=1, description="eye distance / face box width, at least (head turned too far below)")


class FileRecord(_Strict):
    """A file of the bundle and its checksum."""

    sha256: str = Field(..., pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(..., ge=0)


class ModelCard(_Strict):
    """The facts of one deployable model (see the module docstring)."""

    format: Literal["antispoof-model-card"] = CARD_FORMAT
    card_version: Literal[2] = 2
    package_version: str
    created: str
    method: str = Field(..., description="method name (METHODS registry)")
    backbone: str
    config: dict[str, Any] = Field(..., description="the run's resolved config, paths cleared (for the record)")
    network: NetworkSpec = Field(..., description="the plain network the weights belong to")
    outputs: tuple[str, ...] = Field(..., min_length=1, description="columns of the scorer's output: score, then cue names")
    maps: tuple[str, ...] = Field((), description="names of the dense explanation maps (ONNX output 'maps' [B, M, H, W])")
    input: InputSpec
    crop: CropSpec
    detector: DetectorSpec
    sampling: dict[str, Any] = Field(..., description="frames taken from a video (antispoof.data.sampling.FrameSampler)")
    aggregation: str = Field(..., description="per-video aggregation of frame scores (antispoof.metrics.aggregate)")
    threshold: ThresholdSpec
    training_data: TrainingData
    quality: QualityLimits
    files: dict[str, FileRecord] = Field(..., description="bundle files (weights, ONNX graphs) and their sha256")
    weights: str = Field("model.safetensors", description="the safetensors weights file (a key of files)")
    onnx: dict[str, str] = Field(default_factory=dict, description="precision (fp32, int8) -> ONNX file (a key of files)")
    export: dict[str, Any] = Field(default_factory=dict, description="export facts: opset, parity checks, int8 metric change")
    source: dict[str, Any] = Field(default_factory=dict, description="imported weights: the project they come from, its licence, "
                                                                      "the files and their sha256 (empty for models trained here)")
    notes: list[str] = Field(default_factory=list)
    card_sha256: str = Field("", description="sha256 of this card's canonical JSON without this field")

    def digest(self) -> str:
        """The sha256 this card must carry in ``card_sha256``."""
        data = self.model_dump(mode="json")
        data.pop("card_sha256")
        return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def signed(self) -> ModelCard:
        """A copy with ``card_sha256`` set."""
        return self.model_copy(update={"card_sha256": self.digest()})


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_card(card: ModelCard, directory: str | Path) -> Path:
    """Sign ``card`` and write it as ``directory/model_card.json``."""
    path = Path(directory) / CARD_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(card.signed().model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_card(directory: str | Path, *, check_files: bool = True) -> ModelCard:
    """Read, validate and verify ``directory/model_card.json``; :class:`CardError` says what is wrong."""
    directory = Path(directory)
    path = directory / CARD_FILE
    if not directory.is_dir():
        raise CardError(f"model bundle {directory} is not a folder; give the folder written by `antispoof calibrate`")
    if not path.is_file():
        raise CardError(f"{path} not found: {directory} is not a model bundle; make one with `antispoof calibrate RUN`")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CardError(f"model card {path} is not valid JSON ({err}); restore it from the bundle's source") from None
    if not isinstance(raw, dict) or raw.get("format") != CARD_FORMAT:
        raise CardError(f"{path} is not an antispoof model card (no \"format\": \"{CARD_FORMAT}\")")
    if raw.get("card_version") != 2:
        raise CardError(f"model card {path} has card_version {raw.get('card_version')!r}; this toolkit reads version 2. "
                        "Calibrate the run again (`antispoof calibrate RUN`) to write a current bundle")
    try:
        card = ModelCard.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'card'}: {e['msg']}" for e in err.errors()[:8])
        raise CardError(f"model card {path} is incomplete or malformed: {problems}") from None
    if card.card_sha256 != card.digest():
        raise CardError(
            f"model card {path} was modified after it was written (card_sha256 does not match its content); "
            "restore the original card, or change it through Bundle.save_card, which records the new checksum"
        )
    if card.crop.size != card.input.crop_size:
        raise CardError(f"model card {path}: crop.size {card.crop.size} differs from input.crop_size {card.input.crop_size}")
    if len(card.crop.views) != (card.input.views if card.input.views > 1 else 0):
        raise CardError(f"model card {path}: crop.views {card.crop.views} does not give one scale per view of input.views "
                        f"{card.input.views}")
    if card.weights not in card.files:
        raise CardError(f"model card {path}: its weights file {card.weights!r} is not listed in 'files'")
    for precision, name in card.onnx.items():
        if name not in card.files:
            raise CardError(f"model card {path}: ONNX graph {name!r} ({precision}) is not listed in 'files'")
    if check_files:
        for name, record in card.files.items():
            file = directory / name
            if not file.is_file():
                raise CardError(f"model bundle {directory} lacks {name}, which its card lists; copy the whole bundle folder")
            if sha256_file(file) != record.sha256:
                raise CardError(
                    f"{file} does not match the sha256 its model card records; the file was changed or damaged. "
                    "Restore the bundle from its source"
                )
    return card


def clear_paths(value: Any) -> Any:
    """``value`` (a free-form record: a metrics report, a detector record) with every string holding a '/' set to None.

    Configs are cleared exactly instead, by their path-typed fields (:func:`antispoof.config.dump_without_paths`).
    """
    if isinstance(value, dict):
        return {k: clear_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clear_paths(v) for v in value]
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return None
    return value
