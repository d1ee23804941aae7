"""Plausible user mistakes (issue 32) get a one-line answer that says what to do, and leave nothing half-made behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from antispoof.cli.__init__ import user_message
from antispoof.data import open_dataset
from antispoof.inference.calibrate import staged_folder

SHARED = Path(__file__).resolve().parents[2] / "shared"
SILENTFACE = SHARED / "weights" / "silentface"
SAMPLES = SHARED / "samples"


def _touch(root: Path, *paths: str) -> None:
    for rel in paths:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")


def test_staged_folder_appears_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    with pytest.raises(ValueError, match="refused"):
        with staged_folder(out) as tmp:
            (tmp / "model_card.json").write_text("{}")
            raise ValueError("refused half-way")
    assert list(tmp_path.iterdir()) == []  # neither out nor the temporary sibling
    with staged_folder(out) as tmp:
        (tmp / "model_card.json").write_text("new")
    assert (out / "model_card.json").read_text() == "new"
    with pytest.raises(ValueError):  # a failed recalibration keeps the previous bundle whole
        with staged_folder(out) as tmp:
            raise ValueError("refused")
    assert (out / "model_card.json").read_text() == "new"
    with staged_folder(out) as tmp:
        (tmp / "model_card.json").write_text("newer")
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]
    assert (out / "model_card.json").read_text() == "newer"


def test_folder_flat_photos_refusal_shows_the_layout(tmp_path: Path) -> None:
    _touch(tmp_path, "p0.jpg", "p1.jpg")
    with pytest.raises(ValueError) as err:
        open_dataset("folder", tmp_path)
    message = user_message(err.value)
    assert "p0.jpg" in message and "attack/<species>/" in message
    assert "my_photos/dev/bonafide/" in message and "my_photos/dev/attack/print/" in message


def test_calibrate_bundle_refuses_a_flat_root_before_writing(tmp_path: Path) -> None:
    from antispoof.inference.calibrate_bundle import calibrate_bundle

    root = tmp_path / "photos"
    _touch(root, "bonafide/a.jpg", "attack/print/b.jpg")  # flat: all of it the test split, no dev
    out = tmp_path / "dev_bundle"
    with pytest.raises(ValueError, match=r"no 'dev' files .*photos/dev/bonafide/ and .*photos/dev/attack/<species>/"):
        calibrate_bundle(tmp_path / "bundle", dataset="folder", root=root, target="eer", out=out)
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.skipif(not SILENTFACE.is_dir() or not SAMPLES.is_dir(),
                    reason="needs ../shared/weights/silentface and ../shared/samples (the Silent-Face weights and photos)")
def test_cli_calibrate_silentface_writes_nothing_until_it_succeeds(tmp_path: Path) -> None:
    cli = [sys.executable, "-c", "from antispoof.cli import main; main()"]

    def run(*args: object) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, *map(str, args)], capture_output=True, text=True, cwd=tmp_path, timeout=600)

    assert run("import", "silentface", "--weights", SILENTFACE, "--out", "sf").returncode == 0
    photos = tmp_path / "my_photos"
    photos.mkdir()
    (photos / "T1.jpg").write_bytes((SAMPLES / "silentface_image_T1.jpg").read_bytes())
    flat = run("calibrate", "sf", "--dataset", "folder", "--root", photos, "--target", "eer", "--out", "sf_dev")
    assert flat.returncode == 2 and "Traceback" not in flat.stderr
    assert "my_photos/dev/bonafide/" in flat.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_photos", "sf"]
    (photos / "T1.jpg").unlink()
    dev = photos / "dev"
    _touch(dev, "bonafide/T1.jpg", "attack/print/F1.jpg", "attack/print/F2.jpg")
    for name in ("T1", "F1", "F2"):
        target = dev / ("bonafide" if name == "T1" else "attack/print") / f"{name}.jpg"
        target.write_bytes((SAMPLES / f"silentface_image_{name}.jpg").read_bytes())
    done = run("calibrate", "sf", "--dataset", "folder", "--root", photos, "--target", "eer", "--out", "sf_dev")
    assert done.returncode == 0, done.stderr
    assert "(eer on dev)" in done.stdout and (tmp_path / "sf_dev" / "model_card.json").is_file()
    again = run("calibrate", "sf", "--dataset", "folder", "--root", photos, "--target", "eer", "--out", "sf_dev")
    assert again.returncode == 2 and "sf_dev exists" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.parametrize("side, fits", [(48, False), (64, False), (65, True), (80, True), (81, False)])
def test_minifasnet_refuses_inputs_its_final_kernel_cannot_take(side: int, fits: bool) -> None:
    import torch

    from antispoof.models.minifasnet import MiniFASNet

    net = MiniFASNet("MiniFASNetV2", input_size=80).eval()
    assert net.input_range() == (65, 80)
    x = torch.zeros(1, 3, side, side)
    if fits:
        assert net(x).shape == (1, 3)
    else:
        with pytest.raises(ValueError, match=r"inputs must be 65 to 80 px\), got .*set data\.image_size=80"):
            net(x)


def test_evaluate_knows_a_grid_folder(tmp_path: Path) -> None:
    import json

    from antispoof.training.evaluation import evaluate_grid, is_grid

    grid = tmp_path / "folds"
    grid.mkdir()
    assert not is_grid(grid)
    (grid / "folds.json").write_text(json.dumps({"runs": [{"run": "run-seed0"}, {"run": "run-seed1"}], "results": {}}))
    assert is_grid(grid)
    with pytest.raises(ValueError, match=r"no run of the grid .* has finished \(run-seed0, run-seed1\)"):
        evaluate_grid(grid)


@pytest.mark.slow
def test_cli_evaluate_grid_evaluates_each_run(tmp_path: Path) -> None:
    cli = [sys.executable, "-c", "from antispoof.cli import main; main()"]

    def run(*args: object) -> subprocess.CompletedProcess:
        done = subprocess.run([*cli, *map(str, args)], capture_output=True, text=True, cwd=tmp_path, timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    run("synth", "--out", "d", "--subjects", "6", "--frames", "2", "--size", "96")
    run("prepare", "--dataset", "manifest", "--root", "d", "--out", "s", "--size", "64", "--min-face", "16")
    run("train", "quickstart", "data.store=s", "data.image_size=64", "seeds=[0,1]", "train.max_epochs=1", "--out", "grid")
    done = run("evaluate", "grid", "--out", "ev")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert [line.split(":")[0] for line in lines] == ["run-seed0", "run-seed1"]
    assert all("ACER" in line for line in lines)
    assert (tmp_path / "ev" / "run-seed0" / "report.json").is_file() and (tmp_path / "ev" / "run-seed1" / "report.json").is_file()


@pytest.mark.parametrize("command", ["evaluate", "calibrate"])
def test_no_progress_bar_off_a_terminal(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Off a terminal a finished progress bar leaves only a blank line before the result: none is drawn there."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from antispoof.cli import app
    from antispoof.inference import calibrate
    from antispoof.training import evaluation

    seen: dict[str, object] = {}

    def fake_evaluate(run: Path, **options: object) -> object:
        seen.update(options)
        return SimpleNamespace(to_dict=lambda: {"acer": 0.1}, out_dir=tmp_path)

    def fake_calibrate(run: Path, **options: object) -> Path:
        seen.update(options)
        raise ValueError("stop here")

    monkeypatch.setattr(evaluation, "evaluate_run", fake_evaluate)
    monkeypatch.setattr(calibrate, "calibrate_run", fake_calibrate)
    result = CliRunner().invoke(app, [command, str(tmp_path)])
    assert seen.get("progress") is False, result.output
    if command == "evaluate":
        assert result.output.startswith("ACER 10.00%")
