"""``antispoof data list / stats / protocols`` on small fixture trees."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from test_data_oulu_npu import build_oulu
from test_data_replay_attack import build_replay
from typer.testing import CliRunner

from antispoof.cli import app

runner = CliRunner()


def test_list_csv_has_the_documented_columns(tmp_path: Path) -> None:
    root = build_oulu(tmp_path / "oulu", users_per_folder=1)
    args = ["data", "list", "--dataset", "oulu-npu", "--root", str(root), "--protocol", "Protocol_1", "--split", "train", "--format", "csv"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["path", "label", "pai", "subject", "split"]
    assert len(rows) == 60 and rows[0] == {
        "path": "Train_files/1_1_01_1.avi", "label": "bonafide", "pai": "bonafide", "subject": "01", "split": "train"
    }  # fmt: skip
    assert {r["split"] for r in rows} == {"train"}


def test_list_table_and_extra_columns(tmp_path: Path) -> None:
    (tmp_path / "bonafide").mkdir()
    (tmp_path / "bonafide" / "me.jpg").touch()
    result = runner.invoke(app, ["data", "list", "-d", "folder", "-r", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "bonafide/me.jpg" in result.stdout and "test" in result.stdout
    result = runner.invoke(app, ["data", "list", "-d", "folder", "-r", str(tmp_path), "--columns", "path,domain", "-f", "csv"])
    assert result.stdout.splitlines() == ["path,domain", "bonafide/me.jpg,folder"]


def test_stats_counts_per_split_label_and_species(tmp_path: Path) -> None:
    root = build_replay(tmp_path / "replay")
    result = runner.invoke(app, ["data", "stats", "-d", "replay-attack", "-r", str(root), "-p", "print", "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = {(r["split"], r["label"], r["pai"]): (int(r["rows"]), int(r["subjects"])) for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows[("train", "attack", "print")] == (60, 15)
    assert rows[("dev", "bonafide", "(all)")] == (60, 15)
    assert rows[("test", "attack", "print")] == (80, 20)
    assert not any(pai.endswith("_video") for _, _, pai in rows)


def test_protocols_command(tmp_path: Path) -> None:
    root = build_replay(tmp_path / "replay")
    result = runner.invoke(app, ["data", "protocols", "-d", "replay-attack", "-r", str(root)])
    assert result.exit_code == 0 and "grandtest  (default)" in result.stdout and "digitalphoto" in result.stdout


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from antispoof.cli import main; main()", *args], capture_output=True, text=True
    )


@pytest.mark.parametrize("dataset", ["oulu-npu", "replay-attack", "casia-fasd", "msu-mfsd", "siw", "casia-surf", "celeba-spoof"])
def test_an_empty_root_says_what_the_dataset_holds_and_who_distributes_it(dataset: str, tmp_path: Path) -> None:
    from antispoof.data import open_dataset
    from antispoof.data._checks import OBTAINED_FROM

    with pytest.raises(Exception, match="does not look like") as raised:
        open_dataset(dataset, tmp_path).samples()
    assert any(f"{name} is distributed by {source}" in str(raised.value) for name, source in OBTAINED_FROM.items())


def test_user_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    proc = _main("data", "list", "--dataset", "oulu-npu", "--root", str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "does not look like a OULU-NPU root: expected Train_files/" in proc.stderr
    proc = _main("data", "stats", "--dataset", "oulu", "--root", str(tmp_path))
    assert proc.returncode == 2 and "did you mean 'oulu-npu'" in proc.stderr
    (tmp_path / "bonafide").mkdir()
    (tmp_path / "bonafide" / "x.jpg").touch()
    proc = _main("data", "list", "--dataset", "folder", "--root", str(tmp_path), "--split", "val")
    assert proc.returncode == 2 and "unknown split 'val'" in proc.stderr
