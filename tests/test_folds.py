"""Attack-specific folds: one held-out attack type per fold, bona fide subjects dealt to folds by identity, the grid."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from antispoof.data.base import BONAFIDE
from antispoof.data.store import FrameStore
from antispoof.data.protocols import IntraDataset, LeaveOneAttackOut, attack_types
from antispoof.training.folds import GridSpec, fold_overrides, make_folds, split_grid_args


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.training.quickstart import prepare_synthetic_store

    root = tmp_path_factory.mktemp("folds")
    generate_dataset(root / "data", subjects=12, frames=1, size=48, seed=3, workers=1, show_progress=False)
    return prepare_synthetic_store(root / "data", root / "store", crop_size=24, frames=1, workers=1, progress=False)


def _train_rows(store: Path):
    index = FrameStore(store).index
    return index[index["split"] == "train"]


def test_each_fold_holds_out_exactly_one_attack_type_and_no_bonafide_subject_crosses_folds(store: Path) -> None:
    rows = _train_rows(store)
    types = attack_types(rows)
    assert set(types) == {"mask", "print", "replay"}  # the generator's three families
    folds = make_folds(store, "attack", seed=0)
    assert [f.name for f in folds] == sorted(types)
    species = set(rows.loc[rows["label"] != BONAFIDE, "pai"])
    live_subjects = set(rows.loc[rows["label"] == BONAFIDE, "subject"].astype(str))
    for fold in folds:
        held = set(fold.held_out)
        assert held == set(types[fold.name]) and held == {s for s in species if s.startswith(fold.name)}
        assert held.isdisjoint(fold.train_attacks) and held | set(fold.train_attacks) == species
        assert set(fold.bonafide_subjects).isdisjoint(fold.train_bonafide_subjects)
        assert set(fold.bonafide_subjects) | set(fold.train_bonafide_subjects) == live_subjects
    for a, b in itertools.combinations(folds, 2):
        assert set(a.bonafide_subjects).isdisjoint(b.bonafide_subjects)
    assert set().union(*(f.bonafide_subjects for f in folds)) == live_subjects
    sizes = [len(f.bonafide_subjects) for f in folds]
    assert max(sizes) - min(sizes) <= 1


def test_excluded_species_make_no_fold(store: Path) -> None:
    folds = make_folds(store, exclude=["mask_*"])
    assert [f.name for f in folds] == ["print", "replay"]
    assert not any(s.startswith("mask") for f in folds for s in (*f.held_out, *f.train_attacks))


def test_the_subject_split_is_seeded(store: Path) -> None:
    assert make_folds(store, seed=0) == make_folds(store, seed=0)
    splits = {tuple(f.bonafide_subjects for f in make_folds(store, seed=s)) for s in range(6)}
    assert len(splits) > 1


@pytest.mark.parametrize("by, exclude", [("attack", ()), ("species", ("mask_*", "print_*"))])  # 8 subjects, 4 species
def test_the_protocol_and_the_training_grid_deal_the_same_folds(store: Path, by: str, exclude: tuple[str, ...]) -> None:
    from antispoof.data.manifest import ManifestDataset

    base = IntraDataset(ManifestDataset(store.parent / "data"))  # the dataset the store was prepared from
    for seed in (0, 1, 7):
        folds = make_folds(store, by, seed, exclude)
        assert [p.fold() for p in LeaveOneAttackOut.folds(base, seed, by, exclude)] == folds
    zero, one = make_folds(store, by, 0, exclude), make_folds(store, by, 1, exclude)
    assert [f.held_out for f in zero] == [f.held_out for f in one] and zero != one  # same types, subjects dealt anew
    fold = LeaveOneAttackOut(base, folds[0].name, 7, by, exclude)
    dev = fold.samples("dev")
    assert set(dev.loc[dev["label"] != BONAFIDE, "pai"]) == set(folds[0].held_out)
    assert set(dev.loc[dev["label"] == BONAFIDE, "subject"].astype(str)) == set(folds[0].bonafide_subjects)


def test_fold_datasets_train_without_and_validate_on_the_held_out_type(store: Path) -> None:
    from antispoof.methods import load_method_config, method_class
    from antispoof.training.frames import dataset_labels, training_datasets

    rows = _train_rows(store)
    for fold in make_folds(store, seed=0):
        config = load_method_config("quickstart", [f"data.store={store}", "data.image_size=24", *fold_overrides(fold)])
        spec = method_class(config.model.method).input_spec_for(config)
        train, dev = training_datasets(config, spec)
        t, d = train.rows, dev.rows
        assert set(t["split"]) == {"train"} and set(d["split"]) == {"train"}  # the store's dev split stays for the threshold
        assert set(t.loc[t["label"] != BONAFIDE, "pai"]) == set(fold.train_attacks)
        assert set(t.loc[t["label"] == BONAFIDE, "subject"]) == set(fold.train_bonafide_subjects)
        assert set(d.loc[d["label"] != BONAFIDE, "pai"]) == set(fold.held_out)
        assert set(d.loc[d["label"] == BONAFIDE, "subject"]) == set(fold.bonafide_subjects)
        usable = rows[rows["failure"] == ""]
        expected_dev = usable["pai"].isin(fold.held_out) | ((usable["label"] == BONAFIDE) & usable["subject"].isin(fold.bonafide_subjects))
        assert len(d) == int(expected_dev.sum())
        assert set(t["crop"]).isdisjoint(d["crop"])
        np.testing.assert_array_equal(dataset_labels(train), (t["label"] == BONAFIDE).to_numpy(np.int64))
        assert int(train[0]["label"]) == int(t["label"].iloc[0] == BONAFIDE)  # items follow the selected rows


def test_grid_words_are_parsed_and_checked() -> None:
    grid, rest = split_grid_args(["folds=attack", "seeds=[0,1]", "inits=[none,runs/a]", "train.lr=0.1"])
    assert grid == GridSpec("attack", (0, 1), (None, "runs/a")) and rest == ["train.lr=0.1"]
    assert not split_grid_args(["seed=3"])[0].active
    from antispoof.training.folds import _init_words

    grid, _ = split_grid_args(['inits=[null, "model.weights=a.pt model.backbone=resnet50", runs/x]'])
    assert [_init_words(i) for i in grid.inits] == [["init_from=null"], ["model.weights=a.pt", "model.backbone=resnet50"],
                                                    ["init_from=runs/x"]]
    assert split_grid_args(["folds=subject"])[0] == GridSpec("subject")
    with pytest.raises(ValueError, match="folds=attack .*folds=subject"):
        split_grid_args(["folds=subjects"])
    with pytest.raises(ValueError, match="non-negative integers"):
        split_grid_args(["seeds=[a]"])


@pytest.mark.slow
def test_train_grid_writes_one_run_per_fold_and_seed_and_continues(store: Path, tmp_path: Path) -> None:
    from antispoof.training.folds import train_grid

    overrides = [f"data.store={store}", "data.image_size=32", "train.max_epochs=1", "train.progress=false",
                 "train.accelerator=cpu", "model.backbone=test_convnext", "model.freeze_backbone=false"]
    out = train_grid("quickstart", overrides, GridSpec("attack", (0, 1)), out=tmp_path / "grid")
    summary = json.loads((out / "folds.json").read_text())
    names = sorted(r["run"] for r in summary["runs"])
    assert names == [f"fold_{t}-seed{s}" for t in ("mask", "print", "replay") for s in (0, 1)]
    for name in names:
        assert (out / name / "model.safetensors").is_file()
        result = summary["results"][name]
        assert 0.0 <= result["dev_auc"] <= 1.0 and result["dev_attacks"] > 0 and result["dev_bonafide"] > 0
    config = (out / "fold_mask-seed1" / "config.yaml").read_text()
    assert "dev_from: train" in config and "mask_rigid" in config and "seed: 1" in config
    stamp = (out / "fold_print-seed0" / "model.safetensors").stat().st_mtime_ns
    train_grid("quickstart", overrides, GridSpec("attack", (0, 1)), out=out)  # finished runs are kept
    assert (out / "fold_print-seed0" / "model.safetensors").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="another plan"):
        train_grid("quickstart", overrides, GridSpec("attack", (0, 2)), out=out)


def test_subject_folds_put_every_row_of_a_subject_in_one_fold_seeded_and_balanced() -> None:
    """Seed 001 Sec. 5.3's baseline: "images from the same person belong only to one fold" (attack rows included)."""
    import pandas as pd

    from antispoof.data.protocols import subject_folds

    subjects = [f"s{i}" for i in range(12)]
    rows = pd.DataFrame({"subject": [s for s in subjects for _ in range(3)],
                         "label": [BONAFIDE, "attack", "attack"] * 12, "pai": ["bonafide", "print_flat", "replay_phone"] * 12})
    folds = subject_folds(rows, k=5, seed=0)
    assert [f.name for f in folds] == [f"subjects_{j}" for j in range(1, 6)]
    assert sorted(len(f.held_out_subjects) for f in folds) == [2, 2, 2, 3, 3]  # 12 subjects over 5 folds
    for a, b in itertools.combinations(folds, 2):
        assert set(a.held_out_subjects).isdisjoint(b.held_out_subjects)
    assert set().union(*(f.held_out_subjects for f in folds)) == set(subjects)
    for f in folds:
        assert set(f.held_out_subjects).isdisjoint(f.train_subjects)
        assert set(f.held_out_subjects) | set(f.train_subjects) == set(subjects)
    assert subject_folds(rows, 5, seed=0) == folds and subject_folds(rows, 5, seed=1) != folds
    with pytest.raises(ValueError, match="12 subject\\(s\\) for 13 subject folds"):
        subject_folds(rows, k=13)


def test_subject_folds_of_a_store_hold_out_disjoint_subjects_covering_all(store: Path) -> None:
    rows = _train_rows(store)
    subjects = set(rows["subject"].astype(str))
    folds = make_folds(store, "subject", seed=0)
    assert [f.name for f in folds] == [f"subjects_{k}" for k in range(1, 6)]
    for a, b in itertools.combinations(folds, 2):
        assert set(a.held_out_subjects).isdisjoint(b.held_out_subjects)
    assert set().union(*(f.held_out_subjects for f in folds)) == subjects
    assert all(set(f.train_subjects) == subjects - set(f.held_out_subjects) for f in folds)
    assert make_folds(store, "subject", seed=0) == folds != make_folds(store, "subject", seed=1)


def test_a_subject_fold_trains_on_its_subjects_and_validates_on_the_others(store: Path) -> None:
    from antispoof.methods import load_method_config, method_class
    from antispoof.training.frames import training_datasets

    index = FrameStore(store).index
    usable = index[index["failure"] == ""]
    from_train = usable[usable["split"] == "train"]
    for fold in make_folds(store, "subject", seed=0)[:2]:
        config = load_method_config("quickstart", [f"data.store={store}", "data.image_size=24", *fold_overrides(fold)])
        spec = method_class(config.model.method).input_spec_for(config)
        train, dev = training_datasets(config, spec)
        t, d = train.rows, dev.rows
        assert set(t["subject"]) == set(fold.train_subjects) and set(d["subject"]) == set(fold.held_out_subjects)
        assert {BONAFIDE} < set(t["label"]) and {BONAFIDE} < set(d["label"])  # attack rows follow their subject
        assert len(t) + len(d) == len(from_train)  # every usable train-split frame, in one of the two
        assert set(d["split"]) == set(t["split"]) == {"train"}


@pytest.mark.slow
def test_train_grid_with_subject_folds_trains_one_run_per_fold(store: Path, tmp_path: Path) -> None:
    from antispoof.training.folds import train_grid

    overrides = [f"data.store={store}", "data.image_size=32", "train.max_epochs=1", "train.progress=false",
                 "train.accelerator=cpu", "model.backbone=test_convnext", "model.freeze_backbone=false"]
    out = train_grid("quickstart", overrides, GridSpec("subject"), out=tmp_path / "grid")
    summary = json.loads((out / "folds.json").read_text())
    names = [r["run"] for r in summary["runs"]]
    assert names == [f"fold_subjects_{k}" for k in range(1, 6)] and summary["fold_kind"] == "subject"
    for name in names:
        assert (out / name / "model.safetensors").is_file()
        assert "train_subjects:" in (out / name / "config.yaml").read_text()
        assert summary["results"][name]["dev_attacks"] > 0 and summary["results"][name]["dev_bonafide"] > 0
