"""The unseen-attack protocol: a family leaves train and dev (never test), and the seen/unseen split of the test units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from antispoof.cli import app
from antispoof.data.store import FrameDataset
from antispoof.metrics import ScoreSet
from antispoof.studies.unseen_attack import family_species, split_by_family


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.training.quickstart import prepare_synthetic_store

    root = tmp_path_factory.mktemp("unseen")
    generate_dataset(root / "data", subjects=8, frames=1, size=64, seed=3, workers=1, show_progress=False)
    return prepare_synthetic_store(root / "data", root / "store", crop_size=24, frames=1, workers=1, progress=False)


def test_exclude_pai_leaves_out_the_family_and_nothing_else(store: Path) -> None:
    full = FrameDataset(store, split="train")
    kept = FrameDataset(store, split="train", exclude_pai=["replay_*"])
    replay = full.rows["pai"].str.startswith("replay_")
    assert replay.any() and kept.excluded == int(replay.sum())
    assert not kept.rows["pai"].str.startswith("replay_").any()
    assert len(kept) == len(full) - int(replay.sum())
    assert (kept.rows["pai"] == "bonafide").sum() == (full.rows["pai"] == "bonafide").sum()


def test_exclude_attacks_reaches_train_and_dev_but_the_test_split_keeps_the_family(store: Path) -> None:
    from antispoof.methods import load_method_config, method_class
    from antispoof.training.frames import training_datasets

    config = load_method_config("quickstart", [f"data.store={store}", "data.image_size=24", "data.exclude_attacks=[mask_*]"])
    train, dev = training_datasets(config, method_class("entry").input_spec_for(config))
    assert dev is not None
    for data in (train, dev):
        assert "mask_rigid" not in set(data.rows["pai"])
    assert "mask_rigid" in set(FrameDataset(store, split="test").rows["pai"])


def test_a_family_is_its_species_by_name() -> None:
    assert family_species("replay") == ["replay_monitor", "replay_phone", "replay_tablet"]
    assert family_species("mask") == ["mask_rigid"] and all(s.startswith("print_") for s in family_species("print"))
    with pytest.raises(ValueError, match="families are replay, print, mask"):
        family_species("paper")


def test_split_by_family_by_hand() -> None:
    # 4 bona fide (one rejected at 0.5), 2 replays (one accepted), 2 prints (both rejected), 1 mask (accepted)
    scores = [0.9, 0.8, 0.7, 0.2, 0.6, 0.1, 0.3, 0.4, 0.55]
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0]
    pai = ["bonafide"] * 4 + ["replay_phone", "replay_tablet", "print_flat", "print_bent", "mask_rigid"]
    units = ScoreSet.from_arrays(scores, labels, pai=pai)
    out = split_by_family(units, family_species("replay"), threshold=0.5)
    assert out["unseen"]["attacks"] == 2 and out["seen"]["attacks"] == 3
    assert out["unseen"]["apcer"] == pytest.approx(1 / 2) and out["seen"]["apcer"] == pytest.approx(1 / 3)
    assert out["unseen"]["bpcer"] == out["seen"]["bpcer"] == pytest.approx(1 / 4)
    assert out["unseen"]["hter"] == pytest.approx((1 / 2 + 1 / 4) / 2)
    # AUC of the unseen side: 4 live x 2 replays; 0.6 beats only the live 0.2, 0.1 loses to all four
    assert out["unseen"]["auc"] == pytest.approx((3 + 4) / 8)
    with pytest.raises(ValueError, match="no unseen attacks"):
        split_by_family(ScoreSet.from_arrays([0.9, 0.1], [1, 0], pai=["bonafide", "print_flat"]), family_species("mask"), 0.5)


@pytest.mark.slow
def test_run_unseen_attack_writes_the_table_plot_and_a_row_per_run(tmp_path: Path) -> None:
    from antispoof.studies.unseen_attack import run_unseen_attack

    table = run_unseen_attack(tmp_path, methods=["entry"], families=["mask"], subjects=12, source_size=96,
                              overrides=["train.max_epochs=1", "data.image_size=48"], workers=1, progress=False)
    (row,) = table["rows"]
    assert "error" not in row, row.get("error")
    assert row["held_out"] == "mask" and 0 <= row["unseen"]["hter"] <= 1 and 0 <= row["seen"]["hter"] <= 1
    assert json.loads((tmp_path / "table.json").read_text())["rows"][0]["method"] == "entry"
    assert "| entry | mask |" in (tmp_path / "table.md").read_text()
    assert (tmp_path / "unseen_attack.png").stat().st_size > 0
    config = (tmp_path / "runs" / "entry-without-mask" / "config.yaml").read_text()
    assert "mask_rigid" in config  # the family's species, as the test side marks them unseen
    dev = (tmp_path / "eval" / "entry-without-mask" / "scores_dev.csv").read_text()
    test = (tmp_path / "eval" / "entry-without-mask" / "scores_test.csv").read_text()
    assert "mask_rigid" not in dev and "mask_rigid" in test  # the threshold never saw the held-out family


def test_finished_rows_are_kept_and_other_data_is_refused(tmp_path: Path) -> None:
    from antispoof.studies.unseen_attack import _finished_rows, run_unseen_attack

    run = tmp_path / "runs" / "entry-without-mask"
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"x")
    rows = [{"method": "entry", "held_out": "mask", "config": "quickstart", "overrides": ["seed=0"], "run": str(run)},
            {"method": "entry", "held_out": "print", "config": "quickstart", "overrides": ["seed=0"], "run": str(run),
             "error": "boom"}]
    (tmp_path / "table.json").write_text(json.dumps({"rows": rows}))
    assert list(_finished_rows(tmp_path)) == [("entry", "mask", "quickstart", ("seed=0",))]  # failed rows run again
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "synth.json").write_text(json.dumps({"settings": {"subjects": 12, "frames": 2, "size": 192, "seed": 0}}))
    with pytest.raises(ValueError, match="other settings"):
        run_unseen_attack(tmp_path, methods=["entry"], subjects=100, progress=False)


def test_exclude_domains_leaves_out_every_row_of_the_domain(store: Path) -> None:
    full = FrameDataset(store, split="train")
    domain = sorted(set(full.rows["domain"]))[0]
    kept = FrameDataset(store, split="train", exclude_domains=[domain])
    assert domain not in set(kept.rows["domain"]) and kept.excluded == int((full.rows["domain"] == domain).sum())
    assert {"bonafide"} <= set(full.rows.loc[full.rows["domain"] == domain, "pai"])  # live rows of it go too
    both = FrameDataset(store, split="train", exclude_pai=["mask_*"], exclude_domains=[domain])
    assert both.excluded == int(((full.rows["domain"] == domain) | (full.rows["pai"] == "mask_rigid")).sum())


def test_the_command_takes_overrides_after_its_families(tmp_path: Path, monkeypatch) -> None:
    import antispoof.studies.unseen_attack as ua

    seen = {}
    def fake_run(out, **kwargs):
        seen.update(kwargs)
        (Path(out) / "table.md").write_text("", encoding="utf-8")
        return {}

    monkeypatch.setattr(ua, "run_unseen_attack", fake_run)
    runner = CliRunner()
    result = runner.invoke(app, ["study", "unseen-attack", "--out", str(tmp_path), "--methods", "entry,pdle", "--families",
                                 "replay", "--families", "mask", "train.max_epochs=2", "seed=3"])
    assert result.exit_code == 0, result.output
    assert seen["methods"] == ["entry", "pdle"] and seen["families"] == ["replay", "mask"]
    assert seen["overrides"] == ["train.max_epochs=2", "seed=3"]
    # argparse's `--methods entry pdle` spelling: the bare word is refused with the spelling that works
    result = runner.invoke(app, ["study", "unseen-attack", "--out", str(tmp_path), "--methods", "entry", "pdle"])
    assert isinstance(result.exception, ValueError) and "--methods entry,pdle" in str(result.exception)
