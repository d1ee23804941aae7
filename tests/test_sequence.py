"""Sequence (seed 002): CNN + BiLSTM shapes and gradients, frame order, the weighted focal loss by hand, the 3-class
targets, the two training stages (plan, sub-runs, stage 2 starting from stage 1, resume), the quickstart at a small size."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

from antispoof.config import ConfigError, load_config
from antispoof.losses import BinaryWeightedFocalLoss, WeightedFocalLoss, create_loss
from antispoof.methods import method_class
from antispoof.methods.base import Stage
from antispoof.models.sequence import CLASS_NAMES, SequenceNet
from antispoof.training.stages import apply_overlay, stage_configs, stages_of

TINY = ["model.backbone=plain_cnn", "data.image_size=32", "sequence.clip_len=4", "model.embed=16", "model.hidden=8"]


def _config(*overrides: str):
    return load_config(method_class("sequence").config_schema, None, [*TINY, *overrides])


def _method(*overrides: str):
    torch.manual_seed(0)
    return method_class("sequence").from_config(_config(*overrides))


def _net(**kwargs) -> SequenceNet:
    torch.manual_seed(0)
    return SequenceNet("plain_cnn", embed=16, hidden=8, **kwargs)


# -- the network ----------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "three_class", "joint"])
def test_clip_and_frame_networks_have_the_declared_shapes(task):
    clips = torch.randn(3, 5, 3, 32, 32)
    net = _net(task=task).eval()
    out = net(clips)
    assert set(out) == {"binary": {"logit"}, "three_class": {"class_logits"}, "joint": {"logit", "class_logits"}}[task]
    if "logit" in out:
        assert out["logit"].shape == (3,)
    if "class_logits" in out:
        assert out["class_logits"].shape == (3, len(CLASS_NAMES))
    assert net.lstm.bidirectional and net.lstm.num_layers == 2 and net.lstm.input_size == 16
    pred = net.predict({"image": clips})
    assert pred["score"].shape == (3,) and ((pred["score"] >= 0) & (pred["score"] <= 1)).all()
    if task == "three_class":  # the score is the softmax's real class
        assert torch.allclose(pred["score"], torch.softmax(out["class_logits"], 1)[:, 0])
        assert torch.allclose(pred["score"] + pred["print"] + pred["replay"], torch.ones(3))
    else:  # the sigmoid of the real/fake logit
        assert torch.allclose(pred["score"], torch.sigmoid(out["logit"]))
    frames = _net(task=task, unit="frame").eval()
    assert not hasattr(frames, "lstm")
    assert {k: v.shape[0] for k, v in frames(clips[:, 0]).items()} == dict.fromkeys(out, 3)
    with pytest.raises(ValueError, match="clips"):
        net(clips[:, 0])


def test_a_one_directional_lstm_reads_out_its_output_after_the_last_frame():
    """The 'Ablations on RNN' table's 1-directional row: the readout is the top layer's output at the last step."""
    net = _net(bidirectional=False).eval()
    assert not net.lstm.bidirectional and net.head.in_features == 8
    embedded = torch.randn(2, 5, 16)
    outputs, _ = net.lstm(embedded)
    assert torch.allclose(net.sequence(embedded), outputs[:, -1], atol=1e-6)
    method = _method("model.bidirectional=false")  # the method builds it from the config key
    assert not method.net.lstm.bidirectional and method.net(torch.randn(2, 4, 3, 32, 32))["logit"].shape == (2,)


def test_a_mobilenetv2_encoder_gives_the_papers_1280_to_512_projection():
    net = SequenceNet("mobilenetv2_100")
    assert (net.project.in_features, net.project.out_features) == (1280, 512)
    assert (net.lstm.input_size, net.head.in_features, net.head.out_features) == (512, 512, 1)


@pytest.mark.parametrize("task", ["binary", "three_class", "joint"])
@pytest.mark.parametrize("unit", ["clip", "frame"])
def test_gradients_reach_every_parameter_including_the_classifier(task, unit):
    method = _method(f"model.task={task}", f"model.unit={unit}").train()
    images = torch.randn(4, 4, 3, 32, 32) if unit == "clip" else torch.randn(4, 3, 32, 32)
    batch = {"image": images, "label": torch.tensor([1, 0, 0, 1]), "pai_class": ["bonafide", "print", "replay", "bonafide"]}
    loss, logs = method.training_loss(batch)
    loss.backward()
    params = dict(method.named_parameters())
    assert params and all(p.requires_grad for p in params.values())
    missing = [n for n, p in params.items() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, f"no gradient for {missing}"
    head = "net.head.weight" if unit == "clip" else "net.frame_head.weight"
    assert (head in params) == (task != "three_class")
    assert {"binary": {"focal"}, "three_class": {"focal_3class"}, "joint": {"focal", "focal_3class"}}[task] == set(logs)


def test_the_literal_last_step_readout_leaves_the_top_backward_recurrence_untrained():
    """outputs[:, -1]: the backward direction has read one frame from a zero state, so W_hh of its top layer is unused."""
    net = _net(readout="last").train()
    net(torch.randn(2, 4, 3, 32, 32))["logit"].sum().backward()
    dead = [n for n, p in net.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert dead == ["lstm.weight_hh_l1_reverse"]


@pytest.mark.parametrize("readout", ["last", "final_states"])
def test_the_bilstm_sees_the_frames_in_order(readout):
    net = _net(readout=readout).eval()
    torch.manual_seed(1)
    clips = torch.randn(2, 6, 3, 32, 32)
    shuffled = clips[:, torch.tensor([3, 0, 5, 1, 4, 2])]
    with torch.no_grad():
        a, b = net(clips)["logit"], net(shuffled)["logit"]
        # the same frames: their encoder features are a permutation of each other
        fa = net.encoder_features(clips.flatten(0, 1)).reshape(2, 6, -1)
        fb = net.encoder_features(shuffled.flatten(0, 1)).reshape(2, 6, -1)
    assert torch.allclose(fa.sum(1), fb.sum(1), atol=1e-4)
    assert (a - b).abs().min() > 1e-5  # yet the output changed with the order


def test_a_frozen_encoder_trains_the_rest_and_keeps_its_statistics():
    net = SequenceNet("resnet10t", embed=16, hidden=8, features="stages", freeze_encoder=True).train()
    assert not net.encoder.training and net.arch["features"] == "stages" and "freeze_encoder" not in net.arch
    net(torch.rand(2, 3, 3, 32, 32))["logit"].sum().backward()
    assert all(p.grad is None for p in net.encoder.parameters())
    assert net.project.weight.grad.abs().sum() > 0 and net.head.weight.grad.abs().sum() > 0


def test_input_deltas_add_a_projection_of_how_the_frames_rgb_statistics_changed():
    torch.manual_seed(0)
    net = SequenceNet("resnet10t", embed=16, hidden=8, features="stages_and_input", input_deltas=True).eval()
    # eval: the standardisations hold their initial statistics (mean 0, variance 1)
    feats = torch.randn(2, 5, net.num_features)
    stats = feats[..., -6:]  # the input frame's RGB mean and std
    change = torch.cat([torch.zeros(2, 1, 6), stats[:, 1:] - stats[:, :-1]], dim=1)
    scale = (1 + net.standardize_delta.eps) ** -0.5
    with torch.no_grad():
        embedded = net.project(feats * scale) + net.project_delta(change * scale)
        expected = net.heads(net.sequence(embedded))["logit"]
        assert torch.allclose(net.forward_features(feats)["logit"], expected, atol=1e-5)
        feats[..., :-6] = torch.randn(2, 5, net.num_features - 6)  # the branch reads the last 6 features only
        again = net.project(feats * scale) + net.project_delta(change * scale)
        assert torch.allclose(net.forward_features(feats)["logit"], net.heads(net.sequence(again))["logit"], atol=1e-5)
    # stage 1's frame network has no neighbours, so no branch: its projection still initialises stage 2's by name
    frames = SequenceNet("resnet10t", unit="frame", features="stages_and_input", input_deltas=True)
    assert not hasattr(frames, "project_delta") and frames.project.in_features == net.project.in_features
    with pytest.raises(ValueError, match="stages_and_input"):
        SequenceNet("resnet10t", features="stages", input_deltas=True)


def test_stages_and_input_features_end_with_the_frames_own_rgb_mean_and_std():
    net = SequenceNet("resnet10t", embed=16, hidden=8, features="stages_and_input").eval()
    stages = SequenceNet("resnet10t", embed=16, hidden=8, features="stages").eval()
    assert net.num_features == stages.num_features + 6
    frames = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        feats = net.encoder_features(frames)
    means, stds = frames.mean(dim=(2, 3)), frames.std(dim=(2, 3))
    assert torch.allclose(feats[:, -6:-3], means) and torch.allclose(feats[:, -3:], stds)
    assert _config("model.features=stages_and_input").model.features == "stages_and_input"


def test_cached_frozen_features_give_the_same_loss_as_computing_them():
    overrides = ("model.freeze_encoder=true",)
    plain = _method(*overrides).train()
    cached = _method(*overrides, "model.cache_features=true").train()
    cached.load_state_dict(plain.state_dict())
    assert cached.use_cache and not plain.use_cache
    batch = {"image": torch.rand(3, 4, 3, 32, 32), "label": torch.tensor([1, 0, 1]), "source": ["a", "b", "c"],
             "video": ["va", "vb", "vc"], "frames": [torch.tensor([i, i, i]) for i in range(4)]}
    expected = plain.training_loss(batch)[0]
    assert torch.allclose(cached.training_loss(batch)[0], expected, atol=1e-6) and len(cached._cache) == 3
    batch["image"] = torch.zeros_like(batch["image"])  # the cache answers, not the images
    assert torch.allclose(cached.training_loss(batch)[0], expected, atol=1e-6)
    assert not _method(*overrides, "model.cache_features=true", "train.augment=light").use_cache  # augmented: never cached


# -- the weighted focal loss ------------------------------------------------------------------


def test_binary_weighted_focal_loss_by_hand():
    logits, targets = [2.0, -1.0, 0.5, -3.0], [1, 1, 0, 0]
    alpha, gamma = 0.8, 2.0
    expected = []
    for z, y in zip(logits, targets):
        p = 1 / (1 + math.exp(-z))  # probability of real
        p_t = p if y == 1 else 1 - p
        a_t = alpha if y == 1 else 1 - alpha  # alpha on the real class
        expected.append(-a_t * (1 - p_t) ** gamma * math.log(p_t))
    loss = BinaryWeightedFocalLoss(alpha, gamma, reduction="none")(torch.tensor(logits), torch.tensor(targets))
    assert loss.tolist() == pytest.approx(expected, rel=1e-5)
    mean = BinaryWeightedFocalLoss(alpha, gamma)(torch.tensor(logits), torch.tensor(targets))
    assert mean.item() == pytest.approx(sum(expected) / 4, rel=1e-5)
    # alpha on the fake class instead: the weights swap
    swapped = BinaryWeightedFocalLoss(alpha, gamma, weighted=0, reduction="none")(torch.tensor(logits), torch.tensor(targets))
    assert swapped.tolist() == pytest.approx([e * (0.2 / 0.8 if y == 1 else 0.8 / 0.2) for e, y in zip(expected, targets)], rel=1e-5)


def test_binary_focal_loss_properties():
    z, y = torch.randn(16), torch.randint(0, 2, (16,))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(z, y.float())
    assert BinaryWeightedFocalLoss(0.5, 0.0)(z, y).item() == pytest.approx(0.5 * bce.item(), rel=1e-5)
    assert BinaryWeightedFocalLoss(0.8, 2.0)(z, y) < BinaryWeightedFocalLoss(0.8, 0.0)(z, y)  # focusing only lowers it
    masked = BinaryWeightedFocalLoss(0.8, 2.0)(torch.tensor([1.0, 5.0]), torch.tensor([1, -1]))  # -1: left out
    assert masked.item() == pytest.approx(BinaryWeightedFocalLoss(0.8, 2.0)(torch.tensor([1.0]), torch.tensor([1])).item())
    with pytest.raises(ValueError):
        BinaryWeightedFocalLoss(1.5)


def test_three_class_weighted_focal_loss_by_hand():
    logits = [[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0]]
    targets = [0, 2, 1]
    weights, gamma = [0.5, 0.25, 0.25], 2.0
    expected = []
    for row, c in zip(logits, targets):
        exps = [math.exp(v) for v in row]
        p_t = exps[c] / sum(exps)
        expected.append(-weights[c] * (1 - p_t) ** gamma * math.log(p_t))
    loss = WeightedFocalLoss(weights, gamma, reduction="none")(torch.tensor(logits), torch.tensor(targets))
    assert loss.tolist() == pytest.approx(expected, rel=1e-5)
    ignored = WeightedFocalLoss(weights, gamma)(torch.tensor(logits), torch.tensor([0, -1, 1]))
    assert ignored.item() == pytest.approx((expected[0] + expected[2]) / 2, rel=1e-5)
    assert isinstance(create_loss("weighted_focal", weights=weights), WeightedFocalLoss)


def test_three_class_targets_come_from_pai_class_and_masks_are_refused_or_ignored():
    method = _method("model.task=three_class")
    batch = {"label": torch.tensor([1, 0, 0]), "pai_class": ["bonafide", "replay", "print"]}
    assert method.class_targets(batch).tolist() == [0, 2, 1]
    batch["pai_class"] = ["bonafide", "mask", "print"]
    with pytest.raises(ValueError, match="mask"):
        method.class_targets(batch)
    assert _method("model.task=three_class", "loss.unlisted=ignore").class_targets(batch).tolist() == [0, -1, 1]
    with pytest.raises(ConfigError, match="class_weights"):
        _config("loss.class_weights=[0.5,0.5]")


def test_the_paper_settings_are_the_packaged_config():
    from antispoof.methods import load_method_config

    c = load_method_config("sequence")
    assert (c.model.backbone, c.model.embed, c.model.layers, c.sequence.clip_len) == ("mobilenetv2_100", 512, 2, 11)
    assert (c.loss.alpha, c.loss.weighted_class, c.loss.class_weights) == (0.8, "bonafide", [0.5, 0.25, 0.25])
    assert (c.frame_stage.max_epochs, c.train.max_epochs, c.train.batch_size, c.train.augment) == (30, 90, 8, "none")
    assert (c.data.frames_per_video, c.model.readout) == (11, "final_states")  # the paper's sampling: 11 frames per video
    spec = method_class("sequence").input_spec_for(c)
    assert (spec.clip_len, spec.crop_size, spec.input_size, spec.fit) == (11, 256, 224, "center_crop")


def test_stage_one_augments_with_crop_flip_and_rotation():
    import numpy as np

    method = _method("train.augment=crop_flip_rotate", "model.unit=frame")
    spec = method.input_spec()
    transform = method.train_transform(spec)
    image = np.random.default_rng(0).integers(0, 256, (spec.crop_size, spec.crop_size, 3), dtype=np.uint8)
    outs = []
    for seed in range(3):
        transform.seed(seed)
        outs.append(transform(image))
    assert all(o.shape == (3, 32, 32) for o in outs) and not torch.equal(outs[0], outs[1])
    names = [type(s).__name__ for s in transform._steps]
    assert names == ["Resize", "RandomCrop", "HorizontalFlip", "Rotate"] and transform._steps[-1].limit == (-15.0, 15.0)


# -- the stages --------------------------------------------------------------------------------


def test_the_plan_is_frames_then_clips_and_stage_two_starts_from_stage_one(tmp_path):
    config = _config("frame_stage.max_epochs=3", "train.max_epochs=5")
    stages = stages_of(config)
    assert [s.name for s in stages] == ["frames", "clips"]
    first, second = stage_configs(config, tmp_path, stages)
    assert (first.model.unit, first.train.max_epochs, first.train.batch_size, first.train.augment) == ("frame", 3, 32, "crop_flip_rotate")
    assert first.init_from is None and second.init_from == tmp_path / "stages" / "frames"
    assert second.model == config.model and (second.train.max_epochs, second.train.augment) == (5, "none")
    assert method_class("sequence").input_spec_for(first).clip_len == 1
    assert stages_of(_config("frame_stage.enabled=false")) == []  # the paper's "no feature pretraining" ablation
    # stage 1 follows model.freeze_encoder unless frame_stage.freeze_encoder says otherwise; stage 2 keeps the model's
    frozen = _config("model.freeze_encoder=true")
    assert [c.model.freeze_encoder for c in stage_configs(frozen, tmp_path, stages_of(frozen))] == [True, True]
    tuned = _config("model.freeze_encoder=true", "frame_stage.freeze_encoder=false")
    assert [c.model.freeze_encoder for c in stage_configs(tuned, tmp_path, stages_of(tuned))] == [False, True]
    with pytest.raises(ValueError, match="last stage"):
        stage_configs(config, tmp_path, [Stage("a"), Stage("b", {"model.hidden": 4})])
    with pytest.raises(ConfigError):
        apply_overlay(config, {"train.no_such_key": 1})


class _StartWeights(Callback):
    """Keeps each stage's network weights as the fit starts."""

    def __init__(self) -> None:
        self.starts: list[dict[str, torch.Tensor]] = []

    def on_fit_start(self, trainer, pl_module):
        self.starts.append({k: v.detach().clone() for k, v in pl_module.network().state_dict().items()})


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory) -> Path:
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.training.quickstart import prepare_synthetic_store

    root = tmp_path_factory.mktemp("seq")
    generate_dataset(root / "data", subjects=4, frames=4, size=48, seed=3, workers=1, show_progress=False)
    return prepare_synthetic_store(root / "data", root / "store", crop_size=37, frames=4, workers=1, progress=False)


def test_clips_of_a_store_of_frame_images_are_one_videos_frames_in_order(tiny_store):
    """The generator writes one image file per frame: a clip is still the frames of one video, not one frame repeated."""
    from antispoof.data.store import FrameDataset

    clips = FrameDataset(tiny_store, split="train", clip_len=4)
    frames = FrameDataset(tiny_store, split="train")
    assert len(clips) == frames.rows["video"].nunique() and len(frames) > len(clips)  # one clip per video of up to 4 frames
    item = clips[0]
    assert item["frames"] == [0, 1, 2, 3] and item["image"].shape[0] == 4
    assert len({item["image"][t].tobytes() for t in range(4)}) == 4  # four different frames


def test_the_packaged_sampling_takes_one_11_frame_clip_per_video(tmp_path):
    """Seed 002, "Dataset": "11 frames are sampled from each video": one clip of 11, spread over the whole video."""
    from antispoof.data.store import FrameDataset
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.methods import load_method_config
    from antispoof.training.quickstart import prepare_synthetic_store

    config = load_method_config("sequence", ["data.image_size=32"])
    spec = method_class("sequence").input_spec_for(config)
    frames = config.data.frames_per_video  # the store keeps this many evenly spaced frames (as data/_cache.py prepares)
    generate_dataset(tmp_path / "data", subjects=3, frames=23, size=64, seed=3, workers=1, show_progress=False)
    store = prepare_synthetic_store(tmp_path / "data", tmp_path / "store", crop_size=spec.crop_size, frames=frames,
                                    workers=1, progress=False)
    clips = FrameDataset.for_spec(store, "train", spec)
    videos = FrameDataset(store, split="train").rows["video"].nunique()
    assert videos > 0 and len(clips) == videos  # one clip per video
    for i in range(len(clips)):
        item = clips[i]
        assert item["image"].shape[0] == 11 and len(set(item["frames"])) == 11
        assert item["frames"][0] == 0 and item["frames"][-1] == 22  # the first and the last of the 23 source frames
    with pytest.raises(ConfigError, match="frames_per_video=11"):  # fewer frames than a clip would repeat the last one
        load_method_config("sequence", ["data.frames_per_video=5"])


@pytest.mark.slow
def test_a_two_stage_run_writes_both_stages_and_stage_two_starts_from_stage_one(tiny_store, tmp_path):
    from antispoof.training.evaluation import evaluate_run
    from antispoof.training.runner import load_trained, resume, train

    config = _config(f"data.store={tiny_store}", "data.dataset=manifest", "frame_stage.max_epochs=1", "train.max_epochs=1",
                     "frame_stage.batch_size=8", "train.batch_size=4", "train.progress=false", "train.accelerator=cpu",
                     "train.num_workers=0", "train.limit_val_batches=0")
    starts = _StartWeights()
    run = train(config, out=tmp_path / "run", callbacks=[starts])
    frames, clips = run / "stages" / "frames", run / "stages" / "clips"
    for stage in (frames, clips):
        assert (stage / "model.safetensors").is_file() and (stage / "checkpoints" / "last.ckpt").is_file()
        assert (stage / "config.yaml").is_file() and (stage / "run.json").is_file()
    plan = json.loads((run / "stages.json").read_text())
    assert [(s["name"], s["status"]) for s in plan["stages"]] == [("frames", "done"), ("clips", "done")]

    stage_one = load_file(frames / "model.safetensors")
    assert len(starts.starts) == 2
    start_two = starts.starts[1]
    cnn = [k for k in start_two if k.startswith(("encoder.", "project."))]
    assert cnn and all(torch.equal(start_two[k], stage_one[k]) for k in cnn)  # stage 2's CNN starts as stage 1 ended
    assert any(not torch.equal(starts.starts[0][k], stage_one[k]) for k in cnn)  # and stage 1 did train it
    assert not any(k.startswith("frame_") for k in start_two)  # stage 1's frame classifier is not carried over
    final = load_file(run / "model.safetensors")
    assert final.keys() == load_file(clips / "model.safetensors").keys()
    assert all(torch.equal(final[k], v) for k, v in load_file(clips / "model.safetensors").items())
    assert load_trained(run).input_spec().clip_len == 4

    # a run killed in stage 2 resumes there: stage 1 is kept as it was, the run's weights come back
    plan["stages"][1]["status"] = "running"
    (run / "stages.json").write_text(json.dumps(plan))
    (run / "model.safetensors").unlink()
    before = (frames / "model.safetensors").stat().st_mtime_ns
    resume(run)
    assert (frames / "model.safetensors").stat().st_mtime_ns == before and (run / "model.safetensors").is_file()
    result = evaluate_run(run, store=tiny_store, out=tmp_path / "eval", threshold="eer", progress=False)
    assert 0 <= result.report.to_dict()["auc"] <= 1


@pytest.mark.slow
def test_the_sequence_quickstart_runs_end_to_end_at_a_reduced_size(tmp_path):
    """`quickstart --method sequence` (its packaged config: frozen ImageNet Lite0, both stages) on 12 subjects, 1 + 1 epochs."""
    from antispoof.inference.bundle import Bundle
    from antispoof.training.quickstart import run_quickstart

    report = run_quickstart(tmp_path / "qs", method="sequence", subjects=12, source_size=64, workers=1,
                            teacher_overrides=["data.image_size=32", "data.crop_size=37", "sequence.clip_len=4",
                                               "frame_stage.max_epochs=1", "train.max_epochs=1"],
                            progress=False)
    model = report["models"]["sequence"]
    assert model["backbone"] == "tf_efficientnet_lite0" and 0 <= model["acer"] <= 1 and 0 <= model["auc"] <= 1
    assert report["data"]["frames_per_video"] == 4
    run = Path(model["run"])
    assert (run / "stages" / "frames" / "model.safetensors").is_file() and (run / "stages" / "clips" / "model.safetensors").is_file()
    card = Bundle.load(report["bundle"]["path"]).card
    assert (card.input.clip_len, card.input.crop_size, card.input.input_size) == (4, 37, 32)
    assert (tmp_path / "qs" / "report.json").is_file() and 0 <= report["bundle"]["dev_apcer"] <= 1


def test_standardize_is_batchnorm_and_its_eval_pass_reads_any_leading_shape():
    from antispoof.models.backbones import Standardize

    torch.manual_seed(0)
    ours, reference = Standardize(5), torch.nn.BatchNorm1d(5, affine=False)
    x = torch.randn(40, 5) * 3 + 1
    assert torch.allclose(ours(x), reference(x), atol=1e-6)  # training: the same batch statistics and running update
    assert torch.allclose(ours.running_mean, reference.running_mean) and torch.allclose(ours.running_var, reference.running_var)
    clips = torch.randn(2, 4, 5)
    assert torch.allclose(ours(clips), reference(clips.reshape(8, 5)).reshape(2, 4, 5), atol=1e-6)  # [..., C] in training too
    ours.eval(), reference.eval()
    assert torch.allclose(ours(clips), reference(clips.reshape(8, 5)).reshape(2, 4, 5), atol=1e-6)


def test_the_quickstart_network_exports_to_onnx(tmp_path):
    """The stage statistics, their deltas and the input's own: ONNX scores as PyTorch does, at batch 1 and 3."""
    import onnxruntime as ort

    from antispoof.inference.bundle import Bundle, bundle_network
    from antispoof.inference.card import ThresholdSpec, TrainingData
    from antispoof.inference.export import FP32_TOLERANCE, export_onnx

    method = _method("model.backbone=resnet10t", "model.features=stages_and_input", "model.input_deltas=true").eval()
    spec = method.input_spec()
    bundle = bundle_network(tmp_path / "bundle", method.network(), spec, method="sequence", backbone="resnet10t",
                            threshold=ThresholdSpec(value=0.5, rule="fixed=0.5", split="dev", dataset="none", metrics={}),
                            training_data=TrainingData(dataset="none"))
    batch = spec.example(3, seed=1)
    record = export_onnx(bundle.path, crops={k: batch[k].numpy() for k in spec.keys})
    assert record["fp32"]["max_abs_output_diff"] <= FP32_TOLERANCE
    session = ort.InferenceSession(str(Bundle.load(bundle.path).onnx_path("fp32")), providers=["CPUExecutionProvider"])
    expected = method.score(batch)
    single = session.run(None, {k: batch[k][:1].numpy() for k in spec.keys})[0]
    assert abs(single[0, 0] - expected[0].item()) <= FP32_TOLERANCE
