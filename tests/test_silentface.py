"""antispoof import silentface: the bundle, the source's detector, the sample photos end to end, ONNX parity, fine-tuning weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from antispoof.cli import app
from antispoof.data.video import read_image
from antispoof.inference.bundle import Bundle
from antispoof.inference.card import read_card
from antispoof.inference.predictor import Predictor

FIXTURES = Path(__file__).parent / "fixtures"
# the source's own test.py on ../shared/samples (../shared/weights/silentface/README.md): decision, winning class's summed probability / 2
REFERENCE = {"silentface_image_F1.jpg": ("attack", 0.7316), "silentface_image_F2.jpg": ("attack", 0.8172),
             "silentface_image_T1.jpg": ("bonafide", 0.9936)}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # small networks: see conftest


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import SHARED

    weights = SHARED / "weights" / "silentface"
    if not weights.is_dir():
        pytest.skip(f"Silent-Face weights not found at {weights} (they live beside the project, not in it)")
    out = tmp_path_factory.mktemp("silentface") / "bundle"
    result = CliRunner().invoke(app, ["import", "silentface", "--weights", str(weights), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "334 tensors mapped, 0 missing, 0 unexpected" in result.output
    assert "370 tensors mapped, 0 missing, 0 unexpected" in result.output
    return out


def _source_value(prediction) -> float:
    """The source's printed score: the winning class's mean probability (live, or the largest attack class), from the cues."""
    return max(prediction.explanation.values())


def test_card_names_source_licence_checksums_and_preprocessing(bundle: Path, silentface_dir: Path) -> None:
    card = read_card(bundle)
    sums = dict(reversed(line.split()) for line in (silentface_dir / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert card.source["licence"] == "Apache-2.0" and "minivision-ai/Silent-Face-Anti-Spoofing" in card.source["repository"]
    files = {f["file"]: f for f in card.source["files"]}
    assert set(files) == {"2.7_80x80_MiniFASNetV2.pth", "4_0_0_80x80_MiniFASNetV1SE.pth"}
    for name, record in files.items():
        assert record["sha256"] == sums[name] and record["missing"] == [] and record["unexpected"] == []
    assert card.crop.views == (2.7, 4.0) and card.crop.geometry == "box_in_image" and card.crop.size == 80
    spec = card.input
    assert (spec.views, spec.colour_order, spec.pixel_scale, spec.modalities[0].mean, spec.modalities[0].std) == (
        2, "BGR", 1.0, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert card.threshold.value == 0.5 and card.threshold.rule == "source_default"
    assert card.network.kwargs["score_rule"] == "live_vs_strongest_attack"  # 0.5 on it is the source's argmax
    assert card.outputs == ("score", "live_probability", "spoof_class_0", "spoof_class_2")
    assert "not calibrated" in card.threshold.dataset
    assert card.network.kwargs["members"] == ["MiniFASNetV2", "MiniFASNetV1SE"]
    assert card.detector.name == "retinaface_caffe" and "Widerface-RetinaFace.caffemodel" in card.files


def test_source_detector_matches_the_source(silentface_dir: Path, samples_dir: Path) -> None:
    """The Caffe RetinaFace run with PyTorch: the source's boxes exactly, its confidence and coordinates within 1e-4."""
    from antispoof.faces.retinaface import RetinaFaceCaffe

    fx = np.load(FIXTURES / "silentface_parity.npz")
    detector = RetinaFaceCaffe(silentface_dir / "Widerface-RetinaFace.caffemodel")
    for sample, (x, y, w, h), reference in zip(fx["samples"], fx["boxes"], fx["detections"]):
        image = read_image(samples_dir / str(sample))
        boxes, conf = detector.raw(image)
        best = int(np.argmax(conf))
        assert np.abs(np.r_[conf[best], boxes[best]] - reference).max() < 1e-4
        face = max(detector.detect(image), key=lambda f: f.score)
        assert face.box == (x, y, x + w, y + h)


def test_samples_end_to_end(bundle: Path, samples_dir: Path) -> None:
    predictor = Predictor(bundle, backend="torch")
    for name, (decision, value) in REFERENCE.items():
        result = predictor.predict_path(samples_dir / name)
        assert result.decision == decision, (name, result.score, result.reasons)
        assert abs(_source_value(result) - value) < 0.05, (name, _source_value(result))
        live = result.explanation["live_probability"]
        strongest = max(v for k, v in result.explanation.items() if k.startswith("spoof_class_"))
        assert result.score == pytest.approx(live / (live + strongest), abs=1e-5)


def _letterbox(image: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    s = min(width / w, height / h)
    small = cv2.resize(image, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_AREA)
    out = np.zeros((height, width, 3), np.uint8)
    y0, x0 = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    out[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return out


def _large_photo(image: np.ndarray, factor: int = 4, sigma: float = 16.0, seed: int = 0) -> np.ndarray:
    """A stand-in for a large photo: enlarged, with per-pixel detail (noise) that a bilinear shrink aliases."""
    import cv2

    big = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC).astype(np.float64)
    return np.clip(big + np.random.default_rng(seed).normal(0, sigma, big.shape), 0, 255).astype(np.uint8)


def test_faces_are_found_letterboxed_enlarged_and_in_large_detailed_photos(bundle: Path, samples_dir: Path) -> None:
    import cv2

    predictor = Predictor(bundle, threads=1)
    for name in REFERENCE:
        image = read_image(samples_dir / name)
        for variant in (image, _letterbox(image), cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)):
            result = predictor.predict_image(variant)
            assert result.decision != "failed_to_acquire", (name, variant.shape, result.reasons)
    # the failure: the source's bilinear shrink of a large detailed frame leaves the face under the 0.6 floor
    large = _large_photo(read_image(samples_dir / "silentface_image_T1.jpg"))
    detector = predictor.detector
    boxes, conf = detector.raw(large)
    assert conf.max() < detector.min_score  # the first pass alone finds no face ...
    faces = detector.detect(large)
    assert len(faces) == 1 and detector.second_passes >= 1  # ... the area-averaged second pass does
    best = int(np.argmax(conf))
    h, w = large.shape[:2]
    x0, y0 = (boxes[best] * [w, h, w, h])[:2]
    assert faces[0].box[:2] == (float(int(x0)), float(int(y0))) and faces[0].score == pytest.approx(conf[best])  # the source's box
    result = predictor.predict_image(large)
    assert result.decision == "bonafide" and result.frames[0].detector_score < 0.6


def test_frames_without_a_face_stay_no_face(bundle: Path) -> None:
    import cv2
    import skimage.data

    predictor = Predictor(bundle, threads=1)
    rng = np.random.default_rng(0)
    coffee = np.ascontiguousarray(skimage.data.coffee())
    frames = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), np.full((480, 640, 3), 128, np.uint8), coffee,
              cv2.resize(coffee, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)]
    before = predictor.detector.second_passes
    for frame in frames:
        result = predictor.predict_image(frame)
        assert result.decision == "failed_to_acquire" and result.reasons == ["no_face"], frame.shape
    assert predictor.detector.second_passes - before == len(frames)  # every one was looked at twice


def test_crops_match_the_source(bundle: Path, samples_dir: Path) -> None:
    """The two views cut by the Predictor are the source's own crops (BGR fixtures), pixel for pixel."""
    fx = np.load(FIXTURES / "silentface_parity.npz")
    names = list(fx["names"])
    predictor = Predictor(bundle, backend="torch")
    for sample in fx["samples"]:
        inputs = predictor.inputs_for(read_image(samples_dir / str(sample)))["image"][0]  # [2, 3, 80, 80] BGR float
        for view, scale in enumerate(("2.7", "4")):
            ref = fx["crops"][names.index(f"{sample}@{scale}")].transpose(2, 0, 1).astype(np.float32)
            assert np.array_equal(inputs[view], ref)


def test_onnx_export_parity_on_photos(bundle: Path, samples_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    result = CliRunner().invoke(app, ["export", str(copy), "--format", "onnx", "--images", str(samples_dir)])
    assert result.exit_code == 0, result.output
    card = read_card(copy)
    assert card.export["fp32"]["max_abs_score_diff"] < 1e-4 and card.export["parity_crops"] == 3
    assert card.export["input"]["image"] == ["batch", 2, 3, 80, 80]
    onnx = Predictor(copy, backend="onnx").predict_path(samples_dir / "silentface_image_T1.jpg")
    assert onnx.decision == "bonafide" and abs(onnx.explanation["live_probability"] - 0.9936) < 1e-3


def test_other_detector_and_source_less_folder(bundle: Path, samples_dir: Path, silentface_dir: Path, tmp_path: Path) -> None:
    """A folder without the detector files gives a blazeface bundle; decisions still hold on the samples."""
    import shutil

    weights = tmp_path / "weights"
    weights.mkdir()
    for name in ("2.7_80x80_MiniFASNetV2.pth", "4_0_0_80x80_MiniFASNetV1SE.pth"):
        shutil.copyfile(silentface_dir / name, weights / name)
    from antispoof.inference.silentface import import_silentface

    b = import_silentface(weights, tmp_path / "b")
    assert b.card.detector.name == "blazeface" and "Widerface-RetinaFace.caffemodel" not in b.card.files
    predictor = Predictor(b, backend="torch")
    for name, (decision, _) in REFERENCE.items():
        assert predictor.predict_path(samples_dir / name).decision == decision
    with pytest.raises(FileNotFoundError, match="retinaface_caffe detector needs"):
        import_silentface(weights, tmp_path / "c", detector="retinaface_caffe")


def test_wrong_file_is_refused_with_the_keys(silentface_dir: Path, tmp_path: Path) -> None:
    import shutil

    from antispoof.inference.silentface import import_silentface

    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copyfile(silentface_dir / "2.7_80x80_MiniFASNetV2.pth", weights / "2.7_80x80_MiniFASNetV1SE.pth")
    with pytest.raises(ValueError, match=r"does not map onto MiniFASNetV1SE: 0 missing.*unexpected|missing \("):
        import_silentface(weights, tmp_path / "b")
    with pytest.raises(FileNotFoundError, match="holds no .pth"):
        import_silentface(tmp_path, tmp_path / "c")


def test_bundle_weights_start_a_minifasnet_backbone(bundle: Path) -> None:
    """Fine-tuning from the import: ``model.backbone=minifasnet_v1se model.weights=BUNDLE/model.safetensors``."""
    import torch

    from antispoof.models.backbones import create_backbone

    network = Bundle.load(bundle).build_network()
    backbone = create_backbone("minifasnet_v1se", weights=bundle / "model.safetensors").eval()
    x = torch.rand(2, 3, 80, 80) * 255
    with torch.no_grad():
        assert torch.allclose(backbone(x), network.members[1].forward_features(x))
    with pytest.raises(ValueError, match="none of them a MiniFASNetV1"):
        create_backbone("minifasnet_v1", weights=bundle / "model.safetensors")


def test_split_prelu_keeps_the_numbers_on_the_real_weights(bundle: Path) -> None:
    """The graph form (padded channels, PReLU as x + (1 - a) * relu(-x)) gives the plain network's numbers."""
    import torch

    from antispoof.models.minifasnet import SplitPReLU

    network = Bundle.load(bundle).build_network()
    graph = network.inference_copy(graph=True)
    assert sum(isinstance(m, SplitPReLU) for m in graph.modules()) == 66
    assert not any(isinstance(m, torch.nn.PReLU) for m in graph.modules())
    x = torch.rand(4, 2, 3, 80, 80) * 255
    x[0] = 0.0  # PReLU at exactly zero, and negative pre-activations everywhere
    with torch.no_grad():
        for prelu in (m for m in network.modules() if isinstance(m, torch.nn.PReLU)):  # the real slopes, some negative
            y = torch.randn(3, prelu.weight.numel(), 5, 5) * 100
            y[0, :, 0, 0] = 0.0
            split, plain = SplitPReLU(prelu)(y), prelu(y)
            assert torch.equal(split[y >= 0], plain[y >= 0])  # x itself, bit for bit
            assert torch.allclose(split, plain, rtol=0, atol=1e-5 * float(y.abs().max()))  # a * x up to rounding
        assert (network(x) - graph(x)).abs().max() < 1e-5  # padded sums and the rounding of 1 - a: float-close


def test_import_writes_a_checked_onnx_graph_that_is_the_default(bundle: Path, samples_dir: Path) -> None:
    card = read_card(bundle)
    assert card.onnx == {"fp32": "model.onnx"} and "model.onnx" in card.files
    assert card.export["fp32"]["max_abs_score_diff"] < 1e-5 and card.export["parity_crops"] == 8
    assert "graph=True" in card.export["graph_form"] and "generated" in card.export["parity_crops_from"]
    default = Predictor(bundle, threads=1)
    assert default.backend.name == "onnxruntime"
    image = read_image(samples_dir / "silentface_image_T1.jpg")
    plain = Predictor(bundle, backend="torch", threads=1).predict_image(image)
    assert abs(default.predict_image(image).score - plain.score) < 1e-5


def test_import_and_export_warn_nothing(silentface_dir: Path, tmp_path: Path) -> None:
    import warnings

    from antispoof.inference.silentface import import_silentface

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import_silentface(silentface_dir, tmp_path / "b")
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("backend", ["auto", "onnx", "openvino", "torch", "torchscript"])
def test_no_warning_on_any_backend(bundle: Path, samples_dir: Path, backend: str) -> None:
    """torch.jit and the TorchScript ONNX exporter are deprecated in torch 2.9+: no path may show it to a user."""
    import warnings

    if backend == "openvino":
        pytest.importorskip("openvino", reason="the optional OpenVINO runtime is not installed (pip install openvino)")

    image = read_image(samples_dir / "silentface_image_F1.jpg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = Predictor(bundle, backend=backend, threads=1).predict_frames([image, image])
    assert result.decision == "attack"
    assert [str(w.message) for w in caught] == []


def test_torchscript_backend_and_key_frames_keep_the_scores(bundle: Path, samples_dir: Path) -> None:
    """The fast paths: the padded, traced network gives the same scores; key-frame detection on a still stream too."""
    image = read_image(samples_dir / "silentface_image_T1.jpg")
    plain = Predictor(bundle, backend="torch", threads=1).predict_frames([image] * 4)
    fast = Predictor(bundle, backend="torchscript", threads=1, detect_every=3)
    result = fast.predict_frames([image] * 4)
    assert np.allclose(result.frame_scores, plain.frame_scores, atol=1e-5)
    assert fast.detector.detections == 2 and fast.detector.frames == 4
    assert result.decision == plain.decision == "bonafide"
    bf16 = Predictor(bundle, backend="torchscript", precision="bf16", threads=1).predict_image(image)
    assert bf16.decision == "bonafide" and abs(bf16.score - plain.score) < 0.05  # bfloat16: close, not bit-equal


def test_openvino_backend_keeps_the_scores(bundle: Path, samples_dir: Path) -> None:
    """The optional OpenVINO backend (PReLUs fused by its compiler) scores the real photos as PyTorch does, batched and one by one."""
    pytest.importorskip("openvino", reason="the optional OpenVINO runtime is not installed (pip install openvino)")
    photos = [read_image(samples_dir / f"silentface_image_{name}.jpg") for name in ("F1", "F2", "T1")]
    plain = Predictor(bundle, backend="torch", threads=1).predict_frames(photos)
    fast = Predictor(bundle, backend="openvino", threads=1, batch_size=2)
    assert fast.backend.name == "openvino"
    assert np.allclose(fast.predict_frames(photos).frame_scores, plain.frame_scores, atol=1e-5)
    assert np.allclose([fast.predict_image(p).score for p in photos], plain.frame_scores, atol=1e-5)
    with pytest.raises(ValueError, match="fp32 only"):
        Predictor(bundle, backend="openvino", precision="int8")


def test_key_frames_verified_near_the_threshold_keep_the_every_frame_scores(bundle: Path, samples_dir: Path) -> None:
    """verify_margin: a followed face whose score is near the threshold is detected and scored again on its own box."""
    image = read_image(samples_dir / "silentface_image_T1.jpg")
    frames = [np.roll(image, (dy, dx), axis=(0, 1)) for dx, dy in ((0, 0), (3, -2), (-4, 1), (5, 4), (-2, -5), (1, 3))]
    exact = Predictor(bundle, threads=1).predict_frames(frames)
    followed = Predictor(bundle, threads=1, detect_every=3)
    plain = followed.predict_frames(frames)
    assert followed.detector.detections == 2 and plain.frame_scores != exact.frame_scores  # followed boxes move the scores
    every = Predictor(bundle, threads=1, detect_every=3, verify_margin=1.0)  # every followed frame is near enough
    result = every.predict_frames(frames)
    assert every.verified == 4 and result.boxes == exact.boxes
    # a followed box the detector puts in the same place keeps its score without a second scoring (same crops)
    assert every.verified_unchanged == sum(plain.boxes[i] == exact.boxes[i] for i in (1, 2, 4, 5))
    assert np.allclose(result.frame_scores, exact.frame_scores, atol=1e-6) and result.score == pytest.approx(exact.score, abs=1e-6)
    none = Predictor(bundle, threads=1, detect_every=3, verify_margin=0.0)
    assert np.allclose(none.predict_frames(frames).frame_scores, plain.frame_scores, atol=1e-6) and none.verified == 0
    with pytest.raises(ValueError, match="needs detect_every > 1"):
        Predictor(bundle, verify_margin=0.1)


def test_calibrate_and_evaluate_the_imported_bundle(bundle: Path, samples_dir: Path, tmp_path: Path) -> None:
    """A bundle with no run: scored through the Predictor on a user's folder dataset; the card gets the dev threshold."""
    import shutil

    root = tmp_path / "data"
    for split in ("dev", "test"):
        (root / split / "bonafide").mkdir(parents=True)
        (root / split / "attack" / "print").mkdir(parents=True)
        shutil.copyfile(samples_dir / "silentface_image_T1.jpg", root / split / "bonafide" / "t1.jpg")
        for name in ("F1", "F2"):
            shutil.copyfile(samples_dir / f"silentface_image_{name}.jpg", root / split / "attack" / "print" / f"{name}.jpg")
    out = tmp_path / "calibrated"
    runner = CliRunner()
    result = runner.invoke(app, ["calibrate", str(bundle), "--dataset", "folder", "--root", str(root), "--target", "eer",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    card = read_card(out)
    predictor = Predictor(bundle, threads=1)
    scores = {p.name: predictor.predict_path(p).score for p in (root / "dev").rglob("*.jpg")}
    attack, live = max(scores["F1.jpg"], scores["F2.jpg"]), scores["t1.jpg"]
    assert card.threshold.rule == "eer" and card.threshold.split == "dev" and attack < card.threshold.value <= live
    assert card.threshold.metrics["n_bonafide"] == 1 and read_card(bundle).threshold.rule == "source_default"
    assert not any("source's default decision rule" in n for n in card.notes)
    result = runner.invoke(app, ["evaluate", str(out), "--dataset", "folder", "--root", str(root), "--threshold", "card",
                                 "--out", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    assert "ACER 0.00%" in result.output and (tmp_path / "eval" / "report.json").is_file()


def test_init_from_the_bundle_starts_a_method_backbone(bundle: Path) -> None:
    """``init_from=BUNDLE`` (load_matching) with ``model.backbone=minifasnet_v1se``: the member of that variant is found."""
    import torch

    from antispoof.models.pdle import PDLENet
    from antispoof.weights import load_matching, load_state

    net = PDLENet(backbone="minifasnet_v1se", k=10)
    report = load_matching(net, load_state(bundle), "bundle")
    assert len(report["loaded"]) == 369 and report["missing"] == ["fc.bias", "fc.weight"]
    member = Bundle.load(bundle).build_network().members[1]
    x = torch.rand(2, 3, 80, 80) * 255
    with torch.no_grad():
        assert torch.allclose(net.eval().encoder(x), member.forward_features(x))
