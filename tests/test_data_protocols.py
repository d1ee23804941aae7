"""Composed protocols: intra-dataset, cross-dataset, leave-one-dataset-out (OCIM), leave-one-attack-out."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_data_casia_fasd import build_casia
from test_data_msu_mfsd import build_msu
from test_data_oulu_npu import build_oulu
from test_data_replay_attack import build_replay

from antispoof.data import CrossDataset, IntraDataset, LeaveOneAttackOut, leave_one_dataset_out
from antispoof._registry import DATASETS


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("ocim")
    return {
        "O": build_oulu(base / "oulu", users_per_folder=1),
        "C": build_casia(base / "casia", 2, 3),
        "I": build_replay(base / "replay"),
        "M": build_msu(base / "msu"),
    }


def test_intra_dataset_adds_dataset_and_root(roots: dict[str, Path]) -> None:
    protocol = IntraDataset.open("replay-attack", roots["I"], "print")
    rows = protocol.samples("test")
    assert len(rows) == 160 and set(rows.dataset) == {"replay-attack"} and set(rows.root) == {str(roots["I"])}
    assert protocol.name == "replay-attack:print"


def test_cross_dataset_train_a_test_b(roots: dict[str, Path]) -> None:
    cross = CrossDataset([IntraDataset.open("oulu-npu", roots["O"], "Protocol_1")], IntraDataset.open("replay-attack", roots["I"]))
    assert len(cross.samples("train")) == 6 * 2 * 5 and set(cross.samples("train").dataset) == {"oulu-npu"}
    assert len(cross.samples("dev")) == 6 * 2 * 5
    test = cross.samples("test")
    assert set(test.dataset) == {"replay-attack"} and len(test) == 80 + 400 and set(test.split) == {"test"}
    assert len(cross.samples()) == 60 + 60 + 480
    assert cross.name == "oulu-npu:Protocol_1->replay-attack:grandtest"


@pytest.mark.parametrize("target", ["O", "C", "I", "M"])
def test_leave_one_dataset_out(roots: dict[str, Path], target: str) -> None:
    sizes = {  # (train, dev, test) of each dataset under its OCIM protocol, on these trees
        "O": (90, 90, 90),  # one user per folder: 6 phones x 3 sessions x 5 files
        "C": (24, 0, 36),
        "I": (360, 360, 480),
        "M": (120, 0, 160),
    }
    names = {"O": "oulu-npu", "C": "casia-fasd", "I": "replay-attack", "M": "msu-mfsd"}
    protocol = leave_one_dataset_out(target, roots)
    sources = [k for k in "OCIM" if k != target]
    assert protocol.name == "&".join(sources) + f"->{target}"
    train, dev, test = (protocol.samples(s) for s in ("train", "dev", "test"))
    assert len(train) == sum(sizes[k][0] + sizes[k][2] for k in sources)  # sources: train + test splits
    assert set(train.dataset) == {names[k] for k in sources}
    assert len(dev) == sum(sizes[k][1] for k in sources)
    assert len(test) == sizes[target][2] and set(test.dataset) == {names[target]}


def test_leave_one_dataset_out_strict_variant(roots: dict[str, Path]) -> None:
    protocol = leave_one_dataset_out("O", roots, source_splits=("train",))
    assert len(protocol.samples("train")) == 24 + 360 + 120
    assert set(protocol.samples("train").split) == {"train"}
    assert set(leave_one_dataset_out("O", roots).samples("train").source_split) == {"train", "test"}


def test_leave_one_dataset_out_errors(roots: dict[str, Path]) -> None:
    with pytest.raises(KeyError, match="choose one of O, C, I, M"):
        leave_one_dataset_out("X", roots)
    with pytest.raises(KeyError, match="missing M"):
        leave_one_dataset_out("O", {k: v for k, v in roots.items() if k != "M"})


def test_leave_one_attack_out_folds(roots: dict[str, Path]) -> None:
    base = IntraDataset.open("replay-attack", roots["I"])
    folds = LeaveOneAttackOut.folds(base, seed=3)
    assert [f.held_out for f in folds] == ["highdef_photo", "highdef_video", "mobile_photo", "mobile_video", "print"]
    live_dev_subjects = []
    for fold in folds:
        train, dev, test = (fold.samples(s) for s in ("train", "dev", "test"))
        assert fold.held_out not in set(train.pai)
        assert set(dev[dev.label == "attack"].pai) == {fold.held_out} and (dev.label == "attack").sum() == 60
        live_train, live_dev = set(train[train.label == "bonafide"].subject), set(dev[dev.label == "bonafide"].subject)
        assert not live_train & live_dev and len(live_train | live_dev) == 15
        assert len(test) == 480
        live_dev_subjects.append(live_dev)
    assert sum(len(s) for s in live_dev_subjects) == 15  # each live subject validates exactly one fold
    with pytest.raises(KeyError, match="not in the train split"):
        LeaveOneAttackOut(base, "mask").samples()


def test_every_registered_dataset_explains_a_wrong_root(tmp_path: Path) -> None:
    from antispoof.data import open_dataset
    from antispoof.data._checks import DatasetError

    (tmp_path / "holiday.jpg").touch()
    for name in DATASETS.list():
        # what was expected and what was found, in either order (the folder dataset names what it found first)
        with pytest.raises(DatasetError, match=r"(?s)expected .*found:? holiday\.jpg|found:? holiday\.jpg.*expected "):
            open_dataset(name, tmp_path)


def test_cross_dataset_domains_are_the_source_datasets(roots: dict[str, Path]) -> None:
    """Across datasets the domain is the dataset; the adapter's capture domain is kept in source_domain."""
    protocol = leave_one_dataset_out("M", roots)
    train = protocol.samples("train")
    assert set(train.domain) == {"oulu-npu", "casia-fasd", "replay-attack"} and (train.domain == train.dataset).all()
    oulu = train[train.dataset == "oulu-npu"]
    assert set(oulu.source_domain) == {"session1", "session2", "session3"}
    assert set(train[train.dataset == "replay-attack"].source_domain) == {"controlled", "adverse"}
    assert set(protocol.samples("test").domain) == {"msu-mfsd"}
    intra = IntraDataset.open("replay-attack", roots["I"]).samples("train")
    assert set(intra.domain) == {"controlled", "adverse"} and "source_domain" not in intra  # within a dataset: its own
