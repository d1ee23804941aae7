"""Simulated CASIA-SURF tree: the unchanged adapter reads it, the challenge protocol resolves, crops align."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from antispoof.data import open_dataset
from antispoof.data.synthetic.layouts import LAYOUT_FILE, LayoutSettings, generate_layout, render
from antispoof.data.synthetic.layouts.casia_surf import (
    PUBLISHED_IMAGES,
    SPLIT_TYPES,
    TYPE_SPECIES,
    _crop,
    _recordings,
    recording_name,
)
from antispoof.data.synthetic.species import SPECIES

SETTINGS = LayoutSettings(subjects=5, frames=2, size=64, seed=3)


@pytest.fixture(scope="module")
def surf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_layout("casia-surf", tmp_path_factory.mktemp("surf") / "CASIA-SURF", SETTINGS)


def test_every_protocol_resolves_with_both_labels_per_split(surf: Path) -> None:
    ds = open_dataset("casia-surf", surf)
    assert ds.protocols() == ["challenge"]
    for protocol in ds.protocols():
        for split in ("train", "dev", "test"):
            rows = ds.samples(protocol, split)
            assert set(rows.label) == {"bonafide", "attack"}, (protocol, split)
    record = json.loads((surf / LAYOUT_FILE).read_text())
    counts = ds.samples().groupby(["split", "label"]).size().to_dict()
    assert {(s, lab): n for s, c in record["summary"]["images"].items() for lab, n in c.items()} == counts


def test_bonafide_share_per_split_follows_the_challenge_counts(surf: Path) -> None:
    """Liu et al. 2019 Table 2: about 30.6 % bona fide images in each split (33 % here at 2 frames)."""
    rows = open_dataset("casia-surf", surf).samples()
    for split, (bonafide, attack) in PUBLISHED_IMAGES.items():
        share = (rows[rows.split == split].label == "bonafide").mean()
        assert share == pytest.approx(bonafide / (bonafide + attack), abs=0.05), split


def test_attack_types_are_the_datasets_own(surf: Path) -> None:
    from antispoof.data.protocols import IntraDataset, attack_types

    assert sorted(TYPE_SPECIES) == [1, 2, 3, 4, 5, 6]
    assert all(SPECIES[name].surf_type == k for k, name in TYPE_SPECIES.items())
    assert [recording_name(k) for k in (4, 5, 6)] == ["04_en_b", "05_enm_f", "06_enm_b"]
    ds = open_dataset("casia-surf", surf)
    train = ds.samples(split="train")
    assert attack_types(IntraDataset.open("casia-surf", surf).samples("train")) == {"type4": ["type4"], "type5": ["type5"], "type6": ["type6"]}
    for row in train[train.label == "attack"].itertuples():
        kind = int(row.pai[4:])
        assert f"/{recording_name(kind)}.rssdk/color/" in row.path and row.pai_class == "print"
    held = ds.samples(split="test")
    assert set(held[held.label == "attack"].pai) == {"unknown"}  # the release anonymises Val / Testing
    types = json.loads((surf / LAYOUT_FILE).read_text())["summary"]["attack_types"]
    assert {split: sorted(t) for split, t in types.items()} == {
        split: [f"type{k}" for k in kinds] for split, kinds in SPLIT_TYPES.items()
    }


def test_modalities_are_aligned_crops_of_one_size(surf: Path) -> None:
    rows = open_dataset("casia-surf", surf).samples()
    for row in rows.itertuples():
        images = [cv2.imread(str(surf / p), cv2.IMREAD_UNCHANGED) for p in (row.path, row.ir_path, row.depth_path)]
        assert all(image is not None for image in images), row.path
        assert len({image.shape[:2] for image in images}) == 1 and min(images[0].shape[:2]) >= 8, row.path
    # each modality is its frame cut to the same face box: re-render a training recording and compare
    spec, _ = next(r for r in _recordings(SETTINGS) if r[0].split == "train" and r[1] == 5)
    clip = render(spec, SETTINGS, ("rgb", "ir", "depth"))
    folder = surf / "Training/fake_part" / spec.subject / "05_enm_f.rssdk"
    numbers = sorted(int(p.stem) for p in (folder / "color").glob("*.jpg"))
    for t, number in enumerate(numbers):
        for modality, frame in (("color", clip.rgb[t]), ("ir", clip.ir[t]), ("depth", clip.depth[t])):
            written = cv2.imread(str(folder / modality / f"{number}.jpg"), cv2.IMREAD_UNCHANGED)
            if written.ndim == 3:
                written = cv2.cvtColor(written, cv2.COLOR_BGR2RGB)
            expected = _crop(frame, clip.boxes[t])
            assert written.shape == expected.shape
            assert np.abs(written.astype(float) - expected).mean() < 6.0, modality


def test_prepare_reads_the_simulated_tree(surf: Path, tmp_path: Path) -> None:
    from antispoof.data.prepare import prepare_store

    prepare_store(open_dataset("casia-surf", surf), tmp_path / "store", dataset="casia-surf", size=16,
                  image_format="png", progress=False)
    import pandas as pd

    index = pd.read_parquet(tmp_path / "store" / "index.parquet")
    assert len(index) == len(open_dataset("casia-surf", surf).samples())
    assert index.ir_crop.notna().all() and index.depth_crop.notna().all()
