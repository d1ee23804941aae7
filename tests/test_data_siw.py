"""SiW adapter: the three protocols' rules on a small tree with the official naming."""

from __future__ import annotations

from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import DatasetError


def build_siw(root: Path) -> Path:
    """Per split two subjects; each: 4 live, 2 print media x 2 sessions, 4 replay media x 1 session."""
    for folder, subjects in (("Train", ("003", "004")), ("Test", ("006", "007"))):
        for s in subjects:
            live = root / folder / "live" / s
            spoof = root / folder / "spoof" / s
            live.mkdir(parents=True)
            spoof.mkdir(parents=True)
            for session in range(1, 5):
                (live / f"{s}-1-1-1-{session}.mov").touch()
            for medium in (1, 2):
                for session in (1, 2):
                    (spoof / f"{s}-1-2-{medium}-{session}.mov").touch()
            for medium in range(1, 5):
                (spoof / f"{s}-2-3-{medium}-1.mov").touch()
    return root


@pytest.fixture
def siw(tmp_path: Path):
    return open_dataset("siw", build_siw(tmp_path))


def test_protocol_1_uses_everything_and_first_60_train_frames(siw) -> None:
    rows = siw.samples("Protocol_1")
    assert rows.groupby(["split", "pai"]).size().to_dict() == {
        ("test", "bonafide"): 8, ("test", "print"): 8, ("test", "replay"): 8,
        ("train", "bonafide"): 8, ("train", "print"): 8, ("train", "replay"): 8,
    }  # fmt: skip
    assert set(rows[rows.split == "train"].max_frames) == {60} and set(rows[rows.split == "test"].max_frames) == {-1}
    assert siw.samples("Protocol_1", "dev").empty


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_protocol_2_leaves_one_replay_medium_out(siw, k: int) -> None:
    rows = siw.samples(f"Protocol_2_{k}")
    train, test = rows[rows.split == "train"], rows[rows.split == "test"]
    assert "print" not in set(rows.pai)
    assert set(train[train.pai == "replay"].medium) == {1, 2, 3, 4} - {k}
    assert set(test[test.pai == "replay"].medium) == {k}
    assert (train.label == "bonafide").sum() == 8 and (test.label == "bonafide").sum() == 8
    assert len(train) == 8 + 2 * 3 and len(test) == 8 + 2


def test_protocol_3_print_and_replay_swap(siw) -> None:
    one = siw.samples("Protocol_3_1")
    assert set(one[one.split == "train"].pai) == {"bonafide", "print"}
    assert set(one[one.split == "test"].pai) == {"bonafide", "replay"}
    two = siw.samples("Protocol_3_2")
    assert set(two[two.split == "train"].pai) == {"bonafide", "replay"}
    assert set(two[two.split == "test"].pai) == {"bonafide", "print"}


def test_siw_needs_a_protocol_and_checks_names(siw, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a protocol"):
        siw.samples()
    bad = tmp_path / "Train" / "live" / "003" / "003-1-2-1-1.mov"  # a print video under live/
    bad.touch()
    with pytest.raises(DatasetError, match="do not follow SiW naming"):
        open_dataset("siw", tmp_path)


def test_domain_is_the_session_id_of_the_file_name(siw) -> None:
    rows = siw.samples("Protocol_1")
    row = rows[rows.path == "Train/spoof/003/003-1-2-2-2.mov"].iloc[0]  # Subject-Sensor-Type-Medium-Session
    assert (row.domain, row.session, row.medium) == ("session2", "2", 2)
    assert set(rows[rows.split == "train"].domain) == {"session1", "session2", "session3", "session4"}
