"""The method contract, for every registered method: a batch from its own input spec, loss and gradients,
score range, explanation, bundle round trip and ONNX parity. Every method must have a tiny config here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import toy_methods  # noqa: F401  (registers the two test-only methods)

from antispoof.config import load_config
from antispoof.inference.bundle import Bundle, bundle_network
from antispoof.inference.card import ThresholdSpec, TrainingData
from antispoof.inference.export import FP32_TOLERANCE, export_onnx
from antispoof.methods import list_methods, method_class
from antispoof.models.entry import EntryNet
from antispoof.training.checkpoints import weights_metadata
from antispoof.weights import WEIGHTS_FILE, save_weights

#: Tiny overrides per method (a new method without an entry fails test_every_method_has_a_tiny_config).
TINY: dict[str, list[str]] = {
    "entry": ["model.backbone=test_convnext", "data.image_size=32"],
    "entry_distill": ["model.backbone=plain_cnn", "data.image_size=32"],
    "pdle": ["model.backbone=plain_cnn", "data.image_size=32"],
    "lgsc": ["model.backbone=resnet10t", "model.classifier=resnet10t", "data.image_size=32",
             "model.freeze_encoder_bn=false"],  # no encoder weights: nothing pretrained to freeze
    "sequence": ["model.backbone=plain_cnn", "data.image_size=32", "sequence.clip_len=3", "model.embed=16", "model.hidden=8"],
    "multimodal": ["data.image_size=48", "model.width=0.125", "model.layers=[1,1,1,1]", "model.se_reduction=4"],
    "toy_modal": ["data.image_size=32"],
    "toy_clip": ["data.image_size=32"],
}
METHODS = list_methods()


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    """A folder holding an entry teacher's weights file (all that distillation reads of a teacher run)."""
    folder = tmp_path_factory.mktemp("teacher")
    config = load_config(method_class("entry").config_schema, None, TINY["entry"])
    method = method_class("entry").from_config(config)
    save_weights(method.network(), folder / WEIGHTS_FILE, weights_metadata(method, {"method": "entry"}))
    return folder


def build(name: str, teacher: Path):
    overrides = list(TINY[name])
    if name == "entry_distill":
        overrides.append(f"distill.teacher={teacher}")
    config = load_config(method_class(name).config_schema, None, overrides)
    torch.manual_seed(0)
    return method_class(name).from_config(config)


def make_batch(spec, n: int = 4) -> dict:
    batch = spec.example(n, seed=1)
    attributes = torch.zeros(n, 7)
    attributes[::2] = float("nan")
    batch.update(label=torch.tensor([1, 0] * (n // 2)), attributes=attributes, pai=["bonafide", "print"] * (n // 2),
                 pai_class=["bonafide", "print"] * (n // 2), domain=["studio", "office"] * (n // 2))
    return batch


def test_every_method_has_a_tiny_config():
    assert set(METHODS) <= set(TINY), f"add a tiny config for {sorted(set(METHODS) - set(TINY))} to TINY"
    assert {"toy_modal", "toy_clip", "entry", "entry_distill"} <= set(METHODS)


@pytest.mark.parametrize("name", METHODS)
def test_loss_is_finite_with_a_gradient_on_every_trainable_parameter(name, teacher):
    method = build(name, teacher).train()
    batch = make_batch(method.input_spec())
    loss, logs = method.training_loss(batch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    trainable = [(n, p) for n, p in method.named_parameters() if p.requires_grad]
    assert trainable, "the method has nothing to train"
    missing = [n for n, p in trainable if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no finite gradient for {missing}"
    assert torch.isfinite(method.validation_loss(batch))


@pytest.mark.parametrize("name", METHODS)
def test_score_is_liveness_in_unit_interval_and_explain_gives_cues_or_maps(name, teacher):
    method = build(name, teacher).eval()
    spec = method.input_spec()
    batch = make_batch(spec)
    for key in spec.keys:
        assert tuple(batch[key].shape[1:]) == spec.shape(dict(zip(spec.keys, spec.names))[key])
    with torch.no_grad():
        score = method.score(batch)
        explanation = method.explain(batch)
    assert score.shape == (4,) and ((score >= 0) & (score <= 1)).all()
    for cue, value in explanation.items():
        assert value.dim() in (1, 3) and value.shape[0] == 4, cue
        assert torch.isfinite(value).all()


def _bundle(method, folder: Path) -> Bundle:
    """A bundle written straight from a method (no calibration data): the card's facts, the method's weights."""
    return bundle_network(folder / "bundle", method.network(), method.input_spec(), method="test", backbone="tiny",
                          threshold=ThresholdSpec(value=0.5, rule="fixed=0.5", split="dev", dataset="none", metrics={}),
                          training_data=TrainingData(dataset="none"))


@pytest.mark.parametrize("name", METHODS)
def test_bundle_round_trip_and_onnx_parity(name, teacher, tmp_path):
    method = build(name, teacher).eval()
    spec = method.input_spec()
    bundle = _bundle(method, tmp_path)
    batch = make_batch(spec, n=6)
    scorer = bundle.scorer_module()
    with torch.no_grad():
        out = scorer(*(batch[k] for k in spec.keys))
        expected = method.score(batch)
    scores = out[0] if isinstance(out, tuple) else out
    assert torch.allclose(scores[:, 0], expected, atol=1e-6)
    assert isinstance(out, tuple) == bool(bundle.card.maps)

    record = export_onnx(bundle.path, crops={k: batch[k].numpy() for k in spec.keys})
    assert record["fp32"]["max_abs_output_diff"] <= FP32_TOLERANCE
    assert (record["fp32"]["max_abs_map_diff"] is None) == (not bundle.card.maps)
    if bundle.card.maps:
        assert record["fp32"]["max_abs_map_diff"] <= FP32_TOLERANCE
    import onnxruntime as ort

    session = ort.InferenceSession(str(Bundle.load(bundle.path).onnx_path("fp32")), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(spec.keys)  # one named input per modality
    for i in session.get_inputs():
        assert isinstance(i.shape[0], str) and len(i.shape) == 1 + len(spec.shape(dict(zip(spec.keys, spec.names))[i.name]))
    single = session.run(None, {k: batch[k][:1].numpy() for k in spec.keys})[0]
    assert np.abs(single[0, 0] - expected[0].item()) <= FP32_TOLERANCE  # batch 1 as well


def test_distillation_needs_no_teacher_to_score(teacher):
    student = method_class("entry_distill").for_inference(build("entry_distill", teacher).config)
    assert student.teacher is None and isinstance(student.network(), EntryNet)


@pytest.mark.parametrize("name", METHODS)
def test_openvino_backend_matches_pytorch(name, teacher, tmp_path):
    """The optional OpenVINO backend scores every method's bundle as PyTorch does: scores, cues and maps, batch 1 and N."""
    pytest.importorskip("openvino", reason="the optional OpenVINO runtime is not installed (pip install openvino)")
    from antispoof.inference.backends import open_backend

    method = build(name, teacher).eval()
    spec = method.input_spec()
    bundle = _bundle(method, tmp_path)
    batch = make_batch(spec, n=5)
    with torch.no_grad():
        out = bundle.scorer_module()(*(batch[k] for k in spec.keys))
    scores, maps = (out[0], out[1]) if isinstance(out, tuple) else (out, None)
    backend = open_backend(bundle, "openvino", threads=1)
    assert backend.name == "openvino" and backend.parity <= FP32_TOLERANCE
    for n in (1, 5):
        got, got_maps = backend({k: batch[k][:n].numpy() for k in spec.keys})
        assert got.shape == (n, scores.shape[1])
        assert np.abs(got - scores[:n].numpy()).max() <= FP32_TOLERANCE
        assert (got_maps is None) == (maps is None)
        if maps is not None:
            assert np.abs(got_maps - maps[:n].numpy()).max() <= FP32_TOLERANCE
