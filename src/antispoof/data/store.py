"""The frame store on disk and the PyTorch Dataset every method trains on.

``antispoof prepare`` (see :func:`antispoof.data.prepare.prepare_store`) writes a store:
face crops plus one Parquet index with a row per sampled frame. :class:`FrameStore`
opens it; :class:`FrameDataset` serves its frames, clips of frames, and pixel-aligned
RGB/IR/Depth crops.

Item of :class:`FrameDataset` (a dict):

============== ===========================================================================
key            value
============== ===========================================================================
``image``      ``transform(rgb)``; without a transform the RGB uint8 ``HxWx3`` ndarray.
               For clips: the T transformed frames in time order, stacked (``[T, ...]``
               ndarray or tensor, whichever the transform returns)
``label``      int, 1 = bona fide, 0 = attack (the score convention: higher = bona fide)
``attributes`` float32 array of the 7 ``data.base.ATTRIBUTES``, NaN where unknown
``pai``, ``video``, ``subject``, ``domain``, ``split``   str
``frame``      int frame index (the first frame for a clip; ``frames`` lists them all)
``failure``    str, '' or why the face was not acquired (see ``include_failed``)
``pai_class``  str, one of ``data.base.PAI_CLASSES`` (derived from ``pai`` in old stores)
``session``, ``source``   str (``source``: the file path relative to the dataset root)
...            every extra column of the index (the adapter's own: ``device``,
               ``medium``, a manifest's ``camera``...; settings ``extra_columns``)
``ir``/``depth``   when asked for in ``modalities``: uint8 ``HxW`` arrays (see transforms)
============== ===========================================================================

Metadata values are plain Python values, typed by
:func:`~antispoof.data._checks.column_kind` of their index column: ``str`` ('' where
missing), ``int`` or ``float`` (NaN where missing), so PyTorch's default collate makes
lists of strings and int64/float64 tensors of them. Index columns
that are not metadata are not served: the crop paths, the face box, ``confidence`` and
``faces`` (facts of the detector), and the attribute columns (served together as
``attributes``). For a clip the metadata is that of its first frame.

Transforms: a plain callable is applied to each modality on its own (``transform(rgb)``,
``transform(ir)``...): fine for deterministic transforms. For random augmentation of
aligned modalities, give an albumentations ``Compose`` with
``additional_targets={"ir": "image", "depth": "image"}``: the dataset then calls it once
as ``transform(image=rgb, ir=ir, depth=depth)`` so every modality gets the same
geometry. No normalisation happens here; it belongs to the transform.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.data._checks import as_text, column_kind
from antispoof.data.prepare import INDEX_FILE
from antispoof.data._prepare_worker import QUALITY_COLUMNS
from antispoof.data.base import ATTRIBUTES, BONAFIDE, BOX_COLUMNS, pai_class_of

__all__ = ["FrameStore", "FrameDataset", "MODALITIES", "clip_windows"]

logger = logging.getLogger(__name__)

MODALITIES = ("rgb", "ir", "depth")
_CROP_COLUMN = {"rgb": "crop", "ir": "ir_crop", "depth": "depth_crop"}
# Index columns that are not item metadata (see the module docstring); label is served as an int.
_NOT_METADATA = frozenset({*_CROP_COLUMN.values(), *BOX_COLUMNS, "confidence", "faces", *QUALITY_COLUMNS, *ATTRIBUTES, "label"})
# Item keys the images and the fixed metadata take; an index column of that name is not served.
_RESERVED = frozenset({"image", "frames", "attributes", *MODALITIES})


class FrameStore:
    """An existing frame store: ``.index`` (pandas DataFrame, one row per frame) and ``.settings`` (dict)."""

    def __init__(self, path: str | Path) -> None:
        import pandas as pd

        self.path = Path(path)
        settings, index = self.path / "settings.json", self.path / INDEX_FILE
        for needed in (settings, index):
            if not needed.is_file():
                raise FileNotFoundError(
                    f"{self.path} is not a complete frame store ({needed.name} missing); "
                    "build it with `antispoof prepare --dataset NAME --root DIR --out STORE`"
                )
        self.settings: dict[str, Any] = json.loads(settings.read_text())
        self.index: pd.DataFrame = pd.read_parquet(index)
        if "pai_class" not in self.index.columns:  # a store of format 1
            classes = self.index["pai"].map({p: pai_class_of(p) for p in self.index["pai"].unique()})
            self.index.insert(int(self.index.columns.get_loc("pai")) + 1, "pai_class", classes.astype(str))

    @cached_property
    def acquisition(self) -> Any:
        """How the store's frames became crops (:class:`~antispoof.data.acquisition.AcquisitionSpec`)."""
        from antispoof.data.acquisition import AcquisitionSpec

        return AcquisitionSpec.from_settings(self.settings)

    @property
    def extra_columns(self) -> list[str]:
        """The index columns taken from the adapter's samples beyond the fixed ones ([] for old stores)."""
        return list(self.settings.get("extra_columns", []))

    @property
    def failed(self) -> Any:
        """Rows of frames whose face could not be acquired (``failure`` not empty)."""
        return self.index[self.index["failure"] != ""]

    def failure_counts(self) -> dict[str, int]:
        """Number of failed frames per reason (the text before ':')."""
        reasons = self.failed["failure"].str.split(":").str[0]
        return {str(k): int(v) for k, v in reasons.value_counts().items()}

    def read(self, relative: str, modality: str = "rgb") -> np.ndarray:
        """Load one crop: RGB uint8 HxWx3, or uint8 HxW for ``ir``/``depth``."""
        import cv2

        path = self.path / relative
        flag = cv2.IMREAD_COLOR if modality == "rgb" else cv2.IMREAD_GRAYSCALE
        image = cv2.imread(str(path), flag)
        if image is None:
            raise FileNotFoundError(f"crop {path} is missing or unreadable; re-run `antispoof prepare` into {self.path}")
        image = np.ascontiguousarray(image[:, :, ::-1]) if modality == "rgb" else image
        views = len(self.acquisition.crop.views)
        return image.reshape(views, -1, *image.shape[1:]) if views else image  # views are stored top to bottom

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return f"FrameStore({str(self.path)!r}, {len(self.index)} frames, {len(self.failed)} failed)"


def _torch_dataset_base() -> type:
    try:
        from torch.utils.data import Dataset
    except ImportError:  # pragma: no cover - torch is a dependency
        return object
    return Dataset


class FrameDataset(_torch_dataset_base()):  # type: ignore[misc]
    """Frames or clips of a :class:`FrameStore` as PyTorch dataset items (see the module docstring).

    Args:
        store: a FrameStore or its folder.
        split: ``train``, ``dev``, ``test`` or None for all rows.
        transform: applied to each image (see the module docstring for modalities).
        modalities: any of ``rgb``, ``ir``, ``depth``; ``rgb`` always comes as ``image``.
        clip_len: when given, items are clips of this many stored frames of one video
            (rows sharing ``video``, or ``source`` where ``video`` is empty),
            taken ``clip_stride`` stored frames apart, in windows that do not overlap;
            a video with fewer frames gives one clip padded by repeating its last frame.
        clip_stride: step between the frames of a clip, in stored frames.
        include_failed: keep frames whose face was not acquired; their images are black
            (zeros of the store's crop size) and ``failure`` says why. Off by default:
            failed frames are then left out of the items but listed in :attr:`failed`.
        exclude_pai: shell wildcards of attack species (``pai``) to leave out, e.g.
            ``("replay_*",)`` to train without a whole attack family; bona fide rows
            always stay. Rows left out are counted in :attr:`excluded`.
        exclude_domains: shell wildcards of capture domains (``domain``) whose rows,
            bona fide and attack, are left out (an unseen-domain protocol); counted in
            :attr:`excluded` too.
    """

    def __init__(
        self,
        store: FrameStore | str | Path,
        split: str | None = None,
        transform: Callable[..., Any] | None = None,
        modalities: Sequence[str] = ("rgb",),
        clip_len: int | None = None,
        clip_stride: int = 1,
        include_failed: bool = False,
        exclude_pai: Sequence[str] = (),
        exclude_domains: Sequence[str] = (),
    ) -> None:
        self.store = store if isinstance(store, FrameStore) else FrameStore(store)
        unknown = [m for m in modalities if m not in MODALITIES]
        if unknown or "rgb" not in modalities:
            raise ValueError(f"modalities must include 'rgb' and come from {MODALITIES}; got {tuple(modalities)}")
        if split is not None and split not in ("train", "dev", "test"):
            raise ValueError(f"split must be 'train', 'dev', 'test' or None, got {split!r}")
        if clip_len is not None and clip_len < 1:
            raise ValueError(f"clip_len must be a positive number of frames, got {clip_len}")
        if clip_stride < 1:
            raise ValueError(f"clip_stride must be >= 1, got {clip_stride}")
        self.split, self.transform = split, transform
        self.modalities = tuple(modalities)
        self.clip_len, self.clip_stride = clip_len, clip_stride
        index = self.store.index
        rows = index if split is None else index[index["split"] == split]
        dropped = _matches_pai(rows, exclude_pai) | rows["domain"].isin(_matching(rows["domain"], exclude_domains))
        self.excluded = int(dropped.sum())
        """Rows of this split left out by ``exclude_pai`` and ``exclude_domains``."""
        rows = rows[~dropped]
        self.failed = rows[rows["failure"] != ""].reset_index(drop=True)
        """Failed frames of this split (kept out of the items unless ``include_failed``)."""
        self.rows = (rows if include_failed else rows[rows["failure"] == ""]).reset_index(drop=True)
        usable = self.rows[self.rows["failure"] == ""]
        missing = [m for m in self.modalities if m != "rgb" and (usable[_CROP_COLUMN[m]] == "").any()]
        if missing:
            raise ValueError(
                f"modalities {missing} were asked for but some frames of {self.store.path} have no such crop; "
                "prepare the store from a dataset whose manifest has ir_path/depth_path, or drop them"
            )
        self._attributes = self.rows[list(ATTRIBUTES)].to_numpy(dtype=np.float32)
        self._crops = {m: self.rows[_CROP_COLUMN[m]].tolist() for m in self.modalities}
        self._frames = self.rows["frame"].astype("int64").tolist()
        self._records = _metadata_records(self.rows)  # plain dicts of plain values: cheap per-item access
        self._clips = self._make_clips() if clip_len else None
        if self.excluded:
            logger.info("%s split=%s: %d frames left out (species %s, domains %s)", self.store.path, split, self.excluded,
                        ", ".join(exclude_pai) or "-", ", ".join(exclude_domains) or "-")
        if len(self.failed):
            kept = "kept (black images)" if include_failed else "left out"
            logger.info("%s split=%s: %d failed frames %s", self.store.path, split, len(self.failed), kept)

    @classmethod
    def for_spec(cls, store: FrameStore | str | Path, split: str | None, spec: Any, **kwargs: Any) -> FrameDataset:
        """The raw items a model with input spec ``spec`` reads: its modalities, and clips when it reads clips."""
        clip = spec.clip_len if spec.clip_len > 1 else None
        return cls(store, split=split, modalities=spec.names, clip_len=clip, clip_stride=spec.clip_stride, **kwargs)

    def _make_clips(self) -> list[list[int]]:
        clips: list[list[int]] = []
        # a clip is frames of one video: its id, else its file (a dataset of frame images has one file per frame);
        # combined protocols also key by their dataset
        rows = self.rows.assign(_clip_video=self.rows["video"].where(self.rows["video"] != "", self.rows["source"]))
        keys = [c for c in ("dataset",) if c in rows.columns] + ["_clip_video"]
        groups = rows.sort_values([*keys, "frame"], kind="stable").groupby(keys, sort=True)
        for _, group in groups:
            positions = group.index.to_list()
            clips += [[positions[i] for i in window]
                      for window in clip_windows(len(positions), self.clip_len, self.clip_stride)]  # type: ignore[arg-type]
        return clips

    def __len__(self) -> int:
        return len(self._clips) if self._clips is not None else len(self.rows)

    def _load(self, position: int) -> dict[str, Any]:
        size = self.store.acquisition.crop.size
        images: dict[str, np.ndarray] = {}
        for modality in self.modalities:
            relative = self._crops[modality][position]
            if relative:
                images[modality] = self.store.read(relative, modality)
            else:  # a failed frame kept by include_failed
                shape = (size, size, 3) if modality == "rgb" else (size, size)
                images[modality] = np.zeros(shape, dtype=np.uint8)
        return self._apply(images)

    def _apply(self, images: dict[str, np.ndarray]) -> dict[str, Any]:
        if self.transform is None:
            return images
        if getattr(self.transform, "additional_targets", None) is not None or _is_albumentations(self.transform):
            kwargs = {"image": images["rgb"], **{m: images[m] for m in images if m != "rgb"}}
            out = self.transform(**kwargs)
            return {"rgb": out["image"], **{m: out[m] for m in images if m != "rgb"}}
        return {m: self.transform(img) for m, img in images.items()}

    def _meta(self, position: int) -> dict[str, Any]:
        out = dict(self._records[position])
        out["attributes"] = self._attributes[position].copy()
        return out

    def __getitem__(self, item: int) -> dict[str, Any]:
        if self._clips is None:
            loaded = self._load(item)
            out = self._meta(item)
            out["image"] = loaded.pop("rgb")
            out.update(loaded)
            return out
        positions = self._clips[item]
        frames = [self._load(p) for p in positions]
        out = self._meta(positions[0])
        out["frames"] = [self._frames[p] for p in positions]
        for modality in self.modalities:
            key = "image" if modality == "rgb" else modality
            out[key] = _stack([f[modality] for f in frames])
        return out


# The fixed metadata keys first (after label), in the order items have always had them.
_FIRST = ("pai", "video", "subject", "domain", "split", "frame", "failure")


def _metadata_records(rows: Any) -> list[dict[str, Any]]:
    """One dict per row: ``label`` (1 bona fide) and every metadata column as plain str/int/float."""
    served = [c for c in rows.columns if c not in _NOT_METADATA and c not in _RESERVED]
    left_out = [c for c in rows.columns if c in _RESERVED]
    if left_out:
        logger.warning("index column(s) %s are not served: items use those keys for images", ", ".join(left_out))
    served.sort(key=lambda c: _FIRST.index(c) if c in _FIRST else len(_FIRST))  # stable: the rest keep index order
    columns: dict[str, list[Any]] = {"label": (rows["label"] == BONAFIDE).astype("int64").tolist()}
    for name in served:
        values, kind = rows[name], column_kind(rows[name])
        if kind == "int":
            columns[name] = values.astype("int64").tolist()
        elif kind == "float":
            columns[name] = values.astype("float64").tolist()
        else:
            columns[name] = [as_text(v) for v in values.tolist()]
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*columns.values())] if len(rows) else []


def clip_windows(n: int, length: int, stride: int) -> list[list[int]]:
    """Clips over ``n`` frames in time order: windows of ``length`` positions ``stride`` apart that do not overlap.

    Fewer frames than one clip spans give one clip padded by repeating its last frame.
    The frame store and the Predictor both cut clips with this one function.
    """
    span = (length - 1) * stride + 1
    if n < span:
        taken = list(range(0, n, stride))
        return [taken + [taken[-1]] * (length - len(taken))]
    return [list(range(start, start + span, stride)) for start in range(0, n - span + 1, span)]


def _is_albumentations(transform: Any) -> bool:
    return type(transform).__module__.startswith("albumentations")


def _stack(items: list[Any]) -> Any:
    first = items[0]
    if isinstance(first, np.ndarray):
        return np.stack(items)
    try:
        import torch

        if isinstance(first, torch.Tensor):
            return torch.stack(items)
    except ImportError:  # pragma: no cover
        pass
    return items


def _matches_pai(rows: Any, patterns: Sequence[str]) -> Any:
    """True for the attack rows whose species matches one of the shell wildcards ``patterns``."""
    return rows["pai"].isin(_matching(rows["pai"], patterns)) & (rows["label"] != BONAFIDE)


def _matching(values: Any, patterns: Sequence[str]) -> list[Any]:
    """The distinct ``values`` that match one of the shell wildcards ``patterns``."""
    import fnmatch

    return [v for v in values.unique() if any(fnmatch.fnmatchcase(str(v), pat) for pat in patterns)]
