"""From a config's ``data`` section to the datasets a method trains on, shaped by its input spec.

The store comes from :func:`antispoof.data._cache.store_for` (``data.store``, or the
dataset prepared into the cache on first use).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch.utils.data import ConcatDataset, Dataset

from antispoof.data._cache import cache_root, store_for

__all__ = ["cache_root", "store_for", "open_split", "select_rows", "Selected", "training_datasets", "dataset_labels", "Unlabelled",
           "Tagged"]

log = logging.getLogger(__name__)


def open_split(store: Path, split: str | None, spec: Any = None, exclude_pai: Sequence[str] = (),
               exclude_domains: Sequence[str] = ()) -> Dataset | None:
    """The frames (or clips, and modalities, as ``spec`` declares) of one split of a store, without the attack
    species ``exclude_pai`` and the capture domains ``exclude_domains`` (wildcards); None when it has none."""
    from antispoof.data.store import FrameDataset

    kwargs = {"exclude_pai": exclude_pai, "exclude_domains": exclude_domains}
    data = FrameDataset(store, split=split, **kwargs) if spec is None else FrameDataset.for_spec(store, split, spec, **kwargs)
    return data if len(data) else None


def dataset_labels(data: Dataset) -> Any:
    """The label of every item (1 bona fide, 0 attack, -1 unlabelled) without reading an image."""
    import numpy as np

    from antispoof.data.base import BONAFIDE

    if isinstance(data, ConcatDataset):
        return np.concatenate([dataset_labels(d) for d in data.datasets])
    if isinstance(data, Unlabelled):
        return np.full(len(data), -1, dtype=np.int64)
    if isinstance(data, (KeepKeys, Tagged)):
        return dataset_labels(data.base)
    if isinstance(data, Selected):
        return dataset_labels(data.base)[data.positions]
    rows = getattr(data, "rows", None)
    if rows is None:  # any other dataset: read its items
        return np.asarray([int(data[i]["label"]) for i in range(len(data))], dtype=np.int64)  # type: ignore[arg-type]
    labels = (rows["label"] == BONAFIDE).to_numpy(np.int64)
    clips = getattr(data, "_clips", None)
    return labels if clips is None else np.asarray([labels[c[0]] for c in clips], dtype=np.int64)


def select_rows(data: Dataset | None, attacks: Sequence[str] | None = None,
                bonafide_subjects: Sequence[str] | None = None, subjects: Sequence[str] | None = None) -> Dataset | None:
    """The units of a frame dataset whose attack species match ``attacks`` (shell wildcards on ``pai``), whose bona
    fide frames belong to ``bonafide_subjects`` and whose frames of either label belong to ``subjects``; None (any)
    keeps all. None when nothing is left.

    A clip is judged by its first frame (a clip holds frames of one video).
    """
    import fnmatch

    import numpy as np

    from antispoof.data.base import BONAFIDE

    if data is None or (attacks is None and bonafide_subjects is None and subjects is None):
        return data
    rows = data.rows  # type: ignore[attr-defined]
    clips = getattr(data, "_clips", None)
    if clips is not None:
        rows = rows.iloc[[c[0] for c in clips]].reset_index(drop=True)
    live = (rows["label"] == BONAFIDE).to_numpy()
    keep_live = live if bonafide_subjects is None else live & rows["subject"].astype(str).isin(set(map(str, bonafide_subjects))).to_numpy()
    if attacks is None:
        keep_attack = ~live
    else:
        species = {p: any(fnmatch.fnmatchcase(str(p), pat) for pat in attacks) for p in rows["pai"].unique()}
        keep_attack = ~live & rows["pai"].map(species).to_numpy(bool)
    keep = keep_live | keep_attack
    if subjects is not None:
        keep &= rows["subject"].astype(str).isin(set(map(str, subjects))).to_numpy()
    positions = np.flatnonzero(keep)
    return Selected(data, positions) if len(positions) else None


class Selected(Dataset):
    """The units ``positions`` of a frame dataset (:func:`select_rows`); ``rows`` are theirs (of the first frame of a clip)."""

    def __init__(self, base: Dataset, positions: Any) -> None:
        self.base, self.positions = base, positions
        rows = base.rows  # type: ignore[attr-defined]
        clips = getattr(base, "_clips", None)
        if clips is not None:
            rows = rows.iloc[[c[0] for c in clips]]
        self.rows = rows.iloc[positions].reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.base[int(self.positions[index])]


class KeepKeys(Dataset):
    """A dataset whose items keep only ``keys`` (so items of two stores collate into one batch)."""

    def __init__(self, base: Dataset, keys: tuple[str, ...]) -> None:
        self.base, self.keys = base, keys

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.base[index]
        return {k: item[k] for k in self.keys}


class Tagged(Dataset):
    """A dataset whose items also carry the constant ``tags`` (``{"dataset": "oulu-npu"}``)."""

    def __init__(self, base: Dataset, tags: dict[str, Any]) -> None:
        self.base, self.tags = base, dict(tags)

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {**self.base[index], **self.tags}


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


def _why_unusable(store: Path) -> str:
    """Where a store's frames went: its failures by reason when they are the most of it, else the keys to check."""
    import pandas as pd

    from antispoof.data.prepare import INDEX_FILE

    try:
        index = pd.read_parquet(Path(store) / INDEX_FILE, columns=["failure"])
    except (OSError, ValueError, KeyError):
        return "check the protocol and those keys"
    failed = index["failure"][index["failure"] != ""].str.split(":").str[0].value_counts()
    if not len(failed):
        return "check the protocol and those keys"
    counts = ", ".join(f"{reason} {n}" for reason, n in failed.items())
    hint = " (prepare it again with a lower --min-face, e.g. 16)" if "face_too_small" in failed else ""
    return f"{failed.sum()} of its {len(index)} frames failed to acquire: {counts}{hint}; or check the protocol and those keys"


def training_datasets(config: Any, spec: Any = None) -> tuple[Dataset, Dataset | None]:
    """``(train, dev or None)`` datasets for a run's config, shaped by the method's input ``spec`` (plus ``distill.unlabelled_*``)."""
    d = config.data
    size = spec.crop_size if spec is not None else (getattr(d, "crop_size", None) or d.image_size)
    store = store_for(d.dataset, d.root, d.protocol, size=size, store=d.store, cache_dir=d.cache_dir,
                      frames_per_video=d.frames_per_video, progress=config.train.progress)
    exclude = (tuple(getattr(d, "exclude_attacks", ()) or ()), tuple(getattr(d, "exclude_domains", ()) or ()))
    train = select_rows(open_split(store, "train", spec, *exclude), getattr(d, "train_attacks", None),
                        getattr(d, "train_bonafide_subjects", None), getattr(d, "train_subjects", None))
    if train is None:
        raise ValueError(f"the frame store {store} has no usable 'train' frames for protocol {d.protocol!r} (after "
                         "data.exclude_attacks / train_attacks / train_bonafide_subjects / train_subjects); "
                         + _why_unusable(store))
    extra = [Path(p) for p in getattr(d, "extra_stores", ()) or ()]
    if extra:
        train = _join([(Path(store), train), *((p, open_split(p, "train", spec, *exclude)) for p in extra)])
    distill = getattr(config, "distill", None)
    if distill is not None and distill.unlabelled_dataset is not None:
        extra_store = store_for(distill.unlabelled_dataset, distill.unlabelled_root, distill.unlabelled_protocol,
                                size=size, cache_dir=d.cache_dir, frames_per_video=d.frames_per_video,
                                progress=config.train.progress)
        extra = open_split(extra_store, None, spec)
        if extra is not None:
            log.info("distillation: %d unlabelled frames from %s", len(extra), extra_store)
            # stores of other datasets carry other columns; one batch may mix both, so keep the shared keys
            shared = tuple(sorted(set(train[0]) & set(extra[0])))
            train = ConcatDataset([KeepKeys(train, shared), Unlabelled(KeepKeys(extra, shared))])
    dev = select_rows(open_split(store, getattr(d, "dev_from", "dev"), spec, *exclude), getattr(d, "dev_attacks", None),
                      getattr(d, "dev_bonafide_subjects", None), getattr(d, "dev_subjects", None))
    if extra:
        dev = _join([(Path(store), dev), *((p, open_split(p, "dev", spec, *exclude)) for p in extra)])
    return train, dev


def _join(parts: Sequence[tuple[Path, Dataset | None]]) -> Dataset | None:
    """One dataset of the frames of several stores (``data.extra_stores``): items keep the keys all of them have, plus
    ``dataset``, their store's dataset name (the domains of a multi-source run: ``pdle.domain_key=dataset``)."""
    from antispoof.data.store import FrameStore

    present = [(path, data) for path, data in parts if data is not None]
    if not present:
        return None
    shared = tuple(sorted(set.intersection(*(set(data[0]) for _, data in present))))
    return ConcatDataset([Tagged(KeepKeys(data, shared), {"dataset": str(FrameStore(path).settings.get("dataset") or path.name)})
                          for path, data in present])
