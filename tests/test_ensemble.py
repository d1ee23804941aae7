"""Ensembles as one model: identical members equal the member, members of other inputs, ONNX parity, disagreement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from antispoof._registry import NETWORKS
from antispoof.data.acquisition import AcquisitionSpec, CropSpec
from antispoof.data.inputs import InputSpec, ModalitySpec
from antispoof.inference.bundle import Bundle, bundle_network
from antispoof.inference.card import DetectorSpec, ThresholdSpec, TrainingData
from antispoof.inference.ensemble import (build_ensemble, calibrate_on_store, disagreement, find_members, rank_by_disagreement,
                                          write_disagreement)
from antispoof.inference.predictor import Predictor
from antispoof.inference.scoring import score_frames


@NETWORKS.register("tiny_liveness_net")
class TinyLivenessNet(nn.Module):
    """A conv, global pooling, a liveness logit and one cue probability (a stand-in member)."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.arch: dict[str, Any] = {"width": width}
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.head = nn.Linear(width, 2)

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        out = self.head(torch.relu(self.conv(batch["image"])).mean(dim=(2, 3)))
        return {"score": torch.sigmoid(out[:, 0]), "cue": torch.sigmoid(out[:, 1])}


BGR_SPEC = InputSpec(modalities=(ModalitySpec(name="rgb", channels=3, mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3)),),
                     crop_size=32, input_size=32, colour_order="BGR")


def make_member(path: Path, seed: int, spec: InputSpec | None = None, scale: float = 1.5, threshold: float = 0.5) -> Path:
    torch.manual_seed(seed)
    net = TinyLivenessNet().eval()
    with torch.no_grad():  # spread the scores so members differ visibly
        net.head.weight.mul_(20.0)
    return bundle_network(path, net, spec or InputSpec.rgb(32), method="toy", backbone="none",
                          threshold=ThresholdSpec(value=threshold, rule="eer", split="dev", dataset="synthetic", metrics={}),
                          training_data=TrainingData(dataset="synthetic"),
                          # trained on the synthetic store's own boxes, served with blazeface (as calibration writes it)
                          acquisition=AcquisitionSpec(face_source="dataset", crop=CropSpec(size=32, scale=scale)),
                          detector=DetectorSpec(name="blazeface")).path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.training.quickstart import prepare_synthetic_store

    root = tmp_path_factory.mktemp("ensemble_store")
    generate_dataset(root / "data", subjects=8, frames=1, size=48, seed=5, workers=1, show_progress=False)
    return prepare_synthetic_store(root / "data", root / "store", crop_size=32, frames=1, workers=1, progress=False)


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("members")
    return [make_member(tmp / f"m{i}", seed=i, threshold=0.4 + 0.1 * i) for i in range(3)]


def test_an_ensemble_of_identical_members_is_the_member_through_predict(members, tmp_path, samples_dir) -> None:
    ensemble = build_ensemble([members[0], members[0]], tmp_path / "ens")
    card = ensemble.card
    assert card.method == "ensemble" and card.network.name == "ensemble" and card.input == Bundle.load(members[0]).card.input
    assert card.threshold.value == pytest.approx(0.4) and card.threshold.rule == "members_mean" and card.threshold.split == "dev"
    assert card.outputs == ("score", "member_std", "cue")
    one, both = Predictor(members[0], backend="torch"), Predictor(ensemble.path, backend="torch")
    photos = sorted(samples_dir.glob("*.jpg"))
    for photo in photos:
        a, b = one.predict_image(photo), both.predict_image(photo)
        assert a.score is not None and abs(a.score - b.score) <= 1e-6
        assert a.decision == b.decision and abs(a.explanation["cue"] - b.explanation["cue"]) <= 1e-6
        assert b.explanation["member_std"] <= 1e-6


def test_an_ensemble_of_identical_members_is_the_member_through_evaluate(members, store, tmp_path) -> None:
    from antispoof.metrics import evaluate

    ensemble = build_ensemble([members[1]] * 3, tmp_path / "ens")
    spec = Bundle.load(members[1]).card.input
    own, _ = score_frames(Bundle.load(members[1]).build_network(), store, "test", spec=spec, progress=False)
    ens, _ = score_frames(ensemble.build_network(), store, "test", spec=spec, progress=False)
    scored = ~np.asarray(own.failed_to_acquire)
    assert scored.sum() > 10
    assert np.abs(np.asarray(own.scores)[scored] - np.asarray(ens.scores)[scored]).max() <= 1e-6
    a, b = evaluate(own, own, threshold="eer"), evaluate(ens, ens, threshold="eer")
    assert (a.acer, a.auc, a.eer) == pytest.approx((b.acer, b.auc, b.eer), abs=1e-9)


def test_an_ensemble_of_identical_members_is_the_member_through_evaluate_bundle(members, tmp_path, samples_dir) -> None:
    import shutil

    from antispoof.inference.calibrate_bundle import evaluate_bundle, score_dataset

    root = tmp_path / "photos"
    for photo in sorted(samples_dir.glob("*.jpg")):  # the source's names: T = live, F = fake
        kind = root / ("bonafide" if "_T" in photo.name else "attack/print")
        kind.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, kind / photo.name)
    ensemble = build_ensemble([members[2], members[2]], tmp_path / "ens")
    own = score_dataset(Predictor(members[2], backend="torch"), "folder", root, None, "test")
    ens = score_dataset(Predictor(ensemble.path, backend="torch"), "folder", root, None, "test")
    assert np.isfinite(own.scores).all() and np.abs(np.asarray(own.scores) - np.asarray(ens.scores)).max() <= 1e-6
    a, _ = evaluate_bundle(members[2], dataset="folder", root=root, split="test", out=tmp_path / "a")
    b, _ = evaluate_bundle(ensemble.path, dataset="folder", root=root, split="test", out=tmp_path / "b")
    assert (a.apcer, a.bpcer, a.auc) == (b.apcer, b.bpcer, b.auc) and a.threshold == b.threshold


def test_the_ensemble_score_is_the_mean_of_the_member_scores(members, store, tmp_path) -> None:
    ensemble = build_ensemble(members, tmp_path / "ens")
    spec = ensemble.card.input
    each = [np.asarray(score_frames(Bundle.load(m).build_network(), store, "dev", spec=spec, progress=False)[0].scores)
            for m in members]
    ens = np.asarray(score_frames(ensemble.build_network(), store, "dev", spec=spec, progress=False)[0].scores)
    ok = np.isfinite(ens)
    assert np.abs(ens[ok] - np.mean(each, axis=0)[ok]).max() <= 1e-6
    assert np.std(np.mean(each, axis=0)[ok]) > 0 and np.abs(each[0] - each[1])[ok].max() > 0.01  # members differ


def test_members_of_other_normalisation_and_crop_scale_read_their_own_views(tmp_path, samples_dir) -> None:
    from antispoof.data.transforms import eval_transform

    a = make_member(tmp_path / "a", seed=0, scale=1.5)
    b = make_member(tmp_path / "b", seed=1, spec=BGR_SPEC, scale=2.0)
    ensemble = build_ensemble([a, b], tmp_path / "ens")
    card = ensemble.card
    assert card.input.views == 2 and card.crop.views == (1.5, 2.0) and card.input.pixel_scale == 1.0
    crops = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    net = ensemble.build_network()
    joint = eval_transform(card.input).apply({"image": crops})["image"][None]
    got = net.member_scores({"image": joint})[0]
    for i, (member, spec) in enumerate(((a, InputSpec.rgb(32)), (b, BGR_SPEC))):
        own = eval_transform(spec).apply({"image": crops[i]})["image"][None]
        expected = Bundle.load(member).build_network().predict({"image": own})["score"][0]
        assert abs(float(got[i]) - float(expected.detach())) <= 1e-5
    both = Predictor(ensemble.path, backend="torch")
    pa, pb = Predictor(a, backend="torch"), Predictor(b, backend="torch")
    photo = sorted(samples_dir.glob("*.jpg"))[0]
    assert both.predict_image(photo).score == pytest.approx((pa.predict_image(photo).score + pb.predict_image(photo).score) / 2,
                                                            abs=1e-5)


def test_members_that_cannot_share_an_input_are_refused(tmp_path) -> None:
    a = make_member(tmp_path / "a", seed=0)
    b = make_member(tmp_path / "b", seed=1, spec=InputSpec.rgb(24))
    with pytest.raises(ValueError, match="crop_size differ"):
        build_ensemble([a, b], tmp_path / "ens")


def test_ensemble_exports_to_onnx_with_parity(members, store, tmp_path, samples_dir) -> None:
    from antispoof.inference.export import FP32_TOLERANCE, export_onnx

    path = build_ensemble(members, tmp_path / "ens").path
    record = export_onnx(path, store=store, max_crops=16)
    assert record["fp32"]["max_abs_score_diff"] <= FP32_TOLERANCE and record["parity_crops"] > 1
    onnx, torch_ = Predictor(path), Predictor(path, backend="torch")
    assert onnx.backend.name == "onnxruntime"
    for photo in sorted(samples_dir.glob("*.jpg")):
        assert abs(onnx.predict_image(photo).score - torch_.predict_image(photo).score) <= FP32_TOLERANCE


def test_views_ensemble_exports_to_onnx_with_parity(tmp_path, samples_dir) -> None:
    from antispoof.inference.export import FP32_TOLERANCE, export_onnx

    a = make_member(tmp_path / "a", seed=0, scale=1.5)
    b = make_member(tmp_path / "b", seed=1, spec=BGR_SPEC, scale=2.0)
    path = build_ensemble([a, b], tmp_path / "ens").path
    record = export_onnx(path, images=sorted(samples_dir.glob("*.jpg")))
    assert record["fp32"]["max_abs_score_diff"] <= FP32_TOLERANCE


def test_rank_by_disagreement_by_hand() -> None:
    scores = [[0.1, 0.9], [0.5, 0.5], [0.2, 0.6], [0.0, 1.0], [0.7, 0.3]]
    order, std = rank_by_disagreement(scores)
    np.testing.assert_allclose(std, [0.4, 0.0, 0.2, 0.5, 0.2])  # |a - b| / 2 for two members
    assert order.tolist() == [3, 0, 2, 4, 1]  # ties keep the earlier unit first
    _, three = rank_by_disagreement([[0.0, 0.5, 1.0]])
    assert three[0] == pytest.approx(np.sqrt(1 / 6))  # population std: sqrt(((-.5)^2 + 0 + .5^2) / 3)
    with pytest.raises(ValueError, match="units, members"):
        rank_by_disagreement([0.1, 0.2])


def test_disagreement_lists_units_by_the_std_of_the_member_scores(members, store, tmp_path) -> None:
    import pandas as pd

    path = build_ensemble(members, tmp_path / "ens").path
    table = disagreement(path, store, "dev")
    cols = [f"member_{i}" for i in range(3)]
    assert list(table["rank"]) == list(range(1, len(table) + 1)) and len(table) > 5
    assert np.all(np.diff(table["std"].to_numpy()) <= 0)
    np.testing.assert_allclose(table["std"], table[cols].to_numpy().std(axis=1), atol=1e-7)
    np.testing.assert_allclose(table["score"], table[cols].to_numpy().mean(axis=1), atol=1e-6)
    spec = Bundle.load(members[0]).card.input
    own, _ = score_frames(Bundle.load(members[2]).build_network(), store, "dev", spec=spec, progress=False)
    by_unit = dict(zip(zip(np.asarray(own.video), np.asarray(own.frame)), np.asarray(own.scores)))
    for _, row in table.iterrows():  # each member column is that member's own score
        assert abs(by_unit[(row["video"], int(row["frame"]))] - row["member_2"]) <= 1e-6
    csv, png = write_disagreement(path, store, tmp_path / "dis", top=6)
    assert png.stat().st_size > 1000 and len(pd.read_csv(csv)) == len(table)


def test_calibrate_on_store_and_the_cli(members, store, tmp_path) -> None:
    from typer.testing import CliRunner

    from antispoof.cli import app

    folder = tmp_path / "runs"
    for i, m in enumerate(members[:2]):
        import shutil

        shutil.copytree(m, folder / f"fold_{i}" / "bundle")
    assert find_members([folder]) == [folder / "fold_0" / "bundle", folder / "fold_1" / "bundle"]
    result = CliRunner().invoke(app, ["ensemble", str(folder), "--out", str(tmp_path / "ens"), "--store", str(store),
                                      "--target", "eer", "--allow-coarse", "--disagreement", str(tmp_path / "dis")])
    assert result.exit_code == 0, result.output
    card = Bundle.load(tmp_path / "ens").card
    assert card.threshold.rule == "eer" and card.threshold.split == "dev" and len(card.source["members"]) == 2
    assert (tmp_path / "dis" / "disagreement.csv").is_file() and (tmp_path / "dis" / "disagreement.png").is_file()
    again = calibrate_on_store(tmp_path / "ens", store, target="eer", allow_coarse=True)
    assert again.card.threshold.value == card.threshold.value
