"""Video and image reading: exact frames, seeking, rotation, pixel formats, clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from _media import frame_pattern, rotate_mp4, write_video
from antispoof.data.sampling import evenly_spaced, every_nth
from antispoof.data.video import MediaError, VideoReader, read_frames, read_gray, read_image, to_rgb_uint8


def _level(frame: np.ndarray) -> float:
    return float(frame[4:12, 4:12].mean())


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4", num_frames=60, gop=10)


def test_reader_metadata_and_all_frames(video: Path) -> None:
    with VideoReader(video) as reader:
        info = reader.info()
        frames = list(reader.frames(range(60)))
    assert (info.num_frames, info.width, info.height) == (60, 64, 48)
    assert info.fps == pytest.approx(25.0)
    assert [i for i, _ in frames] == list(range(60))
    for index, frame in frames:
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert abs(_level(frame) - (8 * index) % 256) < 6, index


@pytest.mark.parametrize("indices", [every_nth(60, 10), evenly_spaced(60, 7), [59, 3, 31, 3]])
def test_reader_returns_the_asked_frames(video: Path, indices: list[int]) -> None:
    with VideoReader(video) as reader:
        frames = list(reader.frames(indices))
    assert [i for i, _ in frames] == sorted(set(indices))
    for index, frame in frames:
        assert abs(_level(frame) - (8 * index) % 256) < 6, index


def test_sparse_sampling_seeks_instead_of_decoding_everything(tmp_path: Path) -> None:
    path = write_video(tmp_path / "long.mp4", num_frames=200, gop=10)
    with VideoReader(path) as reader:
        frames = list(reader.frames(evenly_spaced(200, 5)))
        sparse = reader.decoded
    with VideoReader(path) as reader:
        list(reader.frames(range(200)))
        full = reader.decoded
    assert len(frames) == 5 and full >= 200
    assert sparse < full / 2, (sparse, full)


def test_frames_past_the_end_are_skipped(video: Path) -> None:
    with VideoReader(video) as reader:
        assert [i for i, _ in reader.frames([58, 59, 60, 75])] == [58, 59]


def test_rotation_metadata_is_honoured(tmp_path: Path) -> None:
    plain = write_video(tmp_path / "plain.mp4", num_frames=3, gop=1)
    rotated = rotate_mp4(plain, tmp_path / "rotated.mp4")
    upright = read_frames(plain, [0])[0][1]
    turned = read_frames(rotated, [0])[0][1]
    assert turned.shape == (64, 48, 3)
    # A display matrix of 90 degrees means "show turned clockwise": the top-left block
    # (frame_pattern's marker, level 0 in frame 0) ends up top-right; the colour ramp
    # across the width now runs down the height.
    expected = np.rot90(upright, k=-1)
    assert np.abs(turned.astype(int) - expected.astype(int)).mean() < 3


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.mp4", b"", "empty"),
        ("text.mp4", b"this is not a video at all\n" * 20, "not a readable video"),
        ("missing.mp4", None, "not found"),
    ],
)
def test_unreadable_videos_name_the_file(tmp_path: Path, name: str, content: bytes | None, reason: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MediaError, match=reason) as info:
        with VideoReader(path) as reader:
            list(reader.frames([0]))
    assert str(path) in str(info.value)


def test_truncated_and_corrupt_videos_name_the_file(video: Path, tmp_path: Path) -> None:
    data = video.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)) + data[4096:])
    for path in (truncated, corrupt):
        with pytest.raises(MediaError) as info:
            with VideoReader(path) as reader:
                list(reader.frames(range(60)))
        assert str(path) in str(info.value)


def test_image_formats_become_rgb_uint8(tmp_path: Path) -> None:
    rgb = frame_pattern(5)
    cv2.imwrite(str(tmp_path / "rgb.png"), rgb[:, :, ::-1])
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.png"), rgb)

    gray16 = (np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 21).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "gray16.png"), gray16)
    out = read_image(tmp_path / "gray16.png")
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :, 0], np.rint(gray16 * (255 / 65535)).astype(np.uint8))
    np.testing.assert_array_equal(read_gray(tmp_path / "gray16.png"), out[:, :, 0])

    rgba = np.dstack([rgb[:, :, ::-1], np.full((48, 64), 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgb)


def test_to_rgb_uint8_conversions_and_refusals() -> None:
    gray_alpha = np.zeros((4, 5, 2), dtype=np.uint8)
    gray_alpha[..., 0] = 9
    assert (to_rgb_uint8(gray_alpha) == 9).all()
    assert to_rgb_uint8(np.ones((4, 5), dtype=np.float32)).max() == 255
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 0] = 200
    assert to_rgb_uint8(bgr, bgr=True)[0, 0].tolist() == [0, 0, 200]
    with pytest.raises(MediaError, match="pixel type int32"):
        to_rgb_uint8(np.zeros((4, 4, 3), dtype=np.int32), source="x.png")
    with pytest.raises(MediaError, match="shape"):
        to_rgb_uint8(np.zeros((4, 4, 5), dtype=np.uint8))
    with pytest.raises(MediaError, match=r"unsupported image shape \(3,\)"):  # not an ndarray: still a MediaError
        to_rgb_uint8([1, 2, 3])


@pytest.mark.parametrize(("name", "content"), [("zero.png", b""), ("broken.jpg", b"\xff\xd8\xff garbage"), ("video.png", None)])
def test_unreadable_images_name_the_file(tmp_path: Path, name: str, content: bytes | None) -> None:
    path = tmp_path / name
    if content is None:
        write_video(tmp_path / "v.mp4", 2)
        path.write_bytes((tmp_path / "v.mp4").read_bytes())
    else:
        path.write_bytes(content)
    with pytest.raises(MediaError) as info:
        read_image(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("name", "codec"), [("clip.avi", "mpeg4"), ("clip.mkv", "libx264"), ("clip.webm", "libvpx-vp9"), ("clip.mov", "mjpeg")])
def test_other_containers_give_the_same_frames(tmp_path: Path, name: str, codec: str) -> None:
    import av

    if codec not in av.codecs_available:
        pytest.skip(f"FFmpeg here has no {codec} encoder")
    pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"  # full-range JPEG frames: the swscale path
    path = write_video(tmp_path / name, num_frames=40, gop=8, codec=codec, pix_fmt=pix_fmt)
    with VideoReader(path) as reader:
        assert reader.num_frames == 40
        frames = list(reader.frames(every_nth(40, 7) + [39]))
    assert [i for i, _ in frames] == [0, 7, 14, 21, 28, 35, 39]
    for index, frame in frames:
        assert abs(_level(frame) - (8 * index) % 256) < 8, (name, index)
