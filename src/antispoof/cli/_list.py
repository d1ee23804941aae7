"""``antispoof list``: what is registered (methods, backbones, datasets, detectors)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)


def list_command(
    kind: str = typer.Argument(None, help="One of: methods, backbones, datasets, detectors. All when omitted."),
    pattern: str = typer.Argument("*", help="Shell wildcard on names, e.g. 'resnet*'."),
) -> None:
    """List registered names. Backbones are every timm architecture (any timm name works)."""
    from rich.console import Console

    from antispoof._registry import load_everything
    from antispoof.models import list_backbones

    registries = load_everything()
    console = Console()
    if kind is not None and kind not in registries:
        raise typer.BadParameter(f"unknown kind {kind!r}; choose one of {', '.join(registries)}", param_hint="KIND")
    for name, registry in registries.items():
        if kind is not None and name != kind:
            continue
        if name == "backbones":
            names = list_backbones(pattern)
            if kind is None and pattern == "*":
                console.print(
                    f"[bold]backbones[/bold] ({len(names)}): any timm architecture; "
                    "filter with `antispoof list backbones 'resnet*'`"
                )
                continue
        else:
            names = registry.list(pattern)
        console.print(f"[bold]{name}[/bold] ({len(names)}): " + (", ".join(names) if names else "none yet"))
