"""Face-identity pretraining (seed 001's initialisation): ArcFace Eq. 3 by hand, identity labels from the subject
column, and `antispoof pretrain face-id` writing a backbone that multimodal loads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F
from typer.testing import CliRunner

from antispoof.cli import app
from antispoof.config import load_config
from antispoof.methods import list_methods, method_class
from antispoof.methods.face_id import BACKBONE_CARD, BACKBONE_FILE, ArcMargin, arcface_logits

TINY = ["data.image_size=48", "model.width=0.125", "model.layers=[1,1,1,1]"]


def _method(overrides=()):
    cls = method_class("face_id")
    torch.manual_seed(0)
    return cls.from_config(load_config(cls.config_schema, None, [*TINY, *overrides]))


def test_face_id_is_a_pretraining_objective_not_a_detector():
    assert "face_id" not in list_methods() and "face_id" in list_methods(kind="pretraining")


def test_arcface_logits_match_deng_et_al_eq_3_by_hand():
    features = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    weight = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    labels = torch.tensor([1, 0])
    s, m = 10.0, 0.3
    got = arcface_logits(features, weight, labels, s, m)
    # sample 0: unit feature (0.6, 0.8); cosines to the unit class weights: 0.6, 0.8, -(0.6 + 0.8) / sqrt 2
    cos0 = [0.6, 0.8, -1.4 / math.sqrt(2)]
    expected0 = [s * cos0[0], s * math.cos(math.acos(0.8) + m), s * cos0[2]]  # the margin on the true class only
    cos1 = [1.0, 0.0, -1 / math.sqrt(2)]
    expected1 = [s * math.cos(math.acos(1.0 - 1e-7) + m), s * cos1[1], s * cos1[2]]
    assert torch.allclose(got, torch.tensor([expected0, expected1]), atol=1e-4)
    loss = F.cross_entropy(got, labels)  # Eq. 3's loss: -log e^{s cos(theta_y + m)} / (that + sum_j e^{s cos theta_j})
    by_hand = -0.5 * sum(math.log(math.exp(e[y]) / sum(math.exp(v) for v in e)) for e, y in ((expected0, 1), (expected1, 0)))
    assert loss.item() == pytest.approx(by_hand, rel=1e-4)
    assert torch.allclose(arcface_logits(features, weight, None, s, m), s * F.normalize(features) @ F.normalize(weight).T)


def test_arcface_leaves_the_margin_out_past_pi():
    features, weight = torch.tensor([[-1.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    got = arcface_logits(features, weight, torch.tensor([0]), s=1.0, m=0.5)  # theta_y = pi: theta + m > pi
    assert got[0, 0].item() == pytest.approx(-1.0, abs=1e-4)
    with pytest.raises(ValueError, match="margin"):
        ArcMargin(4, 3, s=30.0, m=-0.1)


@pytest.mark.parametrize("head", ["softmax", "arcface"])
def test_identity_labels_come_from_the_subject_column_and_every_parameter_gets_a_gradient(head):
    method = _method([f"face_id.head={head}"]).train()
    with pytest.raises(RuntimeError, match="identity head"):
        method.training_loss({"image": torch.randn(2, 3, 48, 48), "subject": ["a", "b"]})
    method.make_head(["s02", "s07", "s11"])
    batch = {"image": torch.randn(4, 3, 48, 48), "subject": ["s07", "s11", "s02", "s07"], "label": torch.ones(4)}
    assert method.identity_labels(batch).tolist() == [1, 2, 0, 1]
    loss, logs = method.training_loss(batch)
    loss.backward()
    missing = [n for n, p in method.named_parameters() if p.grad is None]
    assert not missing and 0 <= logs["identity_acc"] <= 1
    with pytest.raises(KeyError, match="not one of the 3 identities"):
        method.identity_labels({**batch, "subject": ["s99"] * 4})
    with pytest.raises(TypeError, match="scores nothing"):
        method.score(batch)


def test_input_spec_matches_the_multimodal_rgb_branch():
    face = method_class("face_id")
    spec = face.input_spec_for(load_config(face.config_schema, None, ["data.image_size=64"]))
    mm = method_class("multimodal")
    mm_spec = mm.input_spec_for(load_config(mm.config_schema, None, ["data.image_size=64"]))
    assert spec.modalities[0] == mm_spec.modalities[0] and (spec.crop_size, spec.fit) == (mm_spec.crop_size, mm_spec.fit)


def test_face_id_config_pretrains_the_network_of_the_multimodal_quickstart(tmp_path):
    """configs/face_id.yaml's backbone file loads into configs/quickstart_multimodal.yaml's network: every tensor of its
    branches and res4 has the file's shape (res4's first kernel tiled over the branches), and both read the same input."""
    from antispoof.methods import load_method_config
    from antispoof.methods.multimodal import load_face_weights
    from antispoof.weights import save_weights

    face_config, mm_config = load_method_config("face_id"), load_method_config("quickstart_multimodal")
    fm, mm = face_config.model, mm_config.model
    assert (fm.backbone, list(fm.layers), fm.width) == (mm.backbone, list(mm.layers), mm.width)
    face = method_class("face_id").from_config(face_config)
    net = method_class("multimodal").from_config(mm_config).net
    saved, own, n = face.encoder.state_dict(), net.state_dict(), len(net.branches)
    for key, value in saved.items():  # what write_backbone saves: the encoder's state dict
        shape = tuple(value.shape)
        if key.startswith("layer4."):
            targets = ["res4." + key.removeprefix("layer4.")]
            if key == "layer4.down.conv.weight":
                shape = (shape[0], n * shape[1], *shape[2:])
        else:
            targets = [f"branches.{i}.{key}" for i in range(n)]
        for target in targets:
            assert target in own and tuple(own[target].shape) == shape, (key, target)
    save_weights(face.encoder, tmp_path / BACKBONE_FILE, {"face_id": {}})
    report = load_face_weights(net, tmp_path / BACKBONE_FILE, aggregation_init=mm.aggregation_init)
    assert not report["mismatched"] and not report["unexpected"]
    assert not any(k.startswith(("branches.", "res4.")) for k in report["missing"])
    face_spec, mm_spec = face.input_spec(), method_class("multimodal").input_spec_for(mm_config)
    assert face_spec.modalities[0] == mm_spec.modalities[0]
    assert (face_spec.crop_size, face_spec.input_size) == (mm_spec.crop_size, mm_spec.input_size) == (54, 48)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.training.quickstart import prepare_synthetic_store

    root = tmp_path_factory.mktemp("faceid")
    generate_dataset(root / "data", subjects=6, frames=2, size=64, seed=3, species="print_flat", workers=1, show_progress=False)
    return prepare_synthetic_store(root / "data", root / "store", crop_size=54, frames=2, workers=1, progress=False)


@pytest.mark.slow
def test_pretrain_face_id_writes_a_backbone_that_multimodal_loads(store, tmp_path):
    run = tmp_path / "faceid"
    result = CliRunner().invoke(app, ["pretrain", "face-id", "--store", str(store), "--out", str(run), *TINY,
                                      "face_id.splits=[train,dev,test]", "train.max_epochs=1", "train.batch_size=4",
                                      "train.progress=false"])
    assert result.exit_code == 0, result.output
    assert (run / BACKBONE_FILE).is_file() and "multimodal model.weights=" in result.output
    card = json.loads((run / BACKBONE_CARD).read_text())
    assert card["identities"] == 6 and card["trained_on"]["bonafide_only"] and card["width"] == 0.125
    mm = method_class("multimodal")
    config = load_config(mm.config_schema, None, [*TINY, "model.se_reduction=4", f"model.weights={run / BACKBONE_FILE}"])
    method = mm.from_config(config)
    report = method.init_report
    assert not any(k.startswith("branches.") for k in report["missing"]) and "classifier.weight" in report["missing"]
    from safetensors.torch import load_file

    saved = load_file(str(run / BACKBONE_FILE))
    assert torch.equal(method.net.branches[2].stem.conv.weight, saved["stem.conv.weight"])


def test_pretrain_face_id_needs_a_store():
    result = CliRunner().invoke(app, ["pretrain", "face-id", "--out", "/tmp/nowhere"])
    assert result.exit_code != 0 and "--store" in str(result.exception)
