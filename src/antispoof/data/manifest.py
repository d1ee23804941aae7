"""The generic manifest format: one CSV (and the folder it sits in) describes a dataset.

``root`` is either a folder holding ``manifest.csv`` or the path of a CSV file; paths in
the CSV are relative to the folder the CSV sits in. Columns are those of
:mod:`antispoof.data.base`:

- required: ``path``, ``label`` (``bonafide`` | ``attack``);
- filled with a default when absent (and logged): ``pai`` (``bonafide`` for live rows,
  otherwise required per row), ``subject`` (''), ``session`` (''), ``video`` (the path
  without extension), ``frame`` (-1), ``domain`` ('manifest'), ``split`` ('');
- optional and checked when present: ``ir_path``, ``depth_path`` (files that must exist),
  ``box_x0``..``box_y1`` (pixels), the attribute columns (0, 1 or empty), and any other
  column, which is kept as it is (strings);
- ``pai_class`` (one of ``bonafide``, ``print``, ``replay``, ``mask``, ``other``), where
  absent or empty, is derived from the species name by
  :func:`antispoof.data.base.pai_class_of` (``replay_phone`` -> replay, ``makeup`` -> other).

Protocols: ``default`` uses the ``split`` column. Every further column named
``split_<name>`` defines a protocol ``<name>`` with its own train/dev/test assignment
(rows with an empty value there are not part of that protocol).

Refused: paths that are absolute or climb out of the root (``../../etc/passwd``),
labels other than bonafide/attack, splits other than train/dev/test, attack rows without
a species; files named by the CSV but absent on disk are listed (first few + count).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from antispoof._registry import DATASETS
from antispoof.data._checks import (
    DatasetError,
    check_exists,
    check_pai_class,
    check_protocol,
    list_root,
    preview,
    safe_relpath,
    select_split,
)
from antispoof.data.base import (
    ATTACK,
    ATTRIBUTES,
    BONAFIDE,
    BOX_COLUMNS,
    MANIFEST_COLUMNS,
    SPLITS,
    DatasetAdapter,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["ManifestDataset", "read_manifest", "MANIFEST_NAME"]

MANIFEST_NAME = "manifest.csv"
DEFAULT_PROTOCOL = "default"


def _resolve(root: Path) -> tuple[Path, Path]:
    """(folder the paths are relative to, CSV file) for a folder or a CSV path."""
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise DatasetError(f"{root} is not a CSV file; give a manifest .csv or the folder holding {MANIFEST_NAME}")
        return root.parent, root
    if root.is_dir():
        csv = root / MANIFEST_NAME
        if not csv.is_file():
            found = sorted(p.name for p in root.glob("*.csv"))
            hint = f" (pass one of the CSV files, {preview(found)}, as --root)" if found else ""
            raise DatasetError(
                f"{root} does not look like a manifest dataset: expected {MANIFEST_NAME} in it, or a CSV path; "
                f"found {list_root(root)}{hint}"
            )
        return root, csv
    raise FileNotFoundError(f"manifest root {root} does not exist; give a folder with {MANIFEST_NAME} or a CSV path")


def read_manifest(csv: str | Path, base: str | Path | None = None, check_files: bool = True) -> pd.DataFrame:
    """Read and validate one manifest CSV; every split kept, ``split_<name>`` columns included.

    Args:
        csv: the CSV file.
        base: the folder its paths are relative to (default: the CSV's folder).
        check_files: raise when files named in ``path``/``ir_path``/``depth_path`` are absent.
    """
    import numpy as np
    import pandas as pd

    csv = Path(csv)
    base = Path(base) if base is not None else csv.parent
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("path", "label") if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{csv} lacks the required column(s) {', '.join(missing)}; found columns: {', '.join(frame.columns) or 'none'}. "
            f"A manifest needs at least path and label; the full set is {', '.join(MANIFEST_COLUMNS)}"
        )
    where = csv.name

    def bad_rows(mask: Any) -> str:
        return preview([f"line {i + 2}" for i in np.flatnonzero(np.asarray(mask))])

    frame["path"] = [safe_relpath(p, where=f"{where} line {i + 2}") for i, p in enumerate(frame["path"])]
    frame["label"] = frame["label"].str.strip().str.lower()
    bad = ~frame["label"].isin([BONAFIDE, ATTACK])
    if bad.any():
        values = sorted(set(frame.loc[bad, "label"]))
        raise DatasetError(f"{csv}: label must be {BONAFIDE} or {ATTACK}; found {preview(values)} at {bad_rows(bad)}")

    defaults = {"subject": "", "session": "", "domain": "manifest", "split": ""}
    absent = [c for c in MANIFEST_COLUMNS if c not in frame.columns]
    if absent:
        logger.info("%s has no column(s) %s; using defaults", csv, ", ".join(absent))
    if "pai" not in frame.columns:
        frame["pai"] = ""
    frame["pai"] = frame["pai"].str.strip()
    frame.loc[(frame["label"] == BONAFIDE) & (frame["pai"] == ""), "pai"] = BONAFIDE
    bad = (frame["label"] == ATTACK) & (frame["pai"].isin(["", BONAFIDE]))
    if bad.any():
        raise DatasetError(f"{csv}: attack rows need their species in the pai column (e.g. print, replay); missing at {bad_rows(bad)}")
    bad = (frame["label"] == BONAFIDE) & (frame["pai"] != BONAFIDE)
    if bad.any():
        raise DatasetError(f"{csv}: bona fide rows must have pai '{BONAFIDE}' (or empty); found otherwise at {bad_rows(bad)}")
    for column, value in defaults.items():
        if column not in frame.columns:
            frame[column] = value
    if "video" not in frame.columns:
        frame["video"] = [p.rsplit(".", 1)[0] for p in frame["path"]]
    if "frame" not in frame.columns:
        frame["frame"] = "-1"
    frame["frame"] = frame["frame"].replace("", "-1")
    try:
        frame["frame"] = frame["frame"].astype("int64")
    except ValueError:
        raise DatasetError(f"{csv}: frame must be an integer (-1 for a whole video or a still image)") from None

    split_columns = ["split"] + [c for c in frame.columns if c.startswith("split_")]
    for column in split_columns:
        frame[column] = frame[column].str.strip()
        bad = ~frame[column].isin(["", *SPLITS])
        if bad.any():
            values = sorted(set(frame.loc[bad, column]))
            raise DatasetError(f"{csv}: {column} must be one of {', '.join(SPLITS)} (or empty); found {preview(values)} at {bad_rows(bad)}")

    for column in ("ir_path", "depth_path"):
        if column in frame.columns:
            frame[column] = [
                safe_relpath(p, where=f"{where} line {i + 2}, {column}") if p.strip() else ""
                for i, p in enumerate(frame[column])
            ]
    for column in (*BOX_COLUMNS, *ATTRIBUTES):
        if column in frame.columns:
            values = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
            bad = values.isna() & (frame[column] != "")
            if bad.any():
                raise DatasetError(f"{csv}: {column} must be a number (or empty); not at {bad_rows(bad)}")
            if column in ATTRIBUTES and not values.dropna().isin([0, 1]).all():
                raise DatasetError(f"{csv}: attribute {column} must be 0, 1 or empty")
            frame[column] = values.astype("float64")

    frame = check_pai_class(frame, where=str(csv))

    if check_files:
        named = list(frame["path"])
        for column in ("ir_path", "depth_path"):
            if column in frame.columns:
                named += [p for p in frame[column] if p]
        check_exists(base, dict.fromkeys(named), str(csv))
    extra = [c for c in frame.columns if c not in MANIFEST_COLUMNS]
    return frame[[*MANIFEST_COLUMNS, *extra]].reset_index(drop=True)


@DATASETS.register("manifest")
class ManifestDataset(DatasetAdapter):
    """A user's own data (or the synthetic generator's output) described by one manifest CSV."""

    name = "manifest"
    default_protocol = DEFAULT_PROTOCOL

    def __init__(self, root: str | Path, check_files: bool = True) -> None:
        super().__init__(root)
        self.base, self.csv = _resolve(self.root)
        self._frame = read_manifest(self.csv, self.base, check_files=check_files)
        self._boxes: dict[str, dict[int, dict[str, Any]]] | None = None

    def protocols(self) -> list[str]:
        return [DEFAULT_PROTOCOL] + [c[len("split_"):] for c in self._frame.columns if c.startswith("split_")]

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        protocol = check_protocol(self.name, protocol, self.protocols(), self.default_protocol)
        frame = self._frame.copy()
        if protocol != DEFAULT_PROTOCOL:
            frame["split"] = frame[f"split_{protocol}"]
        if split is not None and not (frame["split"] != "").any():
            raise DatasetError(
                f"{self.csv} assigns no split to any row (column split is empty or absent); "
                "fill it with train/dev/test, or list without --split"
            )
        if split is not None or protocol != DEFAULT_PROTOCOL:
            frame = frame[frame["split"] != ""]
        frame = frame.drop(columns=[c for c in frame.columns if c.startswith("split_")])
        return select_split(frame, split)

    def face_source(self) -> str | None:
        """``dataset`` when every row has a face box (the synthetic generator writes them), else a detector."""
        has_boxes = all(c in self._frame.columns for c in BOX_COLUMNS) and self._frame[list(BOX_COLUMNS)].notna().all(axis=None)
        return "dataset" if has_boxes else None

    def face_annotations(self, path: str) -> dict[int, dict[str, Any]] | None:
        """Boxes from the box_* columns: {frame: {"box": (x0, y0, x1, y1)}} for the rows of ``path``."""
        if not all(c in self._frame.columns for c in BOX_COLUMNS):
            return None
        if self._boxes is None:
            self._boxes = {}
            columns = ["path", "frame", *BOX_COLUMNS]
            for rel, frame, *box in self._frame[columns].itertuples(index=False):
                if not any(v != v for v in box):  # NaN: no box for this row
                    self._boxes.setdefault(rel, {})[int(frame)] = {"box": tuple(float(v) for v in box)}
        return self._boxes.get(safe_relpath(path))
