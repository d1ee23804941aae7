"""The Entry network: heads in the paper's order, score convention, local weights, freezing, masked loss."""

from __future__ import annotations

import logging

import pytest
import timm
import torch

from antispoof._registry import METHODS
from antispoof.losses import ReducedFocalLoss
from antispoof.models.backbones import create_backbone
from antispoof.methods.entry import EntryConfig, EntryMethod
from antispoof.models.entry import HEAD_NAMES, EntryNet

TINY = "resnet10t"


def _batch(n: int = 4, size: int = 32) -> dict:
    g = torch.Generator().manual_seed(0)
    attrs = torch.zeros(n, 7)
    attrs[1::2, 3] = 1.0  # attacks show moire
    attrs[0, :] = float("nan")  # one sample without annotations
    return {"image": torch.randn(n, 3, size, size, generator=g), "label": torch.tensor([1, 0] * (n // 2)), "attributes": attrs}


def test_heads_in_paper_order_and_registered():
    assert HEAD_NAMES == ("fingers", "device_border", "mobile_ui", "moire", "glare", "reflection", "invisible_attack", "spoof")
    assert METHODS.get("entry") is EntryMethod
    assert EntryNet(TINY).heads.out_features == 8
    assert EntryNet(TINY, heads="spoof_only").heads.out_features == 1


def test_score_is_one_minus_spoof_probability_and_cues_are_probabilities():
    net = EntryNet(TINY).eval()
    x = torch.randn(3, 3, 32, 32)
    out = net.predict({"image": x})
    logits = net(x)
    assert torch.allclose(out["score"], 1 - torch.sigmoid(logits[:, -1]), atol=1e-6)
    assert set(out) == {"score", *HEAD_NAMES[:-1]}
    for v in out.values():
        assert v.shape == (3,) and torch.all((v >= 0) & (v <= 1))


def test_local_weights_are_loaded_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = timm.create_model(TINY, num_classes=5)
    path = tmp_path / "w.pth"
    torch.save(source.state_dict(), path)
    model = create_backbone(TINY, weights=path)
    assert model.num_features == source.num_features
    assert torch.equal(model.conv1[0].weight, source.conv1[0].weight)
    with pytest.raises(FileNotFoundError, match="not found"):
        create_backbone(TINY, weights=tmp_path / "missing.pth")
    with pytest.raises(KeyError, match="unknown backbone"):
        create_backbone("resnet_does_not_exist")


def test_freezing_random_backbone_warns_loudly_and_freezes(caplog):
    with caplog.at_level(logging.WARNING, logger="antispoof"):
        net = EntryNet(TINY, freeze_backbone=True)
    assert "WITHOUT PRETRAINED WEIGHTS" in caplog.text
    assert not any(p.requires_grad for p in net.backbone.parameters())
    assert all(p.requires_grad for p in net.heads.parameters())
    net.train()
    assert not net.backbone.training and net.heads.training


def test_entry_loss_masks_unknown_attributes():
    cfg = EntryConfig.model_validate({"model": {"backbone": TINY}})
    method = EntryMethod(cfg)
    batch = _batch()
    loss, logs = method.training_loss(batch)
    logits = method.net(batch["image"])
    targets = torch.cat([batch["attributes"], (1 - batch["label"].float()).unsqueeze(1)], 1)
    # by hand: drop the NaN entries, average the rest
    expected = ReducedFocalLoss(reduction="none")(logits, targets)
    valid = ~torch.isnan(targets)
    assert loss.item() == pytest.approx((expected[valid].sum() / valid.sum()).item(), rel=1e-5)
    assert valid.sum() == 4 * 8 - 7
    assert "loss_spoof" in logs
    loss.backward()
    assert method.net.heads.weight.grad is not None


def test_spoof_only_is_v1():
    cfg = EntryConfig.model_validate({"model": {"backbone": TINY, "heads": "spoof_only"}})
    method = EntryMethod(cfg)
    assert method.targets(_batch()).shape == (4, 1)
    assert method.explain(_batch()) == {}


def test_stage_features_are_pooled_output_plus_stage_mean_and_std():
    torch.manual_seed(0)
    net = EntryNet(TINY, features="stages").eval()
    x = torch.randn(2, 3, 64, 64)
    # reference computed independently of embed(): hooks on the modules timm names as stage outputs
    info = net.backbone.feature_info
    maps = {}
    modules = dict(net.backbone.named_modules())
    hooks = [modules[info[i]["module"]].register_forward_hook(lambda _m, _i, out, i=i: maps.__setitem__(i, out)) for i in range(1, len(info))]
    pooled = net.backbone(x)
    for h in hooks:
        h.remove()
    parts = [pooled]
    for i in range(1, len(info)):
        parts += [maps[i].mean((2, 3)), maps[i].std((2, 3))]
    expected = torch.cat(parts, 1)
    assert torch.allclose(net.embed(x), expected, atol=1e-5)
    assert net.heads.in_features == expected.shape[1] == pooled.shape[1] + 2 * sum(info[i]["num_chs"] for i in range(1, len(info)))
    # the heads see standardised features: with BatchNorm's running statistics set to the batch's, the input is z-scored
    with torch.no_grad():
        net.standardize.running_mean.copy_(expected.mean(0))
        net.standardize.running_var.copy_(expected.var(0, unbiased=False))
        z = net.standardize(expected)
    assert torch.allclose(z.mean(0), torch.zeros(z.shape[1]), atol=1e-4)


def test_stage_features_train_with_a_frozen_backbone_and_config_reaches_them():
    cfg = EntryConfig.model_validate({"model": {"backbone": TINY, "features": "stages", "freeze_backbone": False}})
    method = EntryMethod(cfg)
    assert method.net.features == "stages"
    loss, _ = method.training_loss(_batch(size=64))
    loss.backward()
    assert method.net.heads.weight.grad is not None and method.net.backbone.conv1[0].weight.grad is not None
    with pytest.raises(ValueError, match="features must be"):
        EntryNet(TINY, features="everything")
