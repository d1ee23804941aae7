"""Calibration: score a run's dev split, choose the threshold for a stated error target, write the bundle.

The threshold is chosen by :func:`antispoof.metrics.calibration.dev_threshold` with the rule given as
``target`` (``bpcer@apcer=0.01``, ``eer``, ``apcer@bpcer=0.05``, ...), on per-video
scores aggregated like the Predictor aggregates; the dev-set metrics at that threshold
go into the card. A target finer than the data can resolve (fewer than 1/X attack
presentations for an APCER of X) is refused unless ``allow_coarse``. The card's acquisition
record (sampling, face source, crop, quality gate) is the one the run's weights carry
from their training store, so preprocessing at inference is what training saw; a
calibration store acquired otherwise is refused unless ``allow_mismatch``. The bundle holds no machine path;
the store it was calibrated on is recorded in the run folder (``calibration.json``),
where ``antispoof export`` finds its parity crops.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from antispoof.metrics.calibration import calibration_rule, dev_threshold

__all__ = ["calibrate_run", "DEFAULT_TARGET", "resolve_store", "CALIBRATION_FILE", "staged_folder"]

log = logging.getLogger(__name__)

DEFAULT_TARGET = "bpcer@apcer=0.01"
CALIBRATION_FILE = "calibration.json"


@contextmanager
def staged_folder(out: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` to build in, renamed to ``out`` when the block succeeds and removed when it fails.

    A calibration that is refused half-way thus leaves no folder that looks like a finished bundle,
    and a previous ``out`` (a bundle being recalibrated) is replaced only by a complete one.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.rename(old / out.name)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


def resolve_store(config: Any, *, dataset: str | None, root: str | Path | None, protocol: str | None,
                  store: str | Path | None, size: int, progress: bool) -> tuple[str, str | None, Path]:
    """``(dataset, protocol, store folder)`` to score: the run's own data unless told otherwise (as ``evaluate`` does)."""
    from antispoof.data._cache import resolve_data, store_for

    d = config.data
    dataset, root, protocol, store = resolve_data(config, dataset=dataset, root=root, protocol=protocol, store=store)
    path = store_for(dataset, root, protocol, size=size, store=store, cache_dir=d.cache_dir,
                     frames_per_video=d.frames_per_video, progress=progress)
    return dataset, protocol, path


def run_config(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """A run's ``config.yaml`` read without its method (so without Lightning): ``(attribute view, record with paths cleared)``."""
    from types import SimpleNamespace

    import yaml

    from antispoof.inference.card import clear_paths

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; give a run folder made by `antispoof train`")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def view(value: Any) -> Any:
        return SimpleNamespace(**{k: view(v) for k, v in value.items()}) if isinstance(value, dict) else value

    return view(raw), clear_paths(raw)


def calibrate_run(
    run_dir: str | Path,
    *,
    dataset: str | None = None,
    root: str | Path | None = None,
    protocol: str | None = None,
    split: str = "dev",
    target: str = DEFAULT_TARGET,
    aggregate: str = "mean",
    store: str | Path | None = None,
    out: str | Path | None = None,
    detector: str | None = None,
    quality: Any = None,
    batch_size: int | None = None,
    allow_coarse: bool = False,
    allow_mismatch: bool = False,
    progress: bool = True,
) -> Path:
    """Write the model bundle of ``run_dir`` (default ``RUN/bundle``) with a threshold chosen on ``split``; returns its folder.

    Args:
        run_dir: a run folder made by ``antispoof train`` or ``antispoof distill``.
        dataset, root, protocol, store: the data to calibrate on (default: the run's own).
        split: the split the threshold is chosen on (``dev``; never the test split).
        target: a threshold rule of :mod:`antispoof.metrics.threshold`.
        aggregate: per-video aggregation (stored in the card; the Predictor uses it).
        detector: the detector the bundle uses at inference (default: the store's, or
            blazeface when the store used the dataset's own boxes).
        quality: :class:`~antispoof.faces.quality.QualityLimits` (default: the defaults, with ``min_face`` the training
            store's).
        allow_coarse: go on with a target finer than the split can resolve.
        allow_mismatch: go on with a store acquired unlike the run's training data (noted in the card).
    """
    from antispoof._registry import DETECTORS
    from antispoof.data.acquisition import AcquisitionSpec, check_same_acquisition
    from antispoof.data.store import FrameStore
    from antispoof.faces import DEFAULT_DETECTOR
    from antispoof.faces.quality import QualityLimits
    from antispoof.inference.bundle import bundle_network
    from antispoof.inference.card import CARD_FILE, DetectorSpec, ThresholdSpec, TrainingData, clear_paths, coarse_notes
    from antispoof.inference.scoring import score_frames
    from antispoof.metrics.aggregate import parse_aggregation
    from antispoof.weights import input_spec_of, load_network

    run_dir = Path(run_dir)
    rule = calibration_rule(target, split)
    parse_aggregation(aggregate)
    out = Path(out) if out is not None else run_dir / "bundle"
    if out.exists() and any(out.iterdir()) and not (out / CARD_FILE).is_file():
        raise FileExistsError(f"{out} exists, is not empty and is not a model bundle; choose another --out or delete it")
    config, config_record = run_config(run_dir)
    network, meta = load_network(run_dir)  # refuses a run that did not finish, saying how to resume it
    spec = input_spec_of(meta)
    dataset, protocol, store_dir = resolve_store(config, dataset=dataset, root=root, protocol=protocol, store=store,
                                                 size=spec.crop_size, progress=progress)
    frame_store = FrameStore(store_dir)
    settings, acquisition = frame_store.settings, frame_store.acquisition
    trained = AcquisitionSpec.of_weights(meta)
    notes = [f"acquisition differs from the training data's (allowed): {d}"
             for d in check_same_acquisition(trained, acquisition, data_name=f"the frame store {store_dir}", allow=allow_mismatch)]
    if acquisition.crop.size != spec.crop_size and spec.fit == "resize":
        spec = spec.model_copy(update={"crop_size": acquisition.crop.size})  # the Predictor cuts crops like the store's, then resizes
    # a centre-crop model keeps its trained crop size: the transform resizes any stored crop to it first
    bs = batch_size or max(config.train.batch_size, 32)
    scores, _ = score_frames(network, store_dir, split, spec=spec, batch_size=bs, progress=progress,
                             exclude_pai=getattr(config.data, "exclude_attacks", ()),  # what the run never saw stays unseen
                             exclude_domains=getattr(config.data, "exclude_domains", ()))
    if len(scores) == 0:
        if dataset == "folder" and root is not None:
            from antispoof.data.folder import missing_split_message

            raise ValueError(f"the frame store {store_dir} has no {split!r} frames: " + missing_split_message(root, split))
        raise ValueError(f"the frame store {store_dir} has no {split!r} frames; calibrate on a split it has (dev)")
    report, problem = dev_threshold(scores, rule, aggregate, allow_coarse)
    # the card keeps the training data's record (this store's for runs trained before the record), with the serving gate:
    # the given limits, else the defaults at the training store's minimum face size
    served = trained or acquisition
    served = served.model_copy(update={"quality": quality or QualityLimits(min_face=served.quality.min_face),
                                       "detector": clear_paths(served.detector)})
    source = served.face_source
    if detector is None:  # a face source that reads the dataset's own faces finds none in a camera frame
        detector = DEFAULT_DETECTOR if DETECTORS.get(source).from_dataset else source
    notes += coarse_notes(problem)
    if source != detector:
        notes.append(f"training crops were cut around {source!r} faces; inference uses {detector!r}, whose boxes may differ in "
                     "size and centre (check on your own data)")
    notes.append("training crops were stored as JPEG (quality %s); inference crops are not re-encoded" % settings.get("quality")
                 if settings.get("image_format") == "jpg" else "training crops were stored losslessly (PNG)")
    with staged_folder(out) as tmp:  # out (a previous bundle included) is replaced only by a complete bundle
        bundle_network(
            tmp, network, spec,
            method=config.model.method, backbone=config.model.backbone, config=config_record,
            threshold=ThresholdSpec.from_report(report, rule, split, f"{dataset} {protocol or 'default protocol'}"),
            training_data=TrainingData(
                dataset=config.data.dataset, protocol=config.data.protocol,
                description=f"{config.data.dataset} protocol {config.data.protocol or 'default'}, train split, "
                            f"{spec.describe()}; run {run_dir.name}",
            ),
            acquisition=served,
            detector=DetectorSpec(name=detector, options={}),
            aggregation=aggregate, notes=notes,
        )
    record = {"bundle": str(out.resolve()), "store": str(store_dir.resolve()), "split": split, "target": str(rule),
              "threshold": report.threshold}
    (run_dir / CALIBRATION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("calibrated %s on %s %s: threshold %.6g (%s); dev APCER %.4f BPCER %.4f ACER %.4f",
             run_dir, dataset, split, report.threshold, rule, report.apcer, report.bpcer, report.acer)
    return out
