"""The plain folder layout: a user's own photos and videos sorted into folders, no code needed.

Layout (``root`` is the folder given as ``--root``)::

    root/
      bonafide/ ...                 live images or videos
      attack/<species>/ ...         attacks, one folder per PAI species (print, replay, mask, ...)

or the same two folders under ``train/``, ``dev/`` and ``test/`` (any of them)::

    root/train/bonafide/..., root/train/attack/print/..., root/test/bonafide/..., ...

Rules:

- media files are images (.jpg .jpeg .png .bmp .webp) and videos (.avi .mp4 .mov .mkv
  .webm .m4v); other files (readme, annotation files) are ignored and logged;
- a file directly in ``bonafide/`` or ``attack/<species>/`` has subject ''; a file one or
  more folders deeper takes the first of those folders as its subject
  (``bonafide/alice/01.jpg`` -> subject ``alice``);
- without split folders every row is in split ``test`` (a folder of one's own photos is
  most often scored; put them under ``train/`` to train on them);
- a split layout and a flat layout in the same root, or a file directly in ``attack/``,
  is an error that says where to move the files.

One protocol, ``default``; the folder layout defines the splits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from antispoof._registry import DATASETS
from antispoof.data._checks import DatasetError, check_protocol, list_root, preview, select_split, to_frame
from antispoof.data.base import ATTACK, BONAFIDE, SPLITS, DatasetAdapter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["FolderDataset", "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "EXAMPLE_TREE", "missing_split_message"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v")
FLAT_SPLIT = "test"
# one line: the CLI prints a user's mistake as one `error:` line
EXAMPLE_TREE = (
    " my_photos/dev/bonafide/alice/01.jpg, my_photos/dev/attack/print/02.jpg, my_photos/dev/attack/replay/03.mp4,"
    " my_photos/test/bonafide/..., my_photos/test/attack/<species>/..., my_photos/train/... (dev/ is the split"
    " `calibrate` reads and needs both bona fide and attack files; test/ is scored by `evaluate`; train/ is read by"
    " `train`; a folder inside bonafide/ or attack/<species>/ names the subject)"
)
EXPECTED = (
    "bonafide/ and attack/<species>/ folders (e.g. attack/print/), "
    "directly in the root (all of it the test split) or under train/, dev/, test/"
)


def layout_error(root: Path) -> DatasetError:
    """The error for a root without the folder layout: what it holds, what it needs, an example tree."""
    return DatasetError(f"{root} does not have the folder dataset's layout (found: {list_root(root)}): expected {EXPECTED}; "
                        "sort the files so, e.g." + EXAMPLE_TREE)


def missing_split_message(root: str | Path, split: str) -> str:
    """What to do when ``root`` has no ``split`` rows: where its files go, with the example tree."""
    return (
        f"{root} has no {split!r} files for the folder dataset: put them in {Path(root) / split}/bonafide/ and "
        f"{Path(root) / split}/attack/<species>/ (bonafide/ and attack/ directly in the root are all the test split), "
        "e.g." + EXAMPLE_TREE
    )


@DATASETS.register("folder")
class FolderDataset(DatasetAdapter):
    """Images and videos sorted into ``bonafide/`` and ``attack/<species>/`` (optionally per split)."""

    name = "folder"
    default_protocol = "default"

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        if not self.root.is_dir():
            raise layout_error(self.root)
        split_dirs = [s for s in SPLITS if (self.root / s).is_dir()]
        flat = any((self.root / d).is_dir() for d in (BONAFIDE, ATTACK))
        if split_dirs and flat:
            raise DatasetError(
                f"{self.root} mixes a split layout ({', '.join(split_dirs)}/) with a flat one (bonafide/ or attack/ "
                "directly in the root); move the flat folders under train/, dev/ or test/"
            )
        if not split_dirs and not flat:
            raise layout_error(self.root)
        self._tops = {s: self.root / s for s in split_dirs} if split_dirs else {FLAT_SPLIT: self.root}
        for split, top in self._tops.items():
            if not any((top / d).is_dir() for d in (BONAFIDE, ATTACK)):
                raise DatasetError(f"{top} has no bonafide/ or attack/<species>/ folder; sort its files into them, e.g."
                                   + EXAMPLE_TREE)
        self._frame = self._scan()

    def _scan(self) -> pd.DataFrame:
        rows = []
        ignored: list[str] = []
        for split, top in self._tops.items():
            for label in (BONAFIDE, ATTACK):
                folder = top / label
                if not folder.is_dir():
                    continue
                for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                    rel = file.relative_to(self.root).as_posix()
                    inner = file.relative_to(folder).parts
                    if file.suffix.lower() not in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS:
                        ignored.append(rel)
                        continue
                    if label == ATTACK:
                        if len(inner) < 2:
                            raise DatasetError(
                                f"{rel} sits directly in attack/; put attack files in a folder named for their "
                                "species, e.g. attack/print/ or attack/replay/"
                            )
                        pai, inner = inner[0], inner[1:]
                    else:
                        pai = BONAFIDE
                    subject = inner[0] if len(inner) > 1 else ""
                    rows.append(
                        {
                            "path": rel,
                            "label": label,
                            "pai": pai,
                            "subject": subject,
                            "session": "",
                            "video": rel.rsplit(".", 1)[0],
                            "frame": -1,
                            "domain": "folder",
                            "split": split,
                        }
                    )
        if ignored:
            logger.info("ignored %d file(s) that are neither images nor videos: %s", len(ignored), preview(ignored))
        if not rows:
            raise DatasetError(
                f"{self.root} has the folder layout but no image or video in it "
                f"(images: {' '.join(IMAGE_EXTENSIONS)}; videos: {' '.join(VIDEO_EXTENSIONS)})"
            )
        return to_frame(rows)

    def missing_split(self, split: str) -> str:
        """The message for a ``split`` this root has no files of (see :func:`missing_split_message`)."""
        return missing_split_message(self.root, split)

    def protocols(self) -> list[str]:
        return ["default"]

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        check_protocol(self.name, protocol, self.protocols(), self.default_protocol)
        return select_split(self._frame.copy(), split)
