"""One road from a face to a tensor: the crops prepare stores are the crops the Predictor builds, failures alike."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import Tensor, nn

from antispoof._registry import DETECTORS, NETWORKS
from antispoof.data.prepare import prepare_store, store_acquisition
from antispoof.data.acquisition import AcquisitionMismatch, AcquisitionSpec, CropSpec, check_same_acquisition
from antispoof.data.inputs import InputSpec, ModalitySpec
from antispoof.data.store import FrameStore
from antispoof.inference.bundle import bundle_network
from antispoof.inference.card import DetectorSpec, ThresholdSpec, TrainingData
from antispoof.inference.predictor import Predictor
from conftest import SHARED
from test_prepare import ToyDataset, _row
from toy_methods import ToyModalNet

GEOMETRIES = {"square": {}, "box_in_image": {"geometry": "box_in_image", "scale": 2.0},
              "views": {"geometry": "box_in_image", "views": (1.5, 2.7)}}
MODALITIES = {"rgb": ("rgb",), "rgb_ir_depth": ("rgb", "ir", "depth")}
SILENTFACE = SHARED / "weights" / "silentface"


@NETWORKS.register("toy_views_net")
class ToyViewsNet(nn.Module):
    """ToyModalNet over each view of a face, scores averaged: a network reading ``[B, V, C, H, W]``."""

    def __init__(self, channels: tuple[int, ...] = (3,)) -> None:
        super().__init__()
        self.arch = {"channels": list(channels)}
        self.net = ToyModalNet(tuple(channels))

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        b, v = batch["image"].shape[:2]
        return {"score": self.net.predict({k: t.flatten(0, 1) for k, t in batch.items()})["score"].view(b, v).mean(1)}


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real face (scikit-image's astronaut) with pixel-aligned IR and depth, a noise frame and a misaligned IR."""
    from skimage import data as skdata

    root = tmp_path_factory.mktemp("acquisition")
    rgb = np.ascontiguousarray(skdata.astronaut())
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    images = {"face.png": rgb, "noise.png": np.random.default_rng(0).integers(0, 256, rgb.shape, dtype=np.uint8),
              "face_ir.png": gray, "face_depth.png": 255 - gray, "small_ir.png": cv2.resize(gray, (100, 100))}
    for name, image in images.items():
        cv2.imwrite(str(root / name), image[:, :, ::-1] if image.ndim == 3 else image)
    return {"root": root, **images}


def _detector_options(name: str) -> dict:
    if name == "retinaface_caffe":
        if not SILENTFACE.is_dir():
            pytest.skip(f"retinaface_caffe reads Silent-Face's detector files, not found at {SILENTFACE}")
        return {"weights": str(SILENTFACE / "Widerface-RetinaFace.caffemodel"), "prototxt": str(SILENTFACE / "deploy.prototxt")}
    try:
        DETECTORS.create(name)
    except (FileNotFoundError, ImportError) as err:  # its weights package is not installed here
        pytest.skip(str(err))
    return {}


def _roads(scene: dict, tmp_path: Path, detector: str, geometry: dict, modalities: tuple[str, ...], rows: list[dict],
           min_face: float = 8.0) -> tuple[FrameStore, Predictor]:
    """The same frames prepared into a PNG store, and a Predictor whose card holds that store's acquisition."""
    options = _detector_options(detector)
    adapter = ToyDataset(scene["root"], rows)
    acquisition = store_acquisition(adapter, detector=detector, detector_kwargs=options, size=32, min_face=min_face,
                                    **geometry)
    prepare_store(adapter, tmp_path / "store", dataset="toy", acquisition=acquisition, image_format="png", progress=False)
    views = len(acquisition.crop.views)
    specs = tuple(ModalitySpec(name=m, channels=3 if m == "rgb" else 1, mean=(0.5,) * (3 if m == "rgb" else 1),
                               std=(0.25,) * (3 if m == "rgb" else 1)) for m in modalities)
    spec = InputSpec(modalities=specs, crop_size=32, input_size=32, views=max(views, 1))
    channels = tuple(s.channels for s in specs)
    net = (ToyViewsNet(channels) if views else ToyModalNet(channels)).eval()
    bundle = bundle_network(tmp_path / "bundle", net, spec, method="toy", backbone="none", acquisition=acquisition,
                            detector=DetectorSpec(name=detector, options=options),
                            threshold=ThresholdSpec(value=0.5, rule="fixed=0.5", split="dev", dataset="none", metrics={}),
                            training_data=TrainingData(dataset="toy"))
    from_dataset = DETECTORS.get(detector).from_dataset
    return FrameStore(tmp_path / "store"), Predictor(bundle.path, backend="torch", detector=detector if from_dataset else None)


def _modalities(scene: dict, row: dict) -> dict:
    return {m: scene[row[f"{m}_path"]] for m in ("ir", "depth") if f"{m}_path" in row}


@pytest.mark.parametrize("modalities", list(MODALITIES), ids=list(MODALITIES))
@pytest.mark.parametrize("geometry", list(GEOMETRIES), ids=list(GEOMETRIES))
@pytest.mark.parametrize("detector", DETECTORS.list())
def test_prepare_stores_the_crops_the_predictor_builds(scene, tmp_path, detector, geometry, modalities):
    if geometry == "views" and modalities != "rgb":
        pytest.skip("no network reads several views of IR or depth (Silent-Face's views are RGB)")
    names = MODALITIES[modalities]
    box = {"box_x0": 160.0, "box_y0": 40.0, "box_x1": 300.0, "box_y1": 210.0}  # the astronaut's face, for `dataset`
    row = _row("face.png", **box, **{f"{m}_path": f"face_{m}.png" for m in names[1:]})
    store, predictor = _roads(scene, tmp_path, detector, GEOMETRIES[geometry], names, [row])
    index = store.index.iloc[0]
    assert index["failure"] == "", index["failure"]
    record, crops = predictor.acquire(scene["face.png"], {"box": tuple(box.values())}, **_modalities(scene, row))
    assert record.failure == "" and crops is not None
    assert record.box == pytest.approx(tuple(index[list(box)]), abs=1e-3)
    for name in names:
        key = "image" if name == "rgb" else name
        stored = store.read(index["crop" if name == "rgb" else f"{name}_crop"], name)
        assert stored.shape == crops[key].shape and np.array_equal(stored, crops[key]), f"{name} crops differ"
    assert predictor.inputs_for(scene["face.png"], {"box": tuple(box.values())}, **_modalities(scene, row)) is not None


@pytest.mark.parametrize("case, reason", [("noise", "no_face"), ("small", "face_too_small"), ("misaligned", "misaligned_ir")])
def test_a_frame_fails_for_the_same_reason_on_both_roads(scene, tmp_path, case, reason):
    image, ir, min_face = {"noise": ("noise.png", "face_ir.png", 8.0), "small": ("face.png", "face_ir.png", 400.0),
                           "misaligned": ("face.png", "small_ir.png", 8.0)}[case]
    row = _row(image, ir_path=ir)
    store, predictor = _roads(scene, tmp_path, "blazeface", {}, ("rgb", "ir"), [row], min_face=min_face)
    stored = store.index.iloc[0]["failure"]
    record, crops = predictor.acquire(scene[image], ir=scene[ir])
    assert crops is None and stored.split(":")[0] == record.failure.split(":")[0] == reason


def test_a_store_acquired_otherwise_is_refused_naming_both_values():
    trained = AcquisitionSpec(face_source="blazeface", crop=CropSpec(size=32, scale=1.5))
    other = AcquisitionSpec(face_source="mtcnn", crop=CropSpec(size=64, scale=2.0))
    with pytest.raises(AcquisitionMismatch) as err:
        check_same_acquisition(trained, other, data_name="the frame store S")
    message = str(err.value)
    assert "face_source: the model was trained with 'blazeface', the frame store S has 'mtcnn'" in message
    assert "crop.scale: the model was trained with 1.5, the frame store S has 2.0" in message
    assert "antispoof prepare" in message and "--allow-mismatch" in message and "size" not in message.split("(")[1]
    assert len(check_same_acquisition(trained, other, data_name="S", allow=True)) == 2
    assert check_same_acquisition(trained, trained.model_copy(update={"crop": CropSpec(size=64)}), data_name="S") == []


def test_a_bundle_calibrated_on_a_store_of_another_crop_scale_is_refused(tmp_path):
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.inference.ensemble import calibrate_on_store
    from antispoof.training.quickstart import prepare_synthetic_store

    generate_dataset(tmp_path / "data", subjects=4, frames=1, size=48, seed=1, workers=1, show_progress=False)
    store = prepare_synthetic_store(tmp_path / "data", tmp_path / "store", crop_size=32, frames=1, workers=1, progress=False)
    torch.manual_seed(0)
    acquisition = FrameStore(store).acquisition.model_copy(update={"crop": CropSpec(size=32, scale=2.0)})
    bundle = bundle_network(tmp_path / "bundle", ToyModalNet((3,)).eval(), InputSpec.rgb(32), method="toy", backbone="none",
                            acquisition=acquisition,
                            threshold=ThresholdSpec(value=0.5, rule="fixed=0.5", split="dev", dataset="none", metrics={}),
                            training_data=TrainingData(dataset="toy"))
    with pytest.raises(AcquisitionMismatch, match=r"crop.scale: the model was trained with 2.0, the frame store .* has 1.5"):
        calibrate_on_store(bundle, store, target="eer", allow_coarse=True)
    assert calibrate_on_store(bundle, store, target="eer", allow_coarse=True, allow_mismatch=True).card.threshold.rule == "eer"


@pytest.mark.parametrize("name, build, source", [("replay-attack", "test_data_replay_attack:build_replay", "dataset"),
                                                 ("oulu-npu", "test_data_oulu_npu:build_oulu", "dataset"),
                                                 ("celeba-spoof", "test_data_celeba_spoof:build_celeba", "dataset"),
                                                 ("casia-surf", "test_data_casia_surf:build_surf", "whole_image")])
def test_datasets_that_ship_their_faces_are_read_as_shipped(tmp_path, name, build, source):
    import importlib

    from antispoof.data import open_dataset

    module, function = build.split(":")
    adapter = open_dataset(name, getattr(importlib.import_module(module), function)(tmp_path))
    acquisition = store_acquisition(adapter, size=32)
    assert acquisition.face_source == source
    if source == "whole_image":  # the crops as shipped: every image, resized whole, no gate
        assert acquisition.sampling["policy"] == "all" and acquisition.crop.geometry == "resize"
        assert acquisition.quality.min_face == 0 and acquisition.quality.min_sharpness == 0
    assert store_acquisition(adapter, detector="mtcnn", size=32).face_source == "mtcnn"  # --detector still overrides


def test_casia_surf_prepares_every_listed_image_with_no_detector(tmp_path, monkeypatch):
    from antispoof.data import open_dataset
    from antispoof.faces.dataset import WholeImage
    from test_data_casia_surf import build_surf

    root = build_surf(tmp_path / "surf")
    rng = np.random.default_rng(0)
    for path in root.rglob("*.jpg"):  # face crops of varied sizes, as the release ships them
        h, w = int(rng.integers(90, 140)), int(rng.integers(70, 120))
        cv2.imwrite(str(path), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    calls = []
    for detector in set(DETECTORS.list()) - {"whole_image"}:  # any other detector run would be recorded
        monkeypatch.setattr(DETECTORS.get(detector), "detect", lambda self, *a, **k: calls.append(1) or [])
    adapter = open_dataset("casia-surf", root)
    prepare_store(adapter, tmp_path / "store", dataset="casia-surf", size=32, image_format="png", progress=False)
    store = FrameStore(tmp_path / "store")
    assert calls == [] and store.acquisition.face_source == "whole_image" and isinstance(WholeImage(), WholeImage)
    assert len(store.index) == len(adapter.samples()) and (store.index["failure"] == "").all()
    first = store.index.iloc[0]
    image = cv2.imread(str(root / first["source"]))[:, :, ::-1]
    expected = cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA)
    assert np.array_equal(store.read(first["crop"]), expected)  # the whole crop resized, no padding, no re-crop
    assert store.read(first["ir_crop"], "ir").shape == (32, 32)


def test_fine_tuning_weights_of_another_acquisition_is_refused_unless_allowed(tmp_path):
    from antispoof.training.runner import _check_init_acquisition
    from antispoof.weights import WEIGHTS_FILE, save_weights

    trained = AcquisitionSpec(face_source="mtcnn", crop=CropSpec(size=32, scale=2.0))
    save_weights(ToyModalNet((3,)), tmp_path / WEIGHTS_FILE, {"acquisition": trained.record()})
    store = AcquisitionSpec(face_source="mtcnn", crop=CropSpec(size=64, scale=1.5))
    with pytest.raises(AcquisitionMismatch, match=r"crop.scale: the model was trained with 2.0, this run's frame store has 1.5"):
        _check_init_acquisition(tmp_path, store, allow=False)
    _check_init_acquisition(tmp_path, store, allow=True)
    _check_init_acquisition(tmp_path, trained.model_copy(update={"crop": CropSpec(size=64, scale=2.0)}), allow=False)
