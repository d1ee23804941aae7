"""YuNet: a registered detector from a local ONNX file, its decoding on real photos, the fitted box correction."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import antispoof.faces  # noqa: F401  (registers detectors)
from antispoof._registry import DETECTORS
from antispoof.data.video import read_image
from antispoof.faces.yunet import apply_correction

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def yunet_file() -> Path:
    from conftest import SHARED

    path = SHARED / "weights" / "yunet" / "yunet_s_dynamic.onnx"
    if not path.is_file():
        pytest.skip(f"YuNet weights not found at {path} (a local file beside the project, never in it)")
    return path


def test_no_weights_by_default_says_where_they_come_from() -> None:
    with pytest.raises(FileNotFoundError, match="yunet detector reads a local ONNX file.*weights=PATH"):
        DETECTORS.create("yunet")
    with pytest.raises(FileNotFoundError, match="not found"):
        DETECTORS.create("yunet", weights="/nonexistent/yunet.onnx")


def test_correction_by_hand() -> None:
    boxes = np.array([[10.0, 20.0, 30.0, 60.0]])  # centre (20, 40), size 20 x 40
    assert np.array_equal(apply_correction(boxes, None), boxes)
    out = apply_correction(boxes, (1.5, 0.5, 0.1, -0.25))  # size 30 x 20, centre (20 + 2, 40 - 10)
    assert np.allclose(out, [[22 - 15, 30 - 10, 22 + 15, 30 + 10]])


def test_fit_recovers_a_known_correction() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from fit_yunet_correction import fit

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 300, (40, 2))
    wh = rng.uniform(50, 200, (40, 2))
    yunet = np.concatenate([xy, xy + wh], axis=1)
    truth = (1.11, 0.85, 0.02, 0.15)
    assert np.allclose(fit(yunet, apply_correction(yunet, truth)), truth)


def test_finds_the_sample_faces_with_eyes_and_nothing_in_noise(yunet_file: Path, samples_dir: Path) -> None:
    detector = DETECTORS.create("yunet", weights=yunet_file)
    for photo in sorted(samples_dir.glob("*.jpg")):
        image = read_image(photo)
        faces = detector.detect(image)
        assert len(faces) == 1, photo.name
        (lx, ly), (rx, ry) = faces[0].eyes
        x0, y0, x1, y1 = faces[0].box
        assert x0 < lx < rx < x1 and y0 < ly < y1 and y0 < ry < y1  # eyes inside the box, image-left first
        assert 0.25 < (rx - lx) / (x1 - x0) < 0.6
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert detector.detect(noise) == []
    info = detector.info()
    assert info["weights"] == yunet_file.name and len(info["sha256"]) == 64


def test_a_fitted_correction_in_a_bundle_brings_the_boxes_onto_the_source_detector(
        yunet_file: Path, samples_dir: Path, silentface_dir: Path, tmp_path: Path) -> None:
    """A bundle serving with yunet + a correction fitted on the samples: boxes overlap RetinaFace's better, decisions hold."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from fit_yunet_correction import fit, iou

    from antispoof.faces.retinaface import RetinaFaceCaffe
    from antispoof.inference.bundle import Bundle, add_file
    from antispoof.inference.card import DetectorSpec
    from antispoof.inference.predictor import Predictor
    from antispoof.inference.silentface import import_silentface

    raw = DETECTORS.create("yunet", weights=yunet_file)
    reference = RetinaFaceCaffe(silentface_dir / "Widerface-RetinaFace.caffemodel")
    images = [read_image(p) for p in sorted(samples_dir.glob("*.jpg"))]
    y = np.array([raw.detect(im)[0].box for im in images])
    r = np.array([max(reference.detect(im), key=lambda f: f.score).box for im in images])
    correction = fit(y, r)
    assert iou(apply_correction(y, correction), r).min() > iou(y, r).max()
    bundle = import_silentface(silentface_dir, tmp_path / "b", onnx=False)
    shutil.copyfile(yunet_file, bundle.path / yunet_file.name)
    card = add_file(bundle.card, bundle.path, yunet_file.name)
    bundle.save_card(card.model_copy(update={"detector": DetectorSpec(
        name="yunet", options={"weights": yunet_file.name, "correction": list(correction), "fit": {"photos": 3}})}))
    predictor = Predictor(Bundle.load(bundle.path), backend="torch", threads=1)
    assert predictor.detector.correction == pytest.approx(correction)
    decisions = [predictor.predict_image(im).decision for im in images]
    assert decisions == ["attack", "attack", "bonafide"]
