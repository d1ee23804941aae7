"""LGSC's input (seed 004 Sec. 4.4): faces kept at native resolution, random patches in training, a grid at test.

Sec. 4.4: "we sample patches from images as the network input during training. These
patches keep the input image resolution"; the test-time rule is our reading (the mean
|cue| over a grid of patches covering the face, Eq. 10 on each).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from antispoof.data.acquisition import AcquisitionMismatch, AcquisitionSpec, CropSpec, check_same_acquisition
from antispoof.data.inputs import InputSpec, ModalitySpec
from antispoof.data.transforms import build_transform, eval_transform, patch_grid, to_tensor
from antispoof.faces.crop import crop_face

HALF = ModalitySpec(name="rgb", channels=3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def _pattern(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_a_native_crop_keeps_the_frames_pixels_and_enlarges_only_a_small_face():
    frame = _pattern(600, 640)
    crop = crop_face(frame, (100, 100, 300, 300), size=224, scale=1.5, native=True)  # a 300 px square
    assert crop.shape == (300, 300, 3) and np.array_equal(crop, frame[50:350, 50:350])
    resized = crop_face(frame, (100, 100, 300, 300), size=224, scale=1.5)
    assert resized.shape == (224, 224, 3)  # the default resizes, which is what Table 5's "resized input" row does
    small = crop_face(frame, (100, 100, 160, 160), size=224, scale=1.5, native=True)  # a 90 px square
    assert small.shape == (224, 224, 3)
    with pytest.raises(ValueError, match="alignment would resample"):
        crop_face(frame, (100, 100, 300, 300), size=224, native=True, align=True, eyes=((150, 150), (250, 150)))


def test_the_acquisition_record_holds_the_native_crop_and_a_resized_store_is_refused():
    native = AcquisitionSpec(crop=CropSpec(size=224, native=True))
    resized = AcquisitionSpec(crop=CropSpec(size=224))
    assert native.record()["crop"]["native"] is True
    with pytest.raises(AcquisitionMismatch, match=r"crop.native.*--native"):
        check_same_acquisition(native, resized, data_name="this store")
    with pytest.raises(ValueError, match="native-resolution crop"):
        CropSpec(size=224, native=True, views=(2.7, 4.0))


def _spec(patches: int = 3) -> InputSpec:
    return InputSpec(modalities=(HALF,), crop_size=224, input_size=224, fit="patches", patches=patches)


def test_a_training_patch_is_an_unscaled_window_of_the_stored_crop():
    crop = _pattern(256, 256, seed=1)
    whole = to_tensor(crop, HALF, _spec())
    transform = build_transform("patch", _spec())
    for seed in range(4):
        transform.seed(seed)
        patch = transform(crop)
        assert patch.shape == (3, 224, 224)
        found = [(y, x) for y in range(33) for x in range(33)
                 if torch.equal(whole[:, y:y + 224, x:x + 224], patch) or torch.equal(whole[:, y:y + 224, x:x + 224].flip(-1), patch)]
        assert len(found) == 1, f"seed {seed}: the patch is no window of the crop at its own resolution"


def test_the_test_rule_is_a_grid_of_patches_corner_to_corner():
    crop = _pattern(300, 300, seed=2)
    whole = to_tensor(crop, HALF, _spec())
    grid = eval_transform(_spec())(crop)
    assert grid.shape == (9, 3, 224, 224)
    starts = [0, 38, 76]  # (300 - 224) / 2 = 38
    for i, (y, x) in enumerate((y, x) for y in starts for x in starts):
        assert torch.equal(grid[i], whole[:, y:y + 224, x:x + 224])
    assert torch.equal(patch_grid(whole, 224, 1)[0], whole[:, 38:262, 38:262])  # one patch: the centre
    assert _spec().shape("rgb") == (9, 3, 224, 224)


def test_a_grid_is_scored_as_one_face_by_eq_10_over_all_its_patches():
    from antispoof.models.lgsc import LGSCNet

    net = LGSCNet("resnet10t").eval()
    images = torch.randn(2, 4, 3, 64, 64)
    out = net.predict({"image": images})
    with torch.no_grad():
        per_patch = [[net(images[b, p:p + 1])[0].abs().mean().item() for p in range(4)] for b in range(2)]
    expected = torch.tensor([1.0 - float(np.mean(rows)) for rows in per_patch])
    assert torch.allclose(out["score"], expected, atol=1e-5)
    assert out["spoof_cue"].shape == (2, 64, 64)


def test_the_default_config_is_the_papers_input_and_the_quickstart_states_its_departure():
    from antispoof.methods import load_method_config, method_class

    lgsc = method_class("lgsc")
    default = load_method_config("lgsc", [])
    spec = lgsc.input_spec_for(default)
    assert (default.train.augment, spec.fit, spec.patches, spec.input_size) == ("patch", "patches", 3, 224)
    quick = load_method_config("quickstart_lgsc", [])
    assert quick.model.input == "resized" and lgsc.input_spec_for(quick).fit == "resize"


def test_the_dev_loss_reads_a_grid_as_patches_of_their_faces_label():
    from antispoof.config import load_config
    from antispoof.methods import method_class

    config = load_config(method_class("lgsc").config_schema, None,
                         ["model.backbone=resnet10t", "model.classifier=resnet10t", "data.image_size=32", "model.freeze_encoder_bn=false"])
    method = method_class("lgsc").from_config(config).eval()
    images, labels = torch.randn(2, 4, 3, 32, 32), torch.tensor([1, 0])
    torch.manual_seed(0)
    grid_loss, _ = method.training_loss({"image": images, "label": labels})
    torch.manual_seed(0)
    flat_loss, _ = method.training_loss({"image": images.flatten(0, 1), "label": labels.repeat_interleave(4)})
    assert torch.allclose(grid_loss, flat_loss)
