"""Simulated OULU-NPU layout: the unchanged adapter reads it, every protocol resolves at the published proportion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import ProtocolMismatchError
from antispoof.data.synthetic.layouts import LAYOUT_FILE, LayoutSettings, generate_layout, render
from antispoof.data.synthetic.layouts.oulu_npu import (
    FILE_SPECIES,
    plan_oulu,
    protocol_lists,
    share_users,
)
from antispoof.data.synthetic.species import SPECIES
from antispoof.data.video import VideoReader, read_frames
from antispoof.faces.dataset import DatasetBoxes

SETTINGS = LayoutSettings(subjects=3, frames=2, size=64, seed=3)

# (bona fide, attack) per split on the complete set: Boulkenafet et al. (FG 2017), Table 2.
PUBLISHED = {
    "Protocol_1": {"train": (240, 960), "dev": (180, 720), "test": (120, 480)},
    "Protocol_2": {"train": (360, 720), "dev": (270, 540), "test": (360, 720)},
    **{f"Protocol_3_{k}": {"train": (300, 1200), "dev": (225, 900), "test": (60, 240)} for k in range(1, 7)},
    **{f"Protocol_4_{k}": {"train": (200, 400), "dev": (150, 300), "test": (20, 40)} for k in range(1, 7)},
    "all": {"train": (360, 1440), "dev": (270, 1080), "test": (360, 1440)},  # every video of each folder
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_layout("oulu-npu", tmp_path_factory.mktemp("oulu_layout"), SETTINGS)


@pytest.fixture(scope="module")
def ds(root: Path):
    return open_dataset("oulu-npu", root)


def test_tree_has_the_official_names(root: Path) -> None:
    assert sorted(p.name for p in root.iterdir()) == ["Dev_files", "Protocols", "Test_files", "Train_files",
                                                      LAYOUT_FILE]  # fmt: skip
    prefixes = {p.name[:7] for p in (root / "Dev_files").glob("*.avi")}
    assert prefixes == {f"{phone}_{session}_21_" for phone in range(1, 7) for session in (1, 2, 3)}
    for folder, user in (("Train_files", "01"), ("Dev_files", "21"), ("Test_files", "36")):
        videos = sorted((root / folder).glob("*.avi"))
        assert len(videos) == 90 and all(v.with_suffix(".txt").is_file() for v in videos)
        assert (root / folder / f"6_3_{user}_5.avi").is_file()
    record = json.loads((root / LAYOUT_FILE).read_text())
    assert record["summary"]["videos"]["test"] == {"bonafide": 18, "attack": 72}


def test_every_protocol_resolves_with_both_labels(ds) -> None:
    assert sorted(ds.protocols()) == sorted(PUBLISHED)
    for protocol in ds.protocols():
        rows = ds.samples(protocol)
        for split in ("train", "dev", "test"):
            part = rows[rows.split == split]
            assert set(part.label) == {"bonafide", "attack"}, (protocol, split)


@pytest.mark.parametrize("protocol", sorted(PUBLISHED))
def test_bonafide_attack_proportion_is_the_published_one(ds, protocol: str) -> None:
    for split, (live, attack) in PUBLISHED[protocol].items():
        rows = ds.samples(protocol, split)
        n_live, n_attack = (rows.label == "bonafide").sum(), (rows.label == "attack").sum()
        assert n_live > 0 and n_live * attack == n_attack * live, (protocol, split, n_live, n_attack)


def test_unseen_phone_session_and_instrument_protocols_hold_out_their_factor(ds) -> None:
    p3 = ds.samples("Protocol_3_2")
    assert set(p3[p3.split == "test"].device) == {"phone2"} and "phone2" not in set(p3[p3.split == "train"].device)
    p4 = ds.samples("Protocol_4_5")
    test, train = p4[p4.split == "test"], p4[p4.split == "train"]
    assert set(test.device) == {"phone5"} and set(test.domain) == {"session3"}
    assert set(train.domain) == {"session1", "session2"}
    assert set(test.instrument) == {"", "print2", "replay2"} and set(train.instrument) == {"", "print1", "replay1"}


def test_attack_types_map_onto_the_datasets_own(ds) -> None:
    rows = ds.samples("all")
    for path, pai, instrument in zip(rows.path, rows.pai, rows.instrument):
        species = SPECIES[FILE_SPECIES[int(Path(path).stem[-1])]]
        assert species.family == pai, path
        assert instrument[:-1] in ("", pai)
    # The two printers and the two displays are different species (Protocol 2 tests an unseen one).
    assert FILE_SPECIES[2] != FILE_SPECIES[3] and FILE_SPECIES[4] != FILE_SPECIES[5]


def test_every_video_decodes_with_its_frames(root: Path, ds) -> None:
    paths = list(ds.samples("all").path)
    assert len(paths) == 270
    for rel in paths:
        with VideoReader(root / rel) as reader:
            assert reader.num_frames == SETTINGS.frames, rel
    frames = read_frames(root / paths[0], range(SETTINGS.frames))
    assert [i for i, _ in frames] == [0, 1] and frames[0][1].shape == (64, 64, 3)


def test_eye_files_give_the_rendered_face_box(ds) -> None:
    detector = DatasetBoxes()
    for video in plan_oulu(SETTINGS)[::37]:  # a few of every species and phone
        annotations = ds.face_annotations(video.path)
        assert sorted(annotations) == list(range(SETTINGS.frames))
        clip = render(video.spec, SETTINGS, modalities=("rgb",))
        for frame, want in enumerate(clip.boxes):
            (left, _), (right, _) = annotations[frame]["eyes"]
            assert left < right
            (face,) = detector.detect(clip.rgb[frame], annotations[frame])
            # box_from_eyes gives a square, the rendered face box is a little taller than wide.
            assert _iou(face.box, want) > 0.6, (video.name, frame, face.box, want)
            cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
            assert want[0] < cx < want[2] and want[1] < cy < want[3]


def _iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def test_protocol_lists_list_what_the_adapter_selects(root: Path, ds) -> None:
    folder = root / "Protocols"
    for protocol in ds.protocols():
        if protocol == "all":
            continue
        number, fold = (protocol.split("_")[1:] + [""])[:2]
        for split, stem in (("train", "Train"), ("dev", "Dev"), ("test", "Test")):
            name = f"{stem}_{fold}.txt" if fold else f"{stem}.txt"
            lines = (folder / f"Protocol_{number}" / name).read_text().split()
            listed = {line.split(",")[1]: line.split(",")[0] for line in lines}
            rows = ds.samples(protocol, split)
            assert set(listed) == {Path(p).stem for p in rows.path}, (protocol, split)
            signs = {"bonafide": "+1", "print": "-1", "replay": "-2"}
            assert all(listed[Path(p).stem] == signs[pai] for p, pai in zip(rows.path, rows.pai))


def test_a_subset_list_is_still_checked_for_the_videos_on_disk(root: Path, tmp_path: Path) -> None:
    """The lists of a reduced copy name only its users; a video on disk left out of its list is still refused."""
    for folder in ("Train_files", "Dev_files", "Test_files"):
        (tmp_path / folder).symlink_to(root / folder, target_is_directory=True)
    shutil.copytree(root / "Protocols", tmp_path / "Protocols")
    train = tmp_path / "Protocols" / "Protocol_1" / "Train.txt"
    lines = train.read_text().splitlines()
    train.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(ProtocolMismatchError, match=r"1 video\(s\) of the published set not listed"):
        open_dataset("oulu-npu", tmp_path).samples("Protocol_1")


def test_complete_user_set_gets_protocols_the_adapter_accepts(tmp_path: Path) -> None:
    """With all 55 users the lists go to Protocols/ and agree with the published rules (videos as empty files)."""
    videos = plan_oulu(LayoutSettings(subjects=55))
    assert len(videos) == 4950
    for video in videos:
        (tmp_path / video.path).parent.mkdir(exist_ok=True)
        (tmp_path / video.path).touch()
    for rel, text in protocol_lists(videos).items():
        (tmp_path / "Protocols" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "Protocols" / rel).write_text(text)
    ds = open_dataset("oulu-npu", tmp_path)
    for protocol in ("Protocol_1", "Protocol_2", "Protocol_3_1", "Protocol_4_6"):
        for split, (live, attack) in PUBLISHED[protocol].items():
            rows = ds.samples(protocol, split)
            assert ((rows.label == "bonafide").sum(), (rows.label == "attack").sum()) == (live, attack)


@pytest.mark.parametrize("subjects", range(3, 56))
def test_users_are_shared_20_15_20_with_one_per_folder(subjects: int) -> None:
    users = share_users(subjects)
    assert sum(map(len, users.values())) == subjects and all(users.values())
    assert users["train"][0] == 1 and users["dev"][0] == 21 and users["test"][0] == 36
    assert max(users["train"]) <= 20 and max(users["dev"]) <= 35 and max(users["test"]) <= 55


def test_too_many_users_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"OULU-NPU has 55 subjects .*give 3-55"):
        generate_layout("oulu-npu", tmp_path, LayoutSettings(subjects=56))
