"""Simulated Replay-Attack tree: the unchanged adapter reads it; every protocol resolves at its published proportion."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data.replay_attack import REPLAY_PROTOCOLS
from antispoof.data.synthetic.layouts import LAYOUT_FILE, LayoutSettings, generate_layout
from antispoof.data.video import VideoReader, read_frames

SETTINGS = LayoutSettings(subjects=3, seed=1, frames=2, size=64)
# Published sizes (Idiap): real videos per group in every protocol, attack videos per protocol (all supports).
REAL = {"train": 60, "dev": 60, "test": 80}
ATTACKS = {
    "grandtest": (300, 300, 400),
    "print": (60, 60, 80),
    "mobile": (120, 120, 160),
    "highdef": (120, 120, 160),
    "photo": (180, 180, 240),
    "video": (120, 120, 160),
    "digitalphoto": (120, 120, 160),
}
SPECIES = {"print", "mobile_photo", "highdef_photo", "mobile_video", "highdef_video"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_layout("replay-attack", tmp_path_factory.mktemp("replay") / "tree", SETTINGS)


def published_ratio(protocol: str, split: str) -> Fraction:
    base, _, support = protocol.partition("-")
    attacks = dict(zip(("train", "dev", "test"), ATTACKS[base]))[split]
    return Fraction(attacks // (2 if support else 1), REAL[split])  # a support keeps half the attacks


def test_adapter_reads_the_tree_with_lists_and_summary(root: Path) -> None:
    ds = open_dataset("replay-attack", root)
    rows = ds.samples()
    assert len(rows) == 3 * 24  # 4 real + 20 attacks per client
    assert rows.groupby("split").subject.nunique().to_dict() == {"train": 1, "dev": 1, "test": 1}
    assert len(list((root / "protocols").glob("attack-*-allsupports-*.txt"))) == 7 * 3  # the adapter checks them
    summary = json.loads((root / LAYOUT_FILE).read_text())["summary"]
    assert summary["videos"]["devel"] == {"bonafide": 4, "attack": 20}


@pytest.mark.parametrize("protocol", REPLAY_PROTOCOLS)
def test_every_protocol_resolves_at_the_published_proportion(root: Path, protocol: str) -> None:
    ds = open_dataset("replay-attack", root)
    for split in ("train", "dev", "test"):
        rows = ds.samples(protocol, split)
        live, attack = (rows.label == "bonafide").sum(), (rows.label == "attack").sum()
        assert live > 0 and attack > 0, (protocol, split)
        assert Fraction(int(attack), int(live)) == published_ratio(protocol, split), (protocol, split)


def test_attack_types_and_supports_are_the_datasets_own(root: Path) -> None:
    rows = open_dataset("replay-attack", root).samples("grandtest")
    attacks = rows[rows.label == "attack"]
    assert set(attacks.pai) == SPECIES
    assert set(attacks.pai_class) == {"print", "replay"}
    assert set(attacks.support) == {"fixed", "hand"} and set(rows.light) == {"controlled", "adverse"}
    assert attacks.groupby(["pai", "support"]).size().nunique() == 1  # every species on both supports alike


def test_videos_decode_and_face_locations_fit_the_frames(root: Path) -> None:
    ds = open_dataset("replay-attack", root)
    rows = ds.samples("grandtest", "test")
    for path in rows.groupby("pai").path.first():
        with VideoReader(root / path) as video:
            assert video.num_frames == SETTINGS.frames
        frames = read_frames(root / path, range(SETTINGS.frames))
        assert [f.shape for _, f in frames] == [(SETTINGS.size, SETTINGS.size, 3)] * SETTINGS.frames
        faces = ds.face_annotations(path)
        assert sorted(faces) == list(range(SETTINGS.frames))
        for face in faces.values():
            x0, y0, x1, y1 = face["box"]
            assert x0 < x1 and y0 < y1 and 0 < (x0 + x1) / 2 < SETTINGS.size and 0 < (y0 + y1) / 2 < SETTINGS.size


def test_too_few_clients_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 3 subjects"):
        generate_layout("replay-attack", tmp_path / "tree", LayoutSettings(subjects=2, frames=1, size=32))
