"""Self-supervised pretraining (MoCo v2): Eq. 1 by hand, learnability, two views, the backbone file into entry and timm."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from antispoof.cli import app
from antispoof.config import load_config
from antispoof.methods import list_methods, method_class
from antispoof.methods.ssl import BACKBONE_CARD, BACKBONE_FILE, FolderImages, MoCoLoss, TwoViews, queue_advice

TINY = ["model.backbone=resnet10t", "data.image_size=32", "ssl.queue_size=8", "model.projection_hidden=32",
        "model.projection_dim=16"]


def _method(overrides=()):
    cls = method_class("ssl")
    torch.manual_seed(0)
    return cls.from_config(load_config(cls.config_schema, None, [*TINY, *overrides]))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.training.quickstart import prepare_synthetic_store

    root = tmp_path_factory.mktemp("ssl")
    generate_dataset(root / "data", subjects=5, frames=1, size=64, seed=2, workers=1, show_progress=False)
    return prepare_synthetic_store(root / "data", root / "store", crop_size=32, frames=1, workers=1, progress=False)


def test_ssl_is_a_pretraining_objective_not_a_detector():
    assert "ssl" not in list_methods() and "ssl" in list_methods(kind="pretraining")


def _infonce_by_hand(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, t: float) -> float:
    """MoCo Eq. 1 (He et al. 2020), one term at a time: -log exp(q.k+/t) / (exp(q.k+/t) + sum_queue exp(q.k-/t))."""
    total = 0.0
    for qi, ki in zip(q.tolist(), k.tolist()):
        qn = [v / math.sqrt(sum(x * x for x in qi)) for v in qi]
        kn = [v / math.sqrt(sum(x * x for x in ki)) for v in ki]
        pos = math.exp(sum(a * b for a, b in zip(qn, kn)) / t)
        neg = sum(math.exp(sum(a * b for a, b in zip(qn, row)) / t) for row in queue.tolist())
        total += -math.log(pos / (pos + neg))
    return total / len(q)


def test_moco_loss_is_infonce_against_the_queue_by_hand():
    torch.manual_seed(0)
    criterion = MoCoLoss(temperature=0.2, size=5, dim=4)
    q, k = torch.randn(3, 4, requires_grad=True), torch.randn(3, 4)
    queue = criterion.queue.clone()  # [size, dim]: the negatives this call sees
    assert torch.allclose(queue.norm(dim=1), torch.ones(5))  # the queue holds unit-length keys (random ones at the start)
    got = criterion([q], [k])
    assert got.item() == pytest.approx(_infonce_by_hand(q, k, queue, 0.2), rel=1e-5)
    got.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0
    kn = torch.nn.functional.normalize(k, dim=1)
    assert torch.allclose(criterion.queue[:3], kn, atol=1e-6) and torch.equal(criterion.queue[3:], queue[3:])  # joined, oldest out
    criterion([torch.randn(3, 4)], [torch.randn(3, 4)])  # a ring: 3 more keys fill slots 3, 4, then 0
    assert torch.equal(criterion.queue[1:3], kn[1:]) and int(criterion.pointer) == 1
    criterion.eval()
    before = criterion.queue.clone()
    criterion([q], [k])
    assert torch.equal(criterion.queue, before)  # evaluation leaves the queue alone


def test_the_symmetric_loss_gives_both_halves_the_queue_before_the_step():
    """Both views as query; keys join the queue after both halves, so no query meets its own momentum key as a negative."""
    torch.manual_seed(1)
    t = 0.2
    images = torch.randn(4, 8)
    q0, q1 = images + 0.5 * torch.randn(4, 8), images + 0.5 * torch.randn(4, 8)  # two views of each image
    k0, k1 = q0 + 0.01 * torch.randn(4, 8), q1 + 0.01 * torch.randn(4, 8)  # a momentum key is nearly its own query
    fixed = MoCoLoss(t, size=16, dim=8)
    queue = fixed.queue.clone()
    got = fixed([q0, q1], [k1, k0])
    expected = 0.5 * (_infonce_by_hand(q0, k1, queue, t) + _infonce_by_hand(q1, k0, queue, t))
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # the order this replaces: the first half's keys joined the queue before the second half ran
    buggy = MoCoLoss(t, size=16, dim=8)
    buggy.queue.copy_(queue)
    old = 0.5 * (buggy([q0], [k1]) + buggy([q1], [k0]))
    assert old.item() == pytest.approx(0.5 * (_infonce_by_hand(q0, k1, queue, t) + _infonce_by_hand(
        q1, k0, torch.cat([torch.nn.functional.normalize(k1, dim=1), queue[4:]]), t)), rel=1e-5)
    assert old.item() > got.item() + 0.3, (old.item(), got.item())  # q1's own key k1, cosine ~1, among its negatives
    # both steps leave the same queue: the keys of both views, k1 then k0
    assert torch.allclose(fixed.queue, buggy.queue, atol=1e-6)
    assert torch.allclose(fixed.queue[:8], torch.nn.functional.normalize(torch.cat([k1, k0]), dim=1), atol=1e-6)


def test_the_method_scores_each_view_against_the_other_views_key_on_one_queue():
    method = _method().train()
    seen = []
    forward = method.criterion.forward

    def spy(queries, keys):
        seen.append((queries, keys))
        return forward(queries, keys)

    method.criterion.forward = spy
    views = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
    loss, _ = method.training_loss({"image": views[0], "image_view": views[1]})
    assert loss.ndim == 0 and len(seen) == 1 and len(seen[0][0]) == 2  # one call, both halves: one queue
    with torch.no_grad():  # the momentum encoder as it stood after the step's update
        key = [method.head_momentum(method.encoder_momentum(v)) for v in views]
    assert torch.allclose(seen[0][1][0], key[1], atol=1e-5) and torch.allclose(seen[0][1][1], key[0], atol=1e-5)


def test_the_queue_advice_keeps_a_useful_queue_or_asks_for_a_smaller_batch():
    assert queue_advice(1000, 64, 512) is None and queue_advice(1000, 64, 936) is None
    assert "ssl.queue_size=936 or less" in queue_advice(1000, 64, 4096)
    small = queue_advice(6, 3, 8)  # a queue of 3 - 3 = 0..3 keys cannot hold one step's 6: a smaller batch
    assert "train.batch_size=2 ssl.queue_size=4" in small and "or less" not in small
    assert queue_advice(6, 2, 4) is None  # the advice fits
    assert "too few" in queue_advice(2, 1, 4)


def test_two_views_differ_and_repeat_under_the_same_seed(store):
    from antispoof.data.store import FrameDataset

    method = _method()
    views = method.train_transform(method.input_spec())
    assert isinstance(views, TwoViews)
    sample = FrameDataset(store, split="train")[0]
    views.seed(7)
    a = views.apply(sample)
    views.seed(7)
    b = views.apply(sample)
    assert a["image"].shape == a["image_view"].shape == (3, 32, 32)
    assert not torch.equal(a["image"], a["image_view"])
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["image_view"], b["image_view"])


def test_the_loss_decreases_over_a_few_steps_on_a_tiny_store(store):
    from antispoof.data.store import FrameDataset

    method = _method().train()
    views = method.train_transform(method.input_spec())
    data = FrameDataset(store, split="train")
    items = []
    for i in range(8):
        views.seed(i)
        items.append(views.apply(data[i]))
    batch = {k: torch.stack([it[k] for it in items]) for k in ("image", "image_view")}
    optimizer = torch.optim.Adam([p for p in method.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(12):
        loss, _ = method.training_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.1, losses


@pytest.fixture(scope="module")
def pretrained(store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "ssl"
    result = CliRunner().invoke(app, ["pretrain", "ssl", *TINY, "train.max_steps=3", "train.batch_size=4",
                                      "train.progress=false", "--store", str(store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_pretrain_writes_a_backbone_that_loads_into_timm_and_entry_with_no_missing_keys(pretrained):
    import timm
    from safetensors.torch import load_file

    from antispoof.models.backbones import create_backbone

    path = pretrained / BACKBONE_FILE
    state = load_file(str(path))
    fresh = timm.create_model("resnet10t", num_classes=0)
    report = fresh.load_state_dict(state, strict=True)
    assert not report.missing_keys and not report.unexpected_keys
    loaded = create_backbone("resnet10t", weights=path)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())

    entry = method_class("entry")
    config = load_config(entry.config_schema, None, ["model.backbone=resnet10t", "data.image_size=32", f"model.weights={path}"])
    backbone = entry.from_config(config).network().backbone
    assert all(torch.equal(backbone.state_dict()[k], v) for k, v in state.items())
    assert not any(p.requires_grad for p in backbone.parameters())  # entry freezes a pretrained backbone

    card = json.loads((pretrained / BACKBONE_CARD).read_text())
    assert card["objective"] == "moco_v2" and card["trained_on"]["images"] > 0 and card["steps"] == 3
    assert card["use"].endswith(str(path))


def test_pretrain_from_a_folder_of_images_and_the_clear_errors(tmp_path):
    folder = tmp_path / "faces"
    (folder / "a").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        cv2.imwrite(str(folder / "a" / f"{i}.png"), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    (folder / "notes.txt").write_text("not an image")
    assert len(FolderImages(folder, 32)) == 6 and FolderImages(folder, 32)[0]["image"].shape == (32, 32, 3)
    out = tmp_path / "run"
    # a queue longer than the data would hold each image's last key as its own negative: refused, with the size to use
    result = CliRunner().invoke(app, ["pretrain", "ssl", *TINY, "train.max_steps=2", "train.batch_size=3",
                                      "train.progress=false", "--folder", str(folder), "--out", str(tmp_path / "long")])
    assert result.exit_code != 0 and "train.batch_size=2 ssl.queue_size=4" in str(result.exception)
    result = CliRunner().invoke(app, ["pretrain", "ssl", *TINY, "train.max_steps=2", "train.batch_size=2", "ssl.queue_size=4",
                                      "train.progress=false", "--folder", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / BACKBONE_FILE).is_file()
    assert json.loads((out / BACKBONE_CARD).read_text())["trained_on"]["folder"] == str(folder.resolve())
    with pytest.raises(ValueError, match="no images"):
        FolderImages(tmp_path / "run" / "logs", 32)
    result = CliRunner().invoke(app, ["pretrain", "ssl", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0 and "--store" in str(result.exception)


def test_the_premise_command_sends_ssl_keys_to_the_pretraining_and_the_rest_to_entry(tmp_path, monkeypatch):
    import antispoof.studies.ssl_premise as premise

    seen = {}

    def fake_premise(out, **kwargs):
        seen.update(kwargs)
        (Path(out) / "premise.md").write_text("", encoding="utf-8")
        return {}

    monkeypatch.setattr(premise, "run_ssl_premise", fake_premise)
    # the advice the pretraining gives on few subjects (ssl.queue_size=N) works as written after the command
    result = CliRunner().invoke(app, ["study", "ssl-premise", "--out", str(tmp_path), "--subjects", "6", "--ssl-epochs", "1",
                                      "--ssl", "train.batch_size=16", "ssl.queue_size=4", "train.max_epochs=2"])
    assert result.exit_code == 0, result.output
    assert seen["ssl_overrides"] == ["train.batch_size=16", "ssl.queue_size=4"]
    assert seen["overrides"] == ["train.max_epochs=2"] and seen["subjects"] == 6 and seen["ssl_epochs"] == 1
