"""Every registered network, local backbone and pretraining method, each on a tiny case.

Methods that detect are covered by tests/test_method_contract.py, datasets by
tests/test_store_columns.py, detectors by tests/test_faces.py, losses by tests/test_losses.py.
Each dict below must name exactly the registry's entries, so a new entry without a case fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from antispoof._registry import BACKBONES, NETWORKS, load_all
from antispoof.config import load_config
from antispoof.weights import build_network, network_spec

load_all("networks", "backbones", "methods")


def _ours(registry: Any, names: list[str] | None = None) -> list[str]:
    """The package's entries (other test modules register test-only ones)."""
    return [n for n in (registry.list() if names is None else names) if registry.get(n).__module__.startswith("antispoof.")]


def _images(*shape: int) -> dict[str, torch.Tensor]:
    return {"image": torch.rand(*shape, generator=torch.Generator().manual_seed(0))}


def _features(net: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return net(batch["image"])


def _score(net: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    score = net.predict(batch)["score"]
    assert score.shape == (2,) and ((score >= 0) & (score <= 1)).all()
    return score


_TINY_ENTRY = {"name": "entry_net", "kwargs": {"backbone": "plain_cnn"}}
_TINY_MULTIMODAL = {"branches": ["rgb", "ir"], "width": 0.125, "layers": [1, 1, 1, 1], "se_reduction": 4}

#: name -> (constructor kwargs, a batch of two, what to compare: the score, or the features of a feature network)
NETWORK_CASES: dict[str, tuple[dict[str, Any], dict[str, torch.Tensor], Callable[[Any, dict], torch.Tensor]]] = {
    "entry_net": (_TINY_ENTRY["kwargs"], _images(2, 3, 32, 32), _score),
    "ensemble": ({"members": [_TINY_ENTRY, _TINY_ENTRY]}, _images(2, 3, 32, 32), _score),
    "pdle_net": ({"backbone": "plain_cnn", "k": 3}, _images(2, 3, 32, 32), _score),
    "lgsc_net": ({"backbone": "resnet10t"}, _images(2, 3, 32, 32), _score),
    "sequence_net": ({"backbone": "plain_cnn", "embed": 16, "hidden": 8}, _images(2, 3, 3, 32, 32), _score),
    "multimodal_net": (_TINY_MULTIMODAL, {**_images(2, 3, 48, 48), "ir": torch.rand(2, 3, 48, 48)}, _score),
    "silentface": ({}, _images(2, 2, 3, 80, 80), _score),
    "ssl_encoder": ({"backbone": "plain_cnn"}, _images(2, 3, 32, 32), _features),
    "face_resnet": ({"width": 0.125, "layers": [1, 1, 1, 1]}, _images(2, 3, 48, 48), _features),
}


def test_every_network_has_a_case():
    assert sorted(NETWORK_CASES) == _ours(NETWORKS), "give each registered network a tiny case in NETWORK_CASES"


@pytest.mark.parametrize("name", _ours(NETWORKS))
def test_network_rebuilds_from_its_record_and_gives_the_same_output(name):
    """What a bundle relies on: name + ``arch`` kwargs rebuild the network; the weights then give the same output."""
    kwargs, batch, output = NETWORK_CASES[name]
    torch.manual_seed(0)
    net = NETWORKS.create(name, **kwargs).eval()
    spec = network_spec(net)
    assert spec["name"] == name
    torch.manual_seed(1)
    again = build_network(spec).eval()
    again.load_state_dict(net.state_dict())
    with torch.no_grad():
        expected, got = output(net, batch), output(again, batch)
    assert expected.shape[0] == 2 and torch.isfinite(expected).all()
    assert torch.allclose(got, expected, atol=1e-6)


#: name -> (kwargs, input channels, side of a tiny input)
BACKBONE_CASES: dict[str, tuple[dict[str, Any], int, int]] = {
    "plain_cnn": ({}, 3, 32), "face_resnet34": ({"width": 0.125}, 1, 48), "face_resnet50": ({"width": 0.0625}, 1, 48),
    "minifasnet_v1": ({}, 3, 80),
    "minifasnet_v2": ({}, 3, 80), "minifasnet_v1se": ({}, 3, 80), "minifasnet_v2se": ({}, 3, 80),
}


def test_every_local_backbone_has_a_case():
    assert sorted(BACKBONE_CASES) == _ours(BACKBONES), "give each registered backbone a tiny case in BACKBONE_CASES"


@pytest.mark.parametrize("name", _ours(BACKBONES))
def test_local_backbone_gives_num_features_per_image(name):
    from antispoof.models.backbones import create_backbone

    kwargs, channels, side = BACKBONE_CASES[name]
    net = create_backbone(name, in_chans=channels, **kwargs).eval()
    with torch.no_grad():
        out = net(torch.rand(2, channels, side, side))
    assert out.shape == (2, net.num_features) and torch.isfinite(out).all()


# -- pretraining methods ------------------------------------------------------------------------


def _ssl_batch(method: Any) -> dict[str, Any]:
    spec = method.input_spec()
    return {"image": spec.example(4, seed=1)["image"], "image_view": spec.example(4, seed=2)["image"]}


def _face_id_batch(method: Any) -> dict[str, Any]:
    method.make_head(["s1", "s2"])
    return {"image": method.input_spec().example(4, seed=1)["image"], "subject": ["s1", "s2", "s2", "s1"]}


#: name -> (tiny overrides, a batch its training loss reads)
PRETRAINING_CASES: dict[str, tuple[list[str], Callable[[Any], dict[str, Any]]]] = {
    "ssl": (["model.backbone=plain_cnn", "data.image_size=32", "ssl.queue_size=8", "model.projection_hidden=32",
             "model.projection_dim=16"], _ssl_batch),
    "face_id": (["data.image_size=48", "model.width=0.125", "model.layers=[1,1,1,1]"], _face_id_batch),
}


def _pretraining() -> list[str]:
    from antispoof._registry import METHODS
    from antispoof.methods import list_methods

    return _ours(METHODS, list_methods(kind="pretraining"))


def test_every_pretraining_method_has_a_case():
    assert sorted(PRETRAINING_CASES) == _pretraining(), "give each pretraining method a tiny case in PRETRAINING_CASES"


@pytest.mark.parametrize("name", _pretraining())
def test_pretraining_loss_is_finite_with_a_gradient_and_nothing_is_scored(name):
    from antispoof.methods import method_class

    overrides, make_batch = PRETRAINING_CASES[name]
    cls = method_class(name)
    torch.manual_seed(0)
    method = cls.from_config(load_config(cls.config_schema, None, overrides)).train()
    batch = make_batch(method)
    loss, _ = method.training_loss(batch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    trainable = [(n, p) for n, p in method.named_parameters() if p.requires_grad]
    missing = [n for n, p in trainable if p.grad is None or not torch.isfinite(p.grad).all()]
    assert trainable and not missing, f"no finite gradient for {missing}"
    assert isinstance(method.network(), torch.nn.Module)
    with pytest.raises(TypeError):  # a pretraining objective makes a backbone, not a detector
        method.score(batch)
