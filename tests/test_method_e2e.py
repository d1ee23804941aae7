"""The engine carries the two test-only methods (three modalities; 4-frame clips) from synthetic data to
``predict``: generate, prepare, train, evaluate, calibrate, export, then the Predictor on the generated frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import toy_methods  # noqa: F401  (registers toy_modal and toy_clip)
from toy_methods import FixedBox

from antispoof.data.base import BOX_COLUMNS
from antispoof.inference.bundle import Bundle
from antispoof.inference.export import FP32_TOLERANCE, export_onnx
from antispoof.inference.predictor import DECISIONS, Predictor
from antispoof.training.quickstart import run_quickstart

pytestmark = pytest.mark.slow  # two small quickstarts, about a minute

CONFIGS = Path(__file__).parent / "configs"


def _quickstart(tmp: Path, method: str) -> dict:
    return run_quickstart(tmp / "qs", method=method, config=CONFIGS / f"{method}.yaml", subjects=12, frames=2,
                          source_size=64, workers=1, progress=False)


def _frames(report: dict) -> pd.DataFrame:
    manifest = pd.read_csv(Path(report["data"]["root"]) / "manifest.csv")
    return manifest[manifest["split"] == "test"].sort_values(["video", "frame"])


@pytest.fixture(scope="module")
def modal(tmp_path_factory):
    return _quickstart(tmp_path_factory.mktemp("modal"), "toy_modal")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return _quickstart(tmp_path_factory.mktemp("clip"), "toy_clip")


def test_three_modalities_reach_the_report_and_the_bundle(modal):
    assert modal["data"]["modalities"] == ["rgb", "ir", "depth"]
    model = modal["models"]["toy_modal"]
    assert {"acer", "hter", "auc", "threshold_rule"} <= set(model) and 0 <= model["auc"] <= 1
    card = Bundle.load(modal["bundle"]["path"]).card
    assert card.input.names == ("rgb", "ir", "depth") and card.input.fit == "center_crop"
    assert (card.input.crop_size, card.input.input_size) == (40, 32) and card.maps == ("spoof_map",)
    assert 0 <= modal["bundle"]["dev_apcer"] <= 1 and 0 <= modal["bundle"]["dev_bpcer"] <= 1


def test_a_multimodal_bundle_predicts_from_aligned_frames_and_refuses_rgb_alone(modal, tmp_path):
    root = Path(modal["data"]["root"])
    row = _frames(modal).iloc[0]
    rgb = cv2.imread(str(root / row["path"]))[:, :, ::-1].copy()
    ir = cv2.imread(str(root / row["ir_path"]), cv2.IMREAD_GRAYSCALE)
    depth = cv2.imread(str(root / row["depth_path"]), cv2.IMREAD_GRAYSCALE)
    predictor = Predictor(modal["bundle"]["path"], keep_maps=True, keep_crops=True)
    predictor.detector = FixedBox(tuple(row[c] for c in BOX_COLUMNS))
    result = predictor.predict_image(rgb, ir=ir, depth=depth)
    assert result.decision in DECISIONS[:2] and 0 <= result.score <= 1
    assert result.frames[0].maps["spoof_map"].shape == (32, 32)
    with pytest.raises(ValueError, match="lacks ir"):
        predictor.predict_image(rgb, depth=depth)
    assert predictor.predict_path(root / row["path"]).reasons == ["missing_modality"]

    record = export_onnx(modal["bundle"]["path"], store=modal["data"]["store"])  # parity on the calibration store's real crops, every modality
    assert record["fp32"]["max_abs_output_diff"] <= FP32_TOLERANCE and set(record["input"]) == {"image", "ir", "depth"}
    onnx = Predictor(modal["bundle"]["path"])
    onnx.detector = predictor.detector
    assert onnx.backend.name == "onnxruntime"
    assert abs(onnx.predict_image(rgb, ir=ir, depth=depth).score - result.score) <= FP32_TOLERANCE


def test_explanation_maps_are_written_as_overlays(modal, tmp_path):
    from antispoof.cli.predict import _save_explanations

    root = Path(modal["data"]["root"])
    row = _frames(modal).iloc[0]
    predictor = Predictor(modal["bundle"]["path"], keep_maps=True, keep_crops=True, backend="torch")
    predictor.detector = FixedBox(tuple(row[c] for c in BOX_COLUMNS))
    rgb = cv2.imread(str(root / row["path"]))[:, :, ::-1].copy()
    gray = {m: cv2.imread(str(root / row[f"{m}_path"]), cv2.IMREAD_GRAYSCALE) for m in ("ir", "depth")}
    result = predictor.predict_image(rgb, **gray)
    _save_explanations(result, tmp_path, 0, Path("face.png"))
    written = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in written] == ["0000_face_000000_spoof_map.png"]
    overlay = cv2.imread(str(written[0]))
    assert overlay.shape == (40, 40, 3)  # drawn over the 40 px crop


def test_clips_are_scored_as_units_in_evaluation_and_prediction(clip):
    units = pd.read_csv(Path(clip["models"]["toy_clip"]["run"]).parents[1] / "eval" / "toy_clip" / "cues_test.csv")
    assert units["frames"].str.split().str.len().eq(4).all()  # one row per clip, listing its 4 frames
    card = Bundle.load(clip["bundle"]["path"]).card
    assert card.input.clip_len == 4 and card.outputs == ("score", "motion")
    frames = _frames(clip)
    video = frames[frames["video"] == frames["video"].iloc[0]]
    root = Path(clip["data"]["root"])
    images = [cv2.imread(str(root / p))[:, :, ::-1].copy() for p in video["path"]]
    predictor = Predictor(clip["bundle"]["path"])
    predictor.detector = FixedBox(tuple(video.iloc[0][c] for c in BOX_COLUMNS))
    result = predictor.predict_frames(images)
    assert len(result.units) == 1 and len(result.units[0]["frames"]) == 4  # 4 frames (padded when fewer): one clip
    assert result.score == pytest.approx(result.units[0]["score"]) and 0 <= result.score <= 1
    eight = predictor.predict_frames(images * 4)
    assert len(eight.units) == len(images)  # 4x the frames, non-overlapping windows of 4
    assert np.isfinite([u["score"] for u in eight.units]).all()
