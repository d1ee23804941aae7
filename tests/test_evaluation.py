"""Evaluation runner: a frame store prepared into the cache, score files, per-video report, plots."""

from __future__ import annotations

import json

import pytest
from frames_double import write_manifest_dataset

from antispoof.metrics import read_scores
from antispoof.methods.entry import EntryConfig
from antispoof.training.evaluation import evaluate_run
from antispoof.data._cache import store_for
from antispoof.training.runner import train


@pytest.fixture
def manifest_root(tmp_path):
    root = tmp_path / "data"
    write_manifest_dataset(root)
    return root


def test_train_from_config_prepares_cache_then_evaluates(tmp_path, manifest_root):
    cache = tmp_path / "cache"
    cfg = EntryConfig.model_validate({
        "data": {"dataset": "manifest", "root": str(manifest_root), "image_size": 32, "cache_dir": str(cache), "frames_per_video": 2},
        "model": {"backbone": "test_convnext"},
        "train": {"max_epochs": 3, "batch_size": 8, "lr": 3e-3, "progress": False, "accelerator": "cpu", "augment": "light"},
    })
    run = train(cfg, out=tmp_path / "run")
    stores = list((cache / "stores").iterdir())
    assert len(stores) == 1 and (stores[0] / "index.parquet").is_file()
    assert store_for("manifest", manifest_root, None, size=32, cache_dir=cache, frames_per_video=2) == stores[0]  # reused, not rebuilt

    result = evaluate_run(run, progress=False)
    out = result.out_dir
    for name in ("scores_dev.csv", "scores_test.csv", "cues_test.csv", "report.json", "report.md", "roc.png", "det.png"):
        assert (out / name).is_file(), name
    test = read_scores(out / "scores_test.csv")
    assert len(test) == 12 and test.video is not None
    report = json.loads((out / "report.json").read_text())
    assert report["threshold_rule"] == "eer" and report["n_bonafide"] == 3 and report["n_attack"] == 3  # per video
    assert report["aggregation"]["method"] == "mean"
    assert "moire" in (out / "cues_test.csv").read_text().splitlines()[0]


def test_missing_root_says_what_to_set(tmp_path):
    with pytest.raises(ValueError, match="data.root"):
        store_for("manifest", None, None, size=32, cache_dir=tmp_path)
