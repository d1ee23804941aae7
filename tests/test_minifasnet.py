"""MiniFASNet V1/V2/V1SE/V2SE against the Silent-Face source code (fixtures made once by tests/fixtures/make_silentface_fixtures.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from antispoof.models.backbones import create_backbone
from antispoof.models.minifasnet import VARIANTS, MiniFASNet, SilentFaceNet, silentface_member_name

FIXTURES = Path(__file__).parent / "fixtures"
PARITY = 1e-5


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # small networks: see conftest


def _fixtures() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "silentface_parity.npz"))


def _seeded_state():
    spec = importlib.util.spec_from_file_location("make_silentface_fixtures", FIXTURES / "make_silentface_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.seeded_state


def _batch(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crops.transpose(0, 3, 1, 2).copy()).float()  # BGR crops, raw 0-255, as the source feeds them


def test_fixtures_record_the_source_commit() -> None:
    fx = _fixtures()
    assert str(fx["reference_commit"]) == "b6d5f04ad78778917853b25c778acef6d5626d15"
    assert fx["crops"].shape == (8, 80, 80, 3) and fx["crops"].dtype == np.uint8


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_seeded_weights_match_the_source_network(variant: str) -> None:
    """Every variant (V1 and V2SE have no published weights) with the same seeded weights as the source's network (float64)."""
    fx = _fixtures()
    model = MiniFASNet(variant).double().eval()
    model.load_state_dict(_seeded_state()(model.state_dict()))
    with torch.no_grad():
        logits = model(_batch(fx["crops"]).double())
    probs = torch.softmax(logits, dim=1).numpy()
    assert np.abs(probs - fx[f"probs_{variant}_seeded"]).max() < PARITY
    reference = fx[f"logits_{variant}_seeded"]
    assert np.abs(logits.numpy() - reference).max() <= 1e-9 * max(1.0, np.abs(reference).max())


@pytest.mark.parametrize("filename", ["2.7_80x80_MiniFASNetV2.pth", "4_0_0_80x80_MiniFASNetV1SE.pth"])
def test_published_weights_match_the_source(silentface_dir: Path, filename: str) -> None:
    fx = _fixtures()
    _, size, _, variant = silentface_member_name(filename)
    state = torch.load(silentface_dir / filename, map_location="cpu", weights_only=True)
    model = MiniFASNet(variant, input_size=size).eval()
    model.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    with torch.no_grad():
        probs = torch.softmax(model(_batch(fx["crops"])), dim=1).numpy()
    assert np.abs(probs - fx[f"probs_{variant}_published"]).max() < PARITY


def test_member_names_carry_scale_size_and_variant() -> None:
    assert silentface_member_name("2.7_80x80_MiniFASNetV2.pth") == (2.7, 80, 80, "MiniFASNetV2")
    assert silentface_member_name("4_0_0_80x80_MiniFASNetV1SE.pth") == (4.0, 80, 80, "MiniFASNetV1SE")
    assert silentface_member_name("org_1_80x60_MiniFASNetV1.pth")[0] is None
    with pytest.raises(ValueError, match="unknown variant"):
        silentface_member_name("2.7_80x80_ResNet.pth")


@pytest.mark.parametrize("name", ["minifasnet_v1", "minifasnet_v2", "minifasnet_v1se", "minifasnet_v2se"])
def test_registered_as_backbones(name: str) -> None:
    backbone = create_backbone(name).eval()
    assert backbone.num_features == 128
    assert backbone(torch.zeros(2, 3, 80, 80)).shape == (2, 128)


def test_backbone_loads_published_weights(silentface_dir: Path) -> None:
    """``model.weights`` may be a Silent-Face .pth: the classifier is left out, every other tensor loads."""
    backbone = create_backbone("minifasnet_v1se", weights=silentface_dir / "4_0_0_80x80_MiniFASNetV1SE.pth").eval()
    full = MiniFASNet("MiniFASNetV1SE").eval()
    state = torch.load(silentface_dir / "4_0_0_80x80_MiniFASNetV1SE.pth", map_location="cpu", weights_only=True)
    full.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    x = torch.rand(2, 3, 80, 80) * 255
    with torch.no_grad():
        assert torch.allclose(backbone(x), full.forward_features(x))
    with pytest.raises(ValueError, match="does not fit"):
        create_backbone("minifasnet_v2", weights=silentface_dir / "4_0_0_80x80_MiniFASNetV1SE.pth")


def test_ensemble_score_is_the_mean_live_probability() -> None:
    torch.manual_seed(0)
    net = SilentFaceNet(["MiniFASNetV2", "MiniFASNetV1SE"]).eval()
    views = torch.rand(3, 2, 3, 80, 80) * 255
    out = net.predict({"image": views})
    with torch.no_grad():
        p = [torch.softmax(m(views[:, i]), dim=1) for i, m in enumerate(net.members)]
    assert torch.allclose(out["score"], (p[0][:, 1] + p[1][:, 1]) / 2)
    assert torch.allclose(out["spoof_class_2"], (p[0][:, 2] + p[1][:, 2]) / 2)
    assert torch.allclose(net(views), p[0] + p[1])
    with pytest.raises(ValueError, match="one crop per member"):
        net.predict({"image": views[:, 0]})


def test_live_vs_strongest_attack_score_is_the_sources_argmax_at_one_half() -> None:
    """score_rule live_vs_strongest_attack: p_live / (p_live + max attack p) >= 0.5 exactly when the source's argmax is live."""
    torch.manual_seed(0)
    net = SilentFaceNet(["MiniFASNetV2", "MiniFASNetV1SE"], score_rule="live_vs_strongest_attack").eval()
    # the probabilities are the test's: random logits, some near a tie, through the members' softmax sum
    logits = torch.randn(4000, 2, 3) * torch.tensor([0.3, 1.0, 3.0]).repeat_interleave(1334)[:4000, None, None]
    net.probabilities = lambda views: torch.softmax(logits, dim=2)  # type: ignore[method-assign]
    out = net.predict({"image": torch.zeros(4000, 2, 3, 80, 80)})
    p = torch.softmax(logits, dim=2).sum(dim=1).numpy() / 2
    source_live = np.argmax(p, axis=1) == 1  # the source's test.py: label = np.argmax(prediction); live when label == 1
    assert ((out["score"].numpy() >= 0.5) == source_live).all()
    assert 0 < source_live.mean() < 1 and ((p[:, 1] < 0.5) & source_live).any()  # cases a threshold on p_live misses
    assert np.allclose(out["score"].numpy(), p[:, 1] / (p[:, 1] + np.maximum(p[:, 0], p[:, 2])), atol=1e-6)
    assert np.allclose(out["live_probability"].numpy(), p[:, 1], atol=1e-6)
    assert net.arch["score_rule"] == "live_vs_strongest_attack"
    with pytest.raises(ValueError, match="unknown score_rule"):
        SilentFaceNet(["MiniFASNetV2"], score_rule="argmax")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_padded_copy_gives_the_same_outputs(variant: str) -> None:
    """Inner widths padded to 8 channels (for speed): zero-in, neutral BatchNorm, zero-out channels change nothing."""
    torch.manual_seed(0)
    model = MiniFASNet(variant).eval()
    model.load_state_dict(_seeded_state()(model.state_dict()))
    padded = model.padded(8)
    assert padded.conv_3.model[0].conv.conv.weight.shape[0] % 8 == 0
    x = torch.rand(3, 3, 80, 80) * 255
    with torch.no_grad():
        assert torch.allclose(model(x), padded(x), rtol=1e-5, atol=1e-4)
