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


def _main(*args, env=None, cwd=None):
    import os

    full_env = {k: v for k, v in os.environ.items() if k != "ANTISPOOF_DEBUG"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", "from antispoof.cli import main; main()", *args],
                          capture_output=True, text=True, env=full_env, cwd=cwd)


def test_malformed_yaml_is_one_line_naming_file_and_line_and_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 3\ntrain:\n  lr: [0.1\n  x: 2\n")
    for command in (["config", "show", str(bad)], ["train", str(bad), "--out", str(tmp_path / "run")]):
        proc = _main(*command)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {bad} line 4"), proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()
    debug = _main("--debug", "config", "show", str(bad))
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert "Traceback" in _main("config", "show", str(bad), env={"ANTISPOOF_DEBUG": "1"}).stderr


def test_operating_system_errors_on_named_paths_are_one_line_with_what_to_do():
    import errno

    from antispoof.cli import user_message

    taken = FileExistsError(errno.EEXIST, "File exists", "models/x")
    assert user_message(taken).startswith("models/x already exists; choose another --out")
    assert user_message(FileNotFoundError(errno.ENOENT, "No such file", "a.csv")) == "a.csv does not exist; check the path"
    assert user_message(ValueError("two\n  lines")) == "two lines"
    assert user_message(KeyError("unknown method 'x'")) == "unknown method 'x'"


def test_import_refuses_an_existing_out_before_reading_weights(tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "file").write_text("x")
    proc = _main("import", "silentface", "--weights", str(tmp_path / "none"), "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: --out {out} exists and is not empty" in proc.stderr and "--overwrite" in proc.stderr


def test_other_libraries_log_records_reach_the_run_log_not_the_terminal(tmp_path):
    code = (
        "import logging, sys\n"
        "from antispoof._logging import setup_console_logging, add_file_handler\n"
        "setup_console_logging()\n"
        f"add_file_handler(__import__('pathlib').Path({str(tmp_path / 'run.log')!r}))\n"
        "logging.warning('Please consider to run pre-processing before quantization')\n"
        "logging.getLogger('antispoof').warning('our own line')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Please consider" not in proc.stderr and "our own line" in proc.stderr
    log = (tmp_path / "run.log").read_text()
    assert "Please consider" in log and log.count("our own line") == 1


def test_native_stderr_noise_goes_to_the_run_log_and_the_rest_passes(tmp_path):
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from antispoof._logging import filter_native_stderr, add_file_handler\n"
        f"add_file_handler(Path({str(tmp_path / 'run.log')!r}))\n"
        "assert filter_native_stderr()\n"
        "os.write(2, b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n')\n"
        "os.write(2, b'I0000 00:00:1733580000.123456    1234 gl_context.cc:357] GL version\\n')\n"
        "os.write(2, b'a native line we keep\\n')\n"
        "print('python stderr', file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "XNNPACK" not in proc.stderr and "GL version" not in proc.stderr, repr(proc.stderr)
    assert "a native line we keep" in proc.stderr and "python stderr" in proc.stderr
    log = (tmp_path / "run.log").read_text()
    assert "XNNPACK" in log and "GL version" in log


def test_metrics_json_dash_writes_the_report_to_stdout_alone(tmp_path, monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    scores = tmp_path / "s.csv"
    scores.write_text("score,label\n0.9,bonafide\n0.8,bonafide\n0.2,attack\n0.6,attack\n")
    proc = _main("metrics", "--test", str(scores), "--json", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["n_bonafide"] == 2 and report["n_attack"] == 2
    assert "APCER" in proc.stderr  # the table still shows, on stderr
    assert not (tmp_path / "-").exists()


def test_config_keys_are_never_cut(monkeypatch):
    from antispoof.config import iter_fields
    from antispoof.methods import method_class

    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["config", "keys"])
    assert result.exit_code == 0, result.output
    keys = [key for key, *_ in iter_fields(method_class("entry").config_schema)]
    assert max(map(len, keys)) > 20 and "…" not in result.output
    for key in keys:
        assert f" {key} " in result.output, key


def test_data_protocols_of_a_dataset_with_fixed_protocols_need_no_root():
    result = runner.invoke(app, ["data", "protocols", "--dataset", "oulu-npu"])
    assert result.exit_code == 0, result.output
    assert "Protocol_1" in result.output and "Protocol_4_6" in result.output
    assert "grandtest  (default)" in runner.invoke(app, ["data", "protocols", "--dataset", "replay-attack"]).output
    manifest = runner.invoke(app, ["data", "protocols", "--dataset", "manifest"])
    assert manifest.exit_code != 0 and "give --root DIR" in str(manifest.exception)


def test_other_libraries_warnings_go_to_the_run_log_and_their_errors_still_show(tmp_path):
    code = (
        "import logging, warnings\n"
        "from pathlib import Path\n"
        "from antispoof._logging import setup_console_logging, add_file_handler\n"
        "setup_console_logging()\n"
        f"add_file_handler(Path({str(tmp_path / 'run.log')!r}))\n"
        "warnings.warn('TracerWarning: converting a tensor to a Python boolean')\n"
        "logging.getLogger('onnxruntime').error('a real failure')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "TracerWarning" not in proc.stderr and "a real failure" in proc.stderr
    log = (tmp_path / "run.log").read_text()
    assert "TracerWarning" in log and "a real failure" in log
