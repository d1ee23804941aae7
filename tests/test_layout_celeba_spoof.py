"""Simulated CelebA-Spoof tree: the unchanged adapter reads it, its protocols resolve, boxes and types hold."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from antispoof.data import open_dataset
from antispoof.data.celeba_spoof import SPOOF_TYPES
from antispoof.data.synthetic.layouts import LAYOUT_FILE, LayoutSettings, generate_layout
from antispoof.data.synthetic.layouts.celeba_spoof import (
    COUNTERPART,
    PROTOCOL1_TEST,
    SENSOR_GROUPS,
    SPOOF_PER_LIVE,
    SPOOF_SPECIES,
    _plan,
)
from antispoof.data.synthetic.species import SPECIES

SETTINGS = LayoutSettings(subjects=4, frames=1, size=64, seed=5)


@pytest.fixture(scope="module")
def celeba(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_layout("celeba-spoof", tmp_path_factory.mktemp("celeba") / "CelebA_Spoof", SETTINGS)


def test_every_protocol_resolves_with_both_labels_per_split(celeba: Path) -> None:
    ds = open_dataset("celeba-spoof", celeba)
    assert ds.protocols() == ["intra_test", "protocol1", *(f"protocol2/test_on_{g}_quality_device" for g in ("high", "low", "middle"))]
    for protocol in ds.protocols():
        for split in ("train", "test"):
            assert set(ds.samples(protocol, split).label) == {"bonafide", "attack"}, (protocol, split)
        assert ds.samples(protocol, "dev").empty  # CelebA-Spoof has no dev set
    test = ds.samples("protocol1", "test")
    assert set(test[test.label == "attack"].pai) == {SPOOF_TYPES[k][0] for k in PROTOCOL1_TEST}
    train = ds.samples("protocol1", "train")
    assert not set(train.pai) & {SPOOF_TYPES[k][0] for k in (*PROTOCOL1_TEST, 10)}


def test_protocol2_files_are_written_where_the_release_keeps_them(celeba: Path) -> None:
    """metas/protocol2/test_on_<q>_quality_device/, one level deeper than the other protocols, as the release keeps them."""
    summary = json.loads((celeba / LAYOUT_FILE).read_text())["summary"]["images"]
    for group in SENSOR_GROUPS:
        name = f"protocol2/test_on_{group}_quality_device"
        for split in ("train", "test"):
            labels = json.loads((celeba / "metas" / name / f"{split}_label.json").read_text())
            assert {v[43] for v in labels.values()} == {0, 1}, (name, split)
            assert summary[name][split] == {"bonafide": sum(v[43] == 0 for v in labels.values()),
                                            "attack": sum(v[43] == 1 for v in labels.values())}
    spoofs = [item for item in _plan(SETTINGS) if item["spoof"]]
    for item in spoofs:
        assert item["spec"].domain in SENSOR_GROUPS[item["group"]]


def test_live_to_spoof_is_the_published_one_to_three(celeba: Path) -> None:
    """Zhang et al. 2020, Table 1: 156,384 live and 469,153 spoof images (1 : 3.0), per split here."""
    rows = open_dataset("celeba-spoof", celeba).samples("intra_test")
    for split in ("train", "test"):
        share = (rows[rows.split == split].label == "bonafide").mean()
        assert share == pytest.approx(156384 / (156384 + 469153), abs=0.02), split
        assert SPOOF_PER_LIVE == round(469153 / 156384)


def test_images_decode_and_boxes_frame_the_face(celeba: Path) -> None:
    ds = open_dataset("celeba-spoof", celeba)
    rows = ds.samples("intra_test")
    assert set(rows[rows.label == "bonafide"].path.str.rsplit(".", n=1).str[1]) == {"jpg"}
    for row in rows.itertuples():
        image = cv2.imread(str(celeba / row.path))
        assert image is not None and image.shape[:2] == (SETTINGS.size, SETTINGS.size), row.path
        (x0, y0, x1, y1) = ds.face_annotations(row.path)[-1]["box"]
        assert 0 <= x0 < x1 <= SETTINGS.size + 1 and 0 <= y0 < y1 <= SETTINGS.size + 1, row.path
        assert x1 - x0 >= SETTINGS.size / 8, row.path
        assert row.subject == row.path.split("/")[2] and row.split == row.path.split("/")[1]


def test_spoof_types_map_onto_species(celeba: Path) -> None:
    assert sorted(SPOOF_SPECIES) == sorted(k for k in SPOOF_TYPES if k) == sorted(COUNTERPART)
    for kind, species in SPOOF_SPECIES.items():
        family = SPECIES[species].family
        assert family == SPOOF_TYPES[kind][1] or (SPOOF_TYPES[kind][1], COUNTERPART[kind]) == ("mask", "none") or (
            kind == 6 and family == "print"), kind  # paper masks are prints to the generator
    assert {k for k, c in COUNTERPART.items() if c == "none"} == {4, 5}
    rows = open_dataset("celeba-spoof", celeba).samples("intra_test")
    plan = {item["spec"].video: item for item in _plan(SETTINGS)}
    numbers = {f"{n:06d}": item for n, item in enumerate(plan.values(), 1)}
    for row in rows.itertuples():
        item = numbers[row.path.rsplit("/", 1)[1].split(".")[0]]
        assert row.pai == SPOOF_TYPES[item["spoof"]][0] and row.subject == item["spec"].subject
        assert item["spec"].species == (SPOOF_SPECIES[item["spoof"]] if item["spoof"] else "bonafide")
    train = rows[(rows.split == "train") & (rows.label == "attack")]
    assert set(train.illumination) <= {"normal", "strong", "back", "dark"} and set(train.environment) <= {"indoor", "outdoor"}
