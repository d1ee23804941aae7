"""``antispoof predict``: decisions for images, videos and folders with a model bundle."""

from __future__ import annotations

import os
from pathlib import Path

import typer

DEFAULT_MODEL = Path("runs/quickstart/bundle")


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders become their image and video files (recursively, sorted)."""
    from antispoof.data.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

    known = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in known))
        else:
            out.append(path)  # a missing or unreadable file still gets a result with its reason
    return out


def predict_command(
    paths: list[Path] = typer.Argument(..., help="Images, videos and folders of them."),
    model: Path = typer.Option(None, "--model", help="Model bundle folder (default $ANTISPOOF_MODEL, else runs/quickstart/bundle)."),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per input on stdout (with per-frame scores and boxes)."),
    save_crops: Path = typer.Option(None, "--save-crops", help="Write every scored face crop (PNG) into this folder."),
    backend: str = typer.Option("auto", "--backend", help="auto (ONNX when the bundle has it), onnx, torch or torchscript (traced; fastest for MiniFASNet)."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, int8 (onnx; needs `antispoof export --quantize int8`) or bf16 (torchscript)."),
    detector: str = typer.Option(None, "--detector", help="Face detector instead of the bundle's (blazeface, mtcnn, hog)."),
    frames: int = typer.Option(None, "--frames", help="Score N evenly spaced frames of each video instead of the bundle's sampling."),
    save_explanations: Path = typer.Option(None, "--save-explanations", help="Write each dense cue map as a heat-map overlay PNG on its crop into this folder (models with cue maps)."),
) -> None:
    """Score each input: decision (bonafide | attack | failed_to_acquire), score, threshold and reasons; goes on after bad files."""
    import json

    from antispoof.data.sampling import FrameSampler
    from antispoof.inference.predictor import Predictor

    bundle = model or Path(os.environ.get("ANTISPOOF_MODEL", DEFAULT_MODEL))
    sampling = FrameSampler("evenly", frames) if frames else None
    predictor = Predictor(bundle, backend=backend, precision=precision, detector=detector, sampling=sampling,
                          keep_crops=save_crops is not None or save_explanations is not None,
                          keep_maps=save_explanations is not None)
    if save_explanations is not None and not predictor.map_names:
        typer.echo(f"note: {bundle} gives no dense cue maps (its explanation is {', '.join(predictor.cue_names) or 'the score'}); "
                   "--save-explanations writes nothing", err=True)
    for folder in (save_crops, save_explanations):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(expand_paths(paths)):
        result = predictor.predict_path(path)
        if save_crops is not None:
            _save_crops(result, save_crops, number, path)
        if save_explanations is not None:
            _save_explanations(result, save_explanations, number, path)
        if json_lines:
            typer.echo(json.dumps(result.to_dict()))
            continue
        score = "n/a" if result.score is None else f"{result.score:.4f}"
        reasons = f" [{', '.join(result.reasons)}]" if result.reasons else ""
        scored = sum(f.score is not None for f in result.frames)
        typer.echo(f"{path}: {result.decision} score={score} threshold={result.threshold:.4f} ({result.threshold_rule}) "
                   f"frames={scored}/{len(result.frames)}{reasons}")


def _stem(number: int, path: Path) -> str:
    return f"{number:04d}_" + "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[-40:]


def _save_crops(result: object, folder: Path, number: int, path: Path) -> None:
    from antispoof.data.prepare import encode_image

    for frame in result.frames:  # type: ignore[attr-defined]
        if frame.crop is not None:
            name = f"{_stem(number, path)}_{max(frame.index, 0):06d}.png"
            (folder / name).write_bytes(encode_image(frame.crop, "png"))


def _save_explanations(result: object, folder: Path, number: int, path: Path) -> None:
    from antispoof.data.prepare import encode_image
    from antispoof.inference.overlay import heatmap_overlay

    for frame in result.frames:  # type: ignore[attr-defined]
        if frame.crop is None:
            continue
        for cue, cue_map in frame.maps.items():
            name = f"{_stem(number, path)}_{max(frame.index, 0):06d}_{cue}.png"
            (folder / name).write_bytes(encode_image(heatmap_overlay(frame.crop, cue_map), "png"))
