"""The fast forms of the Silent-Face pipeline keep its numbers: the Predictor's batched input conversion, the detector's graph.

No test here measures time; each checks that a faster form computes what the plain one does.
"""

from __future__ import annotations

import numpy as np
import pytest

from antispoof.data.inputs import InputSpec, ModalitySpec
from antispoof.data.transforms import eval_transform
from antispoof.inference.predictor import _direct_batch, _direct_spec
from antispoof.inference.silentface import silentface_input_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # small networks: see conftest

SPECS = {
    "silentface (2 views, BGR, raw 0-255)": silentface_input_spec(80, 2),
    "imagenet rgb": InputSpec.rgb(64),
    "bgr, own mean and std, clip of 3": InputSpec(
        modalities=(ModalitySpec(name="rgb", channels=3, mean=(0.5, 0.25, 0.125), std=(0.2, 0.3, 0.7)),),
        crop_size=32, input_size=32, colour_order="BGR", clip_len=3),
    "center crop of crops at the input size": InputSpec.rgb(48, fit="center_crop"),
}


def _crops(spec: InputSpec, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    lead = (spec.views,) if spec.views > 1 else (spec.clip_len,) if spec.clip_len > 1 else ()
    return [rng.integers(0, 256, (*lead, spec.input_size, spec.input_size, 3), dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize("name", list(SPECS))
def test_batched_conversion_is_the_transform_bit_for_bit(name: str) -> None:
    spec = SPECS[name]
    assert _direct_spec(spec)
    crops = _crops(spec, 5, np.random.default_rng(0))
    crops[0][..., :2, :, :] = (0, 255, 128)  # the extremes and a flat patch
    transform = eval_transform(spec)
    expected = np.stack([transform.apply({"image": c})["image"].numpy() for c in crops])
    got = _direct_batch(spec, crops)["image"]
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_batched_conversion_steps_aside_where_the_transform_does_more() -> None:
    spec = InputSpec.rgb(64, crop_size=80)  # crops resized to the input: the transform's job
    assert _direct_spec(spec) and _direct_batch(spec, _crops(InputSpec.rgb(80), 2, np.random.default_rng(0))) is None
    assert not _direct_spec(InputSpec.rgb(64, crop_size=80, fit="center_crop"))
    assert not _direct_spec(InputSpec.rgb(32, crop_size=64, fit="patches", patches=2))
    ir = ModalitySpec(name="ir", channels=1, mean=(0.5,), std=(0.5,))
    assert not _direct_spec(InputSpec.rgb(64).model_copy(update={"modalities": (InputSpec.rgb(64).modalities[0], ir)}))
    spec = InputSpec.rgb(16)
    assert _direct_batch(spec, []) is None
    assert _direct_batch(spec, [np.zeros((16, 16, 3), np.float32)]) is None  # not uint8


@pytest.fixture(scope="module")
def retinaface():
    from conftest import SHARED

    from antispoof.faces.retinaface import RetinaFaceCaffe

    weights = SHARED / "weights" / "silentface" / "Widerface-RetinaFace.caffemodel"
    if not weights.is_file():
        pytest.skip(f"Silent-Face detector weights not found at {weights} (they live beside the project, not in it)")
    return RetinaFaceCaffe(weights)


def test_detector_graph_folds_batch_norms_and_merges_heads(retinaface) -> None:
    import onnx

    from antispoof.faces._caffe_onnx import caffe_to_onnx
    from antispoof.faces.retinaface import _head_levels

    levels = _head_levels(retinaface.graph)
    assert len(levels) == 3
    model, where = caffe_to_onnx(retinaface.graph, (1, 3, 96, 128), [b for pair in levels for b in pair], rgb_hwc=True)
    ops = [n.op_type for n in onnx.load_from_string(model).graph.node]
    layers = [kind for _, kind, *_ in retinaface.graph.layers]
    assert "BatchNormalization" not in ops and "Mul" not in ops  # every BatchNorm and Scale is inside a convolution
    assert ops.count("Conv") == layers.count("Convolution") - len(levels)  # the two heads of a level are one convolution
    assert {where[box][0] for box, _ in levels} == {where[cls][0] for _, cls in levels}


@pytest.mark.parametrize("size", [(480, 640), (640, 480), (150, 120), (1080, 1920)])
def test_detector_graph_keeps_the_layer_by_layer_numbers(retinaface, samples_dir, size: tuple[int, int]) -> None:
    """The onnxruntime form against the layer-by-layer PyTorch run: raw boxes and confidences within 1e-4, the same faces."""
    import cv2

    from antispoof.data.video import read_image
    from antispoof.faces.retinaface import RetinaFaceCaffe

    plain = RetinaFaceCaffe(retinaface.weights, runtime="torch")
    rng = np.random.default_rng(1)
    for name in ("silentface_image_T1.jpg", "silentface_image_F2.jpg"):
        image = cv2.resize(read_image(samples_dir / name), size[::-1], interpolation=cv2.INTER_AREA)
        for frame in (image, np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)):
            (boxes, conf), (ref_boxes, ref_conf) = retinaface.raw(frame), plain.raw(frame)
            assert boxes.shape == ref_boxes.shape and np.abs(boxes - ref_boxes).max() < 1e-4
            assert np.abs(conf - ref_conf).max() < 1e-4
            assert [f.box for f in retinaface.detect(frame)] == [f.box for f in plain.detect(frame)]
