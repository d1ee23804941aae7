"""The model card: every fact needed to turn a camera frame into a decision, in one validated JSON file.

A bundle's ``model_card.json`` is read through :class:`ModelCard` (pydantic, unknown keys
refused), so a missing or mistyped fact is an error at load time, never a silent default
at prediction time. Integrity:

- ``files`` lists every file of the bundle with its sha256; a weights or ONNX file that
  differs from its record is refused;
- ``card_sha256`` is the sha256 of the card's canonical JSON without that field; a card
  edited by hand (a threshold changed, a limit loosened) is refused. Change a card through
  :meth:`antispoof.inference.bundle.Bundle.save_card`, which signs it again.

The card's ``acquisition`` is the training store's
:class:`~antispoof.data.acquisition.AcquisitionSpec` (sampling, face source, crop,
quality gate) and its ``input`` the method's :class:`~antispoof.data.inputs.InputSpec`
(modalities, clip length, crop and input size, colour order, value range): the
Predictor applies the one with :func:`~antispoof.data.acquisition.acquire` and the ONNX
graph reads the other, so preprocessing cannot drift from training. ``detector`` is the
serving face detector (a dataset's own boxes or crops cannot be found in a camera frame).
Version 2 cards (crop, sampling, quality and the training detector at the top level) are
read as the same facts.
``network`` rebuilds the plain network without Lightning. A shipped bundle holds no
machine paths: the run's config is recorded with every path cleared.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from antispoof.data.acquisition import AcquisitionSpec, CropSpec
from antispoof.data.inputs import InputSpec
from antispoof.faces.quality import QualityLimits
from antispoof.weights import WEIGHTS_FILE, sha256_file

__all__ = [
    "CARD_FILE",
    "CardError",
    "ModelCard",
    "InputSpec",
    "CropSpec",
    "AcquisitionSpec",
    "NetworkSpec",
    "DetectorSpec",
    "ThresholdSpec",
    "coarse_notes",
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


class DetectorSpec(_Strict):
    """The face detector used at inference (the training data's face source is ``acquisition.face_source``)."""

    name: str = Field(..., description="registered detector name (`antispoof list detectors`)")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the detector")


class ThresholdSpec(_Strict):
    """The decision threshold: bona fide iff ``score >= value``; how and where it was chosen, and the metrics there."""

    value: float = Field(..., description="the threshold on the aggregated liveness score")
    rule: str = Field(..., description="threshold rule of antispoof.metrics (eer, bpcer@apcer=X, apcer@bpcer=X, ...)")
    split: str = Field(..., description="the split it was chosen on (dev)")
    dataset: str = Field(..., description="the dataset (and protocol) of that split")
    metrics: dict[str, Any] = Field(..., description="the metrics report of that split at this threshold")

    @classmethod
    def from_report(cls, report: Any, rule: Any, split: str, dataset: str) -> ThresholdSpec:
        """The threshold of a calibration ``report`` (:func:`antispoof.metrics.calibration.dev_threshold`), paths cleared."""
        return cls(value=report.threshold, rule=str(rule), split=split, dataset=dataset, metrics=clear_paths(report.to_dict()))


def coarse_notes(problem: str) -> list[str]:
    """The card note for a threshold target finer than the calibration data resolves (none when ``problem`` is '')."""
    return [f"threshold target finer than the calibration data resolves: {problem}"] if problem else []


class TrainingData(_Strict):
    """What the model was trained on."""

    dataset: str
    protocol: str | None = None
    description: str = ""


class FileRecord(_Strict):
    """A file of the bundle and its checksum."""

    sha256: str = Field(..., pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(..., ge=0)


class ModelCard(_Strict):
    """The facts of one deployable model (see the module docstring)."""

    format: Literal["antispoof-model-card"] = CARD_FORMAT
    card_version: Literal[3] = 3
    package_version: str
    created: str
    method: str = Field(..., description="method name (METHODS registry)")
    backbone: str
    config: dict[str, Any] = Field(..., description="the run's resolved config, paths cleared (for the record)")
    network: NetworkSpec = Field(..., description="the plain network the weights belong to")
    outputs: tuple[str, ...] = Field(..., min_length=1, description="columns of the scorer's output: score, then cue names")
    maps: tuple[str, ...] = Field((), description="names of the dense explanation maps (ONNX output 'maps' [B, M, H, W])")
    input: InputSpec
    acquisition: AcquisitionSpec = Field(..., description="how the training data's frames became crops; the Predictor does "
                                                          "the same, with `detector` as the face source")
    detector: DetectorSpec
    aggregation: str = Field(..., description="per-video aggregation of frame scores (antispoof.metrics.aggregate)")
    threshold: ThresholdSpec
    training_data: TrainingData
    files: dict[str, FileRecord] = Field(..., description="bundle files (weights, ONNX graphs) and their sha256")
    weights: str = Field(WEIGHTS_FILE, description="the safetensors weights file (a key of files)")
    onnx: dict[str, str] = Field(default_factory=dict, description="precision (fp32, int8) -> ONNX file (a key of files)")
    export: dict[str, Any] = Field(default_factory=dict, description="export facts: opset, parity checks, int8 metric change")
    source: dict[str, Any] = Field(default_factory=dict, description="imported weights: the project they come from, its licence, "
                                                                      "the files and their sha256 (empty for models trained here)")
    notes: list[str] = Field(default_factory=list)
    card_sha256: str = Field("", description="sha256 of this card's canonical JSON without this field")

    def digest(self) -> str:
        """The sha256 this card must carry in ``card_sha256``."""
        return _digest(self.model_dump(mode="json"))

    @property
    def crop(self) -> CropSpec:
        return self.acquisition.crop

    @property
    def quality(self) -> QualityLimits:
        return self.acquisition.quality

    @property
    def sampling(self) -> dict[str, Any]:
        return self.acquisition.sampling

    def signed(self) -> ModelCard:
        """A copy with ``card_sha256`` set."""
        return self.model_copy(update={"card_sha256": self.digest()})


def _digest(data: dict[str, Any]) -> str:
    data = {k: v for k, v in data.items() if k != "card_sha256"}
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _from_version_2(raw: dict[str, Any]) -> dict[str, Any]:
    """A version 2 card's facts as version 3: crop, sampling, quality and the training detector become ``acquisition``."""
    raw = dict(raw)
    detector = dict(raw.pop("detector", {}))
    trained = dict(detector.pop("trained_with", {}) or {})
    raw["detector"] = detector
    raw["acquisition"] = {"sampling": raw.pop("sampling", {}), "face_source": trained.get("name") or detector.get("name"),
                          "detector": trained, "crop": raw.pop("crop", {}), "quality": raw.pop("quality", {})}
    raw["card_version"] = 3
    return raw


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
    if raw.get("card_version") not in (2, 3):
        raise CardError(f"model card {path} has card_version {raw.get('card_version')!r}; this toolkit reads versions 2 and 3. "
                        "Calibrate the run again (`antispoof calibrate RUN`) to write a current bundle")
    converted = raw["card_version"] == 2
    if converted:  # the same facts before the acquisition record: checked as written, then read as version 3
        if raw.get("card_sha256") != _digest(raw):
            raise CardError(f"model card {path} was modified after it was written (card_sha256 does not match its content); "
                            "restore the original card")
        raw = _from_version_2(raw)
    try:
        card = ModelCard.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'card'}: {e['msg']}" for e in err.errors()[:8])
        raise CardError(f"model card {path} is incomplete or malformed: {problems}") from None
    if converted:
        card = card.signed()
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
