"""The Predictor and `antispoof predict`: real photos, videos, frame streams, corrupt inputs, the quality gate."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _media import write_video
from test_inference import make_run

from antispoof.data.video import read_image
from antispoof.faces.base import Face
from antispoof.inference.calibrate import calibrate_run
from antispoof.faces.quality import QualityLimits
from antispoof.inference.predictor import DECISIONS, STAGES, Predictor
from antispoof.faces.quality import QualityMeasures, check_quality, measure_quality


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("predict")
    return calibrate_run(make_run(tmp), target="eer", progress=False)


@pytest.fixture(scope="module")
def predictor(bundle):
    return Predictor(bundle, backend="torch")


def _photos(samples_dir):
    photos = sorted(samples_dir.glob("*.jpg"))
    assert len(photos) == 3
    return photos


def test_sample_photos_give_finite_deterministic_scores_and_boxes(bundle, predictor, samples_dir):
    again = Predictor(bundle, backend="torch")
    for photo in _photos(samples_dir):
        a, b = predictor.predict_image(photo), again.predict_image(photo)
        assert a.decision in ("bonafide", "attack"), (photo, a.reasons)
        assert math.isfinite(a.score) and 0.0 <= a.score <= 1.0
        assert a.score == b.score and a.frames[0].box == b.frames[0].box
        assert a.decision == ("bonafide" if a.score >= a.threshold else "attack")
        x0, y0, x1, y1 = a.frames[0].box
        image = read_image(photo)
        assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
        assert x1 - x0 > 100  # the faces in these photos are about 200 px wide
        assert a.threshold_rule == "eer" and a.threshold == predictor.threshold
        assert set(a.explanation) == set(predictor.cue_names) and len(a.explanation) == 7
        assert all(0.0 <= v <= 1.0 for v in a.explanation.values())
        assert set(a.timings_ms) == set(STAGES) and a.timings_ms["model"] > 0 and a.timings_ms["detect"] > 0


def test_array_input_equals_file_input(predictor, samples_dir):
    photo = _photos(samples_dir)[0]
    assert predictor.predict_image(read_image(photo)).score == predictor.predict_image(photo).score


def test_frames_are_aggregated_by_the_card_rule(predictor, samples_dir):
    images = [read_image(p) for p in _photos(samples_dir)]
    singles = [predictor.predict_image(im).score for im in images]
    stream = predictor.predict_frames(iter(images + [np.zeros((120, 160, 3), np.uint8)]))
    assert stream.frame_scores[:3] == pytest.approx(singles, abs=1e-6)
    assert stream.frame_scores[3] is None and stream.frames[3].failure == "no_face"
    # The card's rule (mean) over the stream's own frame scores; batched and single-image scores
    # agree only to float32 rounding (above), so the exact check uses the stream's scores.
    assert stream.score == pytest.approx(float(np.mean(stream.frame_scores[:3])), abs=1e-9)
    assert stream.reasons == ["no_face"] and stream.decision in ("bonafide", "attack")


def test_video_of_a_face(predictor, samples_dir, tmp_path):
    image = read_image(_photos(samples_dir)[2])
    path = write_video(tmp_path / "face.mp4", num_frames=8, height=image.shape[0], width=image.shape[1], frames=[image] * 8)
    result = predictor.predict_video(path)
    assert result.kind == "video" and [f.index for f in result.frames] == [0, 7]  # the card's sampling: 2 evenly spaced
    assert all(f.score is not None and f.box is not None for f in result.frames)
    assert result.score == pytest.approx(np.mean(result.frame_scores), abs=1e-9)
    assert result.timings_ms["decode"] > 0


def test_corrupt_inputs_give_reasons(predictor, tmp_path):
    (tmp_path / "garbage.jpg").write_bytes(b"not an image at all")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "fake.mp4").write_bytes(b"\x00" * 512)
    good = write_video(tmp_path / "ok.mp4", num_frames=30)
    (tmp_path / "truncated.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    cases = {
        "garbage.jpg": "unreadable_file",
        "empty.png": "unreadable_file",
        "missing.jpg": "unreadable_file",
        "fake.mp4": "unreadable_file",
        "ok.mp4": "no_face",  # frames without a face
    }
    for name, reason in cases.items():
        result = predictor.predict_path(tmp_path / name)
        assert result.decision == "failed_to_acquire" and result.score is None, name
        assert reason in result.reasons, (name, result.reasons)
        assert result.frames[0].failure, name
    truncated = predictor.predict_path(tmp_path / "truncated.mp4")
    assert truncated.decision == "failed_to_acquire" and truncated.reasons
    odd = predictor.predict_frames([np.zeros((4, 4, 7), np.uint8), "not a frame"])
    assert [f.failure.split(":")[0] for f in odd.frames] == ["unreadable_frame", "unreadable_frame"]
    assert predictor.predict_frames([]).reasons == ["no_frames"]


def test_quality_gate_on_real_photos(bundle, samples_dir):
    import cv2

    image = read_image(_photos(samples_dir)[2])
    base = Predictor(bundle, backend="torch").predict_image(image)
    assert base.decision != "failed_to_acquire", base.reasons
    measures = base.frames[0].quality
    assert measures["sharpness"] > 100 and 60 < measures["brightness"] < 200 and 0.3 < measures["eye_ratio"] < 0.5

    gate = Predictor(bundle, backend="torch", quality=QualityLimits(min_face=measures["face_size"] + 1))
    assert gate.predict_image(image).reasons == ["face_too_small"]
    blurred = cv2.GaussianBlur(image, (0, 0), 8)
    result = Predictor(bundle, backend="torch").predict_image(blurred)
    assert result.reasons == ["too_blurred"], result.reasons
    assert result.frames[0].quality["sharpness"] < QualityLimits().min_sharpness
    dark = Predictor(bundle, backend="torch", quality=QualityLimits(min_brightness=measures["brightness"] + 1))
    assert dark.predict_image(image).reasons == ["too_dark"]
    bright = Predictor(bundle, backend="torch", quality=QualityLimits(max_brightness=measures["brightness"] - 1))
    assert bright.predict_image(image).reasons == ["overexposed"]
    assert base.frames[0].score is not None and result.frames[0].score is None


def test_quality_measures_by_hand():
    image = np.zeros((100, 100, 3), np.uint8)
    image[20:80, 20:80] = 100
    image[20:80, 20:50:2] = 255  # vertical stripes: sharp, partly clipped
    face = Face((20.0, 20.0, 80.0, 80.0), 1.0, ((30.0, 40.0), (50.0, 40.0)))
    m = measure_quality(image, face)
    assert m.face_size == 60.0
    assert m.brightness == pytest.approx((15 * 60 * 255 + 45 * 60 * 100) / 3600, abs=0.6)
    assert m.clipped == pytest.approx(0.25, abs=0.01)
    assert m.eye_ratio == pytest.approx(20 / 60)
    assert m.sharpness > 100
    flat = measure_quality(np.full((100, 100, 3), 100, np.uint8), face)
    assert flat.sharpness == 0.0 and flat.clipped == 0.0
    limits = QualityLimits()
    ok = QualityMeasures(100.0, 200.0, 120.0, 0.0, 0.4)
    assert check_quality(ok, limits) == ""
    for change, reason in [({"face_size": 10.0}, "face_too_small"), ({"sharpness": 1.0}, "too_blurred"),
                           ({"brightness": 10.0}, "too_dark"), ({"brightness": 240.0}, "overexposed"),
                           ({"clipped": 0.9}, "clipped"), ({"eye_ratio": 0.1}, "turned_away")]:
        assert check_quality(QualityMeasures(**{**ok.__dict__, **change}), limits) == reason
    assert check_quality(QualityMeasures(**{**ok.__dict__, "eye_ratio": None}), limits) == ""  # no eyes: pose unchecked


def test_a_disabled_quality_limit_is_not_measured(monkeypatch, bundle, samples_dir):
    import cv2

    image = np.zeros((100, 100, 3), np.uint8)
    image[20:80, 20:80:2] = 255
    face = Face((20.0, 20.0, 80.0, 80.0), 1.0, ((30.0, 40.0), (50.0, 40.0)))

    def boom(*args, **kwargs):
        raise AssertionError("a pixel of the face was read for a gate with every limit open")

    with monkeypatch.context() as patched:
        patched.setattr(cv2, "cvtColor", boom)
        m = measure_quality(image, face, QualityLimits.open())
        assert (m.face_size, m.sharpness, m.brightness, m.clipped, m.eye_ratio) == (60.0, None, None, None, None)
        assert check_quality(m, QualityLimits.open()) == ""
    only = measure_quality(image, face, QualityLimits.open().model_copy(update={"min_sharpness": 5.0}))
    assert only.sharpness > 100 and only.brightness is None and only.clipped is None and only.eye_ratio is None
    assert check_quality(only, QualityLimits.open().model_copy(update={"min_sharpness": 1e6})) == "too_blurred"
    # the Predictor's road (acquire) passes its gate: an open gate leaves the pixel measures out
    result = Predictor(bundle, backend="torch", quality=QualityLimits.open()).predict_path(samples_dir / "silentface_image_T1.jpg")
    assert result.frames[0].quality["sharpness"] is None and result.frames[0].quality["face_size"] > 100


def test_turned_face_is_refused():
    image = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    frontal = Face((50.0, 50.0, 150.0, 150.0), 1.0, ((75.0, 90.0), (115.0, 90.0)))
    profile = Face((50.0, 50.0, 150.0, 150.0), 1.0, ((95.0, 90.0), (108.0, 90.0)))
    limits = QualityLimits()
    assert check_quality(measure_quality(image, frontal), limits) == ""
    assert check_quality(measure_quality(image, profile), limits) == "turned_away"


def test_cli_predict_json_lines_go_on_after_bad_files(bundle, samples_dir, tmp_path):
    from typer.testing import CliRunner

    from antispoof.cli import app

    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 broken")
    crops = tmp_path / "crops"
    args = ["predict", str(samples_dir), str(tmp_path / "bad.jpg"), "--model", str(bundle), "--json",
            "--save-crops", str(crops), "--backend", "torch"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 4
    assert [line["decision"] in DECISIONS for line in lines] == [True] * 4
    assert lines[-1]["decision"] == "failed_to_acquire" and lines[-1]["reasons"] == ["unreadable_file"]
    assert all(line["frames"][0]["box"] for line in lines[:3])
    assert len(list(crops.glob("*.png"))) == 3
    plain = CliRunner().invoke(app, ["predict", str(tmp_path / "bad.jpg"), "--model", str(bundle)])
    # nothing scored exits 1 (cli/predict.py's contract since 659cebe); the result still says why
    assert plain.exit_code == 1 and "failed_to_acquire" in plain.output and "unreadable_file" in plain.output


def test_cli_predict_without_a_bundle_says_how_to_make_one(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "from antispoof.cli import main; main()", "predict", "x.jpg",
                           "--model", str(tmp_path / "nothing")], capture_output=True, text=True)
    assert proc.returncode == 2 and "antispoof calibrate" in proc.stderr and "Traceback" not in proc.stderr


def test_an_unexpected_error_on_one_file_becomes_a_reason(bundle, samples_dir, monkeypatch):
    predictor = Predictor(bundle, backend="torch")

    def broken(image, annotation=None):
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(predictor.detector, "detect", broken)
    result = predictor.predict_path(_photos(samples_dir)[0])
    assert result.decision == "failed_to_acquire" and result.reasons == ["error"]
    assert "detector crashed" in result.frames[0].failure


@pytest.mark.parametrize("method", ["mean", "median", "min", "trimmed-mean=0.1", "vote=0.5", "none"])
def test_one_unit_aggregates_as_the_metrics_module_does(method):
    """The one-unit shortcut of the Predictor (photos, streamed frames) gives what metrics.aggregate_videos gives."""
    from antispoof.inference.predictor import _aggregate
    from antispoof.metrics import ScoreSet, aggregate_videos

    for value in (0.2, 0.7316):
        frames = ScoreSet.from_arrays(np.asarray([value]), np.ones(1, dtype=bool), video=["p"], source="test")
        expected = float(aggregate_videos(frames, "mean" if method == "none" else method)[0].scores[0])
        assert _aggregate([value], method) == expected
