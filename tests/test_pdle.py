"""PDLE (seed 003): patch exchange labels and provenance, the expected liveness score, the gradient reversal layer."""

from __future__ import annotations

import pytest
import torch

from antispoof.config import load_config
from antispoof.losses import GradientReversal
from antispoof.methods import method_class
from antispoof.methods.pdle import patch_exchange
from antispoof.models.pdle import PDLENet, liveness_levels


@pytest.mark.parametrize("size", [32, 48, 64])
def test_rho_is_the_expected_level_in_the_unit_interval_at_several_sizes(size):
    torch.manual_seed(0)
    net = PDLENet("plain_cnn", k=10).eval()
    images = torch.randn(3, 3, size, size)
    rho, logits, features = net(images)
    assert rho.shape == (3,) and logits.shape == (3, 11) and features.shape == (3, net.num_features)
    by_hand = (torch.softmax(logits, 1) * torch.tensor([i / 10 for i in range(11)])).sum(1)  # Eq. 4 with c_i = i / K
    assert torch.allclose(rho, by_hand, atol=1e-6) and ((rho >= 0) & (rho <= 1)).all()
    assert torch.allclose(net.predict({"image": images})["score"], rho)


def test_levels_and_the_k_outputs_reading():
    assert torch.allclose(liveness_levels(10), torch.linspace(0, 1, 11))
    net = PDLENet("plain_cnn", k=10, outputs="k")
    assert net.fc.out_features == 10 and float(net.levels[-1]) == 1.0 and float(net.levels[0]) == 0.0


def test_gradient_reversal_returns_minus_its_coefficient_times_the_gradient():
    x = torch.randn(4, 5, requires_grad=True)
    upstream = torch.randn(4, 5)
    y = GradientReversal(0.3)(x)
    assert torch.equal(y, x)
    y.backward(upstream)
    assert torch.allclose(x.grad, -0.3 * upstream)
    with pytest.raises(ValueError):
        GradientReversal(-1.0)


def test_patch_exchange_pastes_from_the_opposite_label_and_labels_the_live_share():
    g = torch.Generator().manual_seed(0)
    h, w = 24, 30
    images = torch.stack([torch.full((3, h, w), float(i)) for i in range(6)])  # sample i is filled with value i
    labels = torch.tensor([1, 0, 1, 0, 0, -1])
    mixed, shares, facts = patch_exchange(images, labels, k=10, generator=g)
    assert len(mixed) == 5  # every labelled sample, not the unlabelled one
    for j in range(len(mixed)):
        a, d = int(facts["anchor"][j]), int(facts["donor"][j])
        assert labels[a] != labels[d] and labels[d] in (0, 1)  # the donor has the opposite label
        x0, y0, x1, y1 = facts["box"][j].tolist()
        inside = torch.zeros(h, w, dtype=torch.bool)
        inside[y0:y1, x0:x1] = True
        assert (mixed[j][:, inside] == d).all() and (mixed[j][:, ~inside] == a).all()
        pasted = inside.float().mean().item()
        live_share = 1 - pasted if labels[a] == 1 else pasted
        assert shares[j].item() == pytest.approx(live_share)
        assert abs(pasted - facts["lam"][j].item()) <= 1 / min(h, w)  # the stated bound to the discretised lambda
        assert any(facts["lam"][j].item() == pytest.approx(u / 10) for u in range(1, 11))


def test_no_exchange_without_both_labels():
    mixed, shares, _ = patch_exchange(torch.zeros(3, 3, 8, 8), torch.tensor([1, 1, 1]), k=10)
    assert len(mixed) == 0 and len(shares) == 0


def test_training_doubles_the_batch_and_validation_does_not_mix():
    config = load_config(method_class("pdle").config_schema, None, ["model.backbone=plain_cnn", "data.image_size=32"])
    torch.manual_seed(0)
    method = method_class("pdle").from_config(config)
    batch = {"image": torch.randn(4, 3, 32, 32), "label": torch.tensor([1, 0, 1, 0]), "domain": ["a", "b", "a", "c"]}
    loss, logs = method.training_loss(batch)
    assert torch.isfinite(loss) and {"mse", "adversarial"} <= set(logs)
    assert method.domains == {"a": 0, "b": 1, "c": 2}
    method.eval()
    rho, _, _ = method.net(batch["image"])
    assert method.validation_loss(batch).item() == pytest.approx(torch.mean((rho - batch["label"].float()) ** 2).item())
    spec = method.input_spec()
    assert (spec.crop_size, spec.input_size, spec.fit) == (37, 32, "center_crop")


def test_the_sampler_hook_gives_one_to_one_batches():
    import numpy as np

    config = load_config(method_class("pdle").config_schema, None, ["model.backbone=plain_cnn"])
    labels = np.array([1] * 5 + [0] * 31)
    sampler = method_class("pdle").from_config(config).train_sampler(labels, 0, 1, 0)
    drawn = labels[np.array(list(sampler)) % len(labels)]
    assert (drawn == 1).sum() == (drawn == 0).sum() == 18


@pytest.mark.parametrize("size", [32, 64])
def test_a_frozen_encoder_with_stage_statistics_trains_the_fc_alone(size):
    from antispoof.models.pdle import PDLENet

    net = PDLENet("resnet10t", k=10, features="stages", freeze_encoder=True).train()
    assert not net.encoder.training  # a frozen encoder keeps its BatchNorm statistics
    rho, logits, features = net(torch.rand(4, 3, size, size))
    assert rho.shape == (4,) and logits.shape == (4, 11) and features.shape == (4, net.num_features)
    assert ((rho >= 0) & (rho <= 1)).all()
    rho.sum().backward()
    assert all(p.grad is None for p in net.encoder.parameters())
    assert net.fc.weight.grad is not None and net.fc.weight.grad.abs().sum() > 0
    assert "freeze_encoder" not in net.arch and net.arch["features"] == "stages"  # rebuilt for inference without freezing


@pytest.mark.slow
def test_the_pdle_quickstart_runs_end_to_end_at_a_reduced_size(tmp_path):
    """`quickstart --method pdle` (its packaged config: frozen ImageNet Lite0, stage statistics) on 12 subjects, 1 epoch."""
    from antispoof.inference.bundle import Bundle
    from antispoof.training.quickstart import run_quickstart

    report = run_quickstart(tmp_path / "qs", method="pdle", subjects=12, frames=2, source_size=64, workers=1,
                            teacher_overrides=["data.image_size=32", "data.crop_size=36", "train.max_epochs=1"],
                            progress=False)
    model = report["models"]["pdle"]
    assert model["backbone"] == "tf_efficientnet_lite0" and 0 <= model["acer"] <= 1 and 0 <= model["auc"] <= 1
    card = Bundle.load(report["bundle"]["path"]).card
    assert (card.input.crop_size, card.input.input_size, card.input.fit) == (36, 32, "center_crop")
    assert 0 <= report["bundle"]["dev_apcer"] <= 1
