"""CASIA-SURF: RGB / IR / Depth image triplets of 1000 subjects, six print attack types.

Layout (as distributed for the ChaLearn LAP challenge)::

    root/Training/real_part/CLKJ_AS0137/real.rssdk/{color,depth,ir}/31.jpg
    root/Training/fake_part/CLKJ_AS0005/04_en_b.rssdk/{color,depth,ir}/101.jpg
    root/Val/0000/000000-{color,depth,ir}.jpg      root/Testing/...
    root/train_list.txt, root/val_private_list.txt, root/test_private_list.txt

List lines: ``<color> <depth> <ir> <label>``, label 1 bona fide, 0 attack (the modality
of each path is read from its ``color``/``depth``/``ir`` name, not from its position).
The lists are the protocol; every path they name must exist.

Protocol ``challenge``: train_list.txt -> train, val_private_list.txt -> dev,
test_private_list.txt -> test. A split whose list is absent is empty (logged); the
public validation list without labels (``val_public_list.txt``) is not a protocol list.

One row per RGB image (``path``), with ``ir_path`` and ``depth_path``. Training images
carry their attack type in the folder name (``04_en_b.rssdk`` -> type 4): ``pai`` is
``type4``; the anonymised Val/Testing images do not, so their attacks have ``pai``
``unknown``. All six types are printed paper (flat or bent, regions cut), so
``pai_class`` is ``print``. ``subject`` is the Training folder (``CLKJ_AS0137``), '' for
Val/Testing; ``video`` is the recording folder (Training) or the image (Val/Testing);
``frame`` is the image number within the recording (-1 for Val/Testing).

Attack-specific folds (seed 001 Sec. 4.1: each fold leaves one training attack type out)
are these types, not the family: ``attack_type_column = "pai"`` makes
:func:`antispoof.data.protocols.attack_types` fold CASIA-SURF by ``pai`` (``type4``,
``type5``, ``type6``: ``antispoof train CONFIG folds=attack`` trains three runs), where
other datasets fold by ``pai_class``. They are the composable
:class:`antispoof.data.protocols.LeaveOneAttackOut` over this protocol.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from antispoof._registry import DATASETS
from antispoof.data._checks import (
    DatasetError,
    check_exists,
    check_protocol,
    root_error,
    safe_relpath,
    select_split,
    to_frame,
)
from antispoof.data.base import ATTACK, BONAFIDE, DatasetAdapter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["CasiaSURF"]

LISTS = {"train": "train_list.txt", "dev": "val_private_list.txt", "test": "test_private_list.txt"}
TRAINING = re.compile(r"^Training/(real_part|fake_part)/([^/]+)/([^/]+)\.rssdk/color/(\d+)\.[A-Za-z]+$")
EXPECTED = "train_list.txt (and val_private_list.txt, test_private_list.txt) beside Training/, Val/, Testing/"


def _modality(path: str) -> str | None:
    lowered = path.lower()
    for name in ("color", "depth", "ir"):
        if f"/{name}/" in lowered or f"-{name}." in lowered:
            return name
    return None


@DATASETS.register("casia-surf")
class CasiaSURF(DatasetAdapter):
    """CASIA-SURF read from its train / val / test list files (protocol ``challenge``)."""

    name = "casia-surf"
    default_protocol = "challenge"
    # Seed 001, section 5.2: the release is face crops ("no detection algorithms were used"), already sampled.
    face_source_default = "whole_image"
    default_sampling = {"policy": "all"}
    # Seed 001 folds by the attack types (type4..6, all of family print): folds=attack splits by pai, not pai_class.
    attack_type_column = "pai"

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        if not any((self.root / name).is_file() for name in LISTS.values()):
            raise root_error("CASIA-SURF", self.root, EXPECTED)
        self._frame = self._read()

    def _read(self) -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for split, name in LISTS.items():
            path = self.root / name
            if not path.is_file():
                logger.warning("CASIA-SURF list %s is absent: split %s is empty", path, split)
                continue
            named: list[str] = []
            for number, line in enumerate(path.read_text().splitlines(), 1):
                fields = line.split()
                if not fields:
                    continue
                where = f"{name} line {number}"
                if len(fields) != 4 or fields[3] not in ("0", "1"):
                    raise DatasetError(f"{where}: expected '<color> <depth> <ir> <0|1>'; found {line.strip()!r}")
                paths = {}
                for field in fields[:3]:
                    rel = safe_relpath(field, where=where)
                    modality = _modality(rel)
                    if modality is None or modality in paths:
                        raise DatasetError(f"{where}: cannot tell the color, depth and ir images apart in {line.strip()!r}")
                    paths[modality] = rel
                named += list(paths.values())
                rows.append(self._row(paths, fields[3] == "1", split, where))
            check_exists(self.root, named, str(path))
        if not rows:
            raise root_error("CASIA-SURF", self.root, EXPECTED + " with at least one line")
        return to_frame(rows, extra=("ir_path", "depth_path", "pai_class"))

    def _row(self, paths: dict[str, str], bonafide: bool, split: str, where: str) -> dict[str, Any]:
        color = paths["color"]
        match = TRAINING.match(color)
        subject, video, frame, pai = "", color.rsplit(".", 1)[0], -1, BONAFIDE if bonafide else "unknown"
        if match:
            part, subject, recording, number = match.groups()
            video, frame = color.split("/color/")[0], int(number)
            if (part == "real_part") != bonafide:
                raise DatasetError(f"{where}: label {'1' if bonafide else '0'} contradicts the folder {part} of {color}")
            if not bonafide:
                kind = re.match(r"^(\d+)_", recording)
                pai = f"type{int(kind.group(1))}" if kind else "unknown"
        return {
            "path": color,
            "label": BONAFIDE if bonafide else ATTACK,
            "pai": pai,
            "subject": subject,
            "session": "",
            "video": video,
            "frame": frame,
            "domain": self.name,
            "split": split,
            "ir_path": paths["ir"],
            "depth_path": paths["depth"],
            "pai_class": BONAFIDE if bonafide else "print",
        }

    def protocols(self) -> list[str]:
        return ["challenge"]

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        check_protocol("CASIA-SURF", protocol, self.protocols(), self.default_protocol)
        return select_split(self._frame.copy(), split)
