"""CASIA-SURF adapter: list files as the protocol, RGB/IR/Depth triplets, attack types, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import DatasetError


def _touch(root: Path, rel: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).touch()


def _triplet(prefix: str, number: str, dashed: bool = False) -> list[str]:
    if dashed:
        return [f"{prefix}/{number}-{m}.jpg" for m in ("color", "depth", "ir")]
    return [f"{prefix}/{m}/{number}.jpg" for m in ("color", "depth", "ir")]


def build_surf(root: Path, subjects: tuple[str, ...] = ("CLKJ_AS0137", "CLKJ_AS0005")) -> Path:
    train = []
    for subject in subjects:
        for n in ("31", "41"):
            train.append((_triplet(f"Training/real_part/{subject}/real.rssdk", n), 1))
        for kind in ("04_en_b", "05_en_f", "06_enm_b"):
            train.append((_triplet(f"Training/fake_part/{subject}/{kind}.rssdk", "101"), 0))
    val = [(_triplet("Val/0000", f"{i:06d}", dashed=True), i % 2) for i in range(6)]
    test = [(_triplet("Testing/0001", f"{i:06d}", dashed=True), int(i < 3)) for i in range(8)]
    for name, rows in (("train_list.txt", train), ("val_private_list.txt", val), ("test_private_list.txt", test)):
        lines = []
        for paths, label in rows:
            for p in paths:
                _touch(root, p)
            lines.append(" ".join(paths) + f" {label}")
        (root / name).write_text("\n".join(lines) + "\n")
    return root


def test_splits_labels_and_modalities(tmp_path: Path) -> None:
    ds = open_dataset("casia-surf", build_surf(tmp_path))
    counts = ds.samples().groupby(["split", "label"]).size().to_dict()
    assert counts == {
        ("train", "bonafide"): 4, ("train", "attack"): 6, ("dev", "bonafide"): 3,
        ("dev", "attack"): 3, ("test", "bonafide"): 3, ("test", "attack"): 5,
    }  # fmt: skip
    train = ds.samples("challenge", "train")
    assert sorted(set(train.pai)) == ["bonafide", "type4", "type5", "type6"]
    row = train[train.pai == "type5"].iloc[0]
    assert row.path == "Training/fake_part/CLKJ_AS0137/05_en_f.rssdk/color/101.jpg"
    assert row.depth_path.endswith("/depth/101.jpg") and row.ir_path.endswith("/ir/101.jpg")
    assert (row.subject, row.frame, row.video) == ("CLKJ_AS0137", 101, "Training/fake_part/CLKJ_AS0137/05_en_f.rssdk")
    dev = ds.samples(split="dev")
    assert set(dev[dev.label == "attack"].pai) == {"unknown"} and dev.iloc[0].ir_path == "Val/0000/000000-ir.jpg"


def test_missing_images_are_listed(tmp_path: Path) -> None:
    root = build_surf(tmp_path)
    (root / "Val/0000/000002-depth.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 file\(s\) named by .*val_private_list.txt.*Val/0000/000002-depth.jpg"):
        open_dataset("casia-surf", root)


def test_bad_lines_and_traversal_refused(tmp_path: Path) -> None:
    root = build_surf(tmp_path)
    (root / "test_private_list.txt").write_text("../x/color/1.jpg ../x/depth/1.jpg ../x/ir/1.jpg 1\n")
    with pytest.raises(DatasetError, match="refused"):
        open_dataset("casia-surf", root)
    (root / "test_private_list.txt").write_text("a/color/1.jpg a/depth/1.jpg 1\n")
    with pytest.raises(DatasetError, match="expected '<color> <depth> <ir> <0|1>'"):
        open_dataset("casia-surf", root)


def test_label_contradicting_folder_and_wrong_root(tmp_path: Path) -> None:
    root = build_surf(tmp_path / "s")
    text = (root / "train_list.txt").read_text().replace("real.rssdk/ir/31.jpg 1", "real.rssdk/ir/31.jpg 0", 1)
    (root / "train_list.txt").write_text(text)
    with pytest.raises(DatasetError, match="contradicts the folder real_part"):
        open_dataset("casia-surf", root)
    with pytest.raises(DatasetError, match="expected train_list.txt"):
        open_dataset("casia-surf", root / "Training")


def test_attack_folds_are_the_datasets_own_attack_types(tmp_path: Path) -> None:
    """Seed 001 Sec. 4.1 folds CASIA-SURF by its attack types (4, 5, 6 in training), all of family print."""
    import cv2
    import numpy as np

    from antispoof.data.prepare import prepare_store
    from antispoof.data.protocols import IntraDataset, LeaveOneAttackOut, attack_types
    from antispoof.training.folds import make_folds

    root = build_surf(tmp_path / "surf", subjects=("CLKJ_AS0137", "CLKJ_AS0005", "CLKJ_AS0211", "CLKJ_AS0318"))
    base = IntraDataset.open("casia-surf", root)
    train = base.samples("train")
    assert set(train.loc[train.label == "attack", "pai_class"]) == {"print"}  # one family: folding by it would fail
    assert attack_types(train) == {"type4": ["type4"], "type5": ["type5"], "type6": ["type6"]}
    assert [p.held_out for p in LeaveOneAttackOut.folds(base, by="attack")] == ["type4", "type5", "type6"]
    rng = np.random.default_rng(0)
    for path in root.rglob("*.jpg"):
        cv2.imwrite(str(path), rng.integers(0, 256, (40, 36, 3), dtype=np.uint8))
    prepare_store(open_dataset("casia-surf", root), tmp_path / "store", dataset="casia-surf", size=16, image_format="png",
                  progress=False)
    folds = make_folds(tmp_path / "store", "attack", seed=0)
    assert [f.name for f in folds] == ["type4", "type5", "type6"]
    for fold in folds:
        assert fold.held_out == (fold.name,) and set(fold.train_attacks) == {"type4", "type5", "type6"} - {fold.name}
    assert sorted(s for f in folds for s in f.bonafide_subjects) == sorted(set(train.loc[train.label == "bonafide", "subject"]))
    assert make_folds(tmp_path / "store", "species", seed=0) == folds  # the same split by either word
