"""MSU-MFSD adapter: the original train/test subject lists, species, list-file check."""

from __future__ import annotations

from pathlib import Path

import pytest

from antispoof.data import open_dataset
from antispoof.data._checks import DatasetError, ProtocolMismatchError

TRAIN = "002 003 005 006 007 008 009 011 012 021 022 034 053 054 055".split()
TEST = "001 013 014 023 024 026 028 029 030 032 033 035 036 037 039 042 048 049 050 051".split()


def build_msu(root: Path, scene: bool = True) -> Path:
    data = root / "scene01" if scene else root
    (data / "real").mkdir(parents=True)
    (data / "attack").mkdir()
    for client in TRAIN + TEST:
        for device, ext in (("laptop", "mov"), ("android", "mp4")):
            (data / "real" / f"real_client{client}_{device}_SD_scene01.{ext}").touch()
            for kind in ("ipad_video", "iphone_video", "printed_photo"):
                (data / "attack" / f"attack_client{client}_{device}_SD_{kind}_scene01.{ext}").touch()
    return root


@pytest.mark.parametrize("scene", [True, False])
def test_original_protocol_sizes(tmp_path: Path, scene: bool) -> None:
    ds = open_dataset("msu-mfsd", build_msu(tmp_path, scene))
    counts = ds.samples().groupby(["split", "label"]).size().to_dict()
    assert counts == {("train", "bonafide"): 30, ("train", "attack"): 90, ("test", "bonafide"): 40, ("test", "attack"): 120}
    assert sorted(set(ds.samples(split="train").subject)) == TRAIN
    assert set(ds.samples(split="test").pai) == {"bonafide", "ipad_video", "iphone_video", "printed_photo"}
    assert ds.samples(split="dev").empty


def test_official_list_files_must_agree(tmp_path: Path) -> None:
    root = build_msu(tmp_path)
    (root / "train_sub_list.txt").write_text("\n".join(TRAIN) + "\n")
    (root / "test_sub_list.txt").write_text("\n".join(TEST) + "\n")
    assert len(open_dataset("msu-mfsd", root).samples(split="test")) == 160
    (root / "test_sub_list.txt").write_text("\n".join(TEST[:-1]) + "\n")
    with pytest.raises(ProtocolMismatchError, match="test_sub_list.txt"):
        open_dataset("msu-mfsd", root)


def test_unknown_subject_and_bad_names(tmp_path: Path) -> None:
    root = build_msu(tmp_path)
    (root / "scene01" / "real" / "real_client004_laptop_SD_scene01.mov").touch()
    with pytest.raises(DatasetError, match="neither the train nor the test list"):
        open_dataset("msu-mfsd", root)
    (root / "scene01" / "real" / "real_client004_laptop_SD_scene01.mov").unlink()
    (root / "scene01" / "attack" / "attack_client001_laptop_SD_mask_scene01.mov").touch()
    with pytest.raises(DatasetError, match="do not follow MSU-MFSD naming"):
        open_dataset("msu-mfsd", root)


def test_domain_is_the_capture_camera(tmp_path: Path) -> None:
    rows = open_dataset("msu-mfsd", build_msu(tmp_path)).samples("grandtest")
    assert (rows.domain == rows.device).all() and set(rows.domain) == {"laptop", "android"}
    assert rows.set_index("path").domain["scene01/real/real_client002_android_SD_scene01.mp4"] == "android"
