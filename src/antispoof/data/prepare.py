"""Building a frame store: sample frames, detect faces, crop, write crops and one Parquet index.

A store is a folder::

    STORE/settings.json     the exact settings that produced it (a re-run must match)
    STORE/index.parquet     one row per sampled frame (see INDEX_COLUMNS), failures included,
                            then every further column of the adapter's samples (settings
                            ``extra_columns``; path columns such as ``ir_path`` excepted)
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

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from antispoof._files import write_atomic
from antispoof.data._checks import check_pai_class
from antispoof.data._prepare_worker import (
    COMPUTED_COLUMNS,
    FAILURES,
    INDEX_COLUMNS,
    close_worker,
    init_worker,
    process_unit,
    Unit,
    plan_units,
    encode_image,
    extra_columns,
    media_root,
)
from antispoof.data.acquisition import AcquisitionSpec, CropSpec
from antispoof.data.base import DatasetAdapter
from antispoof.data.sampling import FrameSampler
from antispoof.faces.crop import DEFAULT_SCALE

__all__ = [
    "INDEX_COLUMNS",
    "STORE_FORMAT",
    "FAILURES",
    "PrepareReport",
    "prepare_store",
    "store_settings",
    "store_acquisition",
    "check_settings",
    "encode_image",
    "media_root",
]

logger = logging.getLogger(__name__)

# 2: pai_class and the samples' extra columns in the index (format 1 stores still open).
# 3: the acquisition record in settings.json; the quality measures and the gate's failures in the index.
STORE_FORMAT = 3
SETTINGS_FILE = "settings.json"
INDEX_FILE = "index.parquet"


@dataclass
class PrepareReport:
    """What one ``prepare`` run did."""

    units_done: int = 0
    units_skipped: int = 0
    frames: int = 0
    failed_frames: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # failed frames of the whole store by reason
    examples: dict[str, str] = field(default_factory=dict)  # one failed frame of each reason ("SOURCE frame N")
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
    acquisition: AcquisitionSpec,
    image_format: str,
    quality: int,
    columns: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The settings a store records; two runs into one store must produce equal dicts.

    ``acquisition`` is the store's record of how frames became crops (its ``acquisition``
    key); ``columns``: the extra index columns and their kinds (:func:`extra_columns`),
    recorded as ``extra_columns`` (names in index order) and ``extra_column_types``.
    """
    columns = columns or {}
    return {
        "store_format": STORE_FORMAT,
        "dataset": dataset,
        "root": str(Path(adapter.root).resolve()),
        "protocol": protocol,
        "acquisition": acquisition.record(),
        "image_format": image_format,
        "quality": int(quality),
        "colour": "RGB",
        "extra_columns": list(columns),
        "extra_column_types": dict(columns),
    }


def store_acquisition(adapter: DatasetAdapter, *, detector: str | None = None, detector_kwargs: dict[str, Any] | None = None,
                      sampler: FrameSampler | None = None, size: int = 256, scale: float | None = None, align: bool = False,
                      min_face: float | None = None, views: tuple[float, ...] = (), geometry: str | None = None,
                      native: bool = False) -> AcquisitionSpec:
    """The acquisition record of a store of ``adapter``: what is given, else the adapter's own defaults, else the toolkit's.

    A dataset that ships face crops (``face_source`` ``whole_image``) is read as shipped:
    each image whole, resized, with no gate; one that ships boxes or eye positions uses them
    (``dataset``); others the default detector. ``--detector`` overrides, and is recorded.
    """
    from antispoof._registry import DETECTORS
    from antispoof.faces import DEFAULT_DETECTOR
    from antispoof.faces.quality import QualityLimits

    source = detector or adapter.face_source() or DEFAULT_DETECTOR
    probe = DETECTORS.create(source, **(detector_kwargs or {}))
    sampling = (sampler.to_dict() if sampler is not None else adapter.default_sampling or FrameSampler().to_dict())
    whole = source == "whole_image"
    # Our choice: a training store keeps every face of at least min_face pixels (attacks bring blur, glare and dark
    # frames a model must learn from); it records the gate's measures, and the serving gate's defaults apply at inference.
    gate = QualityLimits.open(min_face if min_face is not None else (0.0 if whole else QualityLimits().min_face))
    crop = CropSpec(size=size, scale=scale or (1.0 if whole else DEFAULT_SCALE), align=align, views=tuple(views),
                    geometry=geometry or ("resize" if whole else "square"), native=native)
    return AcquisitionSpec(sampling=sampling, face_source=source, detector_options=dict(detector_kwargs or {}),
                           detector=probe.info(), crop=crop, quality=gate)


def check_settings(store: Path, settings: dict[str, Any]) -> None:
    """Write ``settings.json`` into a new store, or refuse when an existing store was made differently."""
    path = store / SETTINGS_FILE
    settings = json.loads(json.dumps(settings))  # compare as stored (tuples become lists)
    if path.is_file():
        recorded = json.loads(path.read_text())
        if recorded != settings:
            recorded, asked = _flat(recorded), _flat(settings)
            diffs = [
                f"{key}: store has {recorded.get(key)!r}, asked {asked.get(key)!r}"
                for key in sorted(set(recorded) | set(asked))
                if recorded.get(key) != asked.get(key)
            ]
            raise ValueError(
                f"frame store {store} was prepared with different settings ({'; '.join(diffs)}); "
                "use another --out folder, or delete this store to rebuild it"
            )
        return
    store.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(settings, indent=2, sort_keys=True))


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as ``{"acquisition.crop.size": 24, ...}`` (so a refusal names the one field that differs)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# -- the driver -------------------------------------------------------------------------------


def prepare_store(
    adapter: DatasetAdapter,
    out: str | Path,
    *,
    dataset: str,
    protocol: str | None = None,
    acquisition: AcquisitionSpec | None = None,
    image_format: str = "jpg",
    quality: int = 95,
    workers: int = 1,
    progress: bool = True,
    **acquisition_options: Any,
) -> PrepareReport:
    """Build (or resume) the frame store ``out`` from ``adapter``'s samples of ``protocol``.

    Frames become crops as ``acquisition`` says (default: :func:`store_acquisition` of
    ``acquisition_options``: detector, detector_kwargs, sampler, size, scale, align,
    min_face, views, geometry), through :func:`antispoof.data.acquisition.acquire`, the
    function serving uses. Unreadable files and frames, frames without a face and frames the
    gate refuses are recorded in the index with their reason and listed in the returned
    report; the run goes on with the rest.
    """
    import pandas as pd

    if image_format not in ("jpg", "png"):
        raise ValueError(f"unknown crop format {image_format!r}; choose jpg or png")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    acquisition = acquisition or store_acquisition(adapter, **acquisition_options)
    sampler = FrameSampler.from_dict(acquisition.sampling)
    store = Path(out)
    # Adapters outside this package may not pass their samples through select_split.
    samples = check_pai_class(adapter.samples(protocol), where=f"{dataset} samples")
    shadowed = [c for c in COMPUTED_COLUMNS if c in samples.columns]
    if shadowed:
        logger.warning("%s samples have column(s) %s, which prepare computes itself; their values are not kept",
                       dataset, ", ".join(shadowed))
    columns = extra_columns(samples)
    settings = store_settings(adapter, dataset=dataset, protocol=protocol, acquisition=acquisition, image_format=image_format,
                              quality=quality, columns=columns)
    check_settings(store, settings)
    units = plan_units(samples, sampler)
    todo = [u for u in units if not (store / "parts" / f"{u.key}.parquet").is_file()]
    report = PrepareReport(units_skipped=len(units) - len(todo))
    if report.units_skipped:
        logger.info("%s: %d of %d sources already done; resuming", store, report.units_skipped, len(units))
    start = time.perf_counter()
    init_args = (adapter, settings, str(store))
    for key, frames, failed, errors in _run(todo, init_args, workers, progress):
        report.units_done += 1
        report.frames += frames
        report.failed_frames += failed
        report.errors.extend(errors)
    report.seconds = time.perf_counter() - start
    parts = [store / "parts" / f"{u.key}.parquet" for u in units]
    tables = [pd.read_parquet(p) for p in parts if p.is_file()]
    index = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=[*INDEX_COLUMNS, *columns])
    index = index.sort_values(["source", "frame"], kind="stable").reset_index(drop=True)
    tmp = store / f".{INDEX_FILE}.{os.getpid()}.tmp"
    index.to_parquet(tmp, index=False)
    os.replace(tmp, store / INDEX_FILE)
    # Report every unreadable file of the store, including those recorded by earlier runs.
    unreadable = index.loc[index["failure"].str.startswith("unreadable_file"), "failure"]
    report.unreadable = [text.split(": ", 1)[1] for text in unreadable]
    failed = index.loc[index["failure"] != ""]
    reasons = failed["failure"].str.split(":").str[0]
    report.failures = {str(k): int(v) for k, v in reasons.value_counts().items()}
    first = failed.groupby(reasons.to_numpy(), sort=False).head(1)
    report.examples = {str(r): f"{s}" + (f" frame {int(f)}" if int(f) >= 0 else "")
                       for r, s, f in zip(first["failure"].str.split(":").str[0], first["source"], first["frame"])}
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


def _run(units: list[Unit], init_args: tuple[Any, ...], workers: int, progress: bool) -> Iterator[tuple[str, int, int, list[str]]]:
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


def _results(units: list[Unit], init_args: tuple[Any, ...], workers: int) -> Iterator[tuple[str, int, int, list[str]]]:
    if not units:
        return
    if workers == 1:
        init_worker(*init_args)
        try:
            for unit in units:
                yield process_unit(unit)
        finally:
            close_worker()
        return
    import multiprocessing

    # "spawn", as the generator's writer: a forked worker inherits the locks other threads of this process hold at
    # the fork (a service's thread pool, a logging handler) and can wait on them forever (seen under pytest in CI)
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=init_worker, initargs=init_args) as pool:
        yield from pool.imap_unordered(process_unit, units, chunksize=1)
