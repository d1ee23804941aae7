"""``antispoof recipe list|show|run``: the seed papers' experiments by name (:mod:`antispoof.recipes`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from antispoof.cli.train import training_command

recipe_app = typer.Typer(help="The seed papers' experiments by name: list them, show one, run one on your dataset roots.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(recipe_app, name="recipe")


@recipe_app.command("list")
def list_command(pattern: str = typer.Argument("*", help="Shell wildcard on the names (lgsc-*).")) -> None:
    """Every packaged recipe, one line each."""
    from antispoof.recipes import get_recipe, list_recipes

    for name in list_recipes(pattern):
        typer.echo(f"{name}: {get_recipe(name).describe()}")


@recipe_app.command("show")
def show_command(name: str = typer.Argument(..., help="A recipe name (`antispoof recipe list`).")) -> None:
    """What a recipe trains and tests on, how it prepares the data, and the paper's numbers."""
    from antispoof.recipes import get_recipe

    r = get_recipe(name)
    typer.echo(f"{r.name}: {r.describe()}")
    typer.echo(f"config: {r.method}{' ' + ' '.join(r.overrides) if r.overrides else ''}")
    if r.prepare:
        typer.echo("prepare: " + ", ".join(f"{k}={v}" for k, v in r.prepare.items()))
    for d in r.sources:
        typer.echo(f"also trains on: {d.dataset} {d.protocol or ''}".rstrip())
    if r.grid:
        typer.echo(f"grid: {' '.join(r.grid)} (the score is the mean of its runs')")
    for p in r.paper:
        typer.echo(f"paper: {p.table}, {p.row}: {p.metric} {p.value:g}" + (f" +- {p.std:g}" if p.std is not None else "")
                   + (" (dev split)" if p.split == "dev" else ""))
    if r.note:
        typer.echo(f"note: {r.note}")
    roots = " ".join(f"--root {d}=DIR" for d in r.datasets) if len(r.datasets) > 1 else "--root DIR"
    typer.echo(f"run: antispoof recipe run {r.name} {roots} [--out DIR] [--cpu | --smoke]")


@recipe_app.command("run")
def run_command(
    name: str = typer.Argument(..., help="A recipe name (`antispoof recipe list`)."),
    overrides: list[str] = typer.Argument(None, metavar="[KEY=VALUE]...", help="Config overrides of every run."),
    root: list[str] = typer.Option(..., "--root", help="The dataset root: DIR, or NAME=DIR for each dataset of a "
                                                        "cross-dataset recipe."),
    out: Path = typer.Option(None, "--out", help="Folder of the stores, runs and report (default runs/recipes/NAME); "
                                                 "a second call continues it."),
    smoke: bool = typer.Option(False, "--smoke", help="The same road at a tiny size (its number means nothing)."),
    stores: Path = typer.Option(None, "--stores", help="Folder of the frame stores (default OUT/stores); recipes on the "
                                                       "same dataset roots can share one, each store prepared once."),
    cpu: bool = typer.Option(False, "--cpu", help="The method's quickstart config (its CPU departures from the paper's "
                                                  "setting) on every frame and fold the recipe reads."),
) -> None:
    """Prepare, train every fold, evaluate at the paper's threshold rule and write report.md beside the paper's number."""
    from antispoof.recipes.run import run_recipe

    bare = [w for w in overrides or () if "=" not in w]
    if bare:
        raise ValueError(f"{' '.join(bare)!r} is not key=value: write overrides as key=value (train.max_epochs=2)")
    if smoke and cpu:
        raise ValueError("--smoke and --cpu are two sizes: give one (--smoke already uses the quickstart config)")
    scale = "smoke" if smoke else "cpu" if cpu else "paper"
    with training_command():
        path = run_recipe(name, root, out=out, scale=scale, overrides=list(overrides or ()), stores=stores,
                          progress=sys.stderr.isatty())
    for line in path.read_text().splitlines():
        if line.startswith(("| ours |", "| paper |")):
            typer.echo(line.strip("| ").replace(" | ", ": ", 1))
    typer.echo(f"report: {path}")
