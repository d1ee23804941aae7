"""The face ResNets of seed 001 by name: the "ResNet-50" layout (3-4-6-3 bottlenecks, our choice where the paper is
silent), its bottleneck block by hand, its weights by name, and a multimodal run on face_resnet50 branches."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from antispoof.models.backbones import create_backbone
from antispoof.models.face_resnet import (
    BACKBONE_LAYOUTS,
    LAYERS_50,
    FaceBlock,
    FaceBottleneck,
    FaceResNet,
    count_parameters,
    face_stage,
    from_caffe_layout,
    stage_widths,
)
from antispoof.weights import build_network, network_spec


def test_face_resnet50_has_the_layout_its_docstring_states():
    assert stage_widths(1.0, "bottleneck") == (32, 256, 512, 1024, 2048)
    net = create_backbone("face_resnet50")
    assert [len(getattr(net, f"layer{i}").blocks) for i in range(1, 5)] == list(LAYERS_50) == [3, 4, 6, 3]
    assert all(isinstance(b, FaceBottleneck) for i in range(1, 5) for b in getattr(net, f"layer{i}").blocks)
    assert net.stem.conv.out_channels == 32 and net.num_features == 2048
    assert net.layer1.blocks[0].conv1.out_channels == 64 and net.layer4.blocks[0].conv2.out_channels == 512  # width / 4
    assert round(count_parameters(net) / 1e6, 1) == 46.3
    small = FaceResNet(LAYERS_50, width=0.125, block="bottleneck").eval()
    with torch.no_grad():
        maps = small.stages(torch.randn(1, 3, 112, 112))
    assert [tuple(m.shape[1:]) for m in maps] == [(32, 54, 54), (64, 26, 26), (128, 12, 12), (256, 5, 5)]  # the 34's sizes
    with pytest.raises(ValueError, match="at least 48 px"):
        small(torch.randn(1, 3, 40, 40))


def test_face_resnet34_is_unchanged_by_name():
    net = create_backbone("face_resnet34", width=0.125)
    assert net.layers == (1, 2, 5, 3) and net.block == "basic" and isinstance(net.layer3.blocks[4], FaceBlock)
    assert BACKBONE_LAYOUTS == {"face_resnet34": ((1, 2, 5, 3), "basic"), "face_resnet50": ((3, 4, 6, 3), "bottleneck")}


def _bn(h: torch.Tensor, bn: torch.nn.BatchNorm2d) -> torch.Tensor:
    c = (None, slice(None), None, None)
    return (h - bn.running_mean[c]) / torch.sqrt(bn.running_var[c] + bn.eps) * bn.weight[c] + bn.bias[c]


def _prelu(h: torch.Tensor, act: torch.nn.PReLU) -> torch.Tensor:
    return torch.where(h > 0, h, act.weight[None, :, None, None] * h)


def test_bottleneck_is_the_identity_plus_1x1_3x3_1x1_conv_bn_prelu_by_hand():
    torch.manual_seed(0)
    block = FaceBottleneck(8).eval()
    for bn in (block.bn1, block.bn2, block.bn3):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    for act in (block.act1, block.act2, block.act3):
        act.weight.data.uniform_(0.05, 0.5)
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        h = _prelu(_bn(F.conv2d(x, block.conv1.weight), block.bn1), block.act1)  # 1x1: 8 -> 2
        h = _prelu(_bn(F.conv2d(h, block.conv2.weight, padding=1), block.bn2), block.act2)  # 3x3 at 2
        expected = x + _prelu(_bn(F.conv2d(h, block.conv3.weight), block.bn3), block.act3)  # 1x1 back to 8, then the sum
        assert block.conv1.weight.shape == (2, 8, 1, 1) and block.conv3.weight.shape == (8, 2, 1, 1)
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_block_kinds_are_checked():
    with pytest.raises(ValueError, match="basic, bottleneck"):
        FaceResNet(LAYERS_50, block="dense")
    with pytest.raises(ValueError, match="block must be one of"):
        face_stage(4, 8, 1, block="dense")
    with pytest.raises(ValueError, match="block must be one of"):
        stage_widths(1.0, "dense")


def test_face_resnet50_rebuilds_from_its_record_and_loads_its_own_weights(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = create_backbone("face_resnet50", width=0.0625).eval()
    spec = network_spec(net)
    assert spec["kwargs"]["block"] == "bottleneck" and spec["kwargs"]["layers"] == [3, 4, 6, 3]
    again = build_network(spec).eval()
    again.load_state_dict(net.state_dict())
    x = torch.rand(2, 3, 48, 48)
    save_file(net.state_dict(), str(tmp_path / "r50.safetensors"))
    named = create_backbone("face_resnet50", weights=tmp_path / "r50.safetensors", width=0.0625).eval()
    with torch.no_grad():
        assert torch.allclose(again(x), net(x), atol=1e-6) and torch.allclose(named(x), net(x), atol=1e-6)


def test_authors_layout_names_map_onto_bottleneck_blocks():
    state = {"layer2.5.conv3.weight": torch.zeros(1), "layer2.5.relu3.weight": torch.zeros(1),
             "layer2.4.bn2.running_mean": torch.zeros(1)}
    assert sorted(from_caffe_layout(state)) == ["layer2.blocks.0.bn2.running_mean", "layer2.blocks.1.act3.weight",
                                                "layer2.blocks.1.conv3.weight"]


# -- the multimodal method on face_resnet50 branches ----------------------------------------------------------------


class _Triplets(torch.utils.data.Dataset):
    """Tiny RGB + IR + Depth frames of the frame-store item contract (uint8, HxWx3 / HxW), bona fide and attack."""

    def __init__(self, n: int = 8, size: int = 54) -> None:
        import numpy as np

        rng = np.random.default_rng(0)
        self.items = []
        for i in range(n):
            live = i % 2 == 0
            rgb = rng.integers(40, 200, (size, size, 3)).astype(np.uint8)
            depth = np.full((size, size), 150 if live else 20, np.uint8)  # a flat attack has no depth
            self.items.append({"image": rgb, "ir": rgb.mean(axis=2).astype(np.uint8), "depth": depth, "label": int(live),
                               "pai": "bonafide" if live else "print", "video": f"v{i // 2}", "subject": f"s{i // 4}",
                               "domain": "triplets", "frame": i % 2})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


TINY_50 = ["model.backbone=face_resnet50", "model.width=0.0625", "model.se_reduction=4", "data.image_size=48",
           "data.crop_size=54", "train.max_steps=1", "train.batch_size=4", "train.lr=1e-3", "train.progress=false",
           "train.accelerator=cpu", "train.num_workers=0", "train.limit_val_batches=0"]


def test_multimodal_trains_one_step_on_face_resnet50_branches(tmp_path):
    from antispoof.config import load_config
    from antispoof.methods import method_class
    from antispoof.training.runner import load_trained, train

    cls = method_class("multimodal")
    config = load_config(cls.config_schema, None, TINY_50)
    assert list(config.model.layers) == list(LAYERS_50)  # the name's own layout unless model.layers is given
    torch.manual_seed(0)
    before = cls.from_config(config).net.state_dict()
    run = train(config, out=tmp_path / "run", datasets=(_Triplets(), None))
    net = load_trained(run).net
    assert all(isinstance(b, FaceBottleneck) for b in net.branches[0].layer3.blocks) and len(net.branches[0].layer3.blocks) == 6
    assert all(isinstance(b, FaceBottleneck) for b in net.agg[2].stage.blocks)  # agg3 mirrors res4: bottlenecks too
    assert net.res4.down.conv.in_channels == 3 * stage_widths(0.0625, "bottleneck")[3]
    after = net.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())  # one step moved it
