"""CASIA-FASD: 600 videos of 50 subjects; warped print, cut print and video replay at three qualities.

Layout (as distributed)::

    root/train_release/<1..20>/{1..8,HR_1..HR_4}.avi
    root/test_release/<1..30>/{1..8,HR_1..HR_4}.avi

Videos 1, 2, HR_1 bona fide; 3, 4, HR_2 warped print; 5, 6, HR_3 cut print (eyes cut
out); 7, 8, HR_4 video replay (Zhang et al., ICB 2012). Species (``pai``):
``warped_print``, ``cut_print``, ``replay``.

Subjects: the test folders restart at 1, so test folder ``n`` is subject ``20 + n``
(subjects 1-20 train, 21-50 test; the numbering of the Idiap interface), keeping
subjects distinct across splits.

Protocols: ``grandtest`` (train_release -> train, test_release -> test: 60 bona fide /
180 attack in train, 90 / 270 in test). The dataset defines no dev set: ``dev`` is empty
(cross-validate on train, or pick thresholds on another set). The attack-type tests of
the original paper keep every bona fide video and one attack type in both splits:
``warped`` (3, 4, HR_2), ``cut`` (5, 6, HR_3), ``video`` (7, 8, HR_4); ``high`` keeps the
HR_* videos only. The low/normal quality split of videos 1-8 is not offered: sources
disagree on which of the odd or even numbers are the low-quality camera.

A complete copy has 20 x 12 train and 30 x 12 test videos; absent ones are logged.
Extra columns: ``quality`` (``high`` for HR_*, ``standard`` otherwise), ``pai_class``.
``domain`` is that quality (the capture camera; the low and normal cameras of videos 1-8
stay together, as above): the dataset has no sessions.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from antispoof._registry import DATASETS
from antispoof.data._checks import DatasetError, check_protocol, preview, root_error, select_split, to_frame, warn_absent
from antispoof.data.base import ATTACK, BONAFIDE, DatasetAdapter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["CasiaFASD", "CASIA_FASD_PROTOCOLS"]

FOLDERS = {"train_release": ("train", 20, 0), "test_release": ("test", 30, 20)}
VIDEOS = {
    "1": BONAFIDE, "2": BONAFIDE, "HR_1": BONAFIDE,
    "3": "warped_print", "4": "warped_print", "HR_2": "warped_print",
    "5": "cut_print", "6": "cut_print", "HR_3": "cut_print",
    "7": "replay", "8": "replay", "HR_4": "replay",
}  # fmt: skip
CASIA_FASD_PROTOCOLS = ["grandtest", "warped", "cut", "video", "high"]
SUBSET = {"warped": "warped_print", "cut": "cut_print", "video": "replay"}
EXPECTED = "train_release/ and test_release/ with one folder per subject holding 1.avi..8.avi and HR_1.avi..HR_4.avi"


@DATASETS.register("casia-fasd")
class CasiaFASD(DatasetAdapter):
    """CASIA-FASD with ``grandtest`` and the attack-type protocols of its paper."""

    name = "casia-fasd"
    default_protocol = "grandtest"

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        if not any((self.root / f).is_dir() for f in FOLDERS):
            raise root_error("CASIA-FASD", self.root, EXPECTED)
        self._rows = self._scan()

    def _scan(self) -> list[dict[str, Any]]:
        rows, strange, absent = [], [], []
        for folder, (split, count, offset) in FOLDERS.items():
            top = self.root / folder
            absent += [f"{folder}/{n}/{stem}.avi" for n in range(1, count + 1) for stem in VIDEOS
                       if not (top / str(n) / f"{stem}.avi").is_file()]  # fmt: skip
            if not top.is_dir():
                continue
            for sub in sorted(top.iterdir(), key=lambda p: (len(p.name), p.name)):
                if not sub.is_dir():
                    continue
                if not re.fullmatch(r"\d+", sub.name) or not 1 <= int(sub.name) <= count:
                    strange.append(f"{folder}/{sub.name}/")
                    continue
                for file in sorted(sub.iterdir()):
                    if file.suffix.lower() != ".avi":
                        continue
                    if file.stem not in VIDEOS:
                        strange.append(f"{folder}/{sub.name}/{file.name}")
                        continue
                    pai = VIDEOS[file.stem]
                    rel = f"{folder}/{sub.name}/{file.name}"
                    rows.append(
                        {
                            "path": rel,
                            "label": BONAFIDE if pai == BONAFIDE else ATTACK,
                            "pai": pai,
                            "subject": str(int(sub.name) + offset),
                            "session": "",
                            "video": rel.rsplit(".", 1)[0],
                            "frame": -1,
                            "domain": "high" if file.stem.startswith("HR_") else "standard",
                            "split": split,
                            "quality": "high" if file.stem.startswith("HR_") else "standard",
                        }
                    )
        if strange:
            raise DatasetError(
                f"{len(strange)} entr(ies) under {self.root} do not follow CASIA-FASD naming "
                f"(subject folders 1-20 / 1-30 holding 1.avi..8.avi, HR_1.avi..HR_4.avi): {preview(strange)}"
            )
        if not rows:
            raise root_error("CASIA-FASD", self.root, EXPECTED)
        warn_absent("CASIA-FASD", self.root, absent)
        return rows

    def protocols(self) -> list[str]:
        return list(CASIA_FASD_PROTOCOLS)

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        protocol = check_protocol("CASIA-FASD", protocol, self.protocols(), self.default_protocol)
        rows = self._rows
        if protocol in SUBSET:
            rows = [r for r in rows if r["pai"] in (BONAFIDE, SUBSET[protocol])]
        elif protocol == "high":
            rows = [r for r in rows if r["quality"] == "high"]
        return select_split(to_frame(rows, extra=("quality",)), split)
