"""``antispoof distill``: distil a trained Entry teacher into a smaller student (seed 000 Eq. 1)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("distill")(distill_command)


def distill_command(
    teacher: Path = typer.Argument(..., help="Run folder of the trained teacher (made by `antispoof train`)."),
    args: list[str] = typer.Argument(
        None, metavar="[CONFIG] [KEY=VALUE]...", help="Student config (a packaged name or a YAML path; default distill), then overrides (model.backbone=efficientnet_b0 distill.alpha=0.7)."
    ),
    out: Path = typer.Option(None, "--out", help="Run folder to create (default: runs/<date-time>)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
) -> None:
    """Train a student (EfficientNet-B3 by default, any timm name) on labels and the frozen teacher's outputs."""
    import sys

    from antispoof.config import split_config_args
    from antispoof.methods.entry_distill import distillation_config
    from antispoof.training.runner import train
    from antispoof.weights import WEIGHTS_FILE

    path, overrides = split_config_args(args or ())
    config = distillation_config(teacher, path, overrides)
    from antispoof.cli.train import training_command

    with training_command():
        run_dir = train(config, out=out, overwrite=overwrite, command=list(sys.argv))
    typer.echo(f"student run: {run_dir}")
    typer.echo(f"weights: {run_dir / WEIGHTS_FILE}")
