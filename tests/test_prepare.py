"""``prepare``: crops and index, failures recorded, resumability, settings refused, workers, CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import pytest

from _media import write_video
from antispoof.data.prepare import INDEX_COLUMNS, prepare_store
from antispoof.data.base import ATTRIBUTES, DatasetAdapter
from antispoof.data.sampling import FrameSampler
from antispoof.data.store import FrameStore

BOX = {"box_x0": 16.0, "box_y0": 8.0, "box_x1": 48.0, "box_y1": 40.0}


class ToyDataset(DatasetAdapter):
    """A test double: a few files the test wrote, described by a fixed manifest."""

    name = "toy"

    def __init__(self, root: Path, rows: list[dict[str, Any]], annotations: dict[str, dict] | None = None) -> None:
        super().__init__(root)
        self.rows, self.annotations = rows, annotations or {}

    def protocols(self) -> list[str]:
        return ["all"]

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        table = pd.DataFrame(self.rows)
        return table if split is None else table[table["split"] == split]

    def face_annotations(self, path: str) -> dict[int, dict[str, Any]] | None:
        return self.annotations.get(path)


def _row(path: str, label: str = "bonafide", pai: str = "bonafide", split: str = "train", **extra: Any) -> dict[str, Any]:
    return {"path": path, "label": label, "pai": pai, "subject": "s1", "session": "", "video": path,
            "frame": -1, "domain": "toy", "split": split, **extra}


@pytest.fixture
def toy(tmp_path: Path) -> ToyDataset:
    root = tmp_path / "data"
    root.mkdir()
    write_video(root / "live.mp4", num_frames=30, gop=10)
    write_video(root / "print.mp4", num_frames=30, gop=10)
    (root / "empty.mp4").write_bytes(b"")
    data = (root / "live.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (root / "notes.mp4").write_text("not a video\n" * 10)
    image = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    cv2.imwrite(str(root / "still.png"), image[:, :, ::-1])
    rows = [
        _row("live.mp4", **BOX, fingers=0.0),
        _row("print.mp4", "attack", "print", "test", **BOX, fingers=1.0),
        _row("empty.mp4", "attack", "print", "test", **BOX),
        _row("truncated.mp4", "attack", "replay", "test", **BOX),
        _row("notes.mp4", "attack", "replay", "dev", **BOX),
        _row("still.png", "attack", "replay", "dev"),  # no box: the dataset detector finds none... unless annotated
    ]
    return ToyDataset(root, rows, annotations={"still.png": {-1: {"box": (20, 10, 44, 34)}}})


def _prepare(toy: ToyDataset, store: Path, **kwargs: Any):
    options = {"dataset": "toy", "detector": "dataset", "sampler": FrameSampler("every", 10), "size": 24,
               "min_face": 8, "progress": False, **kwargs}
    return prepare_store(toy, store, **options)


def test_prepare_writes_crops_and_index_with_failures(toy: ToyDataset, tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    report = _prepare(toy, store_dir)
    store = FrameStore(store_dir)
    index = store.index
    assert list(index.columns) == list(INDEX_COLUMNS)
    ok = index[index["failure"] == ""]
    assert sorted(ok["source"].unique()) == ["live.mp4", "print.mp4", "still.png"]
    assert ok.groupby("source")["frame"].apply(list).to_dict() == {
        "live.mp4": [0, 10, 20], "print.mp4": [0, 10, 20], "still.png": [-1]}
    for relative in ok["crop"]:
        crop = store.read(relative)
        assert crop.shape == (24, 24, 3)
    # The manifest box is used, the still image's box comes from face_annotations.
    assert ok.loc[ok["source"] == "live.mp4", "box_x0"].tolist() == [16.0] * 3
    assert ok.loc[ok["source"] == "still.png", ["box_x0", "box_y1"]].values.tolist() == [[20.0, 34.0]]
    assert (ok["faces"] == 1).all() and (ok["confidence"] == 1.0).all()
    # Unreadable files are recorded (not dropped) and reported, each naming the file.
    failed = store.failed.set_index("source")["failure"]
    assert failed["empty.mp4"].startswith("unreadable_file") and "empty" in failed["empty.mp4"]
    assert failed["notes.mp4"].startswith("unreadable_file")
    assert "truncated.mp4" in failed.index
    assert sorted(Path(line.split(":")[0].split()[-1]).name for line in report.unreadable) == sorted(
        s for s in ("empty.mp4", "notes.mp4", "truncated.mp4") if failed[s].startswith("unreadable_file"))
    assert all(line.startswith("cannot read ") for line in report.unreadable)
    # Manifest metadata and attributes carried over.
    live = ok[ok["source"] == "live.mp4"].iloc[0]
    assert (live["label"], live["split"], live["subject"]) == ("bonafide", "train", "s1")
    assert ok.loc[ok["source"] == "print.mp4", "fingers"].tolist() == [1.0] * 3
    assert np.isnan(live["moire"])
    assert store.acquisition.face_source == "dataset" and store.acquisition.crop.size == 24


def test_crop_matches_the_crop_function(toy: ToyDataset, tmp_path: Path) -> None:
    from antispoof.data.video import read_image
    from antispoof.faces import crop_face

    _prepare(toy, tmp_path / "png", image_format="png")
    store = FrameStore(tmp_path / "png")
    row = store.index[store.index["source"] == "still.png"].iloc[0]
    expected = crop_face(read_image(toy.root / "still.png"), (20, 10, 44, 34), size=24, scale=1.5)
    np.testing.assert_array_equal(store.read(row["crop"]), expected)


def test_no_face_and_small_face_are_recorded(toy: ToyDataset, tmp_path: Path) -> None:
    toy.rows = [_row("live.mp4"), _row("print.mp4", "attack", "print", "test", box_x0=1.0, box_y0=1.0, box_x1=5.0, box_y1=5.0)]
    _prepare(toy, tmp_path / "store")
    index = FrameStore(tmp_path / "store").index
    assert set(index.loc[index["source"] == "live.mp4", "failure"]) == {"no_face"}
    assert set(index.loc[index["source"] == "print.mp4", "failure"]) == {"face_too_small"}
    assert (index["crop"] == "").all() and len(index) == 6


def test_rerun_skips_done_work_and_redoes_missing_parts(toy: ToyDataset, tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    first = _prepare(toy, store_dir)
    before = FrameStore(store_dir).index
    again = _prepare(toy, store_dir)
    assert again.units_done == 0 and again.units_skipped == first.units_done
    # Simulate a crash before one source finished: its part file is missing.
    parts = sorted((store_dir / "parts").glob("*.parquet"))
    parts[0].unlink()
    (store_dir / "index.parquet").unlink()
    resumed = _prepare(toy, store_dir)
    assert resumed.units_done == 1 and resumed.units_skipped == first.units_done - 1
    pd.testing.assert_frame_equal(FrameStore(store_dir).index, before)
    assert not list(store_dir.rglob("*.tmp")), "temporary files left behind"


def test_different_settings_are_refused(toy: ToyDataset, tmp_path: Path) -> None:
    _prepare(toy, tmp_path / "store")
    with pytest.raises(ValueError, match=r"different settings \(acquisition.crop.size: store has 24, asked 32\)"):
        _prepare(toy, tmp_path / "store", size=32)
    with pytest.raises(ValueError, match="sampling"):
        _prepare(toy, tmp_path / "store", sampler=FrameSampler("evenly", 11))


def test_two_workers_give_the_same_store(toy: ToyDataset, tmp_path: Path) -> None:
    _prepare(toy, tmp_path / "one")
    report = _prepare(toy, tmp_path / "two", workers=2)
    one, two = FrameStore(tmp_path / "one"), FrameStore(tmp_path / "two")
    pd.testing.assert_frame_equal(one.index, two.index)
    assert report.frames == len(two.index)
    for relative in one.index.loc[one.index["crop"] != "", "crop"]:
        np.testing.assert_array_equal(one.read(relative), two.read(relative))


def test_ir_and_depth_crops_are_pixel_aligned(tmp_path: Path) -> None:
    root = tmp_path / "surf"
    root.mkdir()
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    ir = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    depth = (rng.integers(0, 65536, (40, 50))).astype(np.uint16)
    cv2.imwrite(str(root / "rgb.png"), rgb[:, :, ::-1])
    cv2.imwrite(str(root / "ir.png"), ir)
    cv2.imwrite(str(root / "depth.png"), depth)
    box = {"box_x0": 10.0, "box_y0": 5.0, "box_x1": 30.0, "box_y1": 25.0}
    toy = ToyDataset(root, [_row("rgb.png", ir_path="ir.png", depth_path="depth.png", **box)])
    _prepare(toy, tmp_path / "store", image_format="png", sampler=FrameSampler("every", 1), size=20)
    store = FrameStore(tmp_path / "store")
    row = store.index.iloc[0]
    assert row["failure"] == ""
    # scale 1.5 around a 20x20 box centred at (20, 15): the square x 5..35, y 0..30 (30 px -> 20 px).
    from antispoof.faces import crop_face

    np.testing.assert_array_equal(store.read(row["ir_crop"], "ir"), crop_face(ir, (10, 5, 30, 25), size=20, scale=1.5))
    expected_depth = np.rint(depth * (255 / 65535)).astype(np.uint8)
    np.testing.assert_array_equal(store.read(row["depth_crop"], "depth"), crop_face(expected_depth, (10, 5, 30, 25), size=20, scale=1.5))
    np.testing.assert_array_equal(store.read(row["crop"]), crop_face(rgb, (10, 5, 30, 25), size=20, scale=1.5))


def test_frame_image_sequences_are_sampled_per_video(tmp_path: Path) -> None:
    root = tmp_path / "seq"
    root.mkdir()
    rows = []
    for k in range(12):
        cv2.imwrite(str(root / f"v_{k:02d}.png"), np.full((32, 32, 3), k * 10, np.uint8))
        rows.append({**_row(f"v_{k:02d}.png", **BOX), "video": "v", "frame": k,
                     "box_x0": 4.0, "box_y0": 4.0, "box_x1": 28.0, "box_y1": 28.0})
    toy = ToyDataset(root, rows)
    _prepare(toy, tmp_path / "store", sampler=FrameSampler("every", 5), image_format="png")
    index = FrameStore(tmp_path / "store").index
    assert index["frame"].tolist() == [0, 5, 10] and (index["failure"] == "").all()


def test_blazeface_on_sample_photos(samples_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    rows = [_row(p.name) for p in sorted(samples_dir.glob("*.jpg"))]
    toy = ToyDataset(samples_dir, rows)
    try:
        _prepare(toy, tmp_path / "store", detector="blazeface", size=64, min_face=32)
    except FileNotFoundError as err:
        pytest.skip(str(err))
    store = FrameStore(tmp_path / "store")
    assert len(store.index) == len(rows) and (store.index["failure"] == "").all()
    assert store.acquisition.face_source == "blazeface" and store.acquisition.detector["name"] == "blazeface"


def test_cli_prepare_through_the_manifest_adapter(toy: ToyDataset, tmp_path: Path) -> None:
    pytest.importorskip("antispoof.data.manifest")
    from typer.testing import CliRunner

    from antispoof.cli import app

    manifest = pd.DataFrame([r for r in toy.rows if r["path"] in ("live.mp4", "print.mp4")])
    manifest.to_csv(toy.root / "manifest.csv", index=False)
    args = ["prepare", "--dataset", "manifest", "--root", str(toy.root), "--out", str(tmp_path / "store"),
            "--detector", "dataset", "--frames", "3", "--size", "16", "--min-face", "8"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "6 frames from 2 sources" in result.output
    store = FrameStore(tmp_path / "store")
    assert store.index.groupby("source")["frame"].apply(list).to_dict() == {"live.mp4": [0, 14, 29], "print.mp4": [0, 14, 29]}
    assert store.settings["dataset"] == "manifest" and store.acquisition.sampling["policy"] == "evenly"
    assert list(ATTRIBUTES)[0] in store.index.columns
    again = CliRunner().invoke(app, args)
    assert "(2 already done)" in again.output
    changed = CliRunner().invoke(app, [*args[:-4], "--size", "32", "--min-face", "8"])
    assert changed.exit_code != 0 and "different settings" in str(changed.exception)


def test_prepare_the_synthetic_dataset_with_all_modalities(tmp_path: Path) -> None:
    synthetic = pytest.importorskip("antispoof.data.synthetic")
    from antispoof._registry import DATASETS, load_all
    from antispoof.data.store import FrameDataset
    from antispoof.data.video import read_gray
    from antispoof.faces import crop_face

    manifest = synthetic.generate_dataset(tmp_path / "synth", subjects=3, frames=4, size=48, seed=0, modalities=("rgb", "ir", "depth"))
    load_all()
    adapter = DATASETS.create("manifest", root=manifest.parent)
    prepare_store(adapter, tmp_path / "store", dataset="manifest", detector="dataset", sampler=FrameSampler("every", 2),
                  size=24, min_face=8, image_format="png", progress=False)
    store = FrameStore(tmp_path / "store")
    table = pd.read_csv(manifest)
    assert len(store.index) == table["video"].nunique() * 2  # frames 0 and 2 of every 4-frame clip
    assert set(store.index["frame"]) == {0, 2} and (store.index["failure"] == "").all()
    assert (store.index["ir_crop"] != "").all() and (store.index["depth_crop"] != "").all()
    row = store.index.iloc[0]
    source = table[(table["path"] == row["source"])].iloc[0]
    box = tuple(float(source[c]) for c in ("box_x0", "box_y0", "box_x1", "box_y1"))
    expected_ir = crop_face(read_gray(manifest.parent / source["ir_path"]), box, size=24, scale=1.5)
    np.testing.assert_array_equal(store.read(row["ir_crop"], "ir"), expected_ir)
    data = FrameDataset(store, split="train", modalities=("rgb", "ir", "depth"), clip_len=2)
    item = data[0]
    assert item["image"].shape == (2, 24, 24, 3) and item["ir"].shape == (2, 24, 24) and item["depth"].shape == (2, 24, 24)
    assert not np.isnan(item["attributes"]).any()
    assert {data[i]["label"] for i in range(len(data))} == {0, 1}


def test_listed_frames_of_a_video_are_taken_as_listed(toy: ToyDataset, tmp_path: Path) -> None:
    toy.rows = [{**_row("live.mp4", **BOX), "frame": 3}, {**_row("live.mp4", **BOX), "frame": 7, "fingers": 1.0}]
    _prepare(toy, tmp_path / "store")
    index = FrameStore(tmp_path / "store").index
    assert index["frame"].tolist() == [3, 7] and (index["failure"] == "").all()
    assert index["fingers"].isna().tolist() == [True, False]  # each frame keeps its own row's labels


def test_an_unexpected_error_leaves_the_source_undone_and_the_run_goes_on(toy: ToyDataset, tmp_path: Path) -> None:
    class Broken(ToyDataset):
        def face_annotations(self, path: str):  # noqa: ANN201
            if path == "still.png":
                raise RuntimeError("annotation file damaged")
            return super().face_annotations(path)

    broken = Broken(toy.root, toy.rows, toy.annotations)
    report = _prepare(broken, tmp_path / "store")
    assert len(report.errors) == 1 and "still.png: RuntimeError: annotation file damaged" in report.errors[0]
    index = FrameStore(tmp_path / "store").index
    assert "still.png" not in set(index["source"]) and {"live.mp4", "print.mp4"} <= set(index["source"])
    fixed = _prepare(toy, tmp_path / "store")  # the next run retries only that source
    assert fixed.units_done == 1 and not fixed.errors
    assert "still.png" in set(FrameStore(tmp_path / "store").index["source"])


def test_per_frame_dataset_annotations_of_a_video(toy: ToyDataset, tmp_path: Path) -> None:
    toy.rows = [_row("live.mp4")]  # no box columns: the boxes come from face_annotations by frame
    toy.annotations = {"live.mp4": {0: {"box": (10, 10, 40, 40)}, 10: {"eyes": ((20, 20), (36, 20))}}}
    _prepare(toy, tmp_path / "store")
    index = FrameStore(tmp_path / "store").index.set_index("frame")
    assert index.loc[0, "box_x0"] == 10.0 and index.loc[0, "failure"] == ""
    assert index.loc[10, "failure"] == ""  # a box derived from the eyes: side 40, centred at (28, 24)
    assert (index.loc[10, "box_x0"], index.loc[10, "box_y1"]) == pytest.approx((8.0, 44.0))
    assert index.loc[20, "failure"] == "no_face"


def test_prepare_names_each_failure_reason_with_an_example_and_the_fix(tmp_path):
    from typer.testing import CliRunner

    from antispoof.cli import app
    from antispoof.data.synthetic.writer import generate_dataset

    generate_dataset(tmp_path / "data", subjects=4, frames=1, size=64, seed=0)
    result = CliRunner().invoke(app, ["prepare", "--dataset", "manifest", "--root", str(tmp_path / "data"), "--out",
                                      str(tmp_path / "store"), "--size", "64", "--min-face", "1000"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.strip().startswith("face_too_small"))
    assert "(e.g. s0" in line and "--min-face 16" in line


def test_train_on_a_store_whose_frames_all_failed_names_the_failures(tmp_path):
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.methods import load_method_config
    from antispoof.training.frames import training_datasets

    generate_dataset(tmp_path / "data", subjects=4, frames=1, size=64, seed=0)
    from antispoof._registry import DATASETS, load_all

    load_all("datasets")
    prepare_store(DATASETS.create("manifest", root=tmp_path / "data"), tmp_path / "store", dataset="manifest",
                  size=64, min_face=1000, progress=False)
    config = load_method_config("entry", [f"data.store={tmp_path / 'store'}"])
    with pytest.raises(ValueError, match=r"frames failed to acquire: face_too_small \d+ \(prepare it again with a lower --min-face"):
        training_datasets(config)
