"""Model bundles: calibration writes a complete card; the bundle round-trips; tampered or incomplete cards are refused."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from frames_double import write_manifest_dataset

from antispoof.data.transforms import MEAN, STD
from antispoof.inference.bundle import Bundle
from antispoof.inference.calibrate import calibrate_run
from antispoof.inference.card import CARD_FILE, CardError, InputSpec, read_card, write_card
from antispoof.metrics import evaluate, read_scores


def make_run(tmp: Path, backbone: str = "test_convnext", epochs: int = 2) -> Path:
    """A tiny entry run (test_convnext, 32 px, two epochs) on a tiny manifest dataset with a dev split."""
    from antispoof.methods.entry import EntryConfig
    from antispoof.training.runner import train

    root = tmp / "data"
    write_manifest_dataset(root)
    config = EntryConfig.model_validate({
        "data": {"dataset": "manifest", "root": str(root), "image_size": 32, "cache_dir": str(tmp / "cache"), "frames_per_video": 2},
        "model": {"backbone": backbone},
        "train": {"max_epochs": epochs, "batch_size": 8, "lr": 3e-3, "progress": False, "accelerator": "cpu", "augment": "light"},
    })
    return train(config, out=tmp / "run")


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("calibrated")
    run = make_run(tmp)
    bundle = calibrate_run(run, target="eer", progress=False)
    return run, bundle


def test_calibration_writes_a_complete_card(calibrated):
    run, path = calibrated
    assert path == run / "bundle"
    card = Bundle.load(path).card
    assert card.method == "entry" and card.backbone == "test_convnext"
    assert card.input.input_size == 32 and card.input.crop_size == 32 and card.input.colour_order == "RGB"
    assert card.input.names == ("rgb",) and card.input.clip_len == 1
    assert card.input.modalities[0].mean == MEAN and card.input.modalities[0].std == STD
    assert card.network.name == "entry_net" and card.network.kwargs["backbone"] == "test_convnext"
    assert card.crop.size == 32 and card.crop.scale == 1.5  # the store's settings
    assert card.detector.name == "blazeface" and card.acquisition.face_source == "dataset"
    assert card.sampling["policy"] == "evenly" and card.sampling["n"] == 2
    assert card.aggregation == "mean"
    assert card.outputs[0] == "score" and len(card.outputs) == 8  # score + the seven cues
    assert card.training_data.dataset == "manifest" and card.quality.min_face == 32.0
    assert card.package_version and set(card.files) == {"model.safetensors"}


def test_threshold_and_dev_metrics_match_an_independent_evaluation(calibrated, tmp_path):
    from antispoof.training.evaluation import evaluate_run

    run, path = calibrated
    card = Bundle.load(path).card
    result = evaluate_run(run, split="dev", threshold="eer", out=tmp_path / "eval", progress=False)
    dev = read_scores(result.out_dir / "scores_dev.csv")
    report = evaluate(dev, dev, threshold="eer")
    assert card.threshold.value == report.threshold
    assert card.threshold.rule == "eer" and card.threshold.split == "dev"
    for key in ("apcer", "bpcer", "acer", "eer", "auc", "n_bonafide", "n_attack"):
        assert card.threshold.metrics[key] == report.to_dict()[key], key


def test_target_rules_pick_their_thresholds(calibrated, tmp_path):
    run, _ = calibrated
    strict = Bundle.load(calibrate_run(run, target="bpcer@apcer=0.0", out=tmp_path / "strict", progress=False)).card
    assert strict.threshold.rule == "bpcer@apcer=0" and strict.threshold.metrics["apcer"] == 0.0
    loose = Bundle.load(calibrate_run(run, target="apcer@bpcer=0.0", out=tmp_path / "loose", progress=False)).card
    assert loose.threshold.metrics["bpcer"] == 0.0
    assert loose.threshold.value <= strict.threshold.value


def test_calibration_refuses_test_split_and_oracle(calibrated):
    run, _ = calibrated
    with pytest.raises(ValueError, match="never on test"):
        calibrate_run(run, split="test", progress=False)
    with pytest.raises(ValueError, match="oracle"):
        calibrate_run(run, target="oracle", progress=False)
    with pytest.raises(ValueError, match="unknown threshold rule"):
        calibrate_run(run, target="bpcer@0.01", progress=False)


def test_bundle_round_trip_gives_the_run_network(calibrated):
    from antispoof.training.runner import load_trained

    run, path = calibrated
    bundle = Bundle.load(path)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    trained = load_trained(run)
    scorer = bundle.scorer_module()
    with torch.no_grad():
        out = scorer(x)
        expected = trained.score({"image": x})
        cues = trained.explain({"image": x})
    assert out.shape == (3, 8)
    assert torch.equal(out[:, 0], expected)
    assert torch.equal(out[:, 1], cues[bundle.card.outputs[1]])


@pytest.fixture
def copy(calibrated, tmp_path):
    _, path = calibrated
    target = tmp_path / "bundle"
    shutil.copytree(path, target)
    return target


def _edit(path: Path, change) -> None:
    data = json.loads((path / CARD_FILE).read_text())
    change(data)
    (path / CARD_FILE).write_text(json.dumps(data))


def test_an_edited_threshold_is_refused(copy):
    _edit(copy, lambda d: d["threshold"].update(value=0.01))
    with pytest.raises(CardError, match="modified after it was written"):
        Bundle.load(copy)


def test_an_incomplete_card_is_refused_naming_the_field(copy):
    _edit(copy, lambda d: d.pop("acquisition"))
    with pytest.raises(CardError, match="incomplete or malformed: acquisition: Field required"):
        Bundle.load(copy)


def test_an_unknown_key_is_refused(copy):
    _edit(copy, lambda d: d.update(thershold=0.5))
    with pytest.raises(CardError, match="thershold"):
        Bundle.load(copy)


def test_changed_or_missing_weights_are_refused(copy):
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(CardError, match="does not match the sha256"):
        Bundle.load(copy)
    weights.unlink()
    with pytest.raises(CardError, match="lacks model.safetensors"):
        Bundle.load(copy)


def test_a_crop_that_disagrees_with_the_input_spec_is_refused_even_when_signed(copy):
    card = read_card(copy)
    write_card(card.model_copy(update={"input": InputSpec.rgb(32, crop_size=40)}), copy)
    with pytest.raises(CardError, match="differs from input.crop_size"):
        Bundle.load(copy)


def test_a_card_of_another_version_says_to_calibrate_again(copy):
    raw = json.loads((copy / CARD_FILE).read_text())
    raw["card_version"] = 1
    (copy / CARD_FILE).write_text(json.dumps(raw))
    with pytest.raises(CardError, match="calibrate RUN"):
        Bundle.load(copy)


def test_the_card_holds_no_machine_path(calibrated):
    run, path = calibrated
    text = (path / CARD_FILE).read_text()
    assert str(run.parent) not in text and "/tmp" not in text and str(Path.home()) not in text
    card = read_card(path)
    assert card.config["data"]["root"] is None and card.config["data"]["cache_dir"] is None
    # the calibration store is recorded in the run folder, where export looks for it
    assert json.loads((run / "calibration.json").read_text())["store"].startswith("/")


def test_a_target_finer_than_the_dev_split_resolves_is_refused(calibrated, tmp_path):
    run, _ = calibrated
    with pytest.raises(ValueError, match="needs at least 100 attack presentations of each species") as err:
        calibrate_run(run, target="bpcer@apcer=0.01", out=tmp_path / "fine", progress=False)
    assert "--allow-coarse" in str(err.value) and not (tmp_path / "fine").exists()
    path = calibrate_run(run, target="bpcer@apcer=0.01", out=tmp_path / "fine", allow_coarse=True, progress=False)
    assert any("finer than the calibration data resolves" in n for n in Bundle.load(path).card.notes)


def test_not_a_bundle_and_broken_json_say_what_to_do(copy, tmp_path):
    with pytest.raises(CardError, match="antispoof calibrate"):
        Bundle.load(tmp_path)
    (copy / CARD_FILE).write_text("{not json")
    with pytest.raises(CardError, match="not valid JSON"):
        Bundle.load(copy)


def test_save_card_re_signs(copy):
    bundle = Bundle.load(copy)
    limits = bundle.card.quality.model_copy(update={"min_face": 80.0})
    bundle.save_card(bundle.card.model_copy(update={"acquisition": bundle.card.acquisition.model_copy(update={"quality": limits})}))
    assert Bundle.load(copy).card.quality.min_face == 80.0


def test_a_version_2_card_reads_as_the_same_facts(copy):
    """A bundle written before the acquisition record: its crop, sampling, gate and training detector, signed as written."""
    card = read_card(copy)
    raw = card.model_dump(mode="json")
    acquisition = raw.pop("acquisition")
    raw.update(card_version=2, crop=acquisition["crop"], sampling=acquisition["sampling"], quality=acquisition["quality"],
               detector={**raw["detector"], "trained_with": acquisition["detector"]})
    raw["card_sha256"] = hashlib.sha256(json.dumps({k: v for k, v in raw.items() if k != "card_sha256"}, sort_keys=True,
                                                   separators=(",", ":")).encode()).hexdigest()
    (copy / CARD_FILE).write_text(json.dumps(raw))
    old = read_card(copy)
    assert old.crop == card.crop and old.quality == card.quality and old.sampling == card.sampling
    assert old.acquisition.face_source == card.acquisition.face_source and old.detector == card.detector
    raw["crop"]["scale"] = 2.0  # edited by hand after signing
    (copy / CARD_FILE).write_text(json.dumps(raw))
    with pytest.raises(CardError, match="modified after it was written"):
        read_card(copy)


def test_create_refuses_a_folder_that_is_not_a_bundle(calibrated, tmp_path):
    run, _ = calibrated
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a model bundle"):
        calibrate_run(run, out=other, target="eer", progress=False)
    assert (other / "notes.txt").is_file()


def test_weights_are_safetensors_not_pickle(calibrated):
    _, path = calibrated
    head = (path / "model.safetensors").read_bytes()[:8]
    header_len = int(np.frombuffer(head, dtype="<u8")[0])
    header = json.loads((path / "model.safetensors").read_bytes()[8 : 8 + header_len])
    assert "__metadata__" in header and header["__metadata__"]["method"] == "entry"


def test_cli_calibrate(calibrated, tmp_path):
    from typer.testing import CliRunner

    from antispoof.cli import app

    run, _ = calibrated
    result = CliRunner().invoke(app, ["calibrate", str(run), "--target", "eer", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "threshold" in result.output and "(eer on dev)" in result.output
    assert Bundle.load(tmp_path / "b").card.threshold.rule == "eer"
