"""Small media files for the media-pipeline tests, written with PyAV and OpenCV."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def frame_pattern(index: int, height: int = 48, width: int = 64) -> np.ndarray:
    """An RGB frame whose top-left 16x16 block has grey level 8 * index (mod 256)."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:, :, 2] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    image[:16, :16] = (8 * index) % 256
    return image


def write_video(path: Path, num_frames: int = 40, height: int = 48, width: int = 64, gop: int = 10, codec: str = "libx264", frames=None, pix_fmt: str = "yuv420p") -> Path:
    """Write an H.264 (or other codec) video of ``frame_pattern`` frames, keyframe every ``gop`` frames."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.gop_size = gop
        for i in range(num_frames):
            image = frame_pattern(i, height, width) if frames is None else frames[i]
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def rotate_mp4(path: Path, out: Path) -> Path:
    """Copy an MP4 with the track's display matrix set to a 90-degree rotation (as phones write it)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    offset = at + 4 + (40 if data[at + 4] == 0 else 52)
    data[offset : offset + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    out.write_bytes(bytes(data))
    return out
