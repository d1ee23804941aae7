"""`antispoof predict` (and friends) answer a user's mistakes: the model named by --model, a run folder for its
bundle, missing files and empty folders, nothing scored, a clip model on a still photo. Exit codes are checked."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from antispoof.cli import app
from antispoof.config import load_config
from antispoof.methods import method_class

runner = CliRunner()


def _tiny_bundle(folder, method="entry", *extra):
    from test_method_contract import _bundle

    torch.manual_seed(0)
    config = load_config(method_class(method).config_schema, None,
                         ["model.backbone=plain_cnn", "data.image_size=32", *extra])
    return _bundle(method_class(method).from_config(config).eval(), folder).path


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A folder laid out like a calibrated run: run.json and RUN/bundle."""
    run = tmp_path_factory.mktemp("run")
    _tiny_bundle(run)
    (run / "run.json").write_text("{}")
    return run


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    image = np.random.default_rng(0).integers(30, 220, size=(96, 96, 3), dtype=np.uint8)
    cv2.imwrite(str(path), image)
    return path


def _predict(*args, env=None):
    return runner.invoke(app, ["predict", *map(str, args)], env=env)


def test_no_model_names_the_option_and_how_to_make_one(tmp_path, photo, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANTISPOOF_MODEL", raising=False)
    result = _predict(photo)
    assert result.exit_code != 0
    message = str(result.exception)
    assert "--model" in message and "runs/quickstart/bundle" in message and "antispoof calibrate" in message
    missing = _predict(photo, "--model", tmp_path / "nope")
    assert f"--model {tmp_path / 'nope'} does not exist" in str(missing.exception)
    from_env = _predict(photo, env={"ANTISPOOF_MODEL": str(tmp_path / "env_model")})
    assert "$ANTISPOOF_MODEL" in str(from_env.exception) and "--model" in str(from_env.exception)


def test_a_run_folder_stands_for_its_bundle(run_folder, photo):
    result = _predict(photo, "--model", run_folder, "--detector", "whole_image")
    assert result.exit_code == 0, result.output
    assert f"{photo}: " in result.output and "score=" in result.output


def test_a_run_folder_without_a_bundle_says_calibrate(tmp_path, photo):
    (tmp_path / "run.json").write_text("{}")
    result = _predict(photo, "--model", tmp_path)
    assert result.exit_code != 0 and f"antispoof calibrate {tmp_path}" in str(result.exception)


def test_an_empty_folder_is_an_error_not_silence(run_folder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _predict(empty, "--model", run_folder)
    assert result.exit_code != 0 and "holds no image or video file" in str(result.exception)


def test_a_missing_file_is_scored_around_and_exits_2(run_folder, photo, tmp_path):
    gone = tmp_path / "gone.jpg"
    result = _predict(gone, photo, "--model", run_folder, "--detector", "whole_image")
    assert result.exit_code == 2, result.output
    assert f"{photo}: " in result.output and "score=n/a" not in result.output.split(f"{photo}: ")[1].splitlines()[0]
    assert f"error: 1 of 2 inputs not found: {gone}" in result.output


def test_nothing_scored_exits_1(run_folder, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.zeros((64, 64, 3), np.uint8))  # no face for blazeface to find
    result = _predict(blank, "--model", run_folder)
    assert result.exit_code == 1, result.output
    assert "failed_to_acquire" in result.output and "error: none of the 1 inputs was scored" in result.output


def test_a_clip_model_on_a_still_photo_gets_a_note(tmp_path, photo):
    bundle = _tiny_bundle(tmp_path, "sequence", "sequence.clip_len=4", "model.embed=16", "model.hidden=8")
    result = _predict(photo, "--model", bundle, "--detector", "whole_image")
    assert result.exit_code == 0, result.output
    assert "note: this model reads clips of 4 frames; a still image is scored as 4 copies" in result.output
    assert result.output.count("note: this model reads clips") == 1


def test_an_unreadable_file_keeps_its_reason_and_alone_exits_1(run_folder, photo, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 broken")
    both = _predict(broken, photo, "--model", run_folder, "--detector", "whole_image")
    assert both.exit_code == 0, both.output
    assert "unreadable_file" in both.output and f"note: 1 of 2 inputs are not readable images or videos: {broken}" in both.output
    alone = _predict(broken, "--model", run_folder)
    assert alone.exit_code == 1 and "error: none of the 1 inputs was scored" in alone.output


def test_serve_names_model_and_takes_a_run_folder_for_its_bundle(tmp_path, run_folder, monkeypatch):
    missing = runner.invoke(app, ["serve", "--model", str(tmp_path / "nothing"), "--insecure-no-auth"])
    assert missing.exit_code != 0 and f"--model {tmp_path / 'nothing'} does not exist" in str(missing.exception)
    served = {}
    monkeypatch.setattr("antispoof.serve.server.serve", lambda app, host, port, **kw: served.update(app=app, port=port))
    result = runner.invoke(app, ["serve", "--model", str(run_folder), "--insecure-no-auth", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert f"serving {run_folder / 'bundle'} on http://127.0.0.1:8123" in result.output and served["port"] == 8123
    bad = runner.invoke(app, ["serve", "--model", str(run_folder), "--insecure-no-auth", "--drain-delay", "-1"])
    assert bad.exit_code != 0 and "--drain-delay must be >= 0" in str(bad.exception)
