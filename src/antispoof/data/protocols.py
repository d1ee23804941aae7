"""Protocol objects that compose: intra-dataset, cross-dataset, leave-one-dataset-out, leave-one-attack-out.

Every protocol answers ``samples(split)`` with the manifest columns plus ``dataset``
(the registered adapter name) and ``root`` (the folder the row's ``path`` is relative
to), so rows of several datasets can share one table. Rows of different datasets may
share a ``subject`` string: group by (``dataset``, ``subject``).

Conventions (written here once, used by every cross-dataset experiment):

- :class:`IntraDataset`: one dataset, one of its official protocols, its own splits.
- :class:`CrossDataset` (train on A, test on B; each row keeps its own split in
  ``source_split``): train = the ``train`` split of every
  source (under the source's protocol), dev = the sources' ``dev`` split (empty for
  CASIA-FASD, MSU-MFSD, SiW and CelebA-Spoof, which define none), test = the target's
  ``test`` split. ``source_splits`` / ``target_splits`` widen this (e.g. all splits of
  the sources, the whole target) for the papers that do so. ``domain`` becomes the row's dataset (the
  adapter's own capture domain moves to ``source_domain``): across datasets the domains
  are the datasets. PDLE (seed 003) names only its within-dataset labels (Sec. 3.2: "For
  the domain labels on the intra-dataset, we used the number of sessions in each
  protocol"); the source dataset as the domain of its cross-dataset tests (Sec. 3.4,
  "O&C&I to M") is our reading, the usual one of multi-source domain generalisation.
- :func:`leave_one_dataset_out` (O&C&I -> M and its siblings): O = OULU-NPU under ``all``
  (Train_files / Dev_files / Test_files, every phone, session and PAI), C = CASIA-FASD
  ``grandtest``, I = Replay-Attack ``grandtest``, M = MSU-MFSD ``grandtest``. Following the
  label lists of the SSDG code (Jia et al., CVPR 2020) that the later OCIM papers reuse,
  the sources train on their train *and* test splits (everything but dev), the sources'
  dev splits (OULU Dev_files, Replay-Attack devel) form dev, and the target's test split
  tests (OULU Test_files, CASIA-FASD test_release, Replay-Attack test, MSU-MFSD's 20 test
  subjects). Pass ``source_splits=("train",)`` for the stricter variant.
- :func:`attack_folds` (seed 001's attack-specific folds), the one fold implementation of
  the package (:class:`LeaveOneAttackOut`, ``antispoof train CONFIG folds=attack``): over a
  train split, fold *k* holds out attack type *k* (a family by ``pai_class``, or one
  species; a dataset whose adapter sets ``attack_type_column = "pai"``, CASIA-SURF, has its
  own species as its attack types, so ``by="attack"`` splits it by them); its train set keeps the other types and the bona fide rows of the subjects
  not dealt to fold *k*; its dev set is type *k* plus the bona fide rows of fold *k*'s
  subjects. Subjects (the ``subject`` column; rows without one share the identity '') are
  dealt by ``numpy.random.default_rng(seed)``, so one seed gives the same folds from a
  protocol and from a frame store of it. The attack rows of a fold's bona fide subjects
  stay in training (the paper leaves them open). Test is the base test split unchanged.
- :func:`subject_folds` (seed 001 Table 3's "subject 5-fold" baseline, ``antispoof train
  CONFIG folds=subject``): every subject, with all its bona fide and attack rows, in one of
  k folds, dealt by the same seeded rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from antispoof._registry import DATASETS
from antispoof.data._checks import check_split
from antispoof.data.base import BONAFIDE, SPLITS, DatasetAdapter, pai_class_of

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Protocol",
    "IntraDataset",
    "CrossDataset",
    "LeaveOneAttackOut",
    "AttackFold",
    "attack_types",
    "attack_folds",
    "FOLD_KINDS",
    "ATTACK_FOLD_KINDS",
    "SUBJECT_FOLDS",
    "SubjectFold",
    "subject_folds",
    "leave_one_dataset_out",
    "OCIM",
    "open_dataset",
]

# The four datasets of the O, C, I, M benchmark and the protocol each one enters with.
OCIM: dict[str, tuple[str, str]] = {
    "O": ("oulu-npu", "all"),
    "C": ("casia-fasd", "grandtest"),
    "I": ("replay-attack", "grandtest"),
    "M": ("msu-mfsd", "grandtest"),
}


def open_dataset(name: str, root: str | Path) -> DatasetAdapter:
    """The registered adapter ``name`` reading ``root`` (``KeyError`` with close matches if unknown)."""
    from antispoof._registry import load_all

    load_all("datasets")  # registers the adapters
    return DATASETS.get(name)(root)


def _empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[0:0].copy()


class Protocol(ABC):
    """A set of rows split into train / dev / test; ``samples(split)`` gives one split (or all)."""

    name: str = ""

    @abstractmethod
    def samples(self, split: str | None = None) -> pd.DataFrame:
        """Rows of ``split`` (all splits when None) with the manifest columns plus ``dataset`` and ``root``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


@dataclass(repr=False)
class IntraDataset(Protocol):
    """One dataset under one of its protocols (the dataset's default when ``protocol`` is None)."""

    adapter: DatasetAdapter
    protocol: str | None = None
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        protocol = self.protocol or self.adapter.default_protocol or "?"
        self.name = f"{self.adapter.name}:{protocol}"

    @classmethod
    def open(cls, dataset: str, root: str | Path, protocol: str | None = None) -> IntraDataset:
        return cls(open_dataset(dataset, root), protocol)

    def samples(self, split: str | None = None) -> pd.DataFrame:
        frame = self.adapter.samples(self.protocol, check_split(split))
        frame["dataset"] = self.adapter.name
        frame["root"] = str(self.adapter.root)
        return frame


@dataclass(repr=False)
class CrossDataset(Protocol):
    """Train (and dev) on the ``sources``, test on the ``target``; see the module conventions."""

    sources: Sequence[Protocol]
    target: Protocol
    source_splits: Sequence[str] = ("train",)
    dev_splits: Sequence[str] = ("dev",)
    target_splits: Sequence[str] = ("test",)
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.sources, Protocol):
            self.sources = [self.sources]
        if not self.sources:
            raise ValueError("a cross-dataset protocol needs at least one source")
        for s in (*self.source_splits, *self.dev_splits, *self.target_splits):
            check_split(s)
        if not self.name:
            self.name = "&".join(s.name for s in self.sources) + "->" + self.target.name

    def _gather(self, protocols: Sequence[Protocol], splits: Sequence[str], as_split: str) -> pd.DataFrame:
        import pandas as pd

        parts = [p.samples(s) for p in protocols for s in splits]
        if not parts:
            return _empty_like(self.target.samples("test")).assign(split=as_split, source_split="", source_domain="")
        frame = pd.concat(parts, ignore_index=True)
        frame["source_split"] = frame["split"]
        frame["split"] = as_split
        frame["source_domain"] = frame["domain"]
        frame["domain"] = frame["dataset"]
        return frame

    def samples(self, split: str | None = None) -> pd.DataFrame:
        import pandas as pd

        check_split(split)
        wanted = [split] if split else list(SPLITS)
        parts = []
        for s in wanted:
            if s == "train":
                parts.append(self._gather(self.sources, self.source_splits, "train"))
            elif s == "dev":
                parts.append(self._gather(self.sources, self.dev_splits, "dev"))
            else:
                parts.append(self._gather([self.target], self.target_splits, "test"))
        return pd.concat(parts, ignore_index=True)


def leave_one_dataset_out(
    target: str,
    roots: Mapping[str, str | Path],
    source_splits: Sequence[str] = ("train", "test"),
    dev_splits: Sequence[str] = ("dev",),
    target_splits: Sequence[str] = ("test",),
) -> CrossDataset:
    """O&C&I -> M and its siblings: ``target`` is one of O, C, I, M; ``roots`` maps each letter to its root.

    The defaults are the convention of the module docstring (sources: train + test,
    dev: the sources' dev, target: test).
    """
    target = target.upper()
    if target not in OCIM:
        raise KeyError(f"unknown leave-one-dataset-out target {target!r}; choose one of {', '.join(OCIM)}")
    missing = [letter for letter in OCIM if letter not in roots]
    if missing:
        raise KeyError(
            f"leave-one-dataset-out needs a root for each of O, C, I, M; missing {', '.join(missing)} "
            f"({', '.join(f'{k}={v[0]}' for k, v in OCIM.items())})"
        )

    def intra(letter: str) -> IntraDataset:
        dataset, protocol = OCIM[letter]
        return IntraDataset.open(dataset, roots[letter], protocol)

    sources = [intra(letter) for letter in OCIM if letter != target]
    name = "&".join(letter for letter in OCIM if letter != target) + f"->{target}"
    return CrossDataset(
        sources, intra(target), source_splits=source_splits, dev_splits=dev_splits, target_splits=target_splits, name=name
    )


ATTACK_FOLD_KINDS = ("attack", "species")  # the ``by`` of attack_types / attack_folds
FOLD_KINDS = (*ATTACK_FOLD_KINDS, "subject")  # the folds=... of antispoof train
SUBJECT_FOLDS = 5  # seed 001 Sec. 5.3: "5 fold cross-validation", split by subject identity


@dataclass(frozen=True)
class AttackFold:
    """One fold: the held-out attack type and its species, the species it trains on, its bona fide subjects."""

    name: str
    held_out: tuple[str, ...]
    train_attacks: tuple[str, ...]
    bonafide_subjects: tuple[str, ...]
    train_bonafide_subjects: tuple[str, ...]


def attack_types(rows: pd.DataFrame, by: str = "attack", exclude: Sequence[str] = ()) -> dict[str, list[str]]:
    """``{type: [species]}`` of the attack rows (``by``: attack = family, species = each species), without the species
    matching ``exclude`` (shell wildcards, as ``data.exclude_attacks``).

    By attack, a species' type is its family (the rows' ``pai_class``, else the name's), unless the rows' ``dataset``
    names an adapter whose ``attack_type_column`` is ``"pai"``: that dataset's species are its attack types (CASIA-SURF's
    types 4, 5 and 6, all of family print; seed 001 Sec. 4.1 folds by them). Rows without a ``dataset`` column fold by
    family.
    """
    import fnmatch

    if by not in ATTACK_FOLD_KINDS:
        raise ValueError(f"unknown attack fold kind {by!r}; choose one of {', '.join(ATTACK_FOLD_KINDS)}")
    attacks = rows[rows["label"] != BONAFIDE]
    pai = attacks["pai"].astype(str)
    classes = dict(zip(pai, attacks["pai_class"].astype(str))) if "pai_class" in attacks else {}
    own: set[str] = set()
    if "dataset" in attacks:
        datasets = attacks["dataset"].astype(str)
        own = set(pai[datasets.isin([d for d in datasets.unique() if _types_are_species(d)])])
    types: dict[str, list[str]] = {}
    for s in sorted(set(pai)):
        if any(fnmatch.fnmatchcase(s, p) for p in exclude):
            continue
        if by == "species" or s in own:
            types.setdefault(s, []).append(s)
        else:  # the rows' pai_class (the adapter's), else the name's
            types.setdefault(classes.get(s) or pai_class_of(s), []).append(s)
    return dict(sorted(types.items()))


def _types_are_species(dataset: str) -> bool:
    """Whether the adapter registered as ``dataset`` folds by its own species (``attack_type_column = "pai"``)."""
    return dataset in DATASETS and getattr(DATASETS.get(dataset), "attack_type_column", "pai_class") == "pai"


def attack_folds(rows: pd.DataFrame, by: str = "attack", seed: int = 0, exclude: Sequence[str] = (),
                 where: str = "the train split") -> list[AttackFold]:
    """One fold per attack type of ``rows`` (a train split), bona fide subjects dealt by ``seed`` (see module doc)."""
    import numpy as np

    types = attack_types(rows, by, exclude)
    if len(types) < 2:
        raise ValueError(f"{where} has {len(types)} attack type(s) by {by} ({', '.join(types) or 'none'}); attack folds "
                         "need two at least (try folds by species)")
    subjects = sorted(set(rows.loc[rows["label"] == BONAFIDE, "subject"].astype(str)))
    if len(subjects) < len(types):
        raise ValueError(f"{where} has {len(subjects)} bona fide subjects for {len(types)} folds; each fold needs one at least")
    order = np.random.default_rng(seed).permutation(len(subjects))
    groups = [sorted(subjects[i] for i in order[k::len(types)]) for k in range(len(types))]
    folds = []
    for k, (name, held) in enumerate(types.items()):
        others = sorted(s for t, members in types.items() if t != name for s in members)
        train_live = sorted(s for j, g in enumerate(groups) if j != k for s in g)
        folds.append(AttackFold(name, tuple(held), tuple(others), tuple(groups[k]), tuple(train_live)))
    return folds


@dataclass(frozen=True)
class SubjectFold:
    """One fold of seed 001's subject k-fold baseline: the subjects it validates on (every row of theirs) and the rest."""

    name: str
    held_out_subjects: tuple[str, ...]
    train_subjects: tuple[str, ...]


def subject_folds(rows: pd.DataFrame, k: int = 5, seed: int = 0, where: str = "the train split") -> list[SubjectFold]:
    """Seed 001 Table 3's baseline folds: the subjects of ``rows`` (bona fide and attack rows alike) dealt to ``k`` folds.

    The paper (Sec. 5.3): "trained it using 5 fold cross-validation strategy. All folds are
    split based on the subject identity so images from the same person belong only to one
    fold." Subjects are dealt by ``numpy.random.default_rng(seed)`` as in :func:`attack_folds`
    (rows without a subject share the identity ''). ``antispoof train CONFIG folds=subject``
    trains one run per fold (:func:`antispoof.training.folds.make_folds`, ``k`` = :data:`SUBJECT_FOLDS`).
    """
    import numpy as np

    if k < 2:
        raise ValueError(f"subject folds need k >= 2, got {k}")
    subjects = sorted(set(rows["subject"].fillna("").astype(str))) if "subject" in rows else [""]
    if len(subjects) < k:
        raise ValueError(f"{where} has {len(subjects)} subject(s) for {k} subject folds; each fold needs one at least")
    order = np.random.default_rng(seed).permutation(len(subjects))
    groups = [sorted(subjects[i] for i in order[j::k]) for j in range(k)]
    return [SubjectFold(f"subjects_{j + 1}", tuple(g), tuple(sorted(s for i, h in enumerate(groups) if i != j for s in h)))
            for j, g in enumerate(groups)]


@dataclass(repr=False)
class LeaveOneAttackOut(Protocol):
    """Fold ``held_out`` (an attack type by ``by``) of :func:`attack_folds` over ``base``'s train split."""

    base: Protocol
    held_out: str
    seed: int = 0
    by: str = "species"
    exclude: Sequence[str] = ()
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.name = f"{self.base.name}/without-{self.held_out}"

    @classmethod
    def folds(cls, base: Protocol, seed: int = 0, by: str = "species", exclude: Sequence[str] = ()) -> list[LeaveOneAttackOut]:
        return [cls(base, f.name, seed, by, exclude) for f in attack_folds(base.samples("train"), by, seed, exclude)]

    def fold(self, train: pd.DataFrame | None = None) -> AttackFold:
        """This fold's :class:`AttackFold` (``train``: the base train split, when already read)."""
        train = self.base.samples("train") if train is None else train
        folds = {f.name: f for f in attack_folds(train, self.by, self.seed, self.exclude, f"the train split of {self.base.name}")}
        if self.held_out not in folds:
            raise KeyError(f"attack type {self.held_out!r} (by {self.by}) is not in the train split of {self.base.name}; "
                           f"types there: {', '.join(folds)}")
        return folds[self.held_out]

    def samples(self, split: str | None = None) -> pd.DataFrame:
        import pandas as pd

        check_split(split)
        train = self.base.samples("train")
        fold = self.fold(train)
        live = train["label"] == BONAFIDE
        subject, pai = train["subject"].astype(str), train["pai"].astype(str)
        parts = []
        if split in (None, "train"):
            parts.append(train[(live & subject.isin(fold.train_bonafide_subjects)) | (~live & pai.isin(fold.train_attacks))]
                         .assign(split="train"))
        if split in (None, "dev"):
            parts.append(train[(live & subject.isin(fold.bonafide_subjects)) | (~live & pai.isin(fold.held_out))]
                         .assign(split="dev"))
        if split in (None, "test"):
            parts.append(self.base.samples("test"))
        return pd.concat(parts, ignore_index=True)
