"""Simulated SiW layout: the unchanged adapter reads it, every protocol resolves at the release's proportion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data.synthetic.layouts import LAYOUT_FILE, LayoutSettings, generate_layout, render
from antispoof.data.synthetic.layouts.siw import TYPE_SPECIES, plan_siw, share_subjects
from antispoof.data.synthetic.species import SPECIES
from antispoof.data.video import VideoReader, read_frames

SETTINGS = LayoutSettings(subjects=3, frames=2, size=64, seed=5)

# (bona fide, attack) videos per subject and split of a complete subject: 8 live, 4 print
# (2 media x 2 sessions, sensor 1), 16 replay (4 media x 2 sessions x 2 sensors); SiW has no dev set.
PER_SUBJECT = {
    "Protocol_1": {"train": (8, 20), "test": (8, 20)},
    **{f"Protocol_2_{k}": {"train": (8, 12), "test": (8, 4)} for k in range(1, 5)},
    "Protocol_3_1": {"train": (8, 4), "test": (8, 16)},
    "Protocol_3_2": {"train": (8, 16), "test": (8, 4)},
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_layout("siw", tmp_path_factory.mktemp("siw_layout"), SETTINGS)


@pytest.fixture(scope="module")
def ds(root: Path):
    return open_dataset("siw", root)


def test_tree_has_the_official_names(root: Path) -> None:
    assert sorted(p.name for p in root.iterdir()) == ["Test", "Train", LAYOUT_FILE]
    assert sorted(p.name for p in (root / "Train" / "live").iterdir()) == ["001", "002"]
    assert sorted(p.name for p in (root / "Test" / "spoof").iterdir()) == ["003"]
    live = sorted(p.stem for p in (root / "Train" / "live" / "001").glob("*.mov"))
    assert live == [f"001-{s}-1-{m}-{n}" for s in (1, 2) for m in (1, 2) for n in (1, 2)]
    spoof = {p.stem for p in (root / "Test" / "spoof" / "003").glob("*.mov")}
    assert len(spoof) == 20 and "003-1-2-2-2" in spoof and "003-2-3-4-1" in spoof and "003-2-2-1-1" not in spoof
    record = json.loads((root / LAYOUT_FILE).read_text())
    videos = record["summary"]["videos"]
    assert videos == {"train": {"bonafide": 16, "attack": 40}, "test": {"bonafide": 8, "attack": 20}}


def test_every_protocol_resolves_with_both_labels(ds) -> None:
    assert sorted(ds.protocols()) == sorted(PER_SUBJECT)
    for protocol in ds.protocols():
        rows = ds.samples(protocol)
        for split in ("train", "test"):
            assert set(rows[rows.split == split].label) == {"bonafide", "attack"}, (protocol, split)
        assert ds.samples(protocol, "dev").empty  # SiW defines no dev set


@pytest.mark.parametrize("protocol", sorted(PER_SUBJECT))
def test_bonafide_attack_proportion_is_the_releases(ds, protocol: str) -> None:
    for split, (live, attack) in PER_SUBJECT[protocol].items():
        rows = ds.samples(protocol, split)
        subjects = rows.subject.nunique()
        counts = ((rows.label == "bonafide").sum(), (rows.label == "attack").sum())
        assert counts == (live * subjects, attack * subjects), (protocol, split)


def test_protocols_hold_out_their_medium_and_species(ds) -> None:
    one = ds.samples("Protocol_1")
    assert set(one[one.split == "train"].max_frames) == {60}
    for k in range(1, 5):
        rows = ds.samples(f"Protocol_2_{k}")
        train, test = rows[rows.split == "train"], rows[rows.split == "test"]
        assert set(test[test.pai == "replay"].medium) == {k} and k not in set(train.medium)
    for k in (3, 4):  # the tablet and the monitor are species the training replays never show
        assert TYPE_SPECIES[3][k] not in {TYPE_SPECIES[3][m] for m in range(1, 5) if m != k}
    two = ds.samples("Protocol_3_2")
    assert set(two[two.split == "train"].pai) == {"bonafide", "replay"}
    assert set(two[two.split == "test"].pai) == {"bonafide", "print"}
    assert set(one.domain) == {"session1", "session2"} and set(one.device) == {"sensor1", "sensor2"}


def test_attack_types_map_onto_the_datasets_own(ds) -> None:
    rows = ds.samples("Protocol_1")
    for path, pai, medium in zip(rows.path, rows.pai, rows.medium):
        _, _, type_id, file_medium, _ = (int(v) for v in Path(path).stem.split("-"))
        species = SPECIES[TYPE_SPECIES[type_id][file_medium]]
        assert species.family == pai, path
        assert medium == (0 if pai == "bonafide" else file_medium)
    assert TYPE_SPECIES[2][1] != TYPE_SPECIES[2][2]  # Protocol 3 sees both print media as two species


def test_every_video_decodes_and_has_its_face_boxes(root: Path, ds) -> None:
    paths = list(ds.samples("Protocol_1").path)
    assert len(paths) == 3 * 28
    for rel in paths:
        with VideoReader(root / rel) as reader:
            assert reader.num_frames == SETTINGS.frames, rel
        lines = (root / rel).with_suffix(".face").read_text().splitlines()
        assert len(lines) == SETTINGS.frames
        for line in lines:
            x0, y0, x1, y1 = (int(v) for v in line.split(" "))
            assert x0 < x1 and y0 < y1 and x0 < 64 and y0 < 64 and x1 > 0 and y1 > 0, (rel, line)  # overlaps the frame
    frames = read_frames(root / paths[0], range(SETTINGS.frames))
    assert [i for i, _ in frames] == [0, 1] and frames[0][1].shape == (64, 64, 3)


def test_face_files_hold_the_rendered_boxes(root: Path) -> None:
    for video in plan_siw(SETTINGS)[::11]:
        clip = render(video.spec, SETTINGS, modalities=("rgb",))
        text = (root / video.path).with_suffix(".face").read_text()
        written = [tuple(int(v) for v in line.split()) for line in text.splitlines()]
        assert written == [tuple(round(v) for v in box) for box in clip.boxes], video.name


@pytest.mark.parametrize("subjects", [2, 3, 10, 100, 164, 165])
def test_subjects_are_shared_90_75_with_one_per_folder(subjects: int) -> None:
    shared = share_subjects(subjects)
    assert shared["Train"] and shared["Test"] and shared["Train"] + shared["Test"] == list(range(1, subjects + 1))
    if subjects == 165:
        assert (len(shared["Train"]), len(shared["Test"])) == (90, 75)


def test_too_many_subjects_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SiW has 165 subjects"):
        generate_layout("siw", tmp_path, LayoutSettings(subjects=166))


def test_the_adapter_reads_the_face_files_and_prepare_crops_on_them(root: Path, ds, tmp_path: Path) -> None:
    """``--detector dataset`` reads the .face boxes (frame k: line k), so prepare needs no detector."""
    from antispoof.data.prepare import prepare_store
    from antispoof.data.store import FrameStore

    rel = ds.samples("Protocol_1").path.iloc[0]
    boxes = ds.face_annotations(rel)
    lines = (root / rel).with_suffix(".face").read_text().splitlines()
    assert boxes == {k: {"box": tuple(float(v) for v in line.split())} for k, line in enumerate(lines)}
    report = prepare_store(ds, tmp_path / "store", dataset="siw", protocol="Protocol_3_1", detector="dataset", size=32,
                           min_face=8, progress=False)
    index = FrameStore(tmp_path / "store").index
    assert report.frames > 0 and (index["failure"] == "").all()
