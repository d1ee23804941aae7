"""Prepared frame stores by dataset: a store folder given, or one prepared into the cache on first use.

``store`` names a store built by ``antispoof prepare``. Without it, the dataset
(``dataset`` at ``root``, ``protocol``) is prepared on first use into
``<cache>/stores/<dataset>-<protocol>-<hash>`` (cache: ``cache_dir``, else
``$ANTISPOOF_CACHE``, else ``~/.cache/antispoof``), keyed by the dataset, its resolved
root, the protocol, the crop size and the frames per video, and reused by every later
run. Faces and frames come as the adapter says (its own crops, boxes or eye positions;
see :func:`antispoof.data.prepare.store_acquisition`), else the default detector.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from antispoof.data.prepare import INDEX_FILE

__all__ = ["cache_root", "store_for", "resolve_data"]

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
        if not (path / INDEX_FILE).is_file():
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
    if (path / INDEX_FILE).is_file():
        return path
    from antispoof._launch import current_launch, wait_for

    if not current_launch().is_zero:  # rank 0 of this launch prepares it; the others wait for its index
        wait_for(lambda: (path / INDEX_FILE).is_file(), 24 * 3600, f"rank 0 to prepare the frame store {path}")
        return path
    _prepare(dataset, root, protocol, path, size=size, frames_per_video=frames_per_video, progress=progress)
    return path


def _prepare(dataset: str, root: Path, protocol: str | None, out: Path, *, size: int, frames_per_video: int | None, progress: bool) -> None:
    from antispoof._registry import DATASETS, load_all
    from antispoof.data.prepare import prepare_store, store_acquisition
    from antispoof.data.sampling import FrameSampler

    load_all("datasets")
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root {root} does not exist or is not a folder; set data.root")
    adapter = DATASETS.create(dataset, root=root)
    sampler = FrameSampler.from_options(frames=frames_per_video) if frames_per_video else None
    acquisition = store_acquisition(adapter, sampler=sampler, size=size)  # the dataset's own faces and sampling by default
    log.info("preparing %s (%s) into the frame store %s, faces from %s", dataset, root, out, acquisition.face_source)
    out.parent.mkdir(parents=True, exist_ok=True)
    prepare_store(adapter, out, dataset=dataset, protocol=protocol, acquisition=acquisition, progress=progress)


def resolve_data(
    config: Any, *, dataset: str | None, root: str | Path | None, protocol: str | None, store: str | Path | None
) -> tuple[str, str | Path | None, str | None, str | Path | None]:
    """``(dataset, root, protocol, store)`` to score: the run's own data for whatever is not given.

    The run's prepared store is reused only when the data asked for is the run's own.
    """
    d = config.data
    same_data = dataset is None or dataset == d.dataset
    dataset = dataset or d.dataset
    root = root if root is not None else (d.root if same_data else None)
    protocol = protocol if protocol is not None else (d.protocol if same_data else None)
    if store is None and same_data and root == d.root and protocol == d.protocol:
        store = d.store
    return dataset, root, protocol, store
