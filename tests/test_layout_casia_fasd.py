"""Simulated CASIA-FASD tree: the unchanged adapter reads it, every protocol resolves at the published proportions."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data.casia_fasd import CASIA_FASD_PROTOCOLS
from antispoof.data.synthetic.layouts import LAYOUT_FILE, LayoutSettings, generate_layout
from antispoof.data.video import VideoReader, read_frames

SETTINGS = LayoutSettings(subjects=2, seed=1, frames=2, size=64)
# Published sizes (bona fide, attack) per split; the dataset has no dev set.
PUBLISHED = {
    "grandtest": {"train": (60, 180), "test": (90, 270)},
    "warped": {"train": (60, 60), "test": (90, 90)},
    "cut": {"train": (60, 60), "test": (90, 90)},
    "video": {"train": (60, 60), "test": (90, 90)},
    "high": {"train": (20, 60), "test": (30, 90)},
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_layout("casia-fasd", tmp_path_factory.mktemp("casia") / "tree", SETTINGS)


def test_adapter_reads_the_tree(root: Path) -> None:
    rows = open_dataset("casia-fasd", root).samples()
    assert len(rows) == 2 * 12
    assert sorted(rows.path)[:2] == ["test_release/1/1.avi", "test_release/1/2.avi"]
    assert rows.groupby("split").subject.unique().map(list).to_dict() == {"test": ["21"], "train": ["1"]}
    summary = json.loads((root / LAYOUT_FILE).read_text())["summary"]
    assert summary["videos"]["train_release"] == {"bonafide": 3, "warped_print": 3, "cut_print": 3, "replay": 3}


@pytest.mark.parametrize("protocol", CASIA_FASD_PROTOCOLS)
def test_every_protocol_resolves_at_the_published_proportion(root: Path, protocol: str) -> None:
    ds = open_dataset("casia-fasd", root)
    assert ds.samples(protocol, "dev").empty  # as in the real dataset
    for split, (live, attack) in PUBLISHED[protocol].items():
        rows = ds.samples(protocol, split)
        ours = (int((rows.label == "bonafide").sum()), int((rows.label == "attack").sum()))
        assert min(ours) > 0, (protocol, split)
        assert Fraction(ours[1], ours[0]) == Fraction(attack, live), (protocol, split)


def test_attack_types_and_qualities_are_the_datasets_own(root: Path) -> None:
    rows = open_dataset("casia-fasd", root).samples()
    pai = dict(zip(rows.path, rows.pai))
    assert {pai[f"train_release/1/{v}.avi"] for v in ("3", "4", "HR_2")} == {"warped_print"}
    assert {pai[f"train_release/1/{v}.avi"] for v in ("5", "6", "HR_3")} == {"cut_print"}
    assert {pai[f"test_release/1/{v}.avi"] for v in ("7", "8", "HR_4")} == {"replay"}
    assert set(rows.pai_class) == {"bonafide", "print", "replay"}
    assert rows.groupby("quality").size().to_dict() == {"high": 8, "standard": 16}


def test_videos_decode(root: Path) -> None:
    for name in ("1", "4", "HR_3", "HR_4"):
        with VideoReader(root / "train_release" / "1" / f"{name}.avi") as video:
            assert video.num_frames == SETTINGS.frames
        frames = read_frames(root / "train_release" / "1" / f"{name}.avi", range(SETTINGS.frames))
        assert [f.shape for _, f in frames] == [(SETTINGS.size, SETTINGS.size, 3)] * SETTINGS.frames


@pytest.mark.parametrize("subjects", [1, 51])
def test_subject_count_outside_the_dataset_is_refused(tmp_path: Path, subjects: int) -> None:
    with pytest.raises(ValueError, match="subjects"):
        generate_layout("casia-fasd", tmp_path / "tree", LayoutSettings(subjects=subjects, frames=1, size=32))


@pytest.mark.parametrize("n", [2, 3, 7, 20, 49, 50])
def test_subjects_are_dealt_in_the_published_proportion_at_least_one_each(n: int) -> None:
    """The one dealing every layout uses (antispoof.data.synthetic.layouts.share), on CASIA-FASD's 20 : 30."""
    from antispoof.data.synthetic.layouts import share

    counts = share(n, {"train_release": 20, "test_release": 30}, "CASIA-FASD")
    assert sum(counts.values()) == n and min(counts.values()) >= 1
    assert counts["train_release"] <= 20 and counts["test_release"] <= 30
    assert abs(counts["train_release"] - n * 20 / 50) < 1 or min(counts.values()) == 1
