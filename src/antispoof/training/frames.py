"""From a config's ``data`` section to frame datasets: a prepared store, or one prepared into the cache.

``data.store`` names a store built by ``antispoof prepare``. Without it, the dataset
(``data.dataset`` at ``data.root``, ``data.protocol``) is prepared on first use into
``<cache>/stores/<dataset>-<protocol>-<hash>`` (cache: ``data.cache_dir``, else
``$ANTISPOOF_CACHE``, else ``~/.cache/antispoof``), keyed by the dataset, its resolved
root, the protocol and the crop size, and reused by every later run. Faces come from
the dataset's own boxes when its manifest has them (the synthetic generator writes
them), else from the default detector.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from torch.utils.data import ConcatDataset, Dataset

__all__ = ["cache_root", "store_for", "open_split", "training_datasets", "Unlabelled"]

log = logging.getLogger(__name__)


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where prepared stores are cached."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("ANTISPOOF_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "antispoof"


def store_for(
    dataset: str,
    root: str | Path | None,
    protocol: str | None,
    *,
    size: int,
    store: str | Path | None = None,
    cache_dir: str | Path | None = None,
    frames_per_video: int | None = None,
    progress: bool = True,
) -> Path:
    """The frame store folder for a dataset: ``store`` when given, else the cached one (prepared now if missing)."""
    if store is not None:
        path = Path(store)
        if not (path / "index.parquet").is_file():
            raise FileNotFoundError(
                f"data.store={path} is not a frame store; build it with `antispoof prepare --dataset {dataset} --root DIR --out {path}` "
                "or set data.store=null to prepare into the cache"
            )
        return path
    if root is None:
        raise ValueError(
            f"data.root is not set for dataset {dataset!r}; give data.root=DIR (the dataset folder) or data.store=STORE"
        )
    root = Path(root).resolve()
    key = json.dumps({"dataset": dataset, "root": str(root), "protocol": protocol, "size": size, "frames": frames_per_video}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    path = cache_root(cache_dir) / "stores" / f"{dataset}-{protocol or 'default'}-{digest}"
    if (path / "index.parquet").is_file():
        return path
    _prepare(dataset, root, protocol, path, size=size, frames_per_video=frames_per_video, progress=progress)
    return path


def _prepare(dataset: str, root: Path, protocol: str | None, out: Path, *, size: int, frames_per_video: int | None, progress: bool) -> None:
    from antispoof._registry import DATASETS, load_all
    from antispoof.data._prepare import prepare_store
    from antispoof.data.base import BOX_COLUMNS
    from antispoof.data.sampling import FrameSampler
    from antispoof.faces import DEFAULT_DETECTOR

    load_all()
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root {root} does not exist or is not a folder; set data.root")
    adapter = DATASETS.create(dataset, root=root)
    samples = adapter.samples(protocol)
    has_boxes = all(c in samples.columns for c in BOX_COLUMNS) and samples[list(BOX_COLUMNS)].notna().all(axis=None)
    detector = "dataset" if has_boxes else DEFAULT_DETECTOR
    log.info("preparing %s (%s) into the frame store %s with the %s detector", dataset, root, out, detector)
    out.parent.mkdir(parents=True, exist_ok=True)
    sampler = FrameSampler.from_options(frames=frames_per_video)
    prepare_store(adapter, out, dataset=dataset, protocol=protocol, detector=detector, sampler=sampler, size=size, progress=progress)


def open_split(store: Path, split: str | None) -> Dataset | None:
    """The frames of one split of a store (None when it has none)."""
    from antispoof.data.store import FrameDataset

    data = FrameDataset(store, split=split)
    return data if len(data) else None


class Unlabelled(Dataset):
    """A frame dataset whose labels are hidden (``label = -1``): it enters only a distillation's soft term."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = dict(self.base[index])
        item["label"] = -1
        return item


def training_datasets(config: Any) -> tuple[Dataset, Dataset | None]:
    """``(train, dev or None)`` frame datasets for a run's config (plus ``distill.unlabelled_*`` when set)."""
    d = config.data
    store = store_for(d.dataset, d.root, d.protocol, size=d.image_size, store=d.store, cache_dir=d.cache_dir,
                      frames_per_video=d.frames_per_video, progress=config.train.progress)
    train = open_split(store, "train")
    if train is None:
        raise ValueError(f"the frame store {store} has no usable 'train' frames for protocol {d.protocol!r}; check the protocol")
    distill = getattr(config, "distill", None)
    if distill is not None and distill.unlabelled_dataset is not None:
        extra_store = store_for(distill.unlabelled_dataset, distill.unlabelled_root, distill.unlabelled_protocol,
                                size=d.image_size, cache_dir=d.cache_dir, frames_per_video=d.frames_per_video,
                                progress=config.train.progress)
        extra = open_split(extra_store, None)
        if extra is not None:
            log.info("distillation: %d unlabelled frames from %s", len(extra), extra_store)
            train = ConcatDataset([train, Unlabelled(extra)])
    return train, open_split(store, "dev")
