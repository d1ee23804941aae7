"""SiW (Spoof in the Wild): 165 subjects, live videos and print / replay attacks.

Layout (as distributed)::

    root/Train/live/003/003-1-1-1-1.mov       SubjectID-SensorID-TypeID-MediumID-SessionID.mov
    root/Train/spoof/003/003-1-3-2-1.mov
    root/Test/live/..., root/Test/spoof/...

TypeID 1 live, 2 print, 3 replay; MediumID is the print (1, 2) or replay medium (1-4)
(Liu et al., CVPR 2018). ``.mp4`` is accepted as well as ``.mov``. Split = folder
(Train -> train, Test -> test); SiW defines no dev set, so ``dev`` is empty.

Protocols (the paper's Table 2; every protocol keeps every live video of its folder):

============== ================================================ ==============================
protocol       train                                            test
============== ================================================ ==============================
Protocol_1     every Train video, first 60 frames (max_frames)  every Test video
Protocol_2_k   Train live + replay of the 3 media other than k  Test live + replay medium k
Protocol_3_1   Train live + print                               Test live + replay
Protocol_3_2   Train live + replay                              Test live + print
============== ================================================ ==============================

(k = 1..4; print attacks take no part in Protocol 2.) Species (``pai``): ``print`` and
``replay``; the medium is in the ``medium`` column, the sensor in ``device``. ``domain`` is
the file name's SessionID (``session1``, ...): the capture session, the within-dataset
domain of PDLE (seed 003, Sec. 3.2: "we used the number of sessions in each protocol").
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from antispoof._registry import DATASETS
from antispoof.data._checks import DatasetError, check_protocol, numeric_lines, preview, root_error, safe_relpath, select_split, to_frame
from antispoof.data.base import ATTACK, BONAFIDE, DatasetAdapter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["SiW", "SIW_PROTOCOLS", "siw_keep"]

FOLDERS = {"Train": "train", "Test": "test"}
NAME = re.compile(r"^(\d{3})-(\d+)-([123])-(\d+)-(\d+)(?:\.[A-Za-z0-9]+)?$")  # some stems carry ".m" before the extension (seen in the Idiap SiW lists)
TYPES = {"1": BONAFIDE, "2": "print", "3": "replay"}
SIW_PROTOCOLS = ["Protocol_1"] + [f"Protocol_2_{k}" for k in range(1, 5)] + ["Protocol_3_1", "Protocol_3_2"]
FIRST_FRAMES = 60
EXPECTED = "Train/ and Test/ folders with live/<subject>/ and spoof/<subject>/ holding 003-1-1-1-1.mov-style videos"


def siw_keep(protocol: str, split: str, pai: str, medium: int) -> bool:
    """Whether a video of ``split`` with species ``pai`` and ``medium`` belongs to ``protocol``."""
    if pai == BONAFIDE or protocol == "Protocol_1":
        return True
    if protocol.startswith("Protocol_2_"):
        k = int(protocol[-1])
        return pai == "replay" and (medium == k if split == "test" else medium != k)
    if protocol == "Protocol_3_1":
        return pai == ("print" if split == "train" else "replay")
    if protocol == "Protocol_3_2":
        return pai == ("replay" if split == "train" else "print")
    raise KeyError(f"unknown SiW protocol {protocol!r}")


@DATASETS.register("siw")
class SiW(DatasetAdapter):
    """SiW with Protocol_1, Protocol_2_1..2_4 (leave one replay medium out) and Protocol_3_1/3_2."""

    name = "siw"

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        if not any((self.root / f).is_dir() for f in FOLDERS):
            raise root_error("SiW", self.root, EXPECTED)
        self._rows = self._scan()

    def _scan(self) -> list[dict[str, Any]]:
        rows, strange = [], []
        for folder, split in FOLDERS.items():
            for kind in ("live", "spoof"):
                top = self.root / folder / kind
                if not top.is_dir():
                    continue
                for file in sorted(p for p in top.rglob("*") if p.is_file()):
                    if file.suffix.lower() not in (".mov", ".mp4"):
                        continue
                    rel = file.relative_to(self.root).as_posix()
                    match = NAME.match(file.stem)
                    if not match:
                        strange.append(rel)
                        continue
                    subject, sensor, type_id, medium, session = match.groups()
                    pai = TYPES[type_id]
                    if (pai == BONAFIDE) != (kind == "live"):
                        strange.append(rel)
                        continue
                    rows.append(
                        {
                            "path": rel,
                            "label": BONAFIDE if pai == BONAFIDE else ATTACK,
                            "pai": pai,
                            "subject": subject,
                            "session": session,
                            "video": rel.rsplit(".", 1)[0],
                            "frame": -1,
                            "domain": f"session{session}",
                            "split": split,
                            "device": f"sensor{sensor}",
                            "medium": int(medium) if pai != BONAFIDE else 0,
                        }
                    )
        if strange:
            raise DatasetError(
                f"{len(strange)} video(s) under {self.root} do not follow SiW naming "
                f"(live/003/003-1-1-1-1.mov with TypeID 1 under live/, 2 or 3 under spoof/): {preview(strange)}"
            )
        if not rows:
            raise root_error("SiW", self.root, EXPECTED)
        return rows

    def protocols(self) -> list[str]:
        return list(SIW_PROTOCOLS)

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        protocol = check_protocol("SiW", protocol, self.protocols(), self.default_protocol)
        rows = []
        for row in self._rows:
            if siw_keep(protocol, row["split"], row["pai"], row["medium"]):
                limit = FIRST_FRAMES if protocol == "Protocol_1" and row["split"] == "train" else -1
                rows.append({**row, "max_frames": limit})
        return select_split(to_frame(rows, extra=("device", "medium", "max_frames")), split)

    def face_annotations(self, path: str) -> dict[int, dict[str, Any]] | None:
        """Boxes per frame from ``<video>.face`` (line ``k``: frame ``k``, ``x0 y0 x1 y1``); None when absent."""
        rel = safe_relpath(path)
        face = self.root / (rel.rsplit(".", 1)[0] + ".face")
        if not face.is_file():
            return None
        out: dict[int, dict[str, Any]] = {}
        for frame, (x0, y0, x1, y1) in numeric_lines(face, 4, "x0 y0 x1 y1", commas=True):
            if x1 > x0 and y1 > y0:  # a frame without a face is written as zeros
                out[frame] = {"box": (x0, y0, x1, y1)}
        return out
