"""CASIA-FASD adapter: grandtest sizes, species per video number, subject numbering, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import DatasetError

VIDEOS = ["1", "2", "3", "4", "5", "6", "7", "8", "HR_1", "HR_2", "HR_3", "HR_4"]


def build_casia(root: Path, train: int = 20, test: int = 30) -> Path:
    for folder, count in (("train_release", train), ("test_release", test)):
        for n in range(1, count + 1):
            (root / folder / str(n)).mkdir(parents=True)
            for v in VIDEOS:
                (root / folder / str(n) / f"{v}.avi").touch()
    return root


def test_grandtest_sizes(tmp_path: Path) -> None:
    ds = open_dataset("casia-fasd", build_casia(tmp_path))
    counts = ds.samples().groupby(["split", "label"]).size().to_dict()
    assert counts == {("train", "bonafide"): 60, ("train", "attack"): 180, ("test", "bonafide"): 90, ("test", "attack"): 270}
    assert ds.samples(split="dev").empty  # CASIA-FASD defines no dev set
    train = ds.samples(split="train")
    assert train.groupby("pai").size().to_dict() == {"bonafide": 60, "cut_print": 60, "replay": 60, "warped_print": 60}


def test_species_by_video_number_and_subjects(tmp_path: Path) -> None:
    rows = open_dataset("casia-fasd", build_casia(tmp_path, 1, 1)).samples()
    pai = {Path(p).stem: v for p, v in zip(rows[rows.split == "train"].path, rows[rows.split == "train"].pai)}
    assert pai == {
        "1": "bonafide", "2": "bonafide", "HR_1": "bonafide",
        "3": "warped_print", "4": "warped_print", "HR_2": "warped_print",
        "5": "cut_print", "6": "cut_print", "HR_3": "cut_print",
        "7": "replay", "8": "replay", "HR_4": "replay",
    }  # fmt: skip
    assert set(rows[rows.split == "test"].subject) == {"21"} and set(rows[rows.split == "train"].subject) == {"1"}


def test_attack_type_protocols(tmp_path: Path) -> None:
    ds = open_dataset("casia-fasd", build_casia(tmp_path))
    cut = ds.samples("cut", "test")
    assert set(cut.pai) == {"bonafide", "cut_print"} and len(cut) == 90 + 90
    high = ds.samples("high", "train")
    assert len(high) == 80 and all(Path(p).stem.startswith("HR_") for p in high.path)


def test_incomplete_copy_is_logged_and_bad_names_fail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = build_casia(tmp_path / "a", 2, 0)
    (root / "train_release" / "2" / "HR_4.avi").unlink()
    assert len(open_dataset("casia-fasd", root).samples()) == 23  # 2 x 12 - 1 present; 50 x 12 - 23 absent
    assert "lacks 577 video(s)" in caplog.text
    (root / "train_release" / "2" / "9.avi").touch()
    with pytest.raises(DatasetError, match="do not follow CASIA-FASD naming.*train_release/2/9.avi"):
        open_dataset("casia-fasd", root)
    with pytest.raises(DatasetError, match="expected train_release/ and test_release/"):
        open_dataset("casia-fasd", tmp_path / "a" / "train_release")


def test_domain_is_the_capture_quality(tmp_path: Path) -> None:
    rows = open_dataset("casia-fasd", build_casia(tmp_path, 1, 1)).samples("grandtest")
    assert (rows.domain == rows.quality).all() and set(rows.domain) == {"high", "standard"}
    assert rows.set_index("path").domain["train_release/1/HR_3.avi"] == "high"
