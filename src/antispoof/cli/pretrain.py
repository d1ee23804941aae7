"""``antispoof pretrain ssl|face-id``: pretrain a backbone for the methods (without labels, or on face identities)."""

from __future__ import annotations

from pathlib import Path

import typer

pretrain_app = typer.Typer(help="Pretrain a backbone for the methods (without labels, or on face identities).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(pretrain_app, name="pretrain")


@pretrain_app.command("ssl")
def ssl_command(
    args: list[str] = typer.Argument(
        None, metavar="[CONFIG] [KEY=VALUE]...",
        help="A config (default: the packaged `ssl`) and dotted overrides (train.max_epochs=5 model.backbone=resnet18)."),
    store: Path = typer.Option(None, "--store", help="Frame store whose face crops to learn from (labels ignored)."),
    folder: Path = typer.Option(None, "--folder", help="Folder of face-crop images to learn from instead of a store."),
    out: Path = typer.Option(None, "--out", help="Run folder to create (default: runs/<date-time>)."),
    resume: Path = typer.Option(None, "--resume", help="Continue this killed pretraining run from its last checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
) -> None:
    """Self-supervised pretraining (MoCo v2); writes RUN/backbone.safetensors for model.weights= and its card."""
    if resume is None and (store is None) == (folder is None) and not any(
            o.startswith(("data.store=", "ssl.folder=")) for o in args or ()):
        raise ValueError("give exactly one of --store STORE (a prepared frame store) or --folder DIR (face-crop images)")
    if resume is not None and (args or store or folder):
        raise ValueError("--resume continues a run with its saved config; give no CONFIG, overrides, --store or --folder")
    data = [f"data.store={store.resolve()}"] if store else [f"ssl.folder={folder.resolve()}"] if folder else []
    run_dir = _pretrain("ssl", args, data, out, resume, overwrite)
    from antispoof.methods._pretraining import BACKBONE_FILE

    typer.echo(f"backbone weights: {run_dir / BACKBONE_FILE} (model.weights={run_dir / BACKBONE_FILE})")


@pretrain_app.command("face-id")
def face_id_command(
    args: list[str] = typer.Argument(
        None, metavar="[CONFIG] [KEY=VALUE]...",
        help="A config (default: the packaged `face_id`) and dotted overrides (model.width=0.25 face_id.head=arcface)."),
    store: Path = typer.Option(None, "--store", help="Frame store whose subjects are the identities to learn."),
    out: Path = typer.Option(None, "--out", help="Run folder to create (default: runs/<date-time>)."),
    resume: Path = typer.Option(None, "--resume", help="Continue this killed pretraining run from its last checkpoint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
) -> None:
    """Face-identity pretraining of the face ResNet (seed 001); writes RUN/backbone.safetensors for multimodal's model.weights=."""
    if resume is None and store is None and not any(o.startswith("data.store=") for o in args or ()):
        raise ValueError("give --store STORE: a prepared frame store whose `subject` column names the identities")
    if resume is not None and (args or store):
        raise ValueError("--resume continues a run with its saved config; give no CONFIG, overrides or --store")
    run_dir = _pretrain("face_id", args, [f"data.store={store.resolve()}"] if store else [], out, resume, overwrite)
    from antispoof.methods._pretraining import BACKBONE_FILE

    typer.echo(f"backbone weights: {run_dir / BACKBONE_FILE} (multimodal model.weights={run_dir / BACKBONE_FILE})")


def _pretrain(method: str, args: list[str] | None, data: list[str], out: Path | None, resume: Path | None,
              overwrite: bool) -> Path:
    """Resume a killed pretraining run, or train ``method``'s config (default: its packaged one) with ``data`` and the overrides."""
    import sys

    from antispoof.config import split_config_args
    from antispoof.methods import load_method_config
    from antispoof.training.runner import resume as resume_run
    from antispoof.training.runner import train

    from antispoof.cli.train import training_command

    if resume is not None:
        with training_command():
            run_dir = resume_run(resume)
    else:
        path, overrides = split_config_args(args or ())
        config = load_method_config(path or method, [*data, *overrides])
        if config.model.method != method:
            raise ValueError(f"{path} is a config of method {config.model.method!r}; this command takes a {method} config")
        with training_command():
            run_dir = train(config, out=out, overwrite=overwrite, command=list(sys.argv))
    typer.echo(f"run: {run_dir}")
    return run_dir
