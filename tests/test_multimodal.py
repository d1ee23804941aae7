"""Multi-modal fusion (seed 001): shapes of the face ResNet, SE and MLFA by hand, every parameter trains, the modality
ablation, modality dropout and fewer inputs, face-recognition checkpoints with name mapping and a missing-key report."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from antispoof.config import load_config
from antispoof.methods import method_class
from antispoof.methods.multimodal import drop_modalities, load_face_weights
from antispoof.models.face_resnet import FaceBlock, FaceResNet, from_caffe_layout
from antispoof.models.multimodal import AggregationBlock, MultiModalNet, SqueezeExcitation

TINY = ["data.image_size=48", "model.width=0.125", "model.layers=[1,1,1,1]", "model.se_reduction=4"]


def _method(overrides=()):
    cls = method_class("multimodal")
    torch.manual_seed(0)
    return cls.from_config(load_config(cls.config_schema, None, [*TINY, *overrides]))


def _batch(spec, n=4, seed=1):
    batch = spec.example(n, seed=seed)
    batch["label"] = torch.tensor([1, 0] * (n // 2))
    return batch


def test_face_resnet34_has_the_papers_blocks_widths_and_map_sizes_at_112():
    net = FaceResNet().eval()  # the paper's network: 1-2-5-3 blocks, 32-channel stem, PReLU
    assert net.stem.conv.out_channels == 32 and isinstance(net.stem.act, torch.nn.PReLU)
    assert [len(getattr(net, f"layer{i}").blocks) for i in range(1, 5)] == [1, 2, 5, 3]
    with torch.no_grad():
        maps = net.stages(torch.randn(1, 3, 112, 112))
    assert [tuple(m.shape[1:]) for m in maps] == [(64, 54, 54), (128, 26, 26), (256, 12, 12), (512, 5, 5)]
    with pytest.raises(ValueError, match="at least 48 px"):
        net(torch.randn(1, 3, 40, 40))


def test_face_block_is_the_identity_plus_two_conv_bn_prelu_by_hand():
    torch.manual_seed(0)
    block = FaceBlock(4).eval()
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        for bn in (block.bn1, block.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
        h = F.conv2d(x, block.conv1.weight, padding=1)
        h = (h - block.bn1.running_mean[None, :, None, None]) / torch.sqrt(block.bn1.running_var[None, :, None, None] + 1e-5)
        h = h * block.bn1.weight[None, :, None, None] + block.bn1.bias[None, :, None, None]
        a1 = block.act1.weight[None, :, None, None]
        h = torch.where(h > 0, h, a1 * h)
        h = F.conv2d(h, block.conv2.weight, padding=1)
        h = (h - block.bn2.running_mean[None, :, None, None]) / torch.sqrt(block.bn2.running_var[None, :, None, None] + 1e-5)
        h = h * block.bn2.weight[None, :, None, None] + block.bn2.bias[None, :, None, None]
        a2 = block.act2.weight[None, :, None, None]
        expected = x + torch.where(h > 0, h, a2 * h)  # activation before the sum, nothing after it
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_squeeze_excitation_matches_hu_et_al_eq_2_to_4_by_hand():
    torch.manual_seed(0)
    se = SqueezeExcitation(8, reduction=4)
    x = torch.randn(3, 8, 5, 5)
    z = x.mean(dim=(2, 3))  # Eq. 2: squeeze
    s = torch.sigmoid(torch.relu(z @ se.fc1.weight.T + se.fc1.bias) @ se.fc2.weight.T + se.fc2.bias)
    assert se.fc1.out_features == 2
    assert torch.allclose(se(x), x * s[:, :, None, None], atol=1e-6)  # Eq. 3-4: excitation, channel scaling


def test_aggregation_block_concatenates_reduces_adds_the_previous_and_downsamples():
    torch.manual_seed(0)
    block = AggregationBlock(3, 4, 8, blocks=1).eval()
    maps = [torch.randn(2, 4, 20, 20) for _ in range(3)]
    previous = torch.randn(2, 4, 20, 20)
    with torch.no_grad():
        w = block.reduce.weight[:, :, 0, 0]  # [4, 12]
        reduced = torch.einsum("oc,bchw->bohw", w, torch.cat(maps, 1)) + block.reduce.bias[None, :, None, None]
        expected = block.stage(torch.relu(reduced) + previous)
        out = block(maps, previous)
    assert out.shape == (2, 8, 9, 9)  # an un-padded conv (20 -> 18) and a 2x2 max-pool
    assert torch.allclose(out, expected, atol=1e-5)
    with torch.no_grad():  # agg1 has no previous block
        assert torch.allclose(block(maps), block.stage(torch.relu(reduced)), atol=1e-5)


@pytest.mark.parametrize("fusion", ["se_branch", "se_concat", "none"])
def test_the_network_gives_two_logits_and_the_live_softmax_as_score(fusion):
    torch.manual_seed(0)
    net = MultiModalNet(width=0.125, layers=[1, 1, 1, 1], fusion=fusion).eval()
    batch = {k: torch.randn(3, 3, 48, 48) for k in ("image", "ir", "depth")}
    with torch.no_grad():
        logits = net(batch)
        score = net.predict(batch)["score"]
    assert logits.shape == (3, 2) and score.shape == (3,)
    assert torch.allclose(score, torch.softmax(logits, 1)[:, 1])  # class 1 = bona fide
    assert (net.agg[2].stage.down.conv.out_channels, net.res4.down.conv.out_channels) == (64, 64)
    assert net.res4.down.conv.in_channels == 3 * 32  # the three branches' res3, concatenated


def test_summing_after_gap_equals_summing_before_it():
    """The authors' code sums the pooled res4 and agg3 outputs; Fig. 2 sums the maps, then pools: GAP is linear."""
    torch.manual_seed(0)
    net = MultiModalNet(width=0.125, layers=[1, 1, 1, 1]).eval()
    batch = {k: torch.randn(2, 3, 56, 56) for k in ("image", "ir", "depth")}
    with torch.no_grad():
        assert torch.allclose(net.features(batch, pool_first=True), net.features(batch, pool_first=False), atol=1e-5)


def test_gradients_reach_every_parameter_and_one_step_moves_each_the_classifier_included():
    method = _method(["train.lr_schedule=constant", "train.lr=1e-2"]).train()
    batch = _batch(method.input_spec(), n=4)
    loss, _ = method.training_loss(batch)
    loss.backward()
    params = dict(method.named_parameters())
    assert all(p.requires_grad for p in params.values())
    no_grad = [n for n, p in params.items() if p.grad is None or p.grad.abs().sum() == 0]
    assert not no_grad, f"no gradient for {no_grad}"
    optimizer = method.configure_optimizers()
    assert {id(p) for g in optimizer.param_groups for p in g["params"]} == {id(p) for p in params.values()}
    before = {n: p.detach().clone() for n, p in params.items()}
    optimizer.step()
    unmoved = [n for n, p in params.items() if torch.equal(p.detach(), before[n])]
    assert not unmoved and "net.classifier.weight" in params


def test_loss_is_two_class_cross_entropy_of_the_logits():
    method = _method().eval()
    batch = _batch(method.input_spec(), n=4)
    with torch.no_grad():
        logits = method.net(batch)
        loss, _ = method.training_loss(batch)
    by_hand = -torch.log_softmax(logits, 1)[torch.arange(4), batch["label"]].mean()
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_input_spec_is_the_papers_125_to_112_centre_crop_with_three_modalities():
    cls = method_class("multimodal")
    spec = cls.input_spec_for(load_config(cls.config_schema, None, []))
    assert (spec.crop_size, spec.input_size, spec.fit) == (125, 112, "center_crop")
    assert spec.names == ("rgb", "ir", "depth") and spec.keys == ("image", "ir", "depth")
    config = load_config(cls.config_schema, None, ["data.image_size=64"])
    assert cls.input_spec_for(config).crop_size == 71


def test_the_training_transform_is_a_centre_crop_and_a_flip_only():
    import numpy as np

    method = _method()
    spec = method.input_spec()
    transform = method.train_transform(spec)
    rgb = np.random.default_rng(0).integers(0, 255, (spec.crop_size, spec.crop_size, 3), dtype=np.uint8)
    gray = {k: np.random.default_rng(1).integers(0, 255, (spec.crop_size, spec.crop_size), dtype=np.uint8) for k in ("ir", "depth")}
    centre = (spec.crop_size - spec.input_size) // 2
    seen = set()
    for seed in range(12):
        transform.seed(seed)
        out = transform.apply({"image": rgb, **gray})
        plain = rgb[centre:centre + spec.input_size, centre:centre + spec.input_size]
        mean, std = torch.tensor(spec.modalities[0].mean), torch.tensor(spec.modalities[0].std)
        back = (out["image"] * std[:, None, None] + mean[:, None, None]) * 255
        as_is = torch.from_numpy(plain.copy()).permute(2, 0, 1).float()
        flipped = as_is.flip(2)
        seen.add("flip" if torch.allclose(back, flipped, atol=0.01) else "plain" if torch.allclose(back, as_is, atol=0.01) else "other")
        ir = out["ir"][0] * 0.5 + 0.5
        ir_plain = torch.from_numpy(gray["ir"][centre:centre + spec.input_size, centre:centre + spec.input_size].copy()).float() / 255
        assert torch.allclose(ir, ir_plain, atol=1e-3) or torch.allclose(ir, ir_plain.flip(1), atol=1e-3)
    assert seen == {"flip", "plain"}


@pytest.mark.parametrize("modality", ["rgb", "ir", "depth"])
def test_modality_ablation_feeds_one_modality_to_all_three_branches(modality):
    method = _method([f"multimodal.branches=[{modality},{modality},{modality}]"]).eval()
    spec = method.input_spec()
    assert spec.names == ("rgb",) if modality == "rgb" else spec.names == ("rgb", modality)
    assert method.net.branch_names == (modality,) * 3 and method.net.res4.down.conv.in_channels == 3 * 32
    batch = _batch(spec, n=2)
    key = "image" if modality == "rgb" else modality
    with torch.no_grad():
        out = method.net(batch)
        changed = method.net({**batch, key: batch[key] + 1.0})
        if modality != "rgb":  # the RGB input is declared (faces are found on it) but not read
            assert torch.allclose(method.net({**batch, "image": torch.zeros_like(batch["image"])}), out)
    assert not torch.allclose(out, changed)
    with pytest.raises(ValueError, match="three modalities"):
        _method(["multimodal.branches=[rgb,ir]"])


def test_modality_dropout_zeroes_the_dropped_inputs_and_keeps_rgb():
    spec = _method().input_spec()
    batch = _batch(spec, n=200)
    g = torch.Generator().manual_seed(0)
    out, kept = drop_modalities(batch, [["rgb"], ["rgb", "ir"]], p=0.5, generator=g)
    assert kept[:, 0].all()  # RGB is in every subset
    assert torch.equal(out["image"], batch["image"])
    for j, key in ((1, "ir"), (2, "depth")):
        for i in range(200):
            expected = batch[key][i] if kept[i, j] else torch.zeros_like(batch[key][i])
            assert torch.equal(out[key][i], expected)
    lost_depth = (~kept[:, 2]).float().mean().item()
    lost_ir = (~kept[:, 1]).float().mean().item()
    assert 0.35 < lost_depth < 0.65 and 0.1 < lost_ir < 0.4  # p 0.5 drops depth always, IR in half of the drops
    same, kept_all = drop_modalities(batch, [["rgb"]], p=0.0)
    assert same is batch and kept_all.all()


def test_a_network_given_fewer_inputs_reads_zeros_for_the_absent_branches():
    torch.manual_seed(0)
    full = MultiModalNet(width=0.125, layers=[1, 1, 1, 1]).eval()
    rgb_only = MultiModalNet(width=0.125, layers=[1, 1, 1, 1], inputs=["rgb"]).eval()
    rgb_only.load_state_dict(full.state_dict())
    image = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        expected = full({"image": image, "ir": torch.zeros_like(image), "depth": torch.zeros_like(image)})
        assert torch.allclose(rgb_only({"image": image}), expected, atol=1e-6)
    with pytest.raises(KeyError, match="has no 'ir'"):
        full({"image": image, "depth": image})


def _caffe_state(net: FaceResNet) -> dict:
    """``net``'s tensors under the authors' ResNetCaffe names (written out by hand), plus a classifier of theirs."""
    state = {}
    for key, value in net.state_dict().items():
        name = key.replace("stem.conv.", "conv1.").replace("stem.bn.", "bn1.").replace("stem.act.", "relu.")
        name = name.replace(".down.conv.", ".0.").replace(".down.bn.", ".1.").replace(".down.act.", ".2.")
        if ".blocks." in name:
            layer, rest = name.split(".blocks.")
            index, tail = rest.split(".", 1)
            name = f"{layer}.{int(index) + 4}.{tail.replace('act1', 'relu1').replace('act2', 'relu2')}"
        state["module." + name] = value.clone()
    state["module.fc.weight"] = torch.randn(10, 512)
    return state


def test_the_authors_checkpoint_layout_is_renamed_onto_ours():
    torch.manual_seed(0)
    face = FaceResNet(width=0.125, layers=[1, 2, 1, 1])
    renamed = from_caffe_layout(_caffe_state(face))
    assert renamed["layer2.blocks.1.act2.weight"].shape == face.layer2.blocks[1].act2.weight.shape
    assert "layer1.down.conv.weight" in renamed and "stem.act.weight" in renamed and "fc.weight" in renamed
    face.load_state_dict({k: v for k, v in renamed.items() if k != "fc.weight"}, strict=True)  # every name lands
    assert from_caffe_layout(face.state_dict()).keys() == face.state_dict().keys()  # our own layout passes unchanged


@pytest.mark.parametrize("layout", ["ours", "caffe"])
def test_face_checkpoint_initialises_branches_aggregation_and_res4_and_reports_the_rest(layout, tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    face = FaceResNet(width=0.125, layers=[1, 1, 1, 1])
    state = _caffe_state(face) if layout == "caffe" else {**{k: v.clone() for k, v in face.state_dict().items()},
                                                          "fc.weight": torch.randn(10, 64)}
    path = tmp_path / ("face.pth" if layout == "caffe" else "face.safetensors")
    if layout == "caffe":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    net = MultiModalNet(width=0.125, layers=[1, 1, 1, 1])
    report = load_face_weights(net, path, aggregation_init="pretrained")  # the authors' code's initialisation
    for i in range(3):
        assert torch.equal(net.branches[i].stem.conv.weight, face.stem.conv.weight)
        assert torch.equal(net.branches[i].layer3.blocks[0].conv2.weight, face.layer3.blocks[0].conv2.weight)
    for level, stage in enumerate((face.layer2, face.layer3, face.layer4)):
        assert torch.equal(net.agg[level].stage.down.conv.weight, stage.down.conv.weight)
    assert torch.equal(net.res4.down.conv.weight, torch.cat([face.layer4.down.conv.weight] * 3, dim=1))
    assert torch.equal(net.res4.blocks[0].act1.weight, face.layer4.blocks[0].act1.weight)
    missing = set(report["missing"])
    assert {"classifier.weight", "classifier.bias", "se.0.fc1.weight", "agg.0.reduce.weight"} <= missing
    assert not any(k.startswith(("branches.", "res4.")) for k in missing)
    assert report["unexpected"] == ["fc.weight"] and not report["mismatched"]


def test_a_checkpoint_of_another_width_is_refused_with_its_shapes(tmp_path):
    from safetensors.torch import save_file

    save_file(FaceResNet(width=0.25, layers=[1, 1, 1, 1]).state_dict(), str(tmp_path / "wide.safetensors"))
    with pytest.raises(ValueError, match="same model.layers and model.width"):
        load_face_weights(MultiModalNet(width=0.125, layers=[1, 1, 1, 1]), tmp_path / "wide.safetensors")


def test_model_weights_starts_the_method_from_the_checkpoint(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    face = FaceResNet(width=0.125, layers=[1, 1, 1, 1])
    save_file(face.state_dict(), str(tmp_path / "face.safetensors"))
    method = _method([f"model.weights={tmp_path / 'face.safetensors'}"])
    assert torch.equal(method.net.branches[1].layer1.down.conv.weight, face.layer1.down.conv.weight)
    assert "classifier.weight" in method.init_report["missing"]


@pytest.mark.parametrize("aggregation_init", ["default", "pretrained"])
def test_mlfa_blocks_start_random_by_default_and_from_res2_to_res4_as_an_option(aggregation_init, tmp_path):
    """Seed 001 Sec. 5.6: "We initialize aggregation modules with random weights"; the authors' code copies res2-res4."""
    from safetensors.torch import save_file

    torch.manual_seed(5)
    face = FaceResNet(width=0.125, layers=[1, 1, 1, 1])
    save_file(face.state_dict(), str(tmp_path / "face.safetensors"))
    option = [] if aggregation_init == "default" else [f"model.aggregation_init={aggregation_init}"]
    method = _method([f"model.weights={tmp_path / 'face.safetensors'}", *option])
    assert torch.equal(method.net.branches[0].layer2.down.conv.weight, face.layer2.down.conv.weight)  # branches load
    copied = aggregation_init == "pretrained"
    for level, stage in enumerate((face.layer2, face.layer3, face.layer4)):
        agg = method.net.agg[level].stage.state_dict()
        convs = {k: v for k, v in stage.state_dict().items() if v.dim() == 4}  # BN/PReLU start at constants either way
        same = [torch.equal(agg[k], v) for k, v in convs.items()]
        assert len(convs) >= 3 and (all(same) if copied else not any(same)), (level, same)
        if copied:
            assert all(torch.equal(agg[k], v) for k, v in stage.state_dict().items())
    stage_keys = {k for k in method.init_report["missing"] if k.startswith("agg.") and ".stage." in k}
    assert bool(stage_keys) is not copied  # the report says which blocks were left at their initialisation


def test_aggregation_init_is_checked():
    with pytest.raises(ValueError, match="aggregation_init"):
        _method(["model.aggregation_init=copied"])
    with pytest.raises(ValueError, match="'random' \\(the paper\\)"):
        load_face_weights(MultiModalNet(width=0.125, layers=[1, 1, 1, 1]), "unused.safetensors", aggregation_init="copy")


def test_backbone_must_be_the_face_resnet():
    with pytest.raises(ValueError, match="face_resnet34"):
        _method(["model.backbone=resnet18"])


@pytest.mark.slow
def test_the_multimodal_quickstart_runs_end_to_end_at_a_reduced_size_and_narrows_to_rgb(tmp_path):
    """`quickstart --method multimodal` (its packaged config) on 12 subjects, 1 epoch, a tiny width; then an RGB-only copy."""
    import cv2
    import pandas as pd
    from toy_methods import FixedBox

    from antispoof.data.base import BOX_COLUMNS
    from antispoof.inference.bundle import Bundle
    from antispoof.inference.calibrate import calibrate_run
    from antispoof.inference.predictor import Predictor
    from antispoof.methods.multimodal import with_inputs
    from antispoof.training.quickstart import run_quickstart

    report = run_quickstart(tmp_path / "qs", method="multimodal", subjects=12, frames=2, source_size=64, workers=1,
                            teacher_overrides=["data.image_size=48", "data.crop_size=54", "train.max_epochs=1",
                                               "model.width=0.125"], progress=False)
    model = report["models"]["multimodal"]
    assert model["backbone"] == "face_resnet34" and 0 <= model["acer"] <= 1 and 0 <= model["auc"] <= 1
    assert set(report["multimodal"]["tpr_at_fpr"]) == {"1e-2", "1e-3", "1e-4"}
    card = Bundle.load(report["bundle"]["path"]).card
    assert card.input.names == ("rgb", "ir", "depth") and (card.input.crop_size, card.input.input_size) == (54, 48)

    narrowed = with_inputs(model["run"], ["rgb"], tmp_path / "rgb_only")
    bundle = calibrate_run(narrowed, store=report["data"]["store"], split="dev", target="eer", out=tmp_path / "rgb_bundle",
                           progress=False)
    assert Bundle.load(bundle).card.input.names == ("rgb",)

    root = Path(report["data"]["root"])
    manifest = pd.read_csv(root / "manifest.csv")
    row = manifest[manifest["split"] == "test"].iloc[0]
    rgb = cv2.imread(str(root / row["path"]))[:, :, ::-1].copy()
    full = Predictor(report["bundle"]["path"])
    full.detector = FixedBox(tuple(row[c] for c in BOX_COLUMNS))
    with pytest.raises(ValueError, match="lacks ir, depth"):
        full.predict_image(rgb)
    rgb_only = Predictor(bundle)
    rgb_only.detector = full.detector
    assert 0 <= rgb_only.predict_image(rgb).score <= 1
    with pytest.raises(ValueError, match="takes no ir"):
        rgb_only.predict_image(rgb, ir=rgb[:, :, 0])


def test_the_table_refuses_unknown_rows_and_writes_the_unavailable_imagenet_row(tmp_path):
    from antispoof.studies.multimodal_table import ROWS, UNAVAILABLE, _markdown, run_table

    with pytest.raises(ValueError, match="unknown rows"):
        run_table(tmp_path, rows=["resnet-18"])
    assert list(ROWS)[:4] == ["rgb+ir+depth", "depth x3", "ir x3", "rgb x3"]
    content = {"config": "quickstart_multimodal", "overrides": ["seed=0"], "subjects": 4, "seed": 0, "threshold_rule": "eer",
               "rows": [{"name": "ImageNet init", "unavailable": UNAVAILABLE},
                        {"name": "ir x3", "acer": 0.125, "auc": 0.9, "seconds": 12.0,
                         "tpr_at_fpr": {"1e-2": 0.5, "1e-3": 0.25, "1e-4": 0.25}}]}
    text = _markdown(content)
    assert "| ImageNet init | not available: no ImageNet weights" in text
    assert "| ir x3 | 12.5% | 0.900 | 50.0% | 25.0% | 25.0% | 12 |" in text


def test_the_face_id_rows_share_one_pretraining_and_keep_their_own_overrides(tmp_path, monkeypatch):
    import antispoof.studies.multimodal_table as table
    import antispoof.training.runner as runner
    from antispoof.methods.face_id import BACKBONE_FILE

    pretrainings, trained = [], {}

    def fake_pretrain(config, out):  # stands in for the face-id training: writes its backbone file
        pretrainings.append(config)
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / BACKBONE_FILE).write_bytes(b"")
        return Path(out), "trained"

    def fake_row(out, name, overrides, store, progress):
        trained[name] = overrides
        return {"run": str(out / name), "acer": 0.0, "auc": 1.0, "tpr_at_fpr": {}}

    monkeypatch.setattr(runner, "train_or_resume", fake_pretrain)
    monkeypatch.setattr(table, "_train_and_evaluate", fake_row)
    table.run_table(tmp_path, rows=["face-id init", "rgb x3, face-id init"], subjects=4, frames=1, source_size=96,
                    overrides=["train.max_epochs=1"], face_id_overrides=["train.lr=0.01"])
    assert len(pretrainings) == 1
    # the rows' schedule does not shorten the pretraining, whose own overrides apply
    assert pretrainings[0].train.max_epochs == 20 and pretrainings[0].train.lr == 0.01
    assert "multimodal.branches=[rgb,rgb,rgb]" in trained["rgb x3, face-id init"]
    assert "multimodal.branches=[rgb,rgb,rgb]" not in trained["face-id init"]
    assert all(any(o.startswith("model.weights=") for o in v) for v in trained.values())


def test_the_table_command_takes_overrides_after_its_rows(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import antispoof.studies.multimodal_table as table
    from antispoof.cli import app

    seen = {}

    def fake_table(out, **kwargs):
        seen.update(kwargs)
        (Path(out) / "table.md").write_text("", encoding="utf-8")
        return {}

    monkeypatch.setattr(table, "run_table", fake_table)
    result = CliRunner().invoke(app, ["study", "multimodal-table", "--out", str(tmp_path), "--rows", "ir x3", "--rows",
                                      "depth x3", "--face-id", "train.lr=0.01", "train.max_epochs=2", "data.image_size=48"])
    assert result.exit_code == 0, result.output
    assert seen["rows"] == ["ir x3", "depth x3"] and seen["face_id_overrides"] == ["train.lr=0.01"]
    assert seen["overrides"] == ["train.max_epochs=2", "data.image_size=48"]
