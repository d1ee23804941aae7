"""Every column an adapter gives reaches the store's index and the items; ``pai_class`` everywhere."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import pytest

from antispoof.data._checks import DatasetError, check_pai_class
from antispoof.data.prepare import INDEX_COLUMNS, prepare_store
from antispoof.data.base import ATTRIBUTES, PAI_CLASSES, pai_class_of
from antispoof.data.store import FrameDataset, FrameStore
from test_prepare import ToyDataset, _row

BOX = {"box_x0": 8.0, "box_y0": 8.0, "box_x1": 40.0, "box_y1": 40.0}
# The keys of a frame item before this change; they keep their names and types.
OLD_KEYS = {"image", "label", "attributes", "pai", "video", "subject", "domain", "split", "frame", "failure"}

# Every species name the adapters use, with its class.
SPECIES = {
    "bonafide": "bonafide",
    # CASIA-FASD
    "warped_print": "print", "cut_print": "print", "replay": "replay",
    # MSU-MFSD
    "printed_photo": "print", "ipad_video": "replay", "iphone_video": "replay",
    # Replay-Attack (a photo shown on a phone or tablet screen is a replay)
    "print": "print", "mobile_photo": "replay", "highdef_photo": "replay", "mobile_video": "replay",
    "highdef_video": "replay",
    # CelebA-Spoof
    "photo": "print", "poster": "print", "a4": "print", "face_mask": "mask", "upper_body_mask": "mask",
    "region_mask": "mask", "3d_mask": "mask", "pc": "replay", "pad": "replay", "phone": "replay",
    # names that say nothing (CASIA-SURF's types: the adapter gives print itself), or another kind
    "type4": "other", "unknown": "other", "makeup": "other",
    # glued or differently cased
    "replay2": "replay", "Print_Glossy": "print", "MASK": "mask",
}  # fmt: skip


@pytest.mark.parametrize("pai, expected", SPECIES.items())
def test_pai_class_of_the_adapters_species(pai: str, expected: str) -> None:
    assert pai_class_of(pai) == expected


def test_pai_class_of_the_generator_and_celeba_species() -> None:
    from antispoof.data.celeba_spoof import SPOOF_TYPES
    from antispoof.data.synthetic.species import SPECIES as GENERATED

    assert {s.name: pai_class_of(s.name) for s in GENERATED.values()} == {s.name: s.family for s in GENERATED.values()}
    assert {pai: pai_class_of(pai) for pai, _ in SPOOF_TYPES.values()} == dict(SPOOF_TYPES.values())


def test_check_pai_class_derives_keeps_and_refuses() -> None:
    frame = pd.DataFrame({"label": ["bonafide", "attack", "attack", "attack"], "pai": ["bonafide", "type4", "ipad_video", "x"],
                          "pai_class": ["", "Print", None, "other"]})
    assert check_pai_class(frame)["pai_class"].tolist() == ["bonafide", "print", "replay", "other"]
    assert check_pai_class(frame.drop(columns="pai_class"))["pai_class"].tolist() == ["bonafide", "other", "replay", "other"]
    with pytest.raises(DatasetError, match=r"toy: pai_class must be one of bonafide, print, replay, mask, other; found paper"):
        check_pai_class(frame.assign(pai_class=["", "paper", "", ""]), where="toy")
    with pytest.raises(DatasetError, match=r"1 row\(s\) disagree with their label .*'type4' \(bonafide\)"):
        check_pai_class(frame.assign(pai_class=["", "bonafide", "", ""]))


def _builders() -> dict[str, Any]:
    from test_data_casia_fasd import build_casia
    from test_data_casia_surf import build_surf
    from test_data_celeba_spoof import build_celeba
    from test_data_manifest import build_manifest
    from test_data_msu_mfsd import build_msu
    from test_data_oulu_npu import build_oulu
    from test_data_replay_attack import build_replay
    from test_data_siw import build_siw

    def build_folder(root: Path) -> Path:
        for rel in ("bonafide/me.jpg", "attack/replay_phone/a.mp4", "attack/mask/b.jpg"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).touch()
        return root

    return {
        "casia-fasd": lambda root: build_casia(root, 1, 1), "casia-surf": build_surf, "celeba-spoof": build_celeba,
        "folder": build_folder, "manifest": build_manifest, "msu-mfsd": build_msu,
        "oulu-npu": lambda root: build_oulu(root, users_per_folder=1), "replay-attack": build_replay, "siw": build_siw,
    }  # fmt: skip


def _registered() -> list[str]:
    from antispoof._registry import DATASETS, load_all

    load_all()
    return DATASETS.list()


@pytest.mark.parametrize("name", _registered())
def test_every_adapter_gives_pai_class(name: str, tmp_path: Path) -> None:
    from antispoof.data import open_dataset

    builders = _builders()
    assert name in builders, f"add a fixture builder for the new adapter {name!r} to this test"
    adapter = open_dataset(name, builders[name](tmp_path / name))
    frame = adapter.samples(adapter.default_protocol or adapter.protocols()[-1])
    assert len(frame) and set(frame["pai_class"]) <= set(PAI_CLASSES)
    assert ((frame["pai_class"] == "bonafide") == (frame["label"] == "bonafide")).all()
    if name != "casia-surf":  # its attack types say nothing by their name: the adapter says print
        assert frame["pai_class"].tolist() == [pai_class_of(p) for p in frame["pai"]]


# -- a store from a manifest with extra columns ----------------------------------------------

MANIFEST = [
    # path, label, pai, session, split, camera, take, pai_class
    ("live.png", "bonafide", "bonafide", "s1", "train", "cam1", "1", ""),
    ("print.png", "attack", "printed_photo", "s1", "train", "cam2", "2", ""),
    ("replay.png", "attack", "ipad_video", "s2", "train", "", "3", ""),
    ("surf.png", "attack", "type4", "s2", "train", "cam1", "4", "print"),
]


def _write_manifest(root: Path, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = [f"path,label,pai,subject,session,video,frame,domain,split,camera,take,pai_class,box_x0,box_y0,box_x1,box_y1{extra}"]
    for path, label, pai, session, split, camera, take, cls in MANIFEST:
        cv2.imwrite(str(root / path), rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
        lines.append(f"{path},{label},{pai},p1,{session},{path[:-4]},-1,studio,{split},{camera},{take},{cls},8,8,40,40"
                     + ("," if extra else ""))
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def _prepare(adapter: Any, out: Path, **kwargs: Any) -> FrameStore:
    prepare_store(adapter, out, dataset="manifest", detector="dataset", size=16, min_face=8, image_format="png",
                  progress=False, **kwargs)
    return FrameStore(out)


@pytest.fixture
def manifest_store(tmp_path: Path) -> FrameStore:
    from antispoof.data.manifest import ManifestDataset

    return _prepare(ManifestDataset(_write_manifest(tmp_path / "data")), tmp_path / "store")


def test_index_and_settings_carry_the_extra_columns(manifest_store: FrameStore) -> None:
    index = manifest_store.index.set_index("source")
    assert list(manifest_store.index.columns) == [*INDEX_COLUMNS, "camera", "take"]
    assert manifest_store.settings["extra_columns"] == ["camera", "take"] == manifest_store.extra_columns
    assert manifest_store.settings["extra_column_types"] == {"camera": "str", "take": "str"}  # a manifest's are text
    assert index["camera"].to_dict() == {"live.png": "cam1", "print.png": "cam2", "replay.png": "", "surf.png": "cam1"}
    assert index["pai_class"].to_dict() == {"live.png": "bonafide", "print.png": "print", "replay.png": "replay",
                                            "surf.png": "print"}  # the manifest's own class is kept
    assert index["session"].to_dict() == {"live.png": "s1", "print.png": "s1", "replay.png": "s2", "surf.png": "s2"}


def test_items_carry_every_metadata_column(manifest_store: FrameStore) -> None:
    data = FrameDataset(manifest_store, split="train")
    items = {data[i]["source"]: data[i] for i in range(len(data))}
    item = items["print.png"]
    assert set(item) == OLD_KEYS | {"pai_class", "session", "source", "camera", "take"}  # no crop paths, boxes, faces
    assert (item["label"], item["pai"], item["pai_class"], item["camera"], item["take"]) == (0, "printed_photo", "print", "cam2", "2")
    assert item["attributes"].dtype == np.float32 and item["attributes"].shape == (len(ATTRIBUTES),)
    for key in ("pai", "video", "subject", "domain", "split", "failure", "pai_class", "session", "source", "camera", "take"):
        assert type(item[key]) is str, key
    assert type(item["label"]) is int and type(item["frame"]) is int
    assert items["replay.png"]["camera"] == "" and items["surf.png"]["pai_class"] == "print"
    assert items["live.png"]["label"] == 1 and items["live.png"]["pai_class"] == "bonafide"
    clips = FrameDataset(manifest_store, split="train", clip_len=2)  # a clip carries its first frame's metadata
    clip = next(clips[i] for i in range(len(clips)) if clips[i]["source"] == "print.png")
    assert (clip["camera"], clip["pai_class"], clip["frames"], clip["image"].shape) == ("cam2", "print", [-1, -1], (2, 16, 16, 3))


def test_a_default_collate_batch_has_the_columns(manifest_store: FrameStore) -> None:
    import torch
    from torch.utils.data import DataLoader

    data = FrameDataset(manifest_store, split="train")
    batch = next(iter(DataLoader(data, batch_size=4, shuffle=False)))
    assert batch["source"] == ["live.png", "print.png", "replay.png", "surf.png"]
    assert batch["pai_class"] == ["bonafide", "print", "replay", "print"]
    assert batch["camera"] == ["cam1", "cam2", "", "cam1"] and batch["session"] == ["s1", "s1", "s2", "s2"]
    assert batch["label"].tolist() == [1, 0, 0, 0] and batch["label"].dtype == torch.int64
    assert batch["attributes"].shape == (4, len(ATTRIBUTES)) and batch["attributes"].dtype == torch.float32
    assert batch["image"].shape == (4, 16, 16, 3)


def test_typed_extra_columns_keep_their_type(tmp_path: Path) -> None:
    import torch
    from torch.utils.data import DataLoader

    root = tmp_path / "data"
    root.mkdir()
    rng = np.random.default_rng(1)
    rows = []
    for k in range(3):
        cv2.imwrite(str(root / f"{k}.png"), rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
        extra = {"medium": k + 1, "flow_path": f"{k}.flo"}  # an int column; a path column (not kept)
        extra |= {"lux": 0.5, "note": "dim"} if k == 0 else {}  # float and text, missing on the other rows
        rows.append(_row(f"{k}.png", "attack", "replay_phone", **BOX, **extra))
    store = _prepare(ToyDataset(root, rows), tmp_path / "store", workers=2)  # one part file per image
    assert store.extra_columns == ["medium", "lux", "note"]
    assert store.settings["extra_column_types"] == {"medium": "int", "lux": "float", "note": "str"}
    index = store.index
    assert index["medium"].dtype == np.int64 and index["lux"].dtype == np.float64
    assert index["note"].tolist() == ["dim", "", ""] and index["pai_class"].tolist() == ["replay"] * 3
    data = FrameDataset(store)
    assert type(data[0]["medium"]) is int and type(data[0]["lux"]) is float and math.isnan(data[1]["lux"])
    batch = next(iter(DataLoader(data, batch_size=3)))
    assert batch["medium"].tolist() == [1, 2, 3] and batch["lux"].dtype == torch.float64
    assert batch["lux"][0] == 0.5 and torch.isnan(batch["lux"][1:]).all() and batch["note"] == ["dim", "", ""]


def test_a_changed_column_set_is_refused(manifest_store: FrameStore, tmp_path: Path) -> None:
    from antispoof.data.manifest import ManifestDataset

    adapter = ManifestDataset(_write_manifest(tmp_path / "data", extra=",lens"))
    with pytest.raises(ValueError, match=r"extra_columns: store has \['camera', 'take'\], asked \['camera', 'take', 'lens'\]"):
        _prepare(adapter, manifest_store.path)


def test_a_store_written_before_the_extra_columns_still_opens(manifest_store: FrameStore) -> None:
    from torch.utils.data import DataLoader

    path = manifest_store.path
    old_columns = [c for c in INDEX_COLUMNS if c != "pai_class"]  # the index of format 1
    manifest_store.index[old_columns].to_parquet(path / "index.parquet", index=False)
    settings = json.loads((path / "settings.json").read_text())
    for key in ("extra_columns", "extra_column_types"):
        del settings[key]
    (path / "settings.json").write_text(json.dumps({**settings, "store_format": 1}))

    store = FrameStore(path)
    assert store.extra_columns == [] and list(store.index.columns) == list(INDEX_COLUMNS)  # pai_class after pai
    data = FrameDataset(store, split="train")
    items = {data[i]["source"]: data[i] for i in range(len(data))}
    assert set(items["print.png"]) == OLD_KEYS | {"pai_class", "session", "source"}
    # Derived from pai by the same function: the manifest's own class of type4 was never stored.
    assert {s: i["pai_class"] for s, i in items.items()} == {
        "live.png": "bonafide", "print.png": "print", "replay.png": "replay", "surf.png": "other"}
    batch = next(iter(DataLoader(data, batch_size=4)))
    assert batch["pai_class"] == ["bonafide", "print", "replay", "other"] and batch["label"].tolist() == [1, 0, 0, 0]
