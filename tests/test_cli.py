import subprocess
import sys

from typer.testing import CliRunner

from antispoof import __version__
from antispoof.cli import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"antispoof {__version__}"


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "list" in result.output and "config" in result.output


def test_help_does_not_import_torch():
    code = "import sys; from antispoof.cli import app; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_list_prints_every_registry():
    from antispoof._registry import ALL_REGISTRIES

    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    for kind in ALL_REGISTRIES:
        assert kind in result.output
    assert "ssl (pretraining)" in result.output


def test_every_list_command_the_package_suggests_works():
    """Messages, help texts and configs say `antispoof list KIND`: each KIND lists names."""
    import re
    from pathlib import Path

    from antispoof._registry import ALL_REGISTRIES

    package = Path(__file__).resolve().parents[1] / "src" / "antispoof"
    suggested = {m for f in package.rglob("*") if f.suffix in (".py", ".yaml")
                 for m in re.findall(r"antispoof list (\w+)", f.read_text(encoding="utf-8"))}
    assert {"datasets", "detectors", "methods", "backbones"} <= suggested
    for kind in sorted(suggested | set(ALL_REGISTRIES)):
        result = runner.invoke(app, ["list", kind])
        assert result.exit_code == 0 and f"{kind} (" in result.output, (kind, result.output)
    assert "reduced_focal" in runner.invoke(app, ["list", "losses"]).output
    wrong = runner.invoke(app, ["list", "lossez"])
    assert wrong.exit_code != 0 and "losses" in wrong.output


def test_list_backbones_with_pattern():
    result = runner.invoke(app, ["list", "backbones", "resnet1*"])
    assert result.exit_code == 0, result.output
    assert "resnet18" in result.output and "regnet" not in result.output


def test_config_show_applies_overrides():
    result = runner.invoke(app, ["config", "show", "train.lr=0.5", "seed=4"])
    assert result.exit_code == 0, result.output
    assert "lr: 0.5" in result.output and "seed: 4" in result.output


def test_bad_config_key_exits_2_with_one_clear_line():
    proc = subprocess.run(
        [sys.executable, "-c", "from antispoof.cli import main; main()", "config", "show", "train.lrr=1"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "error: unknown key train.lrr; did you mean train.lr (default 0.001)?" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_show_reads_a_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 9\ntrain:\n  lr: 0.2\n")
    result = runner.invoke(app, ["config", "show", str(path), "train.lr=0.3"])
    assert result.exit_code == 0, result.output
    assert "seed: 9" in result.output and "lr: 0.3" in result.output


def test_config_show_reads_a_method_config_with_its_own_keys():
    # entry.yaml has keys beyond the shared ones (loss.gamma, model.heads): its method's schema reads it.
    from pathlib import Path

    entry = Path(__file__).resolve().parents[1] / "src" / "antispoof" / "configs" / "entry.yaml"
    result = runner.invoke(app, ["config", "show", str(entry), "loss.gamma=3"])
    assert result.exit_code == 0, result.output
    assert "gamma: 3" in result.output and "heads: all" in result.output
