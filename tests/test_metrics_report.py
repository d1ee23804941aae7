"""The report object and the ``antispoof metrics`` command."""

from __future__ import annotations

import json

from antispoof.metrics.report import _CONVENTION_TEXT
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from antispoof.cli import app
from antispoof.metrics import (
    REPORT_KEYS,
    MetricsReport,
    OPTIONAL_KEYS,
    ScoreSet,
    choose_threshold,
    compute_report,
    eer_threshold,
    error_rates,
    evaluate,
    sweep,
    write_scores,
)

ISSUE_KEYS = [
    "threshold", "threshold_rule", "apcer", "apcer_pooled", "apcer_per_pai", "bpcer", "acer", "hter",
    "eer_dev", "eer", "auc", "tpr_at_fpr", "n_bonafide", "n_attack", "n_failed_to_acquire",
]  # fmt: skip


def make(seed, n=300, species=("print", "replay", "mask")):
    rng = np.random.default_rng(seed)
    live = rng.random(n) < 0.4
    scores = rng.normal(live * 1.5, 1.0)
    pai = np.where(live, "bonafide", rng.choice(species, n))
    return ScoreSet.from_arrays(scores, live, pai=pai, source=f"set{seed}")


def test_json_has_exactly_the_issue_keys():
    # 17,000 attacks of three species, no failures, no videos: the issue's keys, in order, then
    # only the notes naming the threshold convention.
    report = evaluate(make(1, n=30_000), make(2), threshold="eer")
    d = report.to_dict()
    assert list(d) == [*ISSUE_KEYS, "notes"] and ISSUE_KEYS == list(REPORT_KEYS)
    assert d["notes"] == ["thresholds chosen with the 'bob' convention: " + _CONVENTION_TEXT["bob"]]
    assert set(d["tpr_at_fpr"]) == {"1e-2", "1e-3", "1e-4"}
    json.dumps(d)  # plain JSON types
    # Optional sections come after the issue keys, only when they apply (here: notes on TPR at 1e-4).
    no_dev = evaluate(make(1), threshold="oracle").to_dict()
    assert "eer_dev" not in no_dev and "notes" in no_dev
    assert list(no_dev)[: len(ISSUE_KEYS) - 1] == [k for k in ISSUE_KEYS if k != "eer_dev"]
    assert set(list(no_dev)[len(ISSUE_KEYS) - 1 :]) <= set(OPTIONAL_KEYS)


def test_dev_threshold_is_applied_unchanged_to_test():
    dev, test = make(3), make(4)
    report = evaluate(test, dev, threshold="eer")
    assert report.threshold == eer_threshold(dev.scores, dev.is_bonafide)
    assert report.threshold_rule == "eer"
    direct = error_rates(test.scores, test.is_bonafide, report.threshold, test.pai)
    assert (report.apcer, report.apcer_pooled, report.bpcer, report.acer, report.hter) == (
        direct.apcer, direct.apcer_pooled, direct.bpcer, direct.acer, direct.hter,
    )  # fmt: skip
    assert report.apcer_per_pai == direct.apcer_per_pai and report.apcer == max(direct.apcer_per_pai.values())


@pytest.mark.parametrize("rule", ["min-hter", "bpcer@apcer=0.05", "apcer@bpcer=0.01", "0.42"])
def test_every_rule_is_named_and_chosen_on_dev(rule):
    dev, test = make(5), make(6)
    report = evaluate(test, dev, threshold=rule)
    assert report.threshold == choose_threshold(sweep(dev.scores, dev.is_bonafide, dev.pai), rule)
    assert report.threshold_rule == ("fixed=0.42" if rule == "0.42" else rule)


def test_oracle_and_defaults():
    dev, test = make(7), make(8)
    assert evaluate(test, dev).threshold_rule == "eer"
    oracle = evaluate(test)
    assert oracle.threshold_rule == "oracle"
    assert oracle.threshold == eer_threshold(test.scores, test.is_bonafide)
    assert evaluate(test, dev, threshold="oracle").threshold == oracle.threshold
    assert any("oracle" in note for note in oracle.notes)
    with pytest.raises(ValueError, match="dev set.*oracle"):
        evaluate(test, threshold="eer")


def test_single_species_is_reported_not_hidden():
    report = compute_report([0.9, 0.8, 0.1, 0.6], [1, 1, 0, 0], threshold=0.5)
    assert report.apcer_per_pai == {"attack": 0.5} and report.apcer == report.apcer_pooled == 0.5
    assert any("one species" in note for note in report.notes)


def test_compute_report_from_arrays_with_dev_tuple():
    test, dev = make(9), make(10)
    a = compute_report(test.scores, test.is_bonafide, test_pai=test.pai, dev=(dev.scores, dev.is_bonafide, dev.pai))
    b = evaluate(test, dev)
    assert a.to_dict() == b.to_dict()


def test_json_markdown_and_round_trip(tmp_path):
    report = evaluate(make(11), make(12), threshold="bpcer@apcer=0.1")
    path = tmp_path / "r" / "metrics.json"
    text = report.to_json(path)
    assert json.loads(path.read_text()) == json.loads(text) == report.to_dict()
    assert MetricsReport.from_dict(json.loads(text)).to_dict() == report.to_dict()
    md = report.to_markdown()
    assert "bpcer@apcer=0.1" in md and "| ACER |" in md and "| mask |" in md


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def score_files(tmp_path):
    return write_scores(tmp_path / "dev.csv", make(13)), write_scores(tmp_path / "test.csv", make(14))


def test_cli_prints_table_and_writes_json(score_files, tmp_path):
    dev, test = score_files
    out = tmp_path / "m.json"
    result = CliRunner().invoke(app, ["metrics", "--test", str(test), "--dev", str(dev), "--threshold", "apcer@bpcer=0.01", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "APCER" in result.output and "BPCER" in result.output and "apcer@bpcer=0.01" in result.output
    data = json.loads(out.read_text())
    assert list(data)[: len(ISSUE_KEYS)] == ISSUE_KEYS and set(list(data)[len(ISSUE_KEYS) :]) <= set(OPTIONAL_KEYS)
    from antispoof.metrics import read_scores

    expected = evaluate(read_scores(test), read_scores(dev), threshold="apcer@bpcer=0.01").to_dict()
    assert data == json.loads(json.dumps(expected))


def test_cli_plots_and_ci(score_files, tmp_path):
    dev, test = score_files
    result = CliRunner().invoke(
        app, ["metrics", "--test", str(test), "--dev", str(dev), "--ci", "0.9", "--resamples", "50", "--plots", str(tmp_path / "p"), "--markdown", str(tmp_path / "m.md")]
    )
    assert result.exit_code == 0, result.output
    for name in ("roc.png", "det.png", "scores_hist.png"):
        assert (tmp_path / "p" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "90% CI" in result.output and "90% CI" in (tmp_path / "m.md").read_text()


def test_cli_malformed_file_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("score,label\n0.5,bonafide\n0.2,atack\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from antispoof.cli import main; main()", "metrics", "--test", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert f"error: {bad}: line 3, column 'label'" in proc.stderr and "Traceback" not in proc.stderr
