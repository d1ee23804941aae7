"""Simulated MSU-MFSD tree: the unchanged adapter reads it, its protocol resolves at the published proportion."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data.msu_mfsd import MSU_TEST_SUBJECTS, MSU_TRAIN_SUBJECTS
from antispoof.data.synthetic.layouts import LAYOUT_FILE, LayoutSettings, generate_layout
from antispoof.data.video import VideoReader, read_frames

SETTINGS = LayoutSettings(subjects=2, seed=1, frames=2, size=64)
PUBLISHED = {"grandtest": {"train": (30, 90), "test": (40, 120)}}  # (bona fide, attack); no dev set


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_layout("msu-mfsd", tmp_path_factory.mktemp("msu") / "tree", SETTINGS)


def test_adapter_reads_the_tree_with_the_official_lists(root: Path) -> None:
    ds = open_dataset("msu-mfsd", root)
    rows = ds.samples()
    assert len(rows) == 2 * 8
    assert rows.groupby("split").subject.unique().map(list).to_dict() == {"test": ["001"], "train": ["002"]}
    assert (root / "train_sub_list.txt").read_text().split() == list(MSU_TRAIN_SUBJECTS)  # the adapter checks them
    assert (root / "test_sub_list.txt").read_text().split() == list(MSU_TEST_SUBJECTS)
    assert json.loads((root / LAYOUT_FILE).read_text())["summary"]["videos"]["test"] == {"bonafide": 2, "attack": 6}


@pytest.mark.parametrize("protocol", sorted(PUBLISHED))
def test_every_protocol_resolves_at_the_published_proportion(root: Path, protocol: str) -> None:
    ds = open_dataset("msu-mfsd", root)
    assert ds.protocols() == list(PUBLISHED)
    assert ds.samples(protocol, "dev").empty  # as in the real dataset
    for split, (live, attack) in PUBLISHED[protocol].items():
        rows = ds.samples(protocol, split)
        ours = (int((rows.label == "bonafide").sum()), int((rows.label == "attack").sum()))
        assert min(ours) > 0, (protocol, split)
        assert Fraction(ours[1], ours[0]) == Fraction(attack, live), (protocol, split)


def test_attack_types_and_devices_are_the_datasets_own(root: Path) -> None:
    rows = open_dataset("msu-mfsd", root).samples()
    assert set(rows.pai) == {"bonafide", "printed_photo", "ipad_video", "iphone_video"}
    assert set(rows.pai_class) == {"bonafide", "print", "replay"}
    assert rows.groupby(["device", "label"]).size().to_dict() == {
        ("android", "attack"): 6, ("android", "bonafide"): 2, ("laptop", "attack"): 6, ("laptop", "bonafide"): 2
    }
    assert {Path(p).suffix for p in rows[rows.device == "laptop"].path} == {".mov"}
    assert {Path(p).suffix for p in rows[rows.device == "android"].path} == {".mp4"}


def test_videos_decode(root: Path) -> None:
    rows = open_dataset("msu-mfsd", root).samples(split="train")
    for path in rows.groupby(["pai", "device"]).path.first():
        with VideoReader(root / path) as video:
            assert video.num_frames == SETTINGS.frames
        frames = read_frames(root / path, range(SETTINGS.frames))
        assert [f.shape for _, f in frames] == [(SETTINGS.size, SETTINGS.size, 3)] * SETTINGS.frames


@pytest.mark.parametrize("subjects", [1, 36])
def test_subject_count_outside_the_dataset_is_refused(tmp_path: Path, subjects: int) -> None:
    with pytest.raises(ValueError, match="subjects"):
        generate_layout("msu-mfsd", tmp_path / "tree", LayoutSettings(subjects=subjects, frames=1, size=32))
