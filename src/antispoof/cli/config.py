"""``antispoof config``: show the resolved config and every key it accepts."""

from __future__ import annotations

import typer

config_app = typer.Typer(help="Show the resolved config and every key it accepts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("show")
def show(
    args: list[str] = typer.Argument(
        None, metavar="[CONFIG] [KEY=VALUE]...",
        help="Optional config (a packaged name such as entry, or a YAML path), then dotted overrides (train.lr=0.01 seed=3)."
    ),
) -> None:
    """Print the config as a run would use it: defaults of its method, then the file, then the overrides."""
    from antispoof.config import config_to_yaml, split_config_args
    from antispoof.methods import load_method_config

    path, overrides = split_config_args(args or ())
    cfg = load_method_config(path, overrides)
    typer.echo(config_to_yaml(cfg), nl=False)


@config_app.command("list")
def list_configs_command() -> None:
    """The configs packaged with the toolkit (give a name to `antispoof train` or `config show`)."""
    from antispoof.methods import config_path, list_configs

    for name in list_configs():
        first = next((line[2:].strip() for line in config_path(name).read_text(encoding="utf-8").splitlines()
                      if line.startswith("# ")), "")
        typer.echo(f"{name:22s} {first}")


@config_app.command("keys")
def keys(
    method: str = typer.Option("entry", "--method", help="Method whose config schema to list (see `antispoof list methods`)."),
) -> None:
    """Every key of a method's config with its type, default and meaning."""
    from rich.console import Console
    from rich.table import Table

    from antispoof.config import iter_fields, type_name
    from antispoof.methods import method_class

    table = Table("key", "type", "default", "meaning")
    rows = [(key, type_name(annotation), repr(default), description)
            for key, annotation, default, description in iter_fields(method_class(method).config_schema)]
    # the key column is never cut or wrapped (a key is what the user types); the meaning wraps instead
    table.columns[0].no_wrap = True
    table.columns[0].min_width = max(len(row[0]) for row in rows)
    for row in rows:
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:  # piped or captured: no terminal width to fit, so nothing is cut at 80 columns
        console = Console(width=max(120, table.columns[0].min_width + 80))
    console.print(table)
