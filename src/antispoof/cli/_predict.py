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
    backend: str = typer.Option("auto", "--backend", help="auto (ONNX when the bundle has it), onnx or torch."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, or int8 (needs `antispoof export --quantize int8`)."),
    detector: str = typer.Option(None, "--detector", help="Face detector instead of the bundle's (blazeface, mtcnn, hog)."),
    frames: int = typer.Option(None, "--frames", help="Score N evenly spaced frames of each video instead of the bundle's sampling."),
) -> None:
    """Score each input: decision (bonafide | attack | failed_to_acquire), score, threshold and reasons; goes on after bad files."""
    import json

    from antispoof.data.sampling import FrameSampler
    from antispoof.inference.predictor import Predictor

    bundle = model or Path(os.environ.get("ANTISPOOF_MODEL", DEFAULT_MODEL))
    sampling = FrameSampler("evenly", frames) if frames else None
    predictor = Predictor(bundle, backend=backend, precision=precision, detector=detector, sampling=sampling,
                          keep_crops=save_crops is not None)
    if save_crops is not None:
        save_crops.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(expand_paths(paths)):
        result = predictor.predict_path(path)
        if save_crops is not None:
            _save_crops(result, save_crops, number, path)
        if json_lines:
            typer.echo(json.dumps(result.to_dict()))
            continue
        score = "n/a" if result.score is None else f"{result.score:.4f}"
        reasons = f" [{', '.join(result.reasons)}]" if result.reasons else ""
        scored = sum(f.score is not None for f in result.frames)
        typer.echo(f"{path}: {result.decision} score={score} threshold={result.threshold:.4f} ({result.threshold_rule}) "
                   f"frames={scored}/{len(result.frames)}{reasons}")


def _save_crops(result: object, folder: Path, number: int, path: Path) -> None:
    from antispoof.data._prepare import encode_image

    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[-40:]
    for frame in result.frames:  # type: ignore[attr-defined]
        if frame.crop is not None:
            name = f"{number:04d}_{stem}_{max(frame.index, 0):06d}.png"
            (folder / name).write_bytes(encode_image(frame.crop, "png"))
