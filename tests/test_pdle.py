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


def _method(*overrides: str):
    config = load_config(method_class("pdle").config_schema, None,
                         ["model.backbone=plain_cnn", "data.image_size=32", *overrides])
    torch.manual_seed(0)
    return method_class("pdle").from_config(config)


def _items(domains: list) -> list[dict]:
    """In-memory training items (the frame store's item keys that PDLE reads), one per domain value, labels alternating."""
    g = torch.Generator().manual_seed(0)
    return [{"image": torch.rand(3, 32, 32, generator=g), "label": i % 2, "domain": d} for i, d in enumerate(domains)]


def _fit_one_step(method, items: list) -> list[int]:
    """Fit ``method`` one step on ``items`` through Lightning (as the engine does); the domain ids of that batch."""
    import lightning as L
    from torch.utils.data import DataLoader

    seen: list[int] = []
    step = method.training_loss

    def recording(batch):
        seen.extend(method.domain_ids(batch).tolist())
        return step(batch)

    method.training_loss = recording
    trainer = L.Trainer(max_steps=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(method, DataLoader(items, batch_size=len(items), shuffle=False))
    method.trainer_ = trainer
    return seen


def test_domain_ids_are_the_training_index_sorted_the_same_on_two_ranks_and_saved(tmp_path):
    """Two instances fitted on the same data in other orders (as two DDP ranks see it) agree; the checkpoint keeps it."""
    names = ["session3", "session1", "session2", "session1"]
    first, second = _method(), _method()
    ids_a = _fit_one_step(first, _items(names))
    ids_b = _fit_one_step(second, _items(names[::-1]))
    assert first.domain_names == second.domain_names == ["session1", "session2", "session3"]
    assert ids_a == [2, 0, 1, 0] and ids_b == [0, 1, 0, 2]  # order of appearance would have given 0,1,2,1 and 0,1,0,2
    path = tmp_path / "last.ckpt"
    first.trainer_.save_checkpoint(path)
    restored = _method()
    restored.on_load_checkpoint(torch.load(path, weights_only=True))  # how the engine reads checkpoints
    assert restored.domain_names == first.domain_names and restored.domains == {"session1": 0, "session2": 1, "session3": 2}
    with pytest.raises(ValueError, match="resume on the same data"):
        restored.set_domains(["session1", "session2"])  # a resumed run on other domains
    with pytest.raises(ValueError, match="same pdle.domain_key"):
        _method("pdle.domain_key=session").on_load_checkpoint(torch.load(path, weights_only=True))


def test_the_adversarial_term_refuses_one_domain_and_says_what_to_do():
    method = _method()
    with pytest.raises(ValueError, match=r"two domains at least.*oulu-npu.*pdle.domain_key=session.*pdle.alpha=1.0"):
        _fit_one_step(method, _items(["oulu-npu"] * 4))
    unweighted = _method("pdle.alpha=1.0")  # no adversarial term: one domain is harmless
    unweighted.set_domains(["oulu-npu"])
    assert unweighted.domains == {"oulu-npu": 0}
    with pytest.raises(ValueError, match="set pdle.max_domains=3"):
        _method("pdle.max_domains=2").set_domains(["a", "b", "c"])


def test_domains_come_from_the_index_whatever_the_type_and_join_several_columns():
    import pandas as pd

    from antispoof.methods.pdle import training_domains

    class Index:  # a frame dataset: its index rows, read without images
        def __init__(self, rows):
            self.rows = rows

    class Wrapped:  # the engine's augmenting wrapper
        def __init__(self, base):
            self.base = base

    rows = pd.DataFrame({"medium": [2, 1, 10, 1], "session": ["1", "2", "1", "2"], "device": ["phone1"] * 2 + ["phone2"] * 2})
    assert training_domains(Wrapped(Index(rows)), ["medium"]) == ["1", "10", "2"]
    assert training_domains(Index(rows.iloc[::-1]), ["session", "device"]) == ["1/phone1", "1/phone2", "2/phone1", "2/phone2"]
    method = _method("pdle.domain_key=medium")
    method.set_domains(training_domains(Index(rows), ["medium"]))
    batch = {"label": torch.tensor([1, 0]), "medium": torch.tensor([10, 2])}  # an int column collates to a tensor
    assert method.domain_ids(batch).tolist() == [1, 2]
    with pytest.raises(KeyError, match="not among"):
        method.domain_ids({"label": torch.tensor([1]), "medium": torch.tensor([7])})
