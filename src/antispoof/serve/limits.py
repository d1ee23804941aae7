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
    from antispoof.data.video import ImageTooLarge, MediaError, decode_image_bytes, image_header_size

    if image_header_size(data) is None:  # no readable size, no decoding: the limit could not be checked first
        raise RequestRefused(400, f"unreadable_frame: {name} is not a JPEG or PNG whose header gives its size; "
                                  "send JPEG or PNG frames")
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
    def check(width: int, height: int) -> None:
        if width > limits.max_side or height > limits.max_side or width * height > limits.max_pixels:
            raise RequestRefused(413, f"image_too_large: video frames are {width}x{height}; the limit is "
                                      f"{limits.max_side} px a side and {limits.max_pixels / 1e6:g} megapixels")

    try:
        # pass 1 counts the frames from the packets (nothing decoded); pass 2 decodes and keeps only the sampled ones
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise RequestRefused(400, "unreadable_video: the file has no video stream")
            stream = container.streams.video[0]
            check(stream.width, stream.height)
            count = sum(1 for packet in container.demux(stream) if packet.size)
        if count > limits.max_video_frames:
            raise RequestRefused(413, f"video_too_long: {count} frames; at most {limits.max_video_frames} (about one second)")
        wanted = set(sampler.indices(count)) if count else set()
        frames = []
        with av.open(io.BytesIO(data)) as container:
            for index, frame in enumerate(container.decode(container.streams.video[0])):
                check(frame.width, frame.height)
                if index >= limits.max_video_frames:
                    raise RequestRefused(413, f"video_too_long: more than {limits.max_video_frames} frames")
                if index in wanted:
                    frames.append(frame.to_ndarray(format="rgb24"))
    except RequestRefused:
        raise
    except Exception as err:  # noqa: BLE001 - PyAV raises many error types for damaged input
        raise RequestRefused(400, f"unreadable_video: {type(err).__name__}: {err}") from None
    if not frames:
        raise RequestRefused(400, "unreadable_video: no frame could be decoded")
    return frames
