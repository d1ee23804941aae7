"""FrameStore and FrameDataset: the items every method trains on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from _media import write_video
from antispoof.data.prepare import prepare_store
from antispoof.data.base import ATTRIBUTES
from antispoof.data.sampling import FrameSampler
from antispoof.data.store import FrameDataset, FrameStore
from test_prepare import ToyDataset, _row

BOX = {"box_x0": 16.0, "box_y0": 8.0, "box_x1": 48.0, "box_y1": 40.0}


@pytest.fixture
def store(tmp_path: Path) -> FrameStore:
    root = tmp_path / "data"
    root.mkdir()
    write_video(root / "live.mp4", num_frames=50, gop=10)
    write_video(root / "print.mp4", num_frames=12, gop=10)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(root / "rgb.png"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    cv2.imwrite(str(root / "ir.png"), rng.integers(0, 256, (48, 64), dtype=np.uint8))
    cv2.imwrite(str(root / "depth.png"), rng.integers(0, 256, (48, 64), dtype=np.uint8))
    rows = [
        _row("live.mp4", **BOX, fingers=0.0, moire=1.0),
        _row("print.mp4", "attack", "print", "train", **BOX),
        _row("nobox.mp4", "attack", "replay", "test"),
    ]
    write_video(root / "nobox.mp4", num_frames=10, gop=10)
    toy = ToyDataset(root, rows)
    prepare_store(toy, tmp_path / "store", dataset="toy", detector="dataset", sampler=FrameSampler("every", 5),
                  size=16, min_face=8, image_format="png", progress=False)
    return FrameStore(tmp_path / "store")


def test_missing_store_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="antispoof prepare"):
        FrameStore(tmp_path)


def test_frame_items(store: FrameStore) -> None:
    data = FrameDataset(store, split="train")
    assert len(data) == 10 + 3  # live: 0,5,..,45; print: 0,5,10
    item = data[0]
    assert set(item) >= {"image", "label", "attributes", "pai", "video", "subject", "domain", "frame"}
    assert item["image"].shape == (16, 16, 3) and item["image"].dtype == np.uint8
    labels = {data[i]["video"]: data[i]["label"] for i in range(len(data))}
    assert labels == {"live.mp4": 1, "print.mp4": 0}
    live = data[0]
    assert live["attributes"].dtype == np.float32 and live["attributes"].shape == (len(ATTRIBUTES),)
    assert live["attributes"][ATTRIBUTES.index("fingers")] == 0.0
    assert live["attributes"][ATTRIBUTES.index("moire")] == 1.0
    assert np.isnan(live["attributes"][ATTRIBUTES.index("glare")])
    assert (live["pai"], live["subject"], live["domain"], live["frame"]) == ("bonafide", "s1", "toy", 0)


def test_failed_frames_excluded_but_counted(store: FrameStore) -> None:
    test = FrameDataset(store, split="test")
    assert len(test) == 0 and len(test.failed) == 2  # nobox.mp4 frames 0 and 5: no_face
    assert set(test.failed["failure"]) == {"no_face"}
    assert store.failure_counts() == {"no_face": 2}
    kept = FrameDataset(store, split="test", include_failed=True)
    assert len(kept) == 2 and kept[0]["failure"] == "no_face" and (kept[0]["image"] == 0).all()
    assert len(FrameDataset(store)) == 13


def test_clip_items(store: FrameStore) -> None:
    clips = FrameDataset(store, split="train", clip_len=4)
    # live has 10 stored frames -> 2 clips of 4; print has 3 -> 1 clip padded with its last frame.
    assert len(clips) == 3
    frames = sorted((c["video"], c["frames"]) for c in (clips[i] for i in range(3)))
    assert frames == [("live.mp4", [0, 5, 10, 15]), ("live.mp4", [20, 25, 30, 35]), ("print.mp4", [0, 5, 10, 10])]
    assert clips[0]["image"].shape == (4, 16, 16, 3)
    strided = FrameDataset(store, split="train", clip_len=3, clip_stride=2)
    assert [strided[i]["frames"] for i in range(len(strided)) if strided[i]["video"] == "live.mp4"] == [[0, 10, 20], [25, 35, 45]]


def test_transforms_and_modalities(store: FrameStore, tmp_path: Path) -> None:
    import torch

    to_tensor = lambda image: torch.from_numpy(np.ascontiguousarray(image)).float()  # noqa: E731
    item = FrameDataset(store, split="train", transform=to_tensor)[0]
    assert isinstance(item["image"], torch.Tensor) and item["image"].shape == (16, 16, 3)
    clip = FrameDataset(store, split="train", transform=to_tensor, clip_len=2)[0]
    assert isinstance(clip["image"], torch.Tensor) and clip["image"].shape == (2, 16, 16, 3)
    with pytest.raises(ValueError, match="no such crop"):
        FrameDataset(store, modalities=("rgb", "ir"))
    with pytest.raises(ValueError, match="modalities"):
        FrameDataset(store, modalities=("thermal",))
    with pytest.raises(ValueError, match="split"):
        FrameDataset(store, split="val")


def test_aligned_modalities_share_one_random_transform(tmp_path: Path) -> None:
    A = pytest.importorskip("albumentations")
    root = tmp_path / "surf"
    root.mkdir()
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[:, :20] = 255  # left half white
    cv2.imwrite(str(root / "rgb.png"), rgb)
    cv2.imwrite(str(root / "ir.png"), rgb[:, :, 0])
    cv2.imwrite(str(root / "depth.png"), rgb[:, :, 0])
    toy = ToyDataset(root, [_row("rgb.png", ir_path="ir.png", depth_path="depth.png",
                                box_x0=5.0, box_y0=5.0, box_x1=35.0, box_y1=35.0)])
    prepare_store(toy, tmp_path / "store", dataset="toy", detector="dataset", size=30, scale=1.0, min_face=8,
                  image_format="png", progress=False)
    flip = A.Compose([A.HorizontalFlip(p=0.5)], additional_targets={"ir": "image", "depth": "image"})
    data = FrameDataset(tmp_path / "store", transform=flip, modalities=("rgb", "ir", "depth"))
    seen = set()
    for _ in range(20):
        item = data[0]
        flipped = item["image"][0, 0, 0] == 0
        seen.add(bool(flipped))
        assert item["ir"].shape[:2] == (30, 30)
        assert (item["ir"][..., 0] if item["ir"].ndim == 3 else item["ir"])[0, 0] == item["image"][0, 0, 0]
        assert (item["depth"][..., 0] if item["depth"].ndim == 3 else item["depth"])[0, 0] == item["image"][0, 0, 0]
    assert seen == {True, False}
