"""Replay-Attack adapter: protocol sizes against the published counts, list files, face locations, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import DatasetError, ProtocolMismatchError

CLIENTS = {"train": range(1, 16), "devel": range(16, 31), "test": range(101, 121)}
ATTACKS = [("print", "highdef", "photo"), ("mobile", "mobile", "photo"), ("highdef", "highdef", "photo"),
           ("mobile", "mobile", "video"), ("highdef", "highdef", "video")]  # fmt: skip


def build_replay(root: Path) -> Path:
    for group, clients in CLIENTS.items():
        for sub in ("real", "attack/fixed", "attack/hand"):
            (root / group / sub).mkdir(parents=True)
        for c in clients:
            for light in ("controlled", "adverse"):
                for take in (1, 2):
                    (root / group / "real" / f"client{c:03d}_session01_webcam_authenticate_{light}_{take}.mov").touch()
                for support in ("fixed", "hand"):
                    for instrument, device, kind in ATTACKS:
                        name = f"attack_{instrument}_client{c:03d}_session01_{device}_{kind}_{light}.mov"
                        (root / group / "attack" / support / name).touch()
    (root / "enroll").mkdir()
    (root / "enroll" / "client001_session01_webcam_enroll_controlled.mov").touch()
    return root


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_replay(tmp_path_factory.mktemp("replay"))


# Attack videos per split (train, dev, test); every protocol has 60 / 60 / 80 real videos.
PUBLISHED = {
    "grandtest": (300, 300, 400),
    "print": (60, 60, 80),
    "mobile": (120, 120, 160),
    "highdef": (120, 120, 160),
    "photo": (180, 180, 240),
    "video": (120, 120, 160),
    "digitalphoto": (120, 120, 160),
}


@pytest.mark.parametrize("protocol", sorted(PUBLISHED))
def test_split_sizes_match_published_counts(replay: Path, protocol: str) -> None:
    ds = open_dataset("replay-attack", replay)
    for split, live, attack in zip(("train", "dev", "test"), (60, 60, 80), PUBLISHED[protocol]):
        rows = ds.samples(protocol, split)
        assert ((rows.label == "bonafide").sum(), (rows.label == "attack").sum()) == (live, attack), (protocol, split)


def test_species_support_and_default_protocol(replay: Path) -> None:
    ds = open_dataset("replay-attack", replay)
    rows = ds.samples(split="train")  # grandtest by default
    assert sorted(set(rows.pai)) == ["bonafide", "highdef_photo", "highdef_video", "mobile_photo", "mobile_video", "print"]
    assert (rows.pai == "print").sum() == 60
    row = rows[rows.path == "train/attack/hand/attack_print_client001_session01_highdef_photo_adverse.mov"].iloc[0]
    assert (row.label, row.pai, row.subject, row.support, row.light, row.pai_class) == (
        "attack", "print", "001", "hand", "adverse", "print"
    )
    assert len(ds.samples("grandtest-fixed", "test")) == 80 + 200
    assert not any(p.startswith("enroll") for p in ds.samples().path)


def test_face_locations(replay: Path) -> None:
    ds = open_dataset("replay-attack", replay)
    path = "train/real/client001_session01_webcam_authenticate_adverse_1.mov"
    face = replay / "face-locations" / "train" / "real" / "client001_session01_webcam_authenticate_adverse_1.face"
    face.parent.mkdir(parents=True)
    face.write_text("0 10 20 100 120\n1 0 0 0 0\n2 11 21 100 120\n")
    assert ds.face_annotations(path) == {0: {"box": (10, 20, 110, 140)}, 2: {"box": (11, 21, 111, 141)}}
    assert ds.face_annotations("train/real/client002_session01_webcam_authenticate_adverse_1.mov") is None


def test_protocol_lists_are_checked(tmp_path: Path) -> None:
    root = build_replay(tmp_path / "replay")
    ds = open_dataset("replay-attack", root)
    lists = root / "protocols"
    lists.mkdir()
    for group, split in (("train", "train"), ("devel", "dev"), ("test", "test")):
        rows = ds.samples("print", split)
        (lists / f"attack-print-allsupports-{group}.txt").write_text("\n".join(rows[rows.label == "attack"].path))
        (lists / f"real-{group}.txt").write_text("\n".join(rows[rows.label == "bonafide"].path))
    assert len(open_dataset("replay-attack", root).samples("print", "test")) == 160
    extra = "test/attack/fixed/attack_mobile_client101_session01_mobile_photo_adverse.mov"
    with (lists / "attack-print-allsupports-test.txt").open("a") as handle:
        handle.write("\n" + extra)
    with pytest.raises(ProtocolMismatchError, match="listed but not selected: 1"):
        open_dataset("replay-attack", root).samples("print", "test")
    (lists / "attack-print-allsupports-test.txt").write_text("../../etc/passwd\n")
    with pytest.raises(DatasetError, match="refused"):
        open_dataset("replay-attack", root).samples("print")


def test_incomplete_copy_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = build_replay(tmp_path / "replay")
    (root / "test/attack/hand/attack_print_client101_session01_highdef_photo_adverse.mov").unlink()
    for name in (root / "devel" / "real").glob("client016_*"):
        name.unlink()
    assert len(open_dataset("replay-attack", root).samples(split="test")) == 479
    assert "lacks 5 video(s)" in caplog.text and "attack_print_client101" in caplog.text
    caplog.clear()
    build_replay(tmp_path / "complete")
    open_dataset("replay-attack", tmp_path / "complete")
    assert "lacks" not in caplog.text


def test_bad_names_and_wrong_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"expected train/, devel/ and test/"):
        open_dataset("replay-attack", tmp_path)
    (tmp_path / "train" / "real").mkdir(parents=True)
    (tmp_path / "train" / "real" / "client1.mov").touch()
    with pytest.raises(DatasetError, match="do not follow Replay-Attack naming"):
        open_dataset("replay-attack", tmp_path)


def test_domain_is_the_lighting_of_the_file_name(replay: Path) -> None:
    rows = open_dataset("replay-attack", replay).samples("grandtest", "train")
    assert set(rows.domain) == {"controlled", "adverse"} and (rows.domain == rows.light).all()
    row = rows[rows.path == "train/real/client001_session01_webcam_authenticate_adverse_1.mov"].iloc[0]
    assert row.domain == "adverse"
