"""``antispoof import``: bring published weights into a model bundle (``antispoof import silentface``)."""

from __future__ import annotations

from pathlib import Path

import typer

import_app = typer.Typer(help="Import published weights into a model bundle.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


@import_app.command("silentface")
def silentface_command(
    weights: Path = typer.Option(..., "--weights", help="Folder with the Silent-Face .pth files (the source repository's resources/anti_spoof_models/)."),
    out: Path = typer.Option(..., "--out", help="Bundle folder to write."),
    detector: str = typer.Option(None, "--detector", help="Face detector of the bundle: default retinaface_caffe (the source's own, when its two files are in --weights), else blazeface; or mtcnn, hog."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing bundle at --out."),
) -> None:
    """The Silent-Face MiniFASNets (minivision, Apache-2.0) as one bundle: both members, their crops, the source's fusion and threshold."""
    from antispoof.inference.silentface import import_silentface

    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"--out {out} exists and is not empty; choose another --out, or pass --overwrite to replace it")
    bundle = import_silentface(weights, out, detector=detector, overwrite=overwrite)
    card = bundle.card
    for record in card.source["files"]:
        typer.echo(f"{record['file']}: {record['variant']}, crop scale {record['crop_scale']:g}, {record['input']}; "
                   f"{record['tensors']} tensors mapped, {len(record['missing'])} missing, {len(record['unexpected'])} unexpected; "
                   f"sha256 {record['sha256']}")
    typer.echo(f"bundle: {bundle.path} (threshold {card.threshold.value:g}, the source's default rule; detector {card.detector.name})")
    typer.echo(f"next: antispoof predict photo.jpg --model {bundle.path}")
