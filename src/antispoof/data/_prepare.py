"""Building a frame store: sample frames, detect faces, crop, write crops and one Parquet index.

A store is a folder::

    STORE/settings.json     the exact settings that produced it (a re-run must match)
    STORE/index.parquet     one row per sampled frame (see INDEX_COLUMNS), failures included
    STORE/crops/<key>/...   the face crops (RGB JPEG or PNG; IR/Depth as gray PNG)
    STORE/parts/<key>.parquet   the rows of one source, written when that source is done

Work is cut into units, one per source file (or per video of frame images). A unit's
crops are written first, then its part file under a temporary name, renamed into place;
settings and index are written the same way. A crop belongs to the store only once its
unit's part file exists, so an interrupted run leaves nothing that the store refers to
half-written, and a re-run skips every unit whose part exists (and redoes the others). The index is rebuilt from the parts at the end of each run.

Crop format, measured by ``benchmarks/bench_prepare.py`` on 256x256 face crops from a
640x480 H.264 video: JPEG quality 95 with 4:4:4 chroma encodes in 0.9 ms to 40 KiB at
41.2 dB PSNR; PNG (compression level 1) in 5.1 ms to 111 KiB, lossless. JPEG is the
default (``image_format="jpg"``): 5x cheaper to write and 2.8x smaller to read back
each epoch. PNG stays available
for lossless stores (``image_format="png"``); IR and Depth are always PNG.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.data.base import ATTRIBUTES, BOX_COLUMNS, BONAFIDE, DatasetAdapter
from antispoof.data.sampling import FrameSampler
from antispoof.data.video import MediaError, VideoReader, is_video_path, read_gray, read_image

__all__ = [
    "INDEX_COLUMNS",
    "STORE_FORMAT",
    "FAILURES",
    "PrepareReport",
    "prepare_store",
    "store_settings",
    "check_settings",
    "encode_image",
    "media_root",
]

logger = logging.getLogger(__name__)

STORE_FORMAT = 1
SETTINGS_FILE = "settings.json"
INDEX_FILE = "index.parquet"

#: Failure reasons recorded per frame ('' when the crop is usable).
FAILURES = ("no_face", "face_too_small", "unreadable_frame", "unreadable_file", "unreadable_ir", "unreadable_depth")

INDEX_COLUMNS = (
    "source",  # file path relative to the dataset root
    "frame",  # frame index in the video; -1 for a still image
    "crop",  # crop path relative to the store ('' when failed)
    "ir_crop",  # IR crop path ('' when none)
    "depth_crop",  # Depth crop path ('' when none)
    *BOX_COLUMNS,  # face box in source pixels (NaN when failed)
    "confidence",  # detector confidence of the chosen face (NaN when none)
    "faces",  # number of faces found
    "failure",  # '' or one of FAILURES, with detail after ': '
    "label",
    "pai",
    "subject",
    "session",
    "video",
    "split",
    "domain",
    *ATTRIBUTES,
)


@dataclass
class PrepareReport:
    """What one ``prepare`` run did."""

    units_done: int = 0
    units_skipped: int = 0
    frames: int = 0
    failed_frames: int = 0
    seconds: float = 0.0
    unreadable: list[str] = field(default_factory=list)  # "cannot read PATH: reason", recorded in the index
    errors: list[str] = field(default_factory=list)  # unexpected errors; those sources are left undone

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def store_settings(
    adapter: DatasetAdapter,
    *,
    dataset: str,
    protocol: str | None,
    detector_info: dict[str, Any],
    sampler: FrameSampler,
    size: int,
    scale: float,
    align: bool,
    min_face: float,
    image_format: str,
    quality: int,
) -> dict[str, Any]:
    """The settings a store records; two runs into one store must produce equal dicts."""
    return {
        "store_format": STORE_FORMAT,
        "dataset": dataset,
        "root": str(Path(adapter.root).resolve()),
        "protocol": protocol,
        "detector": detector_info,
        "sampling": sampler.to_dict(),
        "size": int(size),
        "scale": float(scale),
        "align": bool(align),
        "min_face": float(min_face),
        "image_format": image_format,
        "quality": int(quality),
        "colour": "RGB",
    }


def check_settings(store: Path, settings: dict[str, Any]) -> None:
    """Write ``settings.json`` into a new store, or refuse when an existing store was made differently."""
    path = store / SETTINGS_FILE
    settings = json.loads(json.dumps(settings))  # compare as stored (tuples become lists)
    if path.is_file():
        recorded = json.loads(path.read_text())
        if recorded != settings:
            diffs = [
                f"{key}: store has {recorded.get(key)!r}, asked {settings.get(key)!r}"
                for key in sorted(set(recorded) | set(settings))
                if recorded.get(key) != settings.get(key)
            ]
            raise ValueError(
                f"frame store {store} was prepared with different settings ({'; '.join(diffs)}); "
                "use another --out folder, or delete this store to rebuild it"
            )
        return
    store.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(settings, indent=2, sort_keys=True).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def encode_image(image: np.ndarray, image_format: str, quality: int = 95) -> bytes:
    """Encode an RGB (or gray) uint8 image as JPEG (4:4:4) or PNG bytes."""
    import cv2

    array = image[:, :, ::-1] if image.ndim == 3 else image
    if image_format == "jpg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        ok, buf = cv2.imencode(".jpg", array, params)
    elif image_format == "png":
        ok, buf = cv2.imencode(".png", array, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    else:
        raise ValueError(f"unknown crop format {image_format!r}; choose jpg or png")
    if not ok:
        raise ValueError(f"could not encode an image of shape {image.shape} as {image_format}")
    return buf.tobytes()


# -- units of work -------------------------------------------------------------------------


@dataclass
class _Unit:
    key: str
    kind: str  # "video" (one file, frames by policy or listed), "images" (still images)
    rows: list[dict[str, Any]]


def _units(samples: Any, sampler: FrameSampler) -> list[_Unit]:
    """One unit per video file; one per video of frame images (the policy picks among them); one per still."""
    records = samples.to_dict("records")
    units: dict[str, _Unit] = {}
    sequences: dict[str, list[dict[str, Any]]] = {}
    for row in records:
        path, frame = str(row["path"]), int(row.get("frame", -1))
        if is_video_path(path):
            key = _key("video", path)
            units.setdefault(key, _Unit(key, "video", [])).rows.append(row)
        elif frame >= 0:
            sequences.setdefault(str(row.get("video", path)), []).append(row)
        else:
            key = _key("image", path)
            units[key] = _Unit(key, "images", [row])
    for video, rows in sequences.items():
        rows = sorted(rows, key=lambda r: int(r["frame"]))
        chosen = [rows[i] for i in sampler.indices(len(rows))]
        key = _key("frames", video)
        units[key] = _Unit(key, "images", chosen)
    return list(units.values())


def _key(kind: str, name: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(name).stem)[-40:]
    return f"{stem}-{hashlib.sha1(f'{kind}:{name}'.encode()).hexdigest()[:10]}"


# -- the worker ------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(adapter: DatasetAdapter, settings: dict[str, Any], detector_name: str, detector_kwargs: dict[str, Any], store: str) -> None:
    import cv2

    import antispoof.faces  # noqa: F401  (registers detectors)
    from antispoof._registry import DETECTORS

    cv2.setNumThreads(1)
    _WORKER.update(
        adapter=adapter,
        settings=settings,
        detector=DETECTORS.create(detector_name, **detector_kwargs),
        store=Path(store),
    )


def _process(unit: _Unit) -> tuple[str, int, int, list[str]]:
    """Crop every frame of one unit, write its crops and part file; return (key, frames, failed, errors).

    Unreadable files and frames are recorded in the part as failures. Any other error
    (a bug, a full disk) leaves the unit without a part, so the next run retries it, and
    is returned as an error line for the end-of-run report instead of stopping the run.
    """
    import pandas as pd

    store: Path = _WORKER["store"]
    try:
        rows_out = [
            _crop_row(unit, row, frame, image, failure, store)
            for row, frame, image, failure in _frames(unit, _WORKER["settings"]["sampling"])
        ]
        table = pd.DataFrame(rows_out, columns=list(INDEX_COLUMNS))
        part = store / "parts" / f"{unit.key}.parquet"
        part.parent.mkdir(parents=True, exist_ok=True)
        tmp = part.with_name(f".{part.name}.{os.getpid()}.tmp")
        table.to_parquet(tmp, index=False)
        os.replace(tmp, part)
    except Exception as err:  # noqa: BLE001 - reported at the end, the unit is retried next run
        logger.exception("%s: unexpected error; this source is left undone", unit.rows[0]["path"])
        return unit.key, 0, 0, [f"{unit.rows[0]['path']}: {type(err).__name__}: {err} (not recorded; re-run to retry)"]
    failed = int((table["failure"] != "").sum())
    return unit.key, len(table), failed, []


def _frames(unit: _Unit, sampling: dict[str, Any]) -> Iterator[tuple[dict[str, Any], int, np.ndarray | None, str]]:
    """Yield (row, frame index, RGB image or None, failure) for every frame the unit asks for."""
    root = media_root(_WORKER["adapter"])
    if unit.kind == "images":
        for row in unit.rows:
            try:
                yield row, int(row.get("frame", -1)), read_image(root / row["path"]), ""
            except MediaError as err:
                yield row, int(row.get("frame", -1)), None, f"unreadable_file: {err}"
        return
    row = unit.rows[0]
    listed = sorted({int(r["frame"]) for r in unit.rows if int(r.get("frame", -1)) >= 0})
    by_frame = {int(r.get("frame", -1)): r for r in unit.rows}
    try:
        with VideoReader(root / row["path"]) as video:
            wanted = listed or FrameSampler.from_dict(sampling).indices(video.num_frames)
            done: set[int] = set()
            try:
                for index, image in video.frames(wanted):
                    done.add(index)
                    yield by_frame.get(index, row), index, image, ""
            except MediaError as err:
                for index in wanted:
                    if index not in done:
                        yield by_frame.get(index, row), index, None, f"unreadable_frame: {err.reason}"
                return
            for index in wanted:
                if index not in done:
                    yield by_frame.get(index, row), index, None, "unreadable_frame: past the end of the video"
    except MediaError as err:
        yield row, -1, None, f"unreadable_file: {err}"


def _annotation(row: dict[str, Any], frame: int) -> dict[str, Any] | None:
    box = [row.get(c) for c in BOX_COLUMNS]
    if all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in box):
        return {"box": tuple(float(v) for v in box)}
    annotations = _WORKER["adapter"].face_annotations(str(row["path"]))
    if not annotations:
        return None
    return annotations.get(frame, annotations.get(-1) if frame < 0 else None)


def _crop_row(unit: _Unit, row: dict[str, Any], frame: int, image: np.ndarray | None, failure: str, store: Path) -> dict[str, Any]:
    from antispoof.faces.base import select_face
    from antispoof.faces.crop import crop_face

    settings = _WORKER["settings"]
    detector = _WORKER["detector"]
    out: dict[str, Any] = {
        "source": str(row["path"]),
        "frame": int(frame),
        "crop": "",
        "ir_crop": "",
        "depth_crop": "",
        **{c: math.nan for c in BOX_COLUMNS},
        "confidence": math.nan,
        "faces": 0,
        "failure": failure,
        **{c: str(row.get(c, "")) for c in ("label", "pai", "subject", "session", "video", "split", "domain")},
        **{a: _float(row.get(a)) for a in ATTRIBUTES},
    }
    if image is None:
        return out
    annotation = _annotation(row, frame) if detector.needs_annotation else None
    face, count, reason = select_face(detector.detect(image, annotation), settings["min_face"])
    out["faces"] = count
    if face is not None:
        out.update(dict(zip(BOX_COLUMNS, face.box)), confidence=face.score)
    if reason:
        out["failure"] = reason
        return out
    align = settings["align"] and face.eyes is not None
    kwargs = {"size": settings["size"], "scale": settings["scale"], "eyes": face.eyes, "align": align}
    name = f"{frame:06d}" if unit.kind == "video" else f"{unit.rows.index(row):05d}"
    folder = Path("crops") / unit.key
    rgb = crop_face(image, face.box, **kwargs)
    ext = settings["image_format"]
    (store / folder).mkdir(parents=True, exist_ok=True)
    # Crops are written in place: only the unit's part file (renamed into place after all
    # of its crops) makes them part of the store, so a crash mid-write leaves a file that
    # no index row names and the re-run overwrites.
    (store / folder / f"{name}.{ext}").write_bytes(encode_image(rgb, ext, settings["quality"]))
    out["crop"] = (folder / f"{name}.{ext}").as_posix()
    for column, modality in (("ir_path", "ir"), ("depth_path", "depth")):
        other = row.get(column)
        if not isinstance(other, str) or not other:
            continue
        try:
            gray = read_gray(media_root(_WORKER["adapter"]) / other)
        except MediaError as err:
            out["failure"] = f"unreadable_{modality}: {err}"
            continue
        if gray.shape[:2] != image.shape[:2]:
            out["failure"] = f"unreadable_{modality}: size {gray.shape[:2]} differs from the RGB image {image.shape[:2]}"
            continue
        (store / folder / f"{name}_{modality}.png").write_bytes(encode_image(crop_face(gray, face.box, **kwargs), "png"))
        out[f"{modality}_crop"] = (folder / f"{name}_{modality}.png").as_posix()
    return out


def media_root(adapter: DatasetAdapter) -> Path:
    """The folder manifest paths are relative to: the adapter's root, or its folder when root is a file (a CSV)."""
    root = Path(adapter.root)
    return root.parent if root.is_file() else root


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# -- the driver -------------------------------------------------------------------------------


def prepare_store(
    adapter: DatasetAdapter,
    out: str | Path,
    *,
    dataset: str,
    protocol: str | None = None,
    detector: str = "blazeface",
    detector_kwargs: dict[str, Any] | None = None,
    sampler: FrameSampler | None = None,
    size: int = 256,
    scale: float = 1.5,
    align: bool = False,
    min_face: float = 32.0,
    image_format: str = "jpg",
    quality: int = 95,
    workers: int = 1,
    progress: bool = True,
) -> PrepareReport:
    """Build (or resume) the frame store ``out`` from ``adapter``'s samples of ``protocol``.

    Frames are chosen by ``sampler`` (default every 10th), faces found by the registered
    ``detector``, the largest face cropped by :func:`antispoof.faces.crop.crop_face` with
    ``size``/``scale``/``align``. Unreadable files and frames are recorded in the index with
    their reason and listed in the returned report; the run goes on with the rest.
    """
    import pandas as pd

    from antispoof._registry import DETECTORS
    from antispoof.faces.crop import square_region

    import antispoof.faces  # noqa: F401  (registers detectors)

    sampler = sampler or FrameSampler()
    square_region((0, 0, 1, 1), scale)  # validates the scale range
    if image_format not in ("jpg", "png"):
        raise ValueError(f"unknown crop format {image_format!r}; choose jpg or png")
    if size < 8:
        raise ValueError(f"crop size must be at least 8 pixels, got {size}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    store = Path(out)
    probe = DETECTORS.create(detector, **(detector_kwargs or {}))
    settings = store_settings(
        adapter,
        dataset=dataset,
        protocol=protocol,
        detector_info=probe.info(),
        sampler=sampler,
        size=size,
        scale=scale,
        align=align,
        min_face=min_face,
        image_format=image_format,
        quality=quality,
    )
    samples = adapter.samples(protocol)
    check_settings(store, settings)
    units = _units(samples, sampler)
    todo = [u for u in units if not (store / "parts" / f"{u.key}.parquet").is_file()]
    report = PrepareReport(units_skipped=len(units) - len(todo))
    if report.units_skipped:
        logger.info("%s: %d of %d sources already done; resuming", store, report.units_skipped, len(units))
    start = time.perf_counter()
    init_args = (adapter, settings, detector, detector_kwargs or {}, str(store))
    for key, frames, failed, errors in _run(todo, init_args, workers, progress):
        report.units_done += 1
        report.frames += frames
        report.failed_frames += failed
        report.errors.extend(errors)
    report.seconds = time.perf_counter() - start
    parts = [store / "parts" / f"{u.key}.parquet" for u in units]
    tables = [pd.read_parquet(p) for p in parts if p.is_file()]
    index = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=list(INDEX_COLUMNS))
    index = index.sort_values(["source", "frame"], kind="stable").reset_index(drop=True)
    tmp = store / f".{INDEX_FILE}.{os.getpid()}.tmp"
    index.to_parquet(tmp, index=False)
    os.replace(tmp, store / INDEX_FILE)
    # Report every unreadable file of the store, including those recorded by earlier runs.
    unreadable = index.loc[index["failure"].str.startswith("unreadable_file"), "failure"]
    report.unreadable = [text.split(": ", 1)[1] for text in unreadable]
    for line in report.unreadable:
        logger.warning("unreadable input: %s", line)
    for line in report.errors:
        logger.error("not prepared: %s", line)
    logger.info(
        "%s: %d frames from %d sources (%d skipped as done) in %.1f s, %.1f frames/s; %d frames failed, %d files unreadable",
        store, report.frames, report.units_done, report.units_skipped, report.seconds,
        report.frames_per_second, report.failed_frames, len(report.unreadable),
    )
    return report


def _run(units: list[_Unit], init_args: tuple[Any, ...], workers: int, progress: bool) -> Iterator[tuple[str, int, int, list[str]]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("[bold]prepare[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sources · {task.fields[frames]} frames · {task.fields[fps]:.1f} frames/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    start = time.perf_counter()
    frames = 0
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("prepare", total=len(units), frames=0, fps=0.0)
        for result in _results(units, init_args, workers):
            frames += result[1]
            elapsed = max(time.perf_counter() - start, 1e-9)
            bar.update(task, advance=1, frames=frames, fps=frames / elapsed)
            yield result


def _results(units: list[_Unit], init_args: tuple[Any, ...], workers: int) -> Iterator[tuple[str, int, int, list[str]]]:
    if not units:
        return
    if workers == 1:
        _init_worker(*init_args)
        try:
            for unit in units:
                yield _process(unit)
        finally:
            _WORKER.clear()
        return
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with context.Pool(workers, initializer=_init_worker, initargs=init_args) as pool:
        yield from pool.imap_unordered(_process, units, chunksize=1)


def is_bonafide(label: str) -> int:
    """The score convention: 1 for bona fide, 0 for attack."""
    return int(label == BONAFIDE)
