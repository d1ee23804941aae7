"""OULU-NPU adapter: protocol sizes against the published counts, protocol files, eye positions, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import DatasetError, ProtocolMismatchError

FOLDERS = (("Train_files", range(1, 21)), ("Dev_files", range(21, 36)), ("Test_files", range(36, 56)))


def build_oulu(root: Path, users_per_folder: int | None = None) -> Path:
    for folder, users in FOLDERS:
        (root / folder).mkdir(parents=True)
        for user in list(users)[:users_per_folder]:
            for phone in range(1, 7):
                for session in range(1, 4):
                    for file in range(1, 6):
                        (root / folder / f"{phone}_{session}_{user:02d}_{file}.avi").touch()
    return root


@pytest.fixture(scope="module")
def oulu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_oulu(tmp_path_factory.mktemp("oulu"))


@pytest.fixture
def oulu_scratch(oulu: Path):
    """The shared complete tree, restored after the test (Protocols/ removed, deleted videos re-created)."""
    yield oulu
    shutil.rmtree(oulu / "Protocols", ignore_errors=True)
    for folder, users in FOLDERS:
        for user in users:
            for phone in range(1, 7):
                for session in range(1, 4):
                    for file in range(1, 6):
                        (oulu / folder / f"{phone}_{session}_{user:02d}_{file}.avi").touch()


# (bona fide, attack) per split, from Boulkenafet et al. (FG 2017), Table 2.
PUBLISHED = {
    "Protocol_1": {"train": (240, 960), "dev": (180, 720), "test": (120, 480)},
    "Protocol_2": {"train": (360, 720), "dev": (270, 540), "test": (360, 720)},
    **{f"Protocol_3_{k}": {"train": (300, 1200), "dev": (225, 900), "test": (60, 240)} for k in range(1, 7)},
    **{f"Protocol_4_{k}": {"train": (200, 400), "dev": (150, 300), "test": (20, 40)} for k in range(1, 7)},
}


@pytest.mark.parametrize("protocol", sorted(PUBLISHED))
def test_split_sizes_match_published_counts(oulu: Path, protocol: str) -> None:
    ds = open_dataset("oulu-npu", oulu)
    for split, (live, attack) in PUBLISHED[protocol].items():
        rows = ds.samples(protocol, split)
        assert (rows.label == "bonafide").sum() == live, (protocol, split)
        assert (rows.label == "attack").sum() == attack, (protocol, split)
        assert set(rows.split) == {split}
        assert rows.path.is_unique


def test_rules_of_each_protocol(oulu: Path) -> None:
    ds = open_dataset("oulu-npu", oulu)

    def parts(frame):  # (phone, session, user, file) of every row
        return [tuple(int(v) for v in Path(p).stem.split("_")) for p in frame.path]

    p1 = ds.samples("Protocol_1")
    assert {s for _, s, _, _ in parts(p1[p1.split == "test"])} == {3}
    assert {s for _, s, _, _ in parts(p1[p1.split != "test"])} == {1, 2}
    p2 = ds.samples("Protocol_2")
    assert {f for *_, f in parts(p2[p2.split == "test"])} == {1, 3, 5}
    assert {f for *_, f in parts(p2[p2.split == "train"])} == {1, 2, 4}
    p3 = ds.samples("Protocol_3_4")
    assert {p for p, *_ in parts(p3[p3.split == "test"])} == {4}
    assert {p for p, *_ in parts(p3[p3.split == "dev"])} == {1, 2, 3, 5, 6}
    p4 = ds.samples("Protocol_4_2", "test")
    assert {(p, s) for p, s, _, _ in parts(p4)} == {(2, 3)} and {f for *_, f in parts(p4)} == {1, 3, 5}
    users = {u for _, _, u, _ in parts(ds.samples("Protocol_1", "dev"))}
    assert users == set(range(21, 36))


def test_labels_species_and_columns(oulu: Path) -> None:
    rows = open_dataset("oulu-npu", oulu).samples("Protocol_1", "train")
    by_file = {Path(p).stem[-1]: (lab, pai) for p, lab, pai in zip(rows.path, rows.label, rows.pai)}
    assert by_file == {
        "1": ("bonafide", "bonafide"),
        "2": ("attack", "print"),
        "3": ("attack", "print"),
        "4": ("attack", "replay"),
        "5": ("attack", "replay"),
    }
    first = rows.iloc[0]
    assert first.path == "Train_files/1_1_01_1.avi" and first.subject == "01" and first.frame == -1
    assert list(rows.columns[:9]) == ["path", "label", "pai", "subject", "session", "video", "frame", "domain", "split"]


def _write_protocol(root: Path, name: str, lines: dict[str, list[str]]) -> None:
    folder = root / "Protocols" / name
    folder.mkdir(parents=True, exist_ok=True)
    for stem, content in lines.items():
        (folder / f"{stem}.txt").write_text("\n".join(content) + "\n")


def _protocol_1_lines() -> dict[str, list[str]]:
    """Protocol_1 written out independently from the published definition."""
    sign = {1: "+1", 2: "-1", 3: "-1", 4: "-2", 5: "-2"}
    out: dict[str, list[str]] = {"Train": [], "Dev": [], "Test": []}
    for stem, users, sessions in (("Train", range(1, 21), (1, 2)), ("Dev", range(21, 36), (1, 2)), ("Test", range(36, 56), (3,))):
        for phone in range(1, 7):
            for session in sessions:
                for user in users:
                    for file in range(1, 6):
                        out[stem].append(f"{sign[file]},{phone}_{session}_{user:02d}_{file}")
    return out


def test_protocol_files_that_agree_are_accepted(oulu_scratch: Path) -> None:
    root = oulu_scratch
    _write_protocol(root, "Protocol_1", _protocol_1_lines())
    assert len(open_dataset("oulu-npu", root).samples("Protocol_1", "test")) == 600


def test_protocol_file_that_disagrees_fails_clearly(oulu_scratch: Path) -> None:
    root = oulu_scratch
    lines = _protocol_1_lines()
    lines["Test"].append("+1,1_1_36_1")  # session 1 is not part of the Protocol_1 test set
    _write_protocol(root, "Protocol_1", lines)
    with pytest.raises(ProtocolMismatchError, match=r"not in the published Protocol_1 test set: 1_1_36_1"):
        open_dataset("oulu-npu", root).samples("Protocol_1")


def test_protocol_file_with_wrong_label_fails(oulu_scratch: Path) -> None:
    root = oulu_scratch
    lines = _protocol_1_lines()
    lines["Train"] = [line.replace("+1,1_1_01_1", "-1,1_1_01_1") for line in lines["Train"]]
    _write_protocol(root, "Protocol_1", lines)
    with pytest.raises(ProtocolMismatchError, match="label"):
        open_dataset("oulu-npu", root).samples("Protocol_1")


def test_listed_video_missing_on_disk_is_listed(oulu_scratch: Path) -> None:
    root = oulu_scratch
    _write_protocol(root, "Protocol_1", _protocol_1_lines())
    for name in ("1_3_36_1.avi", "2_3_40_2.avi"):
        (root / "Test_files" / name).unlink()
    with pytest.raises(FileNotFoundError, match=r"2 file\(s\).*Test_files/1_3_36_1.avi, Test_files/2_3_40_2.avi"):
        open_dataset("oulu-npu", root).samples("Protocol_1")


def test_incomplete_copy_is_reported_not_silent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = build_oulu(tmp_path / "oulu", users_per_folder=1)
    rows = open_dataset("oulu-npu", root).samples("Protocol_1", "train")
    assert len(rows) == 6 * 2 * 5  # one user: 6 phones x sessions 1, 2 x 5 files
    assert "lacks" in caplog.text and "video(s) of the complete dataset" in caplog.text


def test_eye_positions(tmp_path: Path) -> None:
    root = build_oulu(tmp_path / "oulu", users_per_folder=1)
    (root / "Train_files" / "1_1_01_1.txt").write_text("0, 574, 880, 740, 885\n1, 575, 881, 741, 886\n")
    ds = open_dataset("oulu-npu", root)
    eyes = ds.face_annotations("Train_files/1_1_01_1.avi")
    assert eyes == {0: {"eyes": ((574, 880), (740, 885))}, 1: {"eyes": ((575, 881), (741, 886))}}
    assert ds.face_annotations("Train_files/1_1_01_2.avi") is None
    (root / "Train_files" / "1_1_01_1.txt").write_text("0, 574, 880, 740, 885\n\n2, 575, 881\n")
    with pytest.raises(DatasetError, match=r"1_1_01_1.txt line 3: expected 'frame, x, y, x, y'; found '2, 575, 881'"):
        ds.face_annotations("Train_files/1_1_01_1.avi")


def test_wrong_root_says_what_was_expected_and_found(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "readme.txt").touch()
    with pytest.raises(DatasetError, match=r"expected Train_files/.*found readme.txt, videos/"):
        open_dataset("oulu-npu", tmp_path)


def test_user_in_wrong_folder_and_bad_names_fail(tmp_path: Path) -> None:
    (tmp_path / "Train_files").mkdir()
    (tmp_path / "Train_files" / "1_1_40_1.avi").touch()
    with pytest.raises(DatasetError, match="belongs to Test_files"):
        open_dataset("oulu-npu", tmp_path)
    (tmp_path / "Train_files" / "1_1_40_1.avi").unlink()
    (tmp_path / "Train_files" / "7_1_01_1.avi").touch()
    with pytest.raises(DatasetError, match="do not follow OULU-NPU naming"):
        open_dataset("oulu-npu", tmp_path)


@pytest.mark.parametrize("protocol, sessions", [("Protocol_1", 2), ("Protocol_2", 3), ("Protocol_3_1", 3), ("Protocol_4_1", 2)])
def test_domain_is_the_capture_session(oulu: Path, protocol: str, sessions: int) -> None:
    """PDLE (seed 003, Sec. 3.2): "For the domain labels on the intra-dataset, we used the number of sessions in each protocol"."""
    train = open_dataset("oulu-npu", oulu).samples(protocol, "train")
    assert (train.domain == "session" + train.session).all()
    assert train.domain.nunique() == sessions
    row = train[train.path == "Train_files/2_1_01_1.avi"].iloc[0]
    assert (row.domain, row.device) == ("session1", "phone2")  # Phone_Session_User_File: phone 2, session 1
