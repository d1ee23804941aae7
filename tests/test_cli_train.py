"""`antispoof train`, `evaluate`, `distill` and `train --resume` through the command line."""

from __future__ import annotations

import json

from frames_double import write_manifest_dataset
from typer.testing import CliRunner

from antispoof.cli import app

runner = CliRunner()


def test_train_evaluate_distill_from_the_command_line(tmp_path):
    root = tmp_path / "data"
    write_manifest_dataset(root)
    common = [f"data.root={root}", "data.dataset=manifest", "data.image_size=32", f"data.cache_dir={tmp_path / 'cache'}",
              "data.frames_per_video=2", "train.batch_size=8", "train.progress=false", "train.accelerator=cpu", "train.num_workers=0"]
    result = runner.invoke(app, ["train", "src/antispoof/configs/entry.yaml", "--out", str(tmp_path / "teacher"),
                                 "model.backbone=test_convnext", "train.max_epochs=1", "train.lr=0.003", *common])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "teacher" / "model.safetensors").is_file()

    result = runner.invoke(app, ["evaluate", str(tmp_path / "teacher"), "--out", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    assert "ACER" in result.output and json.loads((tmp_path / "eval" / "report.json").read_text())["threshold_rule"] == "eer"

    result = runner.invoke(app, ["distill", str(tmp_path / "teacher"), "src/antispoof/configs/distill.yaml", "--out", str(tmp_path / "student"),
                                 "model.backbone=test_efficientnet_gn", "train.max_epochs=1", "train.batch_size=8", "train.progress=false",
                                 "train.accelerator=cpu", "train.num_workers=0"])
    assert result.exit_code == 0, result.output
    assert "data:\n  dataset: manifest" in (tmp_path / "student" / "config.yaml").read_text()

    # a finished run resumes to nothing new and keeps its weights
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "teacher")])
    assert result.exit_code == 0, result.output


def test_train_without_config_or_with_both_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["train", "train.lr=0.1"])
    assert result.exit_code != 0 and "give a config first" in str(result.exception)
    result = runner.invoke(app, ["train", "x.yaml", "--resume", str(tmp_path)])
    assert "--resume continues a run" in str(result.exception)
