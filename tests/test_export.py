"""ONNX export: parity with PyTorch on real crops, dynamic batch, int8 report, the Predictor on onnxruntime."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from test_inference import make_run

from antispoof.inference.bundle import Bundle
from antispoof.inference.calibrate import calibrate_run
from antispoof.inference.card import CardError
from antispoof.inference.export import FP32_TOLERANCE, calibration_store, export_onnx, parity_crops
from antispoof.inference.predictor import Predictor


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    run = make_run(tmp)
    bundle = calibrate_run(run, target="eer", progress=False)
    record = export_onnx(run, quantize="int8")
    return bundle, record


def test_fp32_graph_matches_pytorch_on_real_crops(exported):
    import onnxruntime as ort

    path, record = exported
    bundle = Bundle.load(path)
    assert bundle.card.onnx == {"fp32": "model.onnx", "int8": "model.int8.onnx"}
    assert set(bundle.card.files) == {"model.safetensors", "model.onnx", "model.int8.onnx"}
    inputs, origin = parity_crops(bundle, calibration_store(path, bundle))
    crops = inputs["image"]
    assert "split=dev" in origin and crops.shape[1:] == (3, 32, 32) and len(crops) == record["parity_crops"]
    session = ort.InferenceSession(str(bundle.onnx_path("fp32")), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert isinstance(session.get_inputs()[0].shape[0], str)  # dynamic batch
    with torch.no_grad():
        expected = bundle.scorer_module()(torch.from_numpy(crops)).numpy()
    for batch in (1, 5, len(crops)):
        got = session.run(None, {"image": crops[:batch]})[0]
        assert got.shape == (batch, 8)
        assert np.abs(got[:, 0] - expected[:batch, 0]).max() <= FP32_TOLERANCE
        assert np.abs(got - expected[:batch]).max() <= FP32_TOLERANCE  # the cues too
    assert record["fp32"]["max_abs_score_diff"] <= FP32_TOLERANCE and record["opset"] == 17


def test_int8_is_reported_with_the_dev_metric_change(exported):
    _, record = exported
    int8 = record["int8"]
    assert 0.0 <= int8["mean_abs_score_diff"] <= int8["max_abs_score_diff"] < 0.5
    dev = int8["dev_metrics"]
    for key in ("apcer", "bpcer", "acer", "eer", "auc"):
        assert dev["change"][key] == pytest.approx(dev["int8"][key] - dev["fp32_torch"][key])


def test_predictor_uses_onnxruntime_by_default_and_agrees_with_torch(exported, samples_dir):
    path, _ = exported
    onnx, torch_ = Predictor(path), Predictor(path, backend="torch")
    int8 = Predictor(path, precision="int8")
    assert onnx.backend.name == "onnxruntime" and torch_.backend.name == "torch"
    for photo in sorted(samples_dir.glob("*.jpg")):
        a, b, c = onnx.predict_image(photo), torch_.predict_image(photo), int8.predict_image(photo)
        assert a.backend == "onnxruntime"
        assert abs(a.score - b.score) <= FP32_TOLERANCE
        assert all(abs(a.explanation[k] - b.explanation[k]) <= FP32_TOLERANCE for k in a.explanation)
        assert np.isfinite(c.score)


def test_a_changed_graph_is_refused(exported, tmp_path):
    path, _ = exported
    copy = tmp_path / "bundle"
    shutil.copytree(path, copy)
    with open(copy / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(CardError, match="model.onnx does not match"):
        Predictor(copy)


def test_export_without_a_bundle_says_calibrate_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="antispoof calibrate"):
        export_onnx(tmp_path)


def test_cli_export(exported, tmp_path):
    from typer.testing import CliRunner

    from antispoof.cli import app

    path, _ = exported
    copy = tmp_path / "bundle"
    shutil.copytree(path, copy)
    result = CliRunner().invoke(app, ["export", str(copy), "--format", "onnx"])
    assert result.exit_code != 0 and "--store" in str(result.exception)  # a copied bundle has no calibration record
    store = calibration_store(path, Bundle.load(path))
    result = CliRunner().invoke(app, ["export", str(copy), "--format", "onnx", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "max |score - torch|" in result.output
    card = Bundle.load(copy).card
    assert card.onnx == {"fp32": "model.onnx"} and "model.int8.onnx" not in card.files  # a stale int8 graph is removed
    bad = CliRunner().invoke(app, ["export", str(copy), "--format", "tflite"])
    assert bad.exit_code != 0


@pytest.mark.parametrize("backbone", ["lcnet_050", "regnetx_002"])  # the quickstart's student and teacher families
def test_parity_holds_for_deployment_backbones(tmp_path, backbone):
    run = make_run(tmp_path, backbone=backbone, epochs=1)
    calibrate_run(run, target="eer", progress=False)
    record = export_onnx(run)
    assert record["fp32"]["max_abs_score_diff"] <= FP32_TOLERANCE
    assert record["fp32"]["max_abs_output_diff"] <= FP32_TOLERANCE


def test_openvino_backend_without_the_runtime_says_how_to_install_it(exported, monkeypatch):
    import sys

    path, _ = exported
    monkeypatch.setitem(sys.modules, "openvino", None)  # as on a machine without the optional runtime
    with pytest.raises(ImportError, match=r"pip install 'antispoof\[openvino\]'"):
        Predictor(path, backend="openvino")
    with pytest.raises(ValueError, match="choose auto, onnx, openvino, torch or torchscript"):
        Predictor(path, backend="openvno")
