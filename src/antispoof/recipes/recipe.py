"""The recipe record (:class:`Recipe`) and its registry; the package docstring says what a recipe is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from antispoof._registry import Registry

__all__ = ["RECIPES", "Recipe", "Data", "PaperNumber", "METRICS", "register"]

#: What a recipe reports: ACER / HTER at the threshold rule (percent), TPR at a FPR (CASIA-SURF's), AUC, accuracy.
METRICS = ("acer", "hter", "apcer", "bpcer", "eer", "auc", "tpr@fpr=1e-4", "tpr@fpr=1e-3", "tpr@fpr=1e-2", "accuracy")


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
        if self.test is not None and self.test.dataset not in names:
            names.append(self.test.dataset)
        return tuple(names)

    def describe(self) -> str:
        """One line: what trains on what and what is reported."""
        test = self.test or self.train
        where = f"{self.train.dataset} {self.train.protocol or ''}".strip()
        target = f"{test.dataset} {test.protocol or ''}".strip()
        folds = f", folds {', '.join(self.folds)} (mean +- std)" if self.folds else ""
        if self.folds and self.cross:
            folds = f", one training tested on the folds {', '.join(self.folds)} (mean +- std)"
        return f"seed {self.seed}: {self.method} trained on {where}, tested on {target}{folds}; {self.metric} at {self.threshold} on dev"


RECIPES: Registry[Recipe] = Registry("recipes")



def register(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to :data:`RECIPES` under its name."""
    return RECIPES.register(recipe.name)(recipe)
