"""The worker side of ``prepare``: units of work, reading frames, detecting, cropping, writing.

Each worker process builds its detector once (:func:`init_worker`) and then turns one
unit (a source file, or a video of frame images) into crops plus one part file
(:func:`process_unit`). The driver is :func:`antispoof.data.prepare.prepare_store`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.data._checks import as_text, column_kind
from antispoof.data.acquisition import FAILURES, AcquisitionSpec, acquire
from antispoof.data.base import ATTRIBUTES, BOX_COLUMNS, DatasetAdapter
from antispoof.data.sampling import FrameSampler
from antispoof.data.video import MediaError, VideoReader, is_video_path, read_gray, read_image

__all__ = [
    "INDEX_COLUMNS",
    "QUALITY_COLUMNS",
    "COMPUTED_COLUMNS",
    "FAILURES",
    "extra_columns",
    "is_path_column",
    "Unit",
    "plan_units",
    "init_worker",
    "process_unit",
    "close_worker",
    "encode_image",
    "media_root",
]

logger = logging.getLogger(__name__)


QUALITY_COLUMNS = ("sharpness", "brightness", "clipped", "eye_ratio")

INDEX_COLUMNS = (
    "source",  # file path relative to the dataset root
    "frame",  # frame index in the video; -1 for a still image
    "crop",  # crop path relative to the store ('' when failed)
    "ir_crop",  # IR crop path ('' when none)
    "depth_crop",  # Depth crop path ('' when none)
    *BOX_COLUMNS,  # face box in source pixels (NaN when failed)
    "confidence",  # detector confidence of the chosen face (NaN when none)
    "faces",  # number of faces found
    *QUALITY_COLUMNS,  # the quality gate's measures of the chosen face (NaN when none; antispoof.faces.quality)
    "failure",  # '' or one of FAILURES, with detail after ': '
    "label",
    "pai",
    "pai_class",  # one of data.base.PAI_CLASSES
    "subject",
    "session",
    "video",
    "split",
    "domain",
    *ATTRIBUTES,
)  # then the extra columns of the samples (see extra_columns), in their order

#: Index columns prepare computes; a samples column of the same name is not kept.
COMPUTED_COLUMNS = ("source", "crop", "ir_crop", "depth_crop", "confidence", "faces", *QUALITY_COLUMNS, "failure")
# Manifest columns copied into the index as text ('' where missing).
_TEXT_COLUMNS = ("label", "pai", "pai_class", "subject", "session", "video", "split", "domain")


def is_path_column(name: str) -> bool:
    """``path`` and ``*_path`` (``ir_path``, ``depth_path``): files of the dataset, not kept in the index."""
    return name == "path" or name.endswith("_path")


def extra_columns(samples: Any) -> dict[str, str]:
    """The samples columns the index carries after ``INDEX_COLUMNS``, in order, each with its kind.

    Every column that is neither an index column nor a path column; the kind (``str``,
    ``int`` or ``float``, see :func:`antispoof.data._checks.column_kind`) is decided once
    over all samples, so every part file of a store types the column alike.
    """
    known = set(INDEX_COLUMNS)
    return {str(c): column_kind(samples[c]) for c in samples.columns if c not in known and not is_path_column(str(c))}


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
class Unit:
    key: str
    kind: str  # "video" (one file, frames by policy or listed), "images" (still images)
    rows: list[dict[str, Any]]


def plan_units(samples: Any, sampler: FrameSampler) -> list[Unit]:
    """One unit per video file; one per video of frame images (the policy picks among them); one per still."""
    records = samples.to_dict("records")
    units: dict[str, Unit] = {}
    sequences: dict[str, list[dict[str, Any]]] = {}
    for row in records:
        path, frame = str(row["path"]), int(row.get("frame", -1))
        if is_video_path(path):
            key = _key("video", path)
            units.setdefault(key, Unit(key, "video", [])).rows.append(row)
        elif frame >= 0:
            sequences.setdefault(str(row.get("video", path)), []).append(row)
        else:
            key = _key("image", path)
            units[key] = Unit(key, "images", [row])
    for video, rows in sequences.items():
        rows = sorted(rows, key=lambda r: int(r["frame"]))
        chosen = [rows[i] for i in sampler.indices(len(rows))]
        key = _key("frames", video)
        units[key] = Unit(key, "images", chosen)
    return list(units.values())


def _key(kind: str, name: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(name).stem)[-40:]
    return f"{stem}-{hashlib.sha1(f'{kind}:{name}'.encode()).hexdigest()[:10]}"


# -- the worker ------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def init_worker(adapter: DatasetAdapter, settings: dict[str, Any], store: str) -> None:
    import cv2

    cv2.setNumThreads(1)
    acquisition = AcquisitionSpec.from_settings(settings)
    _WORKER.update(adapter=adapter, settings=settings, acquisition=acquisition, detector=acquisition.create_detector(),
                   store=Path(store))


def close_worker() -> None:
    """Forget the detector and adapter of an in-process run (``workers=1``)."""
    _WORKER.clear()


def process_unit(unit: Unit) -> tuple[str, int, int, list[str]]:
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
            for row, frame, image, failure in _frames(unit, _WORKER["acquisition"].sampling)
        ]
        table = pd.DataFrame(rows_out, columns=[*INDEX_COLUMNS, *_WORKER["settings"].get("extra_columns", ())])
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


def _frames(unit: Unit, sampling: dict[str, Any]) -> Iterator[tuple[dict[str, Any], int, np.ndarray | None, str]]:
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


def _crop_row(unit: Unit, row: dict[str, Any], frame: int, image: np.ndarray | None, failure: str, store: Path) -> dict[str, Any]:
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
        **{c: math.nan for c in QUALITY_COLUMNS},
        "failure": failure,
        **{c: as_text(row.get(c)) for c in _TEXT_COLUMNS},
        **{a: _float(row.get(a)) for a in ATTRIBUTES},
        **{c: _CAST[kind](row.get(c)) for c, kind in settings.get("extra_column_types", {}).items()},
    }
    if image is None:
        return out
    extra = {}
    for column, modality in (("ir_path", "ir"), ("depth_path", "depth")):
        other = row.get(column)
        if isinstance(other, str) and other:
            try:
                extra[modality] = read_gray(media_root(_WORKER["adapter"]) / other)
            except MediaError as err:
                out["failure"] = f"unreadable_{modality}: {err}"
                return out
    annotation = _annotation(row, frame) if detector.needs_annotation else None
    acquired = acquire(image, _WORKER["acquisition"], detector, extra=extra, annotation=annotation)
    out.update(faces=acquired.faces, failure=acquired.failure,
               **{c: _float(acquired.quality.get(c)) for c in QUALITY_COLUMNS})
    if acquired.box is not None:
        out.update(dict(zip(BOX_COLUMNS, acquired.box)), confidence=acquired.score)
    if acquired.crops is None:
        return out
    name = f"{frame:06d}" if unit.kind == "video" else f"{unit.rows.index(row):05d}"
    folder = Path("crops") / unit.key
    ext = settings["image_format"]
    (store / folder).mkdir(parents=True, exist_ok=True)
    # Crops are written in place: only the unit's part file (renamed into place after all
    # of its crops) makes them part of the store, so a crash mid-write leaves a file that
    # no index row names and the re-run overwrites. Several views of a face are stacked top to bottom.
    for key, crop in acquired.crops.items():
        column, file, file_ext = ("crop", f"{name}.{ext}", ext) if key == "image" else (f"{key}_crop", f"{name}_{key}.png", "png")
        views = crop.ndim == (4 if key == "image" else 3)
        strip = crop.reshape(-1, *crop.shape[2:]) if views else crop
        (store / folder / file).write_bytes(encode_image(strip, file_ext, settings["quality"]))
        out[column] = (folder / file).as_posix()
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


_CAST = {"str": as_text, "int": int, "float": _float}
