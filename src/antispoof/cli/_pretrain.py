"""``antispoof pretrain ssl``: pretrain a backbone without labels on face crops (a frame store or a folder)."""

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
    import sys

    from antispoof.config import split_config_args
    from antispoof.methods import load_method_config
    from antispoof.methods.ssl import BACKBONE_FILE
    from antispoof.training.runner import resume as resume_run
    from antispoof.training.runner import train

    if resume is not None:
        if args or store or folder:
            raise ValueError("--resume continues a run with its saved config; give no CONFIG, overrides, --store or --folder")
        run_dir = resume_run(resume)
    else:
        path, overrides = split_config_args(args or ())
        if (store is None) == (folder is None) and not any(o.startswith(("data.store=", "ssl.folder=")) for o in overrides):
            raise ValueError("give exactly one of --store STORE (a prepared frame store) or --folder DIR (face-crop images)")
        data = [f"data.store={store.resolve()}"] if store else [f"ssl.folder={folder.resolve()}"] if folder else []
        config = load_method_config(path or "ssl", [*data, *overrides])
        if config.model.method != "ssl":
            raise ValueError(f"{path} is a config of method {config.model.method!r}; pretrain ssl takes an ssl config")
        run_dir = train(config, out=out, overwrite=overwrite, command=list(sys.argv))
    typer.echo(f"run: {run_dir}")
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
    import sys

    from antispoof.config import split_config_args
    from antispoof.methods import load_method_config
    from antispoof.methods.face_id import BACKBONE_FILE
    from antispoof.training.runner import resume as resume_run
    from antispoof.training.runner import train

    if resume is not None:
        if args or store:
            raise ValueError("--resume continues a run with its saved config; give no CONFIG, overrides or --store")
        run_dir = resume_run(resume)
    else:
        path, overrides = split_config_args(args or ())
        if store is None and not any(o.startswith("data.store=") for o in overrides):
            raise ValueError("give --store STORE: a prepared frame store whose `subject` column names the identities")
        data = [f"data.store={store.resolve()}"] if store else []
        config = load_method_config(path or "face_id", [*data, *overrides])
        if config.model.method != "face_id":
            raise ValueError(f"{path} is a config of method {config.model.method!r}; pretrain face-id takes a face_id config")
        run_dir = train(config, out=out, overwrite=overwrite, command=list(sys.argv))
    typer.echo(f"run: {run_dir}")
    typer.echo(f"backbone weights: {run_dir / BACKBONE_FILE} (multimodal model.weights={run_dir / BACKBONE_FILE})")
