"""End to end: `antispoof quickstart` reaches the issue's numbers on held-out synthetic subjects, reproducibly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from antispoof.cli import app


@pytest.mark.slow
def test_quickstart_numbers_and_reproducibility(tmp_path):
    runner = CliRunner()
    reports = []
    for name in ("a", "b"):
        result = runner.invoke(app, ["quickstart", "--out", str(tmp_path / name), "--seed", "0"])
        assert result.exit_code == 0, result.output
        assert "ACER" in result.output and "teacher" in result.output
        reports.append(json.loads((tmp_path / name / "report.json").read_text()))
    report = reports[0]
    assert report["teacher"]["threshold_rule"] == "eer" and report["student"]["threshold_rule"] == "eer"
    assert report["teacher"]["acer"] <= 0.10, report["teacher"]
    assert report["student"]["acer"] <= 0.15, report["student"]
    for key in ("acer", "hter", "auc", "eer", "threshold"):
        for model in ("teacher", "student"):
            assert reports[0][model][key] == reports[1][model][key], (model, key)
    for name in ("report.md", "roc.png", "det.png", "runs/teacher/model.safetensors", "runs/student/model.safetensors",
                 "eval/teacher/scores_test.csv", "eval/student/scores_test.csv"):
        assert (tmp_path / "a" / name).is_file(), name
