"""``antispoof config``: show the resolved config and every key it accepts."""

from __future__ import annotations

import typer

config_app = typer.Typer(help="Show the resolved config and every key it accepts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("show")
def show(
    args: list[str] = typer.Argument(
        None, metavar="[CONFIG] [KEY=VALUE]...", help="Optional YAML config file, then dotted overrides (train.lr=0.01 seed=3)."
    ),
) -> None:
    """Print the config as a run would use it: defaults, then the file, then the overrides."""
    from antispoof.config import ExperimentConfig, config_to_yaml, load_config, split_config_args

    path, overrides = split_config_args(args or ())
    cfg = load_config(ExperimentConfig, path, overrides)
    typer.echo(config_to_yaml(cfg), nl=False)


@config_app.command("keys")
def keys() -> None:
    """Every key with its type, default and meaning."""
    from rich.console import Console
    from rich.table import Table

    from antispoof.config import ExperimentConfig, type_name, iter_fields

    table = Table("key", "type", "default", "meaning")
    for key, annotation, default, description in iter_fields(ExperimentConfig):
        table.add_row(key, type_name(annotation), repr(default), description)
    Console().print(table)
