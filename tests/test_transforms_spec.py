"""Transforms driven by an InputSpec: frames, clips and aligned modalities with one draw, and the one normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from antispoof.data.inputs import IMAGENET_MEAN, IMAGENET_STD, InputSpec, ModalitySpec
from antispoof.data.transforms import (
    MEAN,
    STD,
    build_transform,
    eval_transform,
    list_pipelines,
    normalize,
    to_tensor,
)
from antispoof.training.data import Augmented

IR1 = ModalitySpec(name="ir", channels=1, mean=(0.5,), std=(0.25,))
DEPTH3 = ModalitySpec(name="depth", channels=3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
RAW_RGB = ModalitySpec(name="rgb", channels=3, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def _spec(size: int = 24, *, crop_size: int | None = None, modalities=("rgb",), clip_len: int = 1, **kwargs) -> InputSpec:
    extra = {"ir": IR1, "depth": DEPTH3}
    mods = (InputSpec.rgb(8).modalities[0], *(extra[m] for m in modalities if m != "rgb"))
    return InputSpec(modalities=mods, crop_size=crop_size or size, input_size=size, clip_len=clip_len, **kwargs)


def _sample(size: int = 32, clip_len: int = 1, modalities=("rgb",), seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    lead = (clip_len,) if clip_len > 1 else ()
    out = {"image": rng.integers(0, 256, (*lead, size, size, 3), dtype=np.uint8), "label": 1, "video": "v0"}
    for m in modalities:
        if m != "rgb":
            out[m] = rng.integers(0, 256, (*lead, size, size), dtype=np.uint8)
    return out


@pytest.mark.parametrize("pipeline", list_pipelines())
@pytest.mark.parametrize("modalities", [("rgb",), ("rgb", "ir", "depth")])
@pytest.mark.parametrize("clip_len", [1, 3])
def test_shapes_follow_the_spec(pipeline, modalities, clip_len):
    spec = _spec(16, modalities=modalities, clip_len=clip_len)
    t = build_transform(pipeline, spec)
    sample = _sample(40, clip_len, modalities)
    out = t.apply(sample)
    for m in spec.modalities:
        assert out[m.key].dtype == torch.float32 and tuple(out[m.key].shape) == spec.shape(m.name), m.name
    if "ir" in modalities:
        assert out["ir"].shape[-3] == 1 and out["depth"].shape[-3] == 3
    assert out["label"] == 1 and out["video"] == "v0"
    assert isinstance(sample["image"], np.ndarray)  # the input sample is left as it was


def test_an_int_means_one_rgb_frame_with_imagenet_statistics():
    t = build_transform("entry", 32)
    assert t.spec == InputSpec.rgb(32)
    assert tuple(t(_sample(40)["image"]).shape) == (3, 32, 32)
    assert (MEAN, STD) == (IMAGENET_MEAN, IMAGENET_STD)


def test_a_clip_of_identical_frames_gets_one_draw():
    spec = _spec(16, clip_len=4)
    t = build_transform("entry", spec)
    frame = _sample(40)["image"]
    clip = np.stack([frame] * 4)
    results = []
    for seed in range(6):
        t.seed(seed)
        out = t.apply({"image": clip})["image"]
        assert all(torch.equal(out[0], out[i]) for i in range(1, 4)), seed
        results.append(out[0])
    assert any(not torch.equal(results[0], r) for r in results[1:])


def test_the_draw_does_not_depend_on_the_other_targets():
    """The same seed gives RGB the same augmentation whether or not IR and depth ride along."""
    rgb_only = build_transform("entry", _spec(16))
    multi = build_transform("entry", _spec(16, modalities=("rgb", "ir", "depth")))
    sample = _sample(40, modalities=("rgb", "ir", "depth"))
    for seed in range(4):
        rgb_only.seed(seed)
        multi.seed(seed)
        assert torch.equal(rgb_only.apply(sample)["image"], multi.apply(sample)["image"])


def _pixels(x: torch.Tensor, modality: ModalitySpec, spec: InputSpec) -> torch.Tensor:
    """Undo the normalisation: back to 0-255."""
    mean, std = (torch.tensor(v).view(-1, 1, 1) for v in (modality.mean, modality.std))
    return (x * std + mean) / spec.pixel_scale


@pytest.mark.parametrize("pipeline", ["light", "entry"])
def test_geometry_is_shared_across_modalities(pipeline):
    size = 40
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 30, (size, size, 3), dtype=np.uint8)
    ir = rng.integers(0, 30, (size, size), dtype=np.uint8)
    depth = rng.integers(0, 30, (size, size), dtype=np.uint8)
    y, x = 9, 27  # off-centre, so flips and rotations move it
    for img in (rgb, ir, depth):
        img[y - 1 : y + 2, x - 1 : x + 2] = 255
    spec = _spec(24, modalities=("rgb", "ir", "depth"))
    t = build_transform(pipeline, spec)
    places = set()
    for seed in range(16):
        t.seed(seed)
        out = t.apply({"image": rgb, "ir": ir, "depth": depth})
        pixels = {m.key: _pixels(out[m.key], m, spec).mean(dim=0) for m in spec.modalities}
        if float(pixels["image"].max()) < 150:  # the random crop left the marker out
            continue
        where = [divmod(int(p.argmax()), 24) for p in pixels.values()]
        assert where[0] == where[1] == where[2], (seed, where)
        places.add(where[0])
    assert len(places) > 1  # the marker was seen, and the pipeline did move it


def test_bgr_puts_blue_first():
    spec = InputSpec(modalities=(RAW_RGB,), crop_size=16, input_size=16, colour_order="BGR", pixel_scale=1.0)
    image = np.zeros((16, 16, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 20, 30  # R, G, B
    for x in (to_tensor(image, spec.modalities[0], spec), eval_transform(spec)(image)):
        assert x[0].unique().tolist() == [30.0] and x[1].unique().tolist() == [20.0] and x[2].unique().tolist() == [10.0]


def test_value_ranges_by_hand():
    image = np.zeros((16, 16, 3), np.uint8)
    image[0, 0], image[0, 1], image[0, 2] = 0, 255, 51
    half = ModalitySpec(name="rgb", channels=3, mean=(0.5,) * 3, std=(0.5,) * 3)
    minus_one_one = InputSpec(modalities=(half,), crop_size=16, input_size=16)
    x = eval_transform(minus_one_one)(image)
    assert x[:, 0, 0].tolist() == [-1.0] * 3 and x[:, 0, 1].tolist() == [1.0] * 3
    assert torch.allclose(x[:, 0, 2], torch.full((3,), 51 / 255 * 2 - 1), atol=1e-6)
    assert minus_one_one.value_range == (-1.0, 1.0) and float(x.min()) >= -1 and float(x.max()) <= 1
    raw = InputSpec(modalities=(RAW_RGB,), crop_size=16, input_size=16, pixel_scale=1.0)
    assert torch.equal(eval_transform(raw)(image), torch.from_numpy(image).permute(2, 0, 1).float())


def test_imagenet_values_by_hand():
    image = np.full((8, 8, 3), 200, np.uint8)
    x = normalize(image)
    for c in range(3):
        assert abs(float(x[c, 0, 0]) - (200 / 255 - MEAN[c]) / STD[c]) < 1e-6


def test_eval_center_crop_versus_resize():
    ramp = np.tile(np.arange(24, dtype=np.uint8)[None, :, None] * 10, (24, 1, 3))
    crop = eval_transform(_spec(16, crop_size=24, fit="center_crop"))(ramp)
    assert torch.equal(crop, normalize(np.ascontiguousarray(ramp[4:20, 4:20])))
    resized = eval_transform(_spec(16, crop_size=24, fit="resize"))(ramp)
    assert resized.shape == crop.shape and not torch.equal(resized, crop)
    # the resize keeps the whole crop: its left column is darker than the centre crop's
    assert float(resized[0, :, 0].mean()) < float(crop[0, :, 0].mean())
    # crop_size == input_size: nothing to crop, the frame passes unchanged
    same = eval_transform(_spec(24, fit="center_crop"))(ramp)
    assert torch.equal(same, normalize(ramp))


def test_normalize_is_to_tensor_for_the_default_spec():
    image = _sample(20)["image"]
    spec = InputSpec.rgb(20)
    assert torch.equal(normalize(image), to_tensor(image, spec.modalities[0], spec))
    assert torch.equal(normalize(image), eval_transform(20)(image))
    old = (torch.from_numpy(image).permute(2, 0, 1).float() / 255 - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    assert torch.allclose(normalize(image), old, atol=1e-6)


def test_to_tensor_fits_channels():
    spec = _spec(8, modalities=("rgb", "ir", "depth"))
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8)
    depth = to_tensor(gray, DEPTH3, spec)
    assert depth.shape == (3, 8, 8) and torch.equal(depth[0], depth[2])
    assert torch.equal(to_tensor(gray[:, :, None], DEPTH3, spec), depth)
    ir = to_tensor(np.stack([gray, gray, gray], axis=2), IR1, spec)
    assert torch.equal(ir, to_tensor(gray, IR1, spec))
    assert torch.allclose(ir[0], (torch.from_numpy(gray).float() / 255 - 0.5) / 0.25)
    mixed = np.stack([gray, gray + 3, gray + 6], axis=2)  # mean = gray + 3
    assert torch.allclose(to_tensor(mixed, IR1, spec), to_tensor(gray + 3, IR1, spec), atol=1e-6)


@pytest.mark.parametrize("bad, modality", [
    (np.zeros((8, 8, 3), np.float32), "rgb"),
    (np.zeros((8, 8), np.uint8), "rgb"),
    (np.zeros((8, 8, 4), np.uint8), "rgb"),
    (np.zeros((8, 8, 2), np.uint8), "ir"),
    (np.zeros((2, 8, 8, 1), np.uint8), "ir"),
])
def test_to_tensor_rejects_bad_frames(bad, modality):
    spec = _spec(8, modalities=("rgb", "ir"))
    with pytest.raises(ValueError, match=rf"{modality} uint8 .*dtype {bad.dtype} shape \({', '.join(map(str, bad.shape))}\)"):
        to_tensor(bad, spec.modality(modality), spec)


def test_call_wants_one_rgb_frame():
    with pytest.raises(ValueError, match=r"shape \(8, 8\).*apply\(sample\)"):
        eval_transform(8)(np.zeros((8, 8), np.uint8))


def test_a_missing_modality_is_named():
    t = build_transform("light", _spec(16, modalities=("rgb", "ir", "depth")))
    sample = _sample(20, modalities=("rgb", "ir"))
    with pytest.raises(ValueError, match=r"no 'depth' \(depth\).*reads rgb, ir, depth.*must provide it"):
        t.apply(sample)


def test_clip_length_and_alignment_are_checked():
    t = build_transform("none", _spec(16, modalities=("rgb", "ir"), clip_len=3))
    with pytest.raises(ValueError, match="clips of 3 frames, the sample has 2"):
        t.apply(_sample(20, clip_len=2, modalities=("rgb", "ir")))
    sample = _sample(20, clip_len=3, modalities=("rgb", "ir"))
    sample["ir"] = sample["ir"][:, :18]
    with pytest.raises(ValueError, match="ir_0 is 18x20 px but the rgb frame is 20x20"):
        t.apply(sample)


def test_same_seed_same_output():
    spec = _spec(16, modalities=("rgb", "ir", "depth"), clip_len=2)
    t = build_transform("entry", spec)
    a, b = _sample(32, 2, spec.names, seed=0), _sample(32, 2, spec.names, seed=1)
    t.seed(7)
    first = t.apply(a)
    t.apply(b)  # advances the draws
    t(a["image"][0])  # and so does a single frame, through another Compose
    t.seed(7)
    again = t.apply(a)
    assert all(torch.equal(first[k], again[k]) for k in spec.keys)
    fresh = build_transform("entry", spec)
    fresh.seed(7)
    other = fresh.apply(a)
    assert all(torch.equal(first[k], other[k]) for k in spec.keys)
    t.seed(8)
    other = t.apply(a)
    assert any(not torch.equal(first[k], other[k]) for k in spec.keys)


def test_the_compose_is_built_once_per_target_set():
    t = build_transform("light", _spec(16, modalities=("rgb", "ir")))
    sample = _sample(20, modalities=("rgb", "ir"))
    t.apply(sample)
    t.apply(sample)
    assert list(t._composes) == [("ir_0",)]


class _Multimodal(Dataset):
    def __init__(self, n: int = 4) -> None:
        self.items = [_sample(24, modalities=("rgb", "ir"), seed=i) for i in range(n)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def test_augmented_transforms_every_modality_seeded_per_sample():
    spec = _spec(16, modalities=("rgb", "ir"))
    data = Augmented(_Multimodal(), build_transform("entry", spec), seed=0)
    a, b = data[5], data[5]  # epoch 1, index 1, twice
    assert a["ir"].shape == (1, 16, 16) and a["image"].shape == (3, 16, 16)
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["ir"], b["ir"])
    assert not torch.equal(data[1]["ir"], data[5]["ir"])  # same index, another epoch
    assert isinstance(data.base[1]["ir"], np.ndarray)  # the wrapped dataset's items are not changed


def test_center_crop_of_a_larger_stored_crop_keeps_the_trained_field_of_view():
    """A store cut at 48 px for a model trained on 24 px crops centre-cropped to 16: resize to 24 first, then crop."""
    import cv2

    from antispoof.data.inputs import InputSpec
    from antispoof.data.transforms import eval_transform, to_tensor

    spec = InputSpec.rgb(16, crop_size=24, fit="center_crop")
    big = np.random.default_rng(3).integers(0, 256, size=(48, 48, 3), dtype=np.uint8)
    expected = cv2.resize(big, (24, 24), interpolation=cv2.INTER_LINEAR)[4:20, 4:20]
    got = eval_transform(spec).apply({"image": big})["image"]
    assert torch.allclose(got, to_tensor(expected, spec.modalities[0], spec), atol=1e-5)
