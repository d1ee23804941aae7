"""``antispoof predict``: decisions for images, videos and folders with a model bundle."""

from __future__ import annotations

import os
from pathlib import Path

import typer

DEFAULT_MODEL = Path("runs/quickstart/bundle")
MODEL_ENV = "ANTISPOOF_MODEL"
_MAKE_ONE = ("a bundle folder is made by `antispoof calibrate RUN`, `antispoof import silentface` or `antispoof ensemble`; "
             "`antispoof quickstart` makes runs/quickstart/bundle")


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; folders become their image and video files (recursively, sorted).

    A folder with no image or video file is refused (ValueError): it is a mistake, not an empty answer.
    """
    from antispoof.data.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

    known = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in known)
            if not found:
                raise ValueError(f"folder {path} holds no image or video file (looked for {', '.join(sorted(known))}, "
                                 "in subfolders too); give files or a folder of them")
            out.extend(found)
        else:
            out.append(path)  # a missing or unreadable file still gets a result with its reason
    return out


def resolve_model(model: Path | None) -> Path:
    """The bundle folder to load: ``--model``, else $ANTISPOOF_MODEL, else runs/quickstart/bundle.

    A run folder whose ``bundle/`` exists stands for that bundle (as ``export`` takes the run folder).
    Anything else missing is refused naming ``--model`` and how to make a bundle.
    """
    from antispoof.inference.card import CARD_FILE

    if model is not None:
        given, origin = model, f"--model {model}"
    elif os.environ.get(MODEL_ENV):
        given = Path(os.environ[MODEL_ENV])
        origin = f"${MODEL_ENV} ({given})"
    else:
        given, origin = DEFAULT_MODEL, f"no --model given, and the default {DEFAULT_MODEL}"
    if (given / CARD_FILE).is_file():
        return given
    if (given / "bundle" / CARD_FILE).is_file():
        return given / "bundle"
    if not given.exists():
        raise FileNotFoundError(f"{origin} does not exist; give --model BUNDLE ({_MAKE_ONE})")
    if not given.is_dir():
        raise ValueError(f"{origin} is a file, not a model bundle folder; give --model BUNDLE ({_MAKE_ONE})")
    if (given / "run.json").is_file() or (given / "config.yaml").is_file():
        raise ValueError(f"{origin} is a run folder without a bundle; make one with `antispoof calibrate {given}` "
                         f"(it writes {given / 'bundle'}), then give --model {given}")
    raise ValueError(f"{origin} holds no {CARD_FILE}, so it is not a model bundle; give --model BUNDLE ({_MAKE_ONE})")


def predict_command(
    paths: list[Path] = typer.Argument(..., help="Images, videos and folders of them."),
    model: Path = typer.Option(None, "--model", help="Model bundle folder (default $ANTISPOOF_MODEL, else runs/quickstart/bundle)."),
    json_lines: bool = typer.Option(False, "--json", help="One JSON object per input on stdout (with per-frame scores and boxes)."),
    save_crops: Path = typer.Option(None, "--save-crops", help="Write every scored face crop (PNG) into this folder."),
    backend: str = typer.Option("auto", "--backend", help="auto (ONNX when the bundle has it), onnx, openvino (optional runtime: pip install openvino; fastest for MiniFASNet), torch or torchscript (traced)."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, int8 (onnx; needs `antispoof export --quantize int8`) or bf16 (torchscript)."),
    detector: str = typer.Option(None, "--detector", help="Face detector instead of the bundle's (blazeface, mtcnn, hog)."),
    frames: int = typer.Option(None, "--frames", help="Score N evenly spaced frames of each video instead of the bundle's sampling."),
    save_explanations: Path = typer.Option(None, "--save-explanations", help="Write each dense cue map as a heat-map overlay PNG on its crop into this folder (models with cue maps)."),
) -> None:
    """Score each input: decision (bonafide | attack | failed_to_acquire), score, threshold and reasons; goes on after bad files.

    Exit status: 0 when at least one input was scored and none is missing; 2 when an input is missing (the others
    are still scored); 1 when no input got a score (no face anywhere, or only unreadable files).
    """
    import json

    from antispoof.data.sampling import FrameSampler
    from antispoof.inference.predictor import Predictor

    bundle = resolve_model(model)
    inputs = expand_paths(paths)
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
    missing, unreadable, n_scored, noted_still = [], [], 0, False
    for number, path in enumerate(inputs):
        result = predictor.predict_path(path)
        n_scored += result.score is not None
        if not path.is_file():
            missing.append(path)
        elif "unreadable_file" in result.reasons:
            unreadable.append(path)
        if result.kind == "image" and predictor.spec.clip_len > 1 and not noted_still:
            noted_still = True
            typer.echo(f"note: this model reads clips of {predictor.spec.clip_len} frames; a still image is scored as "
                       f"{predictor.spec.clip_len} copies of itself (no motion), so its score means less than a video's", err=True)
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
    _finish(len(inputs), missing, unreadable, n_scored)


def _shown(paths: list[Path]) -> str:
    return ", ".join(map(str, paths[:3])) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _finish(n_inputs: int, missing: list[Path], unreadable: list[Path], n_scored: int) -> None:
    """Say what failed on stderr and exit non-zero when a file was missing or nothing was scored."""
    if missing:
        typer.echo(f"error: {len(missing)} of {n_inputs} inputs not found: {_shown(missing)}; check the paths", err=True)
    if unreadable:  # they have their result (failed_to_acquire, unreadable_file); the exit status counts them as not scored
        typer.echo(f"note: {len(unreadable)} of {n_inputs} inputs are not readable images or videos: {_shown(unreadable)}", err=True)
    if missing:
        raise typer.Exit(2)
    if n_scored == 0:
        typer.echo(f"error: none of the {n_inputs} inputs was scored (see the reasons above: no face found, or a face too "
                   "small or too poor for the quality gate); give photos where one face fills a good part of the frame", err=True)
        raise typer.Exit(1)


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
