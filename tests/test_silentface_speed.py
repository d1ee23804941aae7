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
