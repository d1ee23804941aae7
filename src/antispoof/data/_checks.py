"""Shared plumbing of the dataset adapters: safe paths, clear errors, the manifest table and its column types.

Every adapter reports problems the same way: a root that does not look like the
dataset names what was expected and what was found; files a list or a protocol names
but the disk lacks are listed (first few and the count), never dropped silently; a
path that would leave the dataset root is refused.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from antispoof.data.base import BONAFIDE, MANIFEST_COLUMNS, PAI_CLASSES, SPLITS, pai_class_of

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "DatasetError",
    "ProtocolMismatchError",
    "UnsafePathError",
    "preview",
    "safe_relpath",
    "list_root",
    "root_error",
    "require_dir",
    "check_exists",
    "numeric_lines",
    "warn_absent",
    "check_split",
    "check_protocol",
    "to_frame",
    "check_pai_class",
    "select_split",
    "column_kind",
    "as_text",
]

SHOWN = 5  # how many offending entries a message lists before "... and N more"


class DatasetError(ValueError):
    """A dataset root, list file or manifest is not what the adapter expects."""


class ProtocolMismatchError(DatasetError):
    """The dataset's own protocol files disagree with the published protocol rules."""


class UnsafePathError(DatasetError):
    """A path in a manifest or list file would leave the dataset root."""


def preview(items: Iterable[Any], shown: int = SHOWN) -> str:
    """``'a, b, c ... and 7 more'``: the first few items and how many were left out."""
    items = [str(i) for i in items]
    head = ", ".join(items[:shown])
    rest = len(items) - shown
    return f"{head} ... and {rest} more" if rest > 0 else head


def safe_relpath(path: str, *, where: str = "") -> str:
    """Normalise a relative dataset path to '/' form; refuse absolute paths and '..' escapes.

    Raises:
        UnsafePathError: the path is empty, absolute (``/x``, ``C:\\x``, ``\\\\server``) or
            climbs out of the root (``../../etc/passwd``).
    """
    text = str(path).strip().replace("\\", "/")
    context = f" ({where})" if where else ""
    if not text:
        raise UnsafePathError(f"empty path{context}; every row needs a file path relative to the dataset root")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise UnsafePathError(
            f"absolute path {path!r}{context} refused: paths must be relative to the dataset root"
        )
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePathError(
            f"path {path!r}{context} refused: '..' would leave the dataset root; "
            "write paths relative to the root, inside it"
        )
    if not parts:
        raise UnsafePathError(f"path {path!r}{context} names no file")
    return "/".join(parts)


def list_root(root: Path, limit: int = 12) -> str:
    """A short description of what a folder holds, for error messages."""
    if not root.exists():
        return "nothing (the path does not exist)"
    if not root.is_dir():
        return "a file, not a folder"
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    if not entries:
        return "an empty folder"
    return preview(entries, limit)


#: Who distributes each licensed dataset (none can be downloaded by this toolkit).
OBTAINED_FROM = {
    "OULU-NPU": "the University of Oulu, on signing its end-user licence agreement",
    "Replay-Attack": "the Idiap Research Institute, on signing its end-user licence agreement",
    "CASIA-FASD": "the Chinese Academy of Sciences' Institute of Automation (CBSR), on request",
    "MSU-MFSD": "Michigan State University, on request with its licence agreement",
    "SiW": "Michigan State University's computer vision lab, on request with its licence agreement",
    "CASIA-SURF": "the Chinese Academy of Sciences' Institute of Automation (CBSR), on signing its licence agreement",
    "CelebA-Spoof": "its authors, for non-commercial research, on accepting their agreement",
}


def root_error(dataset: str, root: Path, expected: str) -> DatasetError:
    """The error for a root that does not look like ``dataset``: what was expected, what was found, who distributes it."""
    source = f" {dataset} is distributed by {OBTAINED_FROM[dataset]}." if dataset in OBTAINED_FROM else ""
    return DatasetError(
        f"{root} does not look like a {dataset} root: expected {expected}; found {list_root(root)}. "
        f"Point --root at the folder that holds the dataset as distributed.{source}"
    )


def require_dir(root: Path, dataset: str, expected: str) -> Path:
    """Return ``root`` if it is a folder, else raise the root error."""
    if not root.is_dir():
        raise root_error(dataset, root, expected)
    return root


def check_exists(root: Path, paths: Iterable[str], source: str) -> None:
    """Raise ``FileNotFoundError`` listing the first few (and the count) of ``paths`` absent under ``root``."""
    missing = [p for p in paths if not (root / p).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} file(s) named by {source} are missing under {root}: {preview(missing)}. "
            "Restore them (or remove their rows) and run again."
        )


def numeric_lines(path: Path, count: int, expected: str, *, commas: bool = False) -> Iterator[tuple[int, list[float]]]:
    """``(line index from 0, its count numbers)`` for each non-blank line of an annotation file (eye positions, face
    boxes); a line of another shape raises ``DatasetError`` naming the file, the line and ``expected``. ``commas``:
    numbers may also be separated by commas."""
    for index, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in (line.replace(",", " ") if commas else line).split()]
        except ValueError:
            values = []
        if len(values) != count:
            raise DatasetError(f"{path} line {index + 1}: expected {expected!r}; found {line!r}")
        yield index, values


def warn_absent(dataset: str, root: Path, absent: Sequence[str]) -> None:
    """Log (never silently drop) the videos a complete copy of ``dataset`` would have but this one lacks."""
    if absent:
        logger.warning(
            "%s at %s lacks %d video(s) of the complete dataset; only the videos present are listed. Absent: %s",
            dataset,
            root,
            len(absent),
            preview(absent),
        )


def check_split(split: str | None) -> str | None:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return split


def check_protocol(dataset: str, protocol: str | None, known: Sequence[str], default: str | None) -> str:
    """Resolve ``protocol`` against the dataset's ``known`` names (``default`` when None)."""
    if protocol is None:
        if default is None:
            raise ValueError(f"{dataset} needs a protocol; choose one of {', '.join(known)}")
        return default
    if protocol not in known:
        close = difflib.get_close_matches(protocol, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"unknown {dataset} protocol {protocol!r}{hint} Protocols: {', '.join(known)}")
    return protocol


def to_frame(rows: Sequence[Mapping[str, Any]], extra: Sequence[str] = ()) -> pd.DataFrame:
    """Build the manifest DataFrame: the manifest columns first, then ``extra`` in order."""
    import pandas as pd

    columns = [*MANIFEST_COLUMNS, *[c for c in extra if c not in MANIFEST_COLUMNS]]
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    frame["frame"] = frame["frame"].astype("int64")
    for column in ("path", "label", "pai", "subject", "session", "video", "domain", "split"):
        frame[column] = frame[column].astype(str)
    return frame.reset_index(drop=True)


def check_pai_class(frame: pd.DataFrame, where: str = "samples") -> pd.DataFrame:
    """``frame`` with a valid ``pai_class`` column: the adapter's own, else derived from ``pai``.

    Cells that are absent or empty are filled by :func:`antispoof.data.base.pai_class_of`;
    given values are lower-cased and must be in ``PAI_CLASSES``, and a row is ``bonafide``
    in ``pai_class`` exactly when its ``label`` is.

    Raises:
        DatasetError: a value outside ``PAI_CLASSES``, or a class that contradicts the label.
    """
    derived = frame["pai"].map({pai: pai_class_of(pai) for pai in frame["pai"].unique()})
    if "pai_class" in frame.columns:
        given = frame["pai_class"].fillna("").astype(str).str.strip().str.lower()
        values = given.where(given != "", derived)
    else:
        values = derived
    bad = sorted(set(values) - set(PAI_CLASSES))
    if bad:
        raise DatasetError(
            f"{where}: pai_class must be one of {', '.join(PAI_CLASSES)}; found {preview(bad)}. "
            "Fix those values, or leave the cells empty to derive the class from the pai species name"
        )
    if "label" in frame.columns:
        wrong = (values == BONAFIDE) != (frame["label"] == BONAFIDE)
        if wrong.any():
            shown = preview(f"{p!r} ({c})" for p, c in zip(frame.loc[wrong, "pai"], values[wrong]))
            raise DatasetError(
                f"{where}: pai_class is {BONAFIDE} exactly on bona fide rows, but {int(wrong.sum())} row(s) disagree "
                f"with their label (species and class: {shown}); bona fide rows take pai {BONAFIDE!r}, attacks their species"
            )
    return frame.assign(pai_class=values.astype(str))


def select_split(frame: pd.DataFrame, split: str | None) -> pd.DataFrame:
    """Rows of ``split`` (all rows when None), index reset, ``pai_class`` checked or derived.

    Every adapter's ``samples`` ends here, so this is where every adapter gets its
    ``pai_class`` column (:func:`check_pai_class`).
    """
    check_split(split)
    if split is not None:
        frame = frame[frame["split"] == split]
    return check_pai_class(frame.reset_index(drop=True))


def column_kind(values: Any) -> str:
    """How a column's values are typed in the index and in items: ``str``, ``int`` or ``float``.

    Integers (and booleans) without missing values are ``int``; other numbers (integers
    with missing values included) ``float``; anything else ``str``.
    """
    from pandas.api import types

    missing = bool(values.isna().any())
    if types.is_bool_dtype(values) or types.is_integer_dtype(values):
        return "float" if missing else "int"
    if types.is_float_dtype(values):
        return "float"
    if types.is_object_dtype(values):
        inferred = types.infer_dtype(values, skipna=True)
        if inferred in ("integer", "boolean"):
            return "float" if missing else "int"
        if inferred in ("floating", "mixed-integer-float", "decimal"):
            return "float"
    return "str"


def as_text(value: Any) -> str:
    """A value of a ``str`` column: ``str(value)``, '' for a missing one (None, NaN, pd.NA) rather than 'nan'."""
    import pandas as pd

    if isinstance(value, str):
        return value
    if value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value))):
        return ""
    return str(value)
