"""The service's documented shapes: every field of a liveness result, the request body, the error body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["FrameOut", "UnitOut", "LivenessResponse", "ModelResponse", "ErrorResponse", "ERROR_RESPONSES", "LIVENESS_REQUEST"]


class FrameOut(BaseModel):
    """One received frame."""

    index: int = Field(..., description="position of the frame in the request (0-based)")
    score: float | None = Field(..., description="liveness in [0, 1] of the unit holding this frame; null when not acquired")
    box: list[float] | None = Field(..., description="face box [x0, y0, x1, y1] in the frame's pixels; null when none")
    detector_score: float | None = Field(..., description="face detector confidence")
    faces: int = Field(..., description="faces found in the frame (the largest is scored)")
    failure: str = Field(..., description="why the frame was not scored ('' when it was): no_face, face_too_small, too_dark, ...")
    quality: dict[str, float | None] | None = Field(..., description="capture-quality measures of the face")
    cues: dict[str, float] = Field(..., description="cue probabilities of the unit holding this frame (the explanation)")


class UnitOut(BaseModel):
    """One scored unit: a frame, or a clip of frames for clip models."""

    frames: list[int] = Field(..., description="indices of the frames of this unit")
    score: float | None = Field(..., description="the unit's liveness in [0, 1]")


class LivenessResponse(BaseModel):
    """The decision for one presentation (all the frames of a request)."""

    request_id: str = Field(..., description="id of this request (also in the service's log)")
    kind: str = Field(..., description="what was sent: frames (images, multipart or base64) or video")
    decision: str = Field(..., description="bonafide, attack, or failed_to_acquire (no unit could be scored)")
    score: float | None = Field(..., description="aggregated liveness in [0, 1], higher = bona fide; null when failed_to_acquire")
    threshold: float = Field(..., description="bona fide iff score >= threshold")
    threshold_rule: str = Field(..., description="how the threshold was chosen (e.g. eer on dev, bpcer@apcer=0.01)")
    aggregation: str = Field(..., description="how unit scores become the presentation score (mean, median, ...)")
    reasons: list[str] = Field(..., description="failure reasons of frames that were not scored")
    explanation: dict[str, float] = Field(..., description="cue probabilities averaged over the scored frames")
    maps: dict[str, str] = Field(default_factory=dict, description="dense cue maps of the last scored frame as PNG data URLs, "
                                                                     "drawn over its face crop (models with cue maps only)")
    n_frames: int = Field(..., description="frames received")
    n_scored: int = Field(..., description="frames scored")
    units: list[UnitOut] = Field(..., description="the scored units")
    timings_ms: dict[str, float] = Field(..., description="milliseconds per stage (decode_request, detect, crop, model, ...)")
    backend: str = Field(..., description="the scoring backend: onnxruntime, openvino, torch or torchscript")
    frames: list[FrameOut] = Field(..., description="per-frame results, in request order")


class ModelResponse(BaseModel):
    """The bundle behind the service."""

    card: dict[str, Any] = Field(..., description="the model card: input spec, network, threshold and its dev metrics, "
                                                  "quality limits, files with sha256 (no machine paths)")
    inputs: list[str] = Field(..., description="modalities the model reads")
    auth: bool = Field(..., description="whether requests need a bearer token")
    limits: dict[str, int] = Field(..., description="request limits: max_request_bytes, max_frames, max_side, max_pixels")


class ErrorResponse(BaseModel):
    """A refused request."""

    error: str = Field(..., description="'<code>: <what to change>', e.g. 'too_many_frames: ...'")
    request_id: str = Field(..., description="id of the request")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "malformed request: empty body, unreadable or truncated image, bad base64, malformed multipart",
        401: "no bearer token", 403: "wrong bearer token", 413: "request, frame count or image dimensions over the limits",
        408: "the body did not arrive within the request timeout",
        415: "content type other than multipart/form-data or application/json", 422: "no frames, or a model needing IR/depth",
        503: "all workers and the queue are busy, or the service is shutting down (see Retry-After)", 504: "no result within the request timeout",
    }.items()
}

LIVENESS_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "frames": {"type": "array", "items": {"type": "string", "format": "binary"},
                                   "description": "JPEG or PNG frames of one presentation, in time order (repeat the field)"},
                        "video": {"type": "string", "format": "binary",
                                  "description": "or: a short video (about one second); frames sampled as the bundle says"},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["frames"],
                    "properties": {"frames": {"type": "array", "items": {"type": "string", "format": "byte"},
                                              "description": "base64 JPEG/PNG frames (data URLs accepted)"}},
                }
            },
        },
    }
}
