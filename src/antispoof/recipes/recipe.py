"""The recipe record (:class:`Recipe`) and its registry; the package docstring says what a recipe is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from antispoof._registry import Registry

__all__ = ["RECIPES", "Recipe", "Data", "PaperNumber", "METRICS", "register"]

#: What a recipe reports: ACER / HTER at the threshold rule (percent), TPR at a FPR (CASIA-SURF's), AUC, the binary
#: accuracy at the threshold and ``accuracy3``, the share of units whose most probable of real / print / replay is theirs
#: (seed 002's bonus task; a model with a 3-class head).
METRICS = ("acer", "hter", "apcer", "bpcer", "eer", "auc", "tpr@fpr=1e-4", "tpr@fpr=1e-3", "tpr@fpr=1e-2", "accuracy",
           "accuracy3")
#: Where a paper's number is measured: the test data, or the training data's dev split ("Val ACC" columns).
SPLITS = ("test", "dev")


@dataclass(frozen=True)
class Data:
    """A dataset and protocol (or a protocol family whose folds the recipe runs: ``Protocol_3`` -> ``Protocol_3_1..6``)."""

    dataset: str
    protocol: str | None = None


@dataclass(frozen=True)
class PaperNumber:
    """One number of a paper's table: ``value`` in the table's unit (percent for error rates, as printed)."""

    table: str  # "Table 2"
    row: str  # the row and column it is read from: "Ours, Protocol 1"
    metric: str  # one of METRICS
    value: float
    std: float | None = None  # the table's +- where it gives one
    split: str = "test"  # one of SPLITS: test data, or the training data's dev split (a paper's validation column)
    threshold: float | None = None  # a fixed score threshold the number is read at (None: the recipe's rule)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"paper number {self.table}, {self.row}: metric {self.metric!r} is not one of {', '.join(METRICS)}")
        if self.split not in SPLITS:
            raise ValueError(f"paper number {self.table}, {self.row}: split {self.split!r} is not one of {', '.join(SPLITS)}")


@dataclass(frozen=True)
class Recipe:
    """One experiment of a seed paper (see the module docstring)."""

    name: str
    seed: str  # the seed paper: "004"
    method: str  # the packaged method config: "lgsc"
    train: Data
    test: Data | None = None  # None: the train dataset's own test split of the same protocol (fold)
    # protocol folds reported as mean +- std: of the one dataset, each trained and tested on its own; of a cross-dataset
    # recipe's test dataset, one training tested on each
    folds: tuple[str, ...] = ()
    metric: str = "acer"
    threshold: str = "eer"  # the rule picking the threshold on the train data's dev split (antispoof evaluate --threshold)
    overrides: tuple[str, ...] = ()  # config overrides the paper's setting needs (frames, input size...)
    prepare: dict[str, str] = field(default_factory=dict)  # prepare options: detector (face source), every / frames
    paper: tuple[PaperNumber, ...] = ()
    note: str = ""  # what differs from the paper's run, said once
    kind: Literal["intra", "cross"] = "intra"
    # further training data (a multi-source protocol: seed 003's O&C&I to M); its train and dev splits join train's
    sources: tuple[Data, ...] = ()
    # grid words of `antispoof train` (folds=attack, seeds=[0,1], inits=[...]): every cell is trained and the reported
    # score is the mean of the cells' scores, as seed 001 averages its fold networks (Sec. 4.1, 4.3)
    grid: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"recipe {self.name}: metric {self.metric!r} is not one of {', '.join(METRICS)}")

    @property
    def cross(self) -> bool:
        """Whether it tests on another dataset than it trains on."""
        return self.test is not None and self.test.dataset != self.train.dataset

    @property
    def datasets(self) -> tuple[str, ...]:
        """The datasets the recipe reads (train first)."""
        names = [self.train.dataset]
        for data in (*self.sources, self.test):
            if data is not None and data.dataset not in names:
                names.append(data.dataset)
        return tuple(names)

    def describe(self) -> str:
        """One line: what trains on what and what is reported."""
        test = self.test or self.train
        where = " & ".join(f"{d.dataset} {d.protocol or ''}".strip() for d in (self.train, *self.sources))
        target = f"{test.dataset} {test.protocol or ''}".strip()
        folds = f", folds {', '.join(self.folds)} (mean +- std)" if self.folds else ""
        if self.folds and self.cross:
            folds = f", one training tested on the folds {', '.join(self.folds)} (mean +- std)"
        grid = f", the mean score of the runs of {' '.join(self.grid)}" if self.grid else ""
        return (f"seed {self.seed}: {self.method} trained on {where}{grid}, tested on {target}{folds}; "
                f"{self.metric} at {self.threshold} on dev")


RECIPES: Registry[Recipe] = Registry("recipes")



def register(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to :data:`RECIPES` under its name."""
    return RECIPES.register(recipe.name)(recipe)
