"""CelebA-Spoof adapter: the 44-value label vector mapped to species and attributes, boxes, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import DatasetError


def _vector(spoof: int, illumination: int = 0, environment: int = 0) -> list[int]:
    return [0] * 40 + [spoof, illumination, environment, int(spoof != 0)]


def build_celeba(root: Path) -> Path:
    labels = {"train": {}, "test": {}}
    for split, subject, kind, name, vector in (
        ("train", "10", "live", "000001.jpg", _vector(0)),
        ("train", "10", "spoof", "000002.jpg", _vector(1, 1, 1)),
        ("train", "10", "spoof", "000003.jpg", _vector(8, 4, 2)),
        ("train", "11", "spoof", "000004.png", _vector(10, 2, 1)),
        ("test", "20", "live", "000005.jpg", _vector(0)),
        ("test", "20", "spoof", "000006.jpg", _vector(3, 3, 2)),
    ):
        rel = f"Data/{split}/{subject}/{kind}/{name}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).touch()
        labels[split][rel] = vector
    (root / "metas" / "intra_test").mkdir(parents=True)
    for split, content in labels.items():
        (root / "metas" / "intra_test" / f"{split}_label.json").write_text(json.dumps(content))
    return root


def test_species_attributes_and_splits(tmp_path: Path) -> None:
    ds = open_dataset("celeba-spoof", build_celeba(tmp_path))
    rows = ds.samples()
    assert ds.protocols() == ["intra_test"]
    assert rows.groupby(["split", "label"]).size().to_dict() == {
        ("train", "bonafide"): 1, ("train", "attack"): 3, ("test", "bonafide"): 1, ("test", "attack"): 1,
    }  # fmt: skip
    by_path = rows.set_index("path")
    pad = by_path.loc["Data/train/10/spoof/000003.jpg"]
    assert (pad.pai, pad.pai_class, pad.illumination, pad.environment, pad.subject) == ("pad", "replay", "dark", "outdoor", "10")
    assert math.isnan(pad.moire) and math.isnan(pad.fingers)
    photo = by_path.loc["Data/train/10/spoof/000002.jpg"]
    assert (photo.pai, photo.pai_class, photo.moire, photo.mobile_ui) == ("photo", "print", 0.0, 0.0)
    assert math.isnan(photo.device_border)
    live = by_path.loc["Data/test/20/live/000005.jpg"]
    assert (live.pai, live.device_border, live.moire) == ("bonafide", 0.0, 0.0) and math.isnan(live.glare)
    assert by_path.loc["Data/train/11/spoof/000004.png"].pai == "3d_mask"
    assert ds.samples(split="dev").empty


def test_face_box_scaled_from_224(tmp_path: Path) -> None:
    from PIL import Image

    root = build_celeba(tmp_path)
    Image.new("RGB", (448, 336)).save(root / "Data/train/10/live/000001.jpg", format="JPEG")
    (root / "Data/train/10/live/000001_BB.txt").write_text("56 28 112 84 0.99\n")
    ds = open_dataset("celeba-spoof", root)
    assert ds.face_annotations("Data/train/10/live/000001.jpg") == {-1: {"box": (112.0, 42.0, 336.0, 168.0)}}
    assert ds.face_annotations("Data/train/10/spoof/000002.jpg") is None


def test_inconsistent_vector_and_missing_images(tmp_path: Path) -> None:
    root = build_celeba(tmp_path)
    path = root / "metas" / "intra_test" / "test_label.json"
    labels = json.loads(path.read_text())
    labels["Data/test/20/spoof/000006.jpg"] = _vector(0)[:-1] + [1]
    path.write_text(json.dumps(labels))
    with pytest.raises(DatasetError, match="spoof type 0 and live/spoof 1"):
        open_dataset("celeba-spoof", root).samples()
    labels["Data/test/20/spoof/000006.jpg"] = _vector(3)
    labels["Data/test/20/spoof/000007.jpg"] = _vector(3)
    path.write_text(json.dumps(labels))
    with pytest.raises(FileNotFoundError, match="000007.jpg"):
        open_dataset("celeba-spoof", root).samples()
    with pytest.raises(DatasetError, match="expected Data/ and metas/intra_test"):
        open_dataset("celeba-spoof", root / "Data")
