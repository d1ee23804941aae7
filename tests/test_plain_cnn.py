"""The plain VGG-style backbone: the layer stack it claims, weights from local files only."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from antispoof.models.backbones import create_backbone
from antispoof.models.entry import EntryNet
from antispoof.models.plain_cnn import PlainCNN


def _reference(widths, x, params):
    """conv3x3 -> BN (eval) -> ReLU per stage, 2x2 max-pool between stages, mean over H, W: written out with torch.nn.functional."""
    F = nn.functional
    for k, _ in enumerate(widths):
        w, g, b, mean, var = (params[f"features.{4 * k + j}.{n}"] for j, n in ((0, "weight"), (1, "weight"), (1, "bias"), (1, "running_mean"), (1, "running_var")))
        x = F.conv2d(x, w, padding=1)
        x = (x - mean[:, None, None]) / torch.sqrt(var[:, None, None] + 1e-5) * g[:, None, None] + b[:, None, None]
        x = x.clamp_min(0)
        if k < len(widths) - 1:
            x = F.max_pool2d(x, 2)
    return x.mean(dim=(2, 3))


def test_plain_cnn_matches_the_layer_stack_written_out():
    torch.manual_seed(0)
    widths = (8, 12, 16)
    model = PlainCNN(widths).eval()
    for m in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    x = torch.randn(2, 3, 20, 20)
    with torch.no_grad():
        out = model(x)
        ref = _reference(widths, x, dict(model.state_dict()))
    assert out.shape == (2, 16) and model.num_features == 16
    assert torch.allclose(out, ref, atol=1e-5)


def test_plain_cnn_is_a_registered_backbone_with_local_weights(tmp_path):
    source = PlainCNN()
    save_file(source.state_dict(), tmp_path / "w.safetensors")
    torch.save(source.state_dict(), tmp_path / "w.pth")
    for name in ("w.safetensors", "w.pth"):
        loaded = create_backbone("plain_cnn", weights=tmp_path / name)
        assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(), loaded.state_dict().values())), name
    with pytest.raises(FileNotFoundError, match="not found"):
        create_backbone("plain_cnn", weights=tmp_path / "missing.pth")
    assert EntryNet("plain_cnn", heads="spoof_only")(torch.randn(2, 3, 32, 32)).shape == (2, 1)
