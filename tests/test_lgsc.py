"""LGSC (seed 004): the triplet loss against a hand computation, the live-only L1, the U-Net's shapes and score."""

from __future__ import annotations

import math

import pytest
import torch

from antispoof.losses import LiveAnchorTripletLoss, LiveCueL1Loss
from antispoof.methods.lgsc import LGSCModelConfig
from antispoof.models.lgsc import DecoderBlock, LGSCNet


def test_triplet_loss_matches_a_hand_computation_on_four_samples():
    # two live (a, b) and two spoof (c, d) in 2-D, already unit length
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [math.cos(0.5), math.sin(0.5)]])
    labels = torch.tensor([1, 1, 0, 0])
    d = lambda i, j: float(torch.dist(f[i], f[j]))  # noqa: E731
    m = 0.5
    terms = [max(d(a, p) - d(a, n) + m, 0.0) for a, p in ((0, 1), (1, 0)) for n in (2, 3)]
    positive = [t for t in terms if t > 1e-16]
    expected = sum(positive) / len(positive)
    assert LiveAnchorTripletLoss(m)(f * 3.0, labels).item() == pytest.approx(expected, abs=1e-6)  # features are normalised


def test_triplet_loss_is_zero_when_spoof_is_farther_than_the_margin():
    f = torch.tensor([[1.0, 0.0], [1.0, 0.01], [-1.0, 0.0], [-1.0, 0.05]])
    loss = LiveAnchorTripletLoss(0.5)(f, torch.tensor([1, 1, 0, 0]))
    assert loss.item() == 0.0
    assert LiveAnchorTripletLoss(0.5)(f, torch.tensor([1, 0, 0, 0])).item() == 0.0  # one live sample: no positive pair


def test_live_cue_l1_ignores_spoof_samples():
    cues = torch.zeros(3, 3, 4, 4)
    cues[1] = 7.0  # a spoof sample with large cues
    cues[0, :, 0, 0] = 0.5
    labels = torch.tensor([1, 0, 1])
    assert LiveCueL1Loss("pixel_mean")(cues, labels).item() == pytest.approx(1.5 / (2 * 48))
    assert LiveCueL1Loss("sample_sum")(cues, labels).item() == pytest.approx(1.5 / 2)
    assert LiveCueL1Loss()(cues, torch.tensor([0, 0, 0])).item() == 0.0


def test_decoder_block_doubles_the_size_exactly():
    block = DecoderBlock(8, 4, 6)
    out = block(torch.randn(2, 8, 5, 7), torch.randn(2, 4, 10, 14))
    assert out.shape == (2, 6, 10, 14)
    assert DecoderBlock(8, 0, 6)(torch.randn(1, 8, 3, 3)).shape == (1, 6, 6, 6)


@pytest.mark.parametrize("size", [32, 64, 96])
def test_cue_map_has_the_input_size_and_the_score_is_one_minus_its_magnitude(size):
    torch.manual_seed(0)
    net = LGSCNet("resnet10t").eval()
    x = torch.rand(2, 3, size, size) * 2 - 1
    cue, pooled = net(x)
    assert cue.shape == (2, 3, size, size) and cue.abs().max() <= 1
    assert [p.shape[1] for p in pooled] == list(net.feature_widths)
    out = net.predict({"image": x})
    assert torch.allclose(out["score"], 1 - cue.abs().mean(dim=(1, 2, 3)))
    assert out["spoof_cue"].shape == (2, size, size)
    with pytest.raises(ValueError, match="multiples of 32"):
        net(torch.zeros(1, 3, 40, 40))


def test_frozen_encoder_batchnorm_stays_in_eval_mode():
    net = LGSCNet("resnet10t", freeze_encoder_bn=True).train()
    bns = [m for m in net.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(not m.training for m in bns)
    assert all(m.training for m in LGSCNet("resnet10t", freeze_encoder_bn=False).train().encoder.modules()
               if isinstance(m, torch.nn.BatchNorm2d))


def _lgsc_config(*overrides: str):
    from antispoof.config import load_config
    from antispoof.methods import method_class

    tiny = ["model.backbone=resnet10t", "model.classifier=resnet10t", "data.image_size=32"]
    return load_config(method_class("lgsc").config_schema, None, [*tiny, *overrides])


@pytest.mark.parametrize("overrides,keys", [
    ([], "model.freeze_encoder_bn=true"),  # the default config
    (["model.freeze_encoder_bn=false", "model.freeze_encoder=true"], "model.freeze_encoder=true"),
])
def test_training_a_random_encoder_with_frozen_batchnorm_is_refused_with_both_ways_out(overrides, keys):
    from antispoof.methods import method_class

    with pytest.raises(ValueError, match="model.weights=null with") as info:
        method_class("lgsc").from_config(_lgsc_config(*overrides))
    message = str(info.value)
    assert keys in message and "model.weights=FILE" in message and "model.freeze_encoder_bn=false" in message
    method = method_class("lgsc").from_config(_lgsc_config("model.freeze_encoder_bn=false"))  # from scratch: trains
    assert all(m.training for m in method.train().net.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d))
    method_class("lgsc").for_inference(_lgsc_config())  # scoring a trained run: weights come after, nothing refused


def test_encoder_weights_keep_the_default_batchnorm_freeze(tmp_path):
    import timm

    from antispoof.methods import method_class

    file = tmp_path / "resnet10t.pth"
    torch.save(timm.create_model("resnet10t", num_classes=0).state_dict(), file)
    method = method_class("lgsc").from_config(_lgsc_config(f"model.weights={file}")).train()
    assert all(not m.training for m in method.net.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_auxiliary_classifier_loads_a_local_file_and_gets_a_new_two_class_head(tmp_path, caplog):
    """ResNet-18 is our choice (the paper names no classifier); any timm name loads a local file through the factory."""
    import timm

    from antispoof.methods import method_class
    from antispoof.models.backbones import create_classifier

    torch.manual_seed(3)
    imagenet = timm.create_model("resnet10t", num_classes=1000)  # an ImageNet-shaped file: its 1000-way head is dropped
    file = tmp_path / "resnet10t_imagenet.pth"
    torch.save(imagenet.state_dict(), file)
    config = _lgsc_config("model.freeze_encoder_bn=false", f"model.classifier_weights={file}")
    classifier = method_class("lgsc").from_config(config).classifier
    assert classifier.fc.out_features == 2 and classifier.drop_rate == 0.5
    got, want = classifier.state_dict(), imagenet.state_dict()
    assert torch.equal(got["conv1.0.weight"], want["conv1.0.weight"])
    assert torch.equal(got["layer4.0.bn2.running_var"], want["layer4.0.bn2.running_var"])
    random = method_class("lgsc").from_config(_lgsc_config("model.freeze_encoder_bn=false")).classifier
    assert not torch.equal(random.state_dict()["conv1.0.weight"], want["conv1.0.weight"])
    assert LGSCModelConfig().classifier == "resnet18"  # our choice, documented
    with pytest.raises(FileNotFoundError, match="classifier weights"):
        create_classifier("resnet10t", 2, weights=tmp_path / "missing.pth")
    with pytest.raises(KeyError, match="unknown classifier 'resnet_nope'"):
        create_classifier("resnet_nope", 2)


@pytest.mark.slow
def test_predict_save_explanations_writes_the_cue_map_of_a_trained_lgsc_bundle(tmp_path, samples_dir):
    """A tiny LGSC quickstart, then `antispoof predict PHOTO --save-explanations DIR` on a real photo."""
    import cv2
    import numpy as np
    from typer.testing import CliRunner

    from antispoof.cli import app
    from antispoof.training.quickstart import run_quickstart

    tiny = ["model.backbone=resnet10t", "model.classifier=resnet10t", "data.image_size=32", "train.max_epochs=1",
            "model.freeze_encoder=false", "model.freeze_encoder_bn=false"]  # no packaged resnet10t weights: random encoder
    report = run_quickstart(tmp_path / "qs", method="lgsc", subjects=12, frames=2, source_size=64, workers=1,
                            teacher_overrides=tiny, progress=False)
    assert set(report["models"]) == {"lgsc"}
    photo = samples_dir / "silentface_image_T1.jpg"
    out = tmp_path / "explained"
    result = CliRunner().invoke(app, ["predict", str(photo), "--model", report["bundle"]["path"], "--save-explanations",
                                      str(out), "--backend", "torch"])
    assert result.exit_code == 0, result.output
    (png,) = sorted(out.glob("*.png"))
    assert png.name.endswith("_spoof_cue.png")
    overlay = cv2.imread(str(png))
    crop = tmp_path / "crops"
    CliRunner().invoke(app, ["predict", str(photo), "--model", report["bundle"]["path"], "--save-crops", str(crop),
                             "--backend", "torch"])
    (plain,) = sorted(crop.glob("*.png"))
    face = cv2.imread(str(plain))
    assert overlay.shape == face.shape  # the cue map drawn over the scored crop
    assert np.abs(overlay.astype(int) - face.astype(int)).mean() > 1  # ... and it shows something
