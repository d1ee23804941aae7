"""The generic manifest CSV and the plain folder layout: reading, defaults, protocols, refusals."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import DatasetError, UnsafePathError, safe_relpath
from antispoof.data.base import MANIFEST_COLUMNS

HEADER = "path,label,pai,subject,session,video,frame,domain,split,ir_path,box_x0,box_y0,box_x1,box_y1,moire,split_fold1\n"


def build_manifest(root: Path, rows: str | None = None) -> Path:
    rows = rows if rows is not None else (
        "v1/0.png,bonafide,bonafide,s1,1,v1,0,studio,train,v1/0_ir.png,1,2,30,40,0,train\n"
        "v1/1.png,bonafide,bonafide,s1,1,v1,1,studio,train,v1/1_ir.png,2,3,31,41,,dev\n"
        "v2/0.png,attack,print,s2,1,v2,0,studio,dev,v2/0_ir.png,,,,,1,\n"
        "v3/0.png,attack,replay,s3,1,v3,0,office,test,v3/0_ir.png,5,5,20,20,1,test\n"
    )
    (root / "manifest.csv").parent.mkdir(parents=True, exist_ok=True)
    (root / "manifest.csv").write_text(HEADER + rows)
    for line in rows.strip().splitlines():
        fields = line.split(",")
        for rel in (fields[0], fields[9]):
            if rel:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).touch()
    return root


def test_manifest_reads_columns_and_splits(tmp_path: Path) -> None:
    ds = open_dataset("manifest", build_manifest(tmp_path))
    rows = ds.samples()
    assert list(rows.columns[: len(MANIFEST_COLUMNS)]) == list(MANIFEST_COLUMNS)
    assert rows.frame.tolist() == [0, 1, 0, 0] and rows.frame.dtype.kind == "i"
    assert ds.samples(split="train").path.tolist() == ["v1/0.png", "v1/1.png"]
    assert ds.samples(split="test").iloc[0].pai == "replay"
    assert rows.moire.tolist()[:1] == [0.0] and math.isnan(rows.moire[1])
    assert ds.protocols() == ["default", "fold1"]
    fold = ds.samples("fold1")
    assert fold.groupby("split").size().to_dict() == {"train": 1, "dev": 1, "test": 1}
    assert "split_fold1" not in fold.columns


def test_manifest_derives_pai_class_from_species_names(tmp_path: Path) -> None:
    names = ["bonafide", "print_flat", "replay_phone", "mask_rigid", "makeup"]
    for i in range(len(names)):
        (tmp_path / f"{i}.jpg").touch()
    rows = "".join(f"{i}.jpg,{'bonafide' if n == 'bonafide' else 'attack'},{n}\n" for i, n in enumerate(names))
    (tmp_path / "manifest.csv").write_text("path,label,pai\n" + rows)
    frame = open_dataset("manifest", tmp_path).samples()
    assert frame.pai_class.tolist() == ["bonafide", "print", "replay", "mask", "other"]


def test_manifest_csv_path_and_boxes(tmp_path: Path) -> None:
    root = build_manifest(tmp_path / "data")
    csv = root / "manifest.csv"
    other = root / "mine.csv"
    other.write_text(csv.read_text())
    ds = open_dataset("manifest", other)
    assert len(ds.samples()) == 4
    assert ds.face_annotations("v1/1.png") == {1: {"box": (2.0, 3.0, 31.0, 41.0)}}
    assert ds.face_annotations("v2/0.png") is None


def test_minimal_manifest_gets_defaults(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").touch()
    (tmp_path / "b.jpg").touch()
    (tmp_path / "manifest.csv").write_text("path,label,pai\na.jpg,bonafide,\nb.jpg,attack,print\n")
    rows = open_dataset("manifest", tmp_path).samples()
    assert rows.pai.tolist() == ["bonafide", "print"] and rows.frame.tolist() == [-1, -1]
    assert rows.video.tolist() == ["a", "b"] and rows.split.tolist() == ["", ""]
    with pytest.raises(DatasetError, match="assigns no split"):
        open_dataset("manifest", tmp_path).samples(split="train")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("../../etc/passwd,bonafide,bonafide,s,1,v,0,d,train,,,,,,,\n", "refused"),
        ("/etc/passwd,bonafide,bonafide,s,1,v,0,d,train,,,,,,,\n", "absolute path"),
        ("v1/0.png,live,bonafide,s,1,v,0,d,train,,,,,,,\n", "label must be bonafide or attack"),
        ("v1/0.png,attack,,s,1,v,0,d,train,,,,,,,\n", "need their species"),
        ("v1/0.png,bonafide,bonafide,s,1,v,0,d,validation,,,,,,,\n", "split must be one of"),
        ("v1/0.png,bonafide,bonafide,s,1,v,x,d,train,,,,,,,\n", "frame must be an integer"),
        ("v1/0.png,bonafide,bonafide,s,1,v,0,d,train,../ir.png,,,,,,\n", "refused"),
        ("v1/0.png,bonafide,bonafide,s,1,v,0,d,train,,,,,,2,\n", "must be 0, 1 or empty"),
    ],
)
def test_manifest_refusals(tmp_path: Path, row: str, message: str) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "0.png").touch()
    (tmp_path / "manifest.csv").write_text(HEADER + row)
    with pytest.raises(DatasetError, match=message):
        open_dataset("manifest", tmp_path)


def test_manifest_missing_files_listed_first_few_and_count(tmp_path: Path) -> None:
    rows = "".join(f"m/{i}.png,bonafide,bonafide,s,1,v,{i},d,train,,,,,,,\n" for i in range(8))
    (tmp_path / "manifest.csv").write_text(HEADER + rows)
    with pytest.raises(FileNotFoundError, match=r"8 file\(s\).*m/0.png, m/1.png, m/2.png, m/3.png, m/4.png \.\.\. and 3 more"):
        open_dataset("manifest", tmp_path)


def test_manifest_root_errors(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("x\n")
    with pytest.raises(DatasetError, match=r"expected manifest.csv.*other.csv"):
        open_dataset("manifest", tmp_path)
    with pytest.raises(DatasetError, match=r"lacks the required column\(s\) path, label; found columns: x"):
        open_dataset("manifest", tmp_path / "other.csv")
    with pytest.raises(FileNotFoundError):
        open_dataset("manifest", tmp_path / "absent")


@pytest.mark.parametrize("bad", ["../a", "a/../../b", "/abs", "C:\\x", "", "./.."])
def test_safe_relpath_refuses(bad: str) -> None:
    with pytest.raises(UnsafePathError):
        safe_relpath(bad)


def test_safe_relpath_normalises() -> None:
    assert safe_relpath("./a\\b//c.png") == "a/b/c.png"


def _touch(root: Path, *rels: str) -> None:
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).touch()


def test_folder_flat_layout(tmp_path: Path) -> None:
    _touch(tmp_path, "bonafide/a.jpg", "bonafide/alice/b.png", "attack/print/c.jpg", "attack/replay/bob/d.mp4", "bonafide/notes.txt")
    rows = open_dataset("folder", tmp_path).samples()
    assert rows.path.tolist() == ["bonafide/a.jpg", "bonafide/alice/b.png", "attack/print/c.jpg", "attack/replay/bob/d.mp4"]
    assert rows.pai.tolist() == ["bonafide", "bonafide", "print", "replay"]
    assert rows.subject.tolist() == ["", "alice", "", "bob"]
    assert set(rows.split) == {"test"}


def test_folder_split_layout(tmp_path: Path) -> None:
    _touch(tmp_path, "train/bonafide/a.jpg", "train/attack/mask/b.jpg", "dev/bonafide/c.jpg", "test/attack/print/d.jpg")
    ds = open_dataset("folder", tmp_path)
    assert ds.samples(split="train").pai.tolist() == ["bonafide", "mask"]
    assert ds.samples(split="dev").path.tolist() == ["dev/bonafide/c.jpg"]
    assert ds.samples(split="test").label.tolist() == ["attack"]


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="expected bonafide/ and attack/<species>/"):
        open_dataset("folder", tmp_path)
    _touch(tmp_path, "attack/x.jpg")
    with pytest.raises(DatasetError, match="directly in attack/"):
        open_dataset("folder", tmp_path)
    _touch(tmp_path, "train/bonafide/a.jpg")
    with pytest.raises(DatasetError, match="mixes a split layout"):
        open_dataset("folder", tmp_path)
