"""Paper recipes: each experiment of the seed papers' result tables, by name, from prepared data to a report.

A :class:`Recipe` names what a paper's table row needs: the method config, the dataset
and protocol to train on (its dev split picks the threshold) and the one to test on, the
protocol folds a row averages (OULU-NPU protocols 3-4, SiW 2-3: mean +- std over the
folds, as the papers report), the frame sampling and face source, the threshold rule and
the metric the paper reports, and the paper's numbers to compare with. ``antispoof
recipe run NAME --root DATA`` (:func:`antispoof.recipes.run.run_recipe`) prepares the
stores, trains one run per fold, evaluates each and writes ``report.md`` /
``report.json`` with our number beside the paper's.

Recipes register in :data:`RECIPES` (the catalog: :mod:`antispoof.recipes.catalog`).
"""

from __future__ import annotations

from antispoof.recipes.recipe import METRICS, RECIPES, Data, PaperNumber, Recipe, register

__all__ = ["RECIPES", "Recipe", "Data", "PaperNumber", "METRICS", "register", "list_recipes", "get_recipe"]


def _load() -> None:
    import antispoof.recipes.catalog  # noqa: F401  (registers the recipes)


def list_recipes(pattern: str = "*") -> list[str]:
    """Names of the packaged recipes matching a shell wildcard."""
    _load()
    return RECIPES.list(pattern)


def get_recipe(name: str) -> Recipe:
    """The recipe named ``name`` (an unknown name says the close ones)."""
    _load()
    return RECIPES.get(name)
