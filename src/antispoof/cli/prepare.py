"""``antispoof prepare``: build a frame store (face crops + Parquet index) from a dataset."""

from __future__ import annotations

from pathlib import Path

import typer


#: What to do about each reason a frame fails (antispoof.data.acquisition.FAILURES).
_FAILURE_HINTS = {
    "face_too_small": "faces under --min-face pixels; lower it for small frames (e.g. --min-face 16)",
    "no_face": "the face source found no face; try another --detector (mtcnn, retinaface), or check the frames",
    "unreadable_file": "the file could not be decoded; it is listed below",
    "unreadable_frame": "a frame of the video could not be decoded; re-encode the video or sample other frames",
    "unreadable_ir": "the IR image could not be read", "unreadable_depth": "the depth image could not be read",
    "misaligned_ir": "the IR image is not the RGB frame's size; the modalities must be registered to one another",
    "misaligned_depth": "the depth image is not the RGB frame's size; the modalities must be registered to one another",
}


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare_command)


def prepare_command(
    dataset: str = typer.Option(..., "--dataset", help="Registered dataset name (`antispoof list datasets`)."),
    root: Path = typer.Option(..., "--root", help="Folder holding the dataset in its original layout (or a manifest CSV)."),
    out: Path = typer.Option(..., "--out", help="Frame store folder to create or resume."),
    protocol: str = typer.Option(None, "--protocol", help="Official protocol (default: the dataset's own default)."),
    detector: str = typer.Option(None, "--detector", help="Face source (`antispoof list detectors`); default: the dataset's own "
                                                          "(crops, boxes or eye positions) where it ships them, else blazeface."),
    every: int = typer.Option(None, "--every", help="Take every Nth frame of each video (default: the dataset's own, else 10)."),
    frames: int = typer.Option(None, "--frames", help="Take N evenly spaced frames of each video."),
    first: int = typer.Option(None, "--first", help="Take the first N frames of each video."),
    clip_len: int = typer.Option(None, "--clip-len", help="Take clips of T frames (with --clip-stride, --clips)."),
    clip_stride: int = typer.Option(1, "--clip-stride", help="Frame step inside a clip."),
    clips: int = typer.Option(1, "--clips", help="Clips per video."),
    seed: int = typer.Option(None, "--seed", help="Seed for random clip placement (evenly spread without it)."),
    size: int = typer.Option(256, "--size", help="Crop side in pixels."),
    scale: float = typer.Option(None, "--scale", help="Crop side / face box side, 1.0 to 4.0 (default 1.5; 1.0 for shipped crops)."),
    align: bool = typer.Option(False, "--align/--no-align", help="Level the eyes (detectors with landmarks)."),
    geometry: str = typer.Option(None, "--geometry", help="Crop geometry: square (default), box_in_image (Silent-Face's), "
                                                          "resize (the box itself; the default for shipped crops)."),
    native: bool = typer.Option(False, "--native", help="Keep each face at the frame's resolution (no resizing; --size is "
                                                       "then the least side): LGSC's patches (seed 004 Sec. 4.4)."),
    views: str = typer.Option(None, "--views", help="Several crops of each face at these scales, e.g. 2.7,4.0 (a model "
                                                    "reading views, as the Silent-Face import)."),
    min_face: float = typer.Option(None, "--min-face", help="Faces whose shorter side is under this many pixels fail as "
                                                            "face_too_small (default 32; 0 for shipped crops)."),
    image_format: str = typer.Option("jpg", "--format", help="Crop file format: jpg (default) or png."),
    workers: int = typer.Option(1, "--workers", help="Parallel worker processes."),
) -> None:
    """Sample frames, detect and crop faces, and write a resumable frame store with one Parquet index."""
    from antispoof._registry import DATASETS, load_all
    from antispoof.data.prepare import prepare_store
    from antispoof.data.sampling import FrameSampler

    load_all("datasets")
    if geometry not in (None, "square", "box_in_image", "resize"):
        raise typer.BadParameter(f"unknown crop geometry {geometry!r}; choose square, box_in_image or resize", param_hint="--geometry")
    try:
        scales = tuple(float(v) for v in views.split(",")) if views else ()
    except ValueError:
        raise typer.BadParameter(f"{views!r} is not a list of crop scales; give numbers with commas, e.g. 2.7,4.0",
                                 param_hint="--views") from None
    if not root.exists():
        raise FileNotFoundError(f"dataset root {root} does not exist; give the folder holding the dataset")
    adapter = DATASETS.create(dataset, root=root)
    asked = any((every, frames, first, clip_len))
    sampler = FrameSampler.from_options(
        every=every, frames=frames, first=first, clip_len=clip_len, clip_stride=clip_stride, num_clips=clips, seed=seed
    ) if asked else None
    report = prepare_store(
        adapter,
        out,
        dataset=dataset,
        protocol=protocol,
        detector=detector,
        sampler=sampler,
        size=size,
        scale=scale,
        align=align,
        geometry=geometry,
        views=scales,
        native=native,
        min_face=min_face,
        image_format=image_format,
        workers=workers,
    )
    typer.echo(
        f"{out}: {report.frames} frames from {report.units_done} sources "
        f"({report.units_skipped} already done), {report.failed_frames} failed, "
        f"{report.frames_per_second:.1f} frames/s"
    )
    if report.failures:
        typer.echo("failed frames by reason (the index's failure column), with one example and what changes it:", err=True)
        for reason, n in report.failures.items():
            example = report.examples.get(reason, "")
            typer.echo(f"  {reason} {n} (e.g. {example}): {_FAILURE_HINTS.get(reason, 'see the failure column')}", err=True)
    if report.unreadable:
        typer.echo(f"{len(report.unreadable)} unreadable files (recorded in the index, failure=unreadable_file):", err=True)
        for line in report.unreadable:
            typer.echo(f"  {line}", err=True)
    if report.errors:
        typer.echo(f"{len(report.errors)} sources failed with unexpected errors (re-run to retry them):", err=True)
        for line in report.errors:
            typer.echo(f"  {line}", err=True)
