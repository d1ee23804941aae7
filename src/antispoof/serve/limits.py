"""What one request may carry, and reading its frames from memory with the limits checked before decoding.

Nothing here writes to disk: frames and videos are decoded from the request's bytes. An
image's dimensions are read from its PNG/JPEG header and refused before any pixel is
decoded (:func:`antispoof.data.video.check_image_header`); a video's frame size and
count are checked from its stream before its frames are kept.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Limits", "RequestRefused", "decode_frames", "decode_base64_frames", "decode_video"]


@dataclass(frozen=True)
class Limits:
    """Bounds of one request (defaults suit one second of webcam frames)."""

    max_request_bytes: int = 25 * 1024 * 1024
    max_frames: int = 32
    max_side: int = 4096
    max_pixels: int = 16_000_000
    max_video_frames: int = 600
    timeout_s: float = 30.0


class RequestRefused(Exception):
    """A request the service answers with ``status`` and a message that says what to change."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _image(data: bytes, name: str, limits: Limits) -> np.ndarray:
    from antispoof.data.video import ImageTooLarge, MediaError, decode_image_bytes

    try:
        return decode_image_bytes(data, name, max_side=limits.max_side, max_pixels=limits.max_pixels)
    except ImageTooLarge as err:
        raise RequestRefused(413, f"image_too_large: {name}: {err.reason}") from None
    except MediaError as err:
        raise RequestRefused(400, f"unreadable_frame: {name}: {err.reason}; send JPEG or PNG frames") from None


def decode_frames(parts: list[bytes], limits: Limits) -> list[np.ndarray]:
    """JPEG/PNG frames -> RGB uint8 arrays; 4xx :class:`RequestRefused` for a bad, empty or oversized one."""
    if not parts:
        raise RequestRefused(422, "no frames: send one or more JPEG/PNG files in the multipart field 'frames'")
    if len(parts) > limits.max_frames:
        raise RequestRefused(413, f"too_many_frames: {len(parts)} frames sent; at most {limits.max_frames} per request")
    frames = []
    for i, data in enumerate(parts):
        if not data:
            raise RequestRefused(400, f"empty_frame: frame {i} has 0 bytes")
        frames.append(_image(data, f"frame {i}", limits))
    return frames


def decode_base64_frames(body: Any, limits: Limits) -> list[np.ndarray]:
    """A JSON body ``{"frames": ["<base64 JPEG/PNG>", ...]}`` -> RGB uint8 arrays."""
    if not isinstance(body, dict) or not isinstance(body.get("frames"), list):
        raise RequestRefused(422, 'a JSON body must be {"frames": ["<base64 JPEG or PNG>", ...]}')
    parts = []
    for i, text in enumerate(body["frames"][: limits.max_frames + 1]):
        if not isinstance(text, str):
            raise RequestRefused(422, f"frame {i} is not a base64 string")
        if text.startswith("data:"):  # a data URL from a browser canvas
            text = text.partition(",")[2]
        try:
            parts.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise RequestRefused(400, f"frame {i} is not valid base64") from None
    if len(body["frames"]) > limits.max_frames:
        raise RequestRefused(413, f"too_many_frames: {len(body['frames'])} frames sent; at most {limits.max_frames} per request")
    return decode_frames(parts, limits)


def decode_video(data: bytes, limits: Limits, sampler: Any) -> list[np.ndarray]:
    """A short video's frames chosen by ``sampler`` (the bundle's sampling), decoded from memory."""
    import io

    import av

    if not data:
        raise RequestRefused(400, "empty_video: the 'video' field has 0 bytes")
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise RequestRefused(400, "unreadable_video: the file has no video stream")
            stream = container.streams.video[0]
            if stream.width > limits.max_side or stream.height > limits.max_side or stream.width * stream.height > limits.max_pixels:
                raise RequestRefused(413, f"image_too_large: video frames are {stream.width}x{stream.height}; the limit is "
                                          f"{limits.max_side} px a side and {limits.max_pixels / 1e6:g} megapixels")
            frames = []
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) > limits.max_video_frames:
                    raise RequestRefused(413, f"video_too_long: more than {limits.max_video_frames} frames; send about one second")
    except RequestRefused:
        raise
    except Exception as err:  # noqa: BLE001 - PyAV raises many error types for damaged input
        raise RequestRefused(400, f"unreadable_video: {type(err).__name__}: {err}") from None
    if not frames:
        raise RequestRefused(400, "unreadable_video: no frame could be decoded")
    return [frames[i] for i in sampler.indices(len(frames))]
