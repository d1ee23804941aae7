"""``antispoof list``: what is registered, for every registry of :mod:`antispoof._registry`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)


def list_command(
    kind: str = typer.Argument(
        None, help="One of: methods, networks, backbones, datasets, detectors, losses. All when omitted."
    ),
    pattern: str = typer.Argument("*", help="Shell wildcard on names, e.g. 'resnet*'."),
) -> None:
    """List registered names. Backbones are every timm architecture (any timm name works)."""
    from rich.console import Console

    from antispoof._registry import ALL_REGISTRIES, load_all

    if kind is not None and kind not in ALL_REGISTRIES:
        raise typer.BadParameter(f"unknown kind {kind!r}; choose one of {', '.join(ALL_REGISTRIES)}", param_hint="KIND")
    registries = load_all(*([kind] if kind is not None else []))
    console = Console()
    for name, registry in registries.items():
        if kind is not None and name != kind:
            continue
        if name == "backbones":
            from antispoof.models import list_backbones

            names = list_backbones(pattern)
            if kind is None and pattern == "*":
                console.print(
                    f"[bold]backbones[/bold] ({len(names)}): any timm architecture; "
                    "filter with `antispoof list backbones 'resnet*'`"
                )
                continue
        elif name == "methods":  # pretraining methods make a backbone for another method; say which they are
            names = [n if getattr(registry.get(n), "kind", "detector") == "detector" else f"{n} (pretraining)"
                     for n in registry.list(pattern)]
        else:
            names = registry.list(pattern)
        console.print(f"[bold]{name}[/bold] ({len(names)}): " + (", ".join(names) if names else "none yet"))
