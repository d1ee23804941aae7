"""MSU-MFSD: 280 videos of 35 subjects, laptop and Android cameras, print and two replay attacks.

Layout (as distributed; the ``scene01/`` level may be present or not)::

    root/[scene01/]real/real_client002_android_SD_scene01.mp4     (laptop videos: .mov)
    root/[scene01/]attack/attack_client002_laptop_SD_printed_photo_scene01.mov
    root/train_sub_list.txt, root/test_sub_list.txt               (optional: the official lists)

Attack species (``pai``): ``printed_photo``, ``ipad_video`` (HD replay on an iPad),
``iphone_video`` (replay on an iPhone). Each subject has 2 bona fide and 6 attack videos.

Protocol ``grandtest``: the original subject lists (Wen et al., TIFS 2015), 15 training
subjects 002 003 005 006 007 008 009 011 012 021 022 034 053 054 055 and 20 test subjects
001 013 014 023 024 026 028 029 030 032 033 035 036 037 039 042 048 049 050 051:
train 30 bona fide / 90 attack, test 40 / 120. No dev set (``dev`` is empty). When the
dataset's own ``train_sub_list.txt``/``test_sub_list.txt`` are present they must hold the
same subjects, and a video of a subject in neither list is an error.

Extra columns: ``device`` (laptop/android, the capture camera), ``pai_class``. ``domain``
is that camera: the dataset has no sessions (every file is ``scene01``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from antispoof._registry import DATASETS
from antispoof.data._checks import (
    DatasetError,
    ProtocolMismatchError,
    check_protocol,
    preview,
    root_error,
    select_split,
    to_frame,
    warn_absent,
)
from antispoof.data.base import ATTACK, BONAFIDE, DatasetAdapter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["MsuMFSD", "MSU_TRAIN_SUBJECTS", "MSU_TEST_SUBJECTS"]

MSU_TRAIN_SUBJECTS = ("002 003 005 006 007 008 009 011 012 021 022 034 053 054 055").split()
MSU_TEST_SUBJECTS = ("001 013 014 023 024 026 028 029 030 032 033 035 036 037 039 042 048 049 050 051").split()
REAL = re.compile(r"^real_client(\d{3})_(laptop|android)_SD_scene01$")
ATTACK_NAME = re.compile(r"^attack_client(\d{3})_(laptop|android)_SD_(ipad_video|iphone_video|printed_photo)_scene01$")
EXTENSION = {"laptop": ".mov", "android": ".mp4"}
EXPECTED = "real/ and attack/ folders (directly or under scene01/) holding real_client002_android_SD_scene01.mp4-style videos"


def _read_list(path: Path) -> list[str]:
    return [f"{int(t):03d}" for t in path.read_text().split()]


@DATASETS.register("msu-mfsd")
class MsuMFSD(DatasetAdapter):
    """MSU-MFSD with its original train/test subject lists (protocol ``grandtest``)."""

    name = "msu-mfsd"
    default_protocol = "grandtest"

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        self.data = self.root / "scene01" if (self.root / "scene01").is_dir() else self.root
        if not ((self.data / "real").is_dir() or (self.data / "attack").is_dir()):
            raise root_error("MSU-MFSD", self.root, EXPECTED)
        self._check_lists()
        self._rows = self._scan()

    def _check_lists(self) -> None:
        for name, subjects in (("train_sub_list.txt", MSU_TRAIN_SUBJECTS), ("test_sub_list.txt", MSU_TEST_SUBJECTS)):
            for folder in (self.root, self.data):
                path = folder / name
                if path.is_file():
                    listed = _read_list(path)
                    if sorted(listed) != sorted(subjects):
                        raise ProtocolMismatchError(
                            f"{path} lists subjects {preview(sorted(listed), 40)}; the published list is "
                            f"{' '.join(subjects)}. Use the list files distributed with MSU-MFSD."
                        )
                    break

    def _scan(self) -> list[dict[str, Any]]:
        split_of = {s: "train" for s in MSU_TRAIN_SUBJECTS} | {s: "test" for s in MSU_TEST_SUBJECTS}
        prefix = "" if self.data == self.root else "scene01/"
        rows, strange, unknown = [], [], []
        for sub in ("real", "attack"):
            directory = self.data / sub
            if not directory.is_dir():
                continue
            for file in sorted(directory.iterdir()):
                if file.suffix.lower() not in (".mp4", ".mov"):
                    continue
                rel = f"{prefix}{sub}/{file.name}"
                match = (REAL if sub == "real" else ATTACK_NAME).match(file.stem)
                if not match:
                    strange.append(rel)
                    continue
                client, device = match.group(1), match.group(2)
                pai = BONAFIDE if sub == "real" else match.group(3)
                if client not in split_of:
                    unknown.append(rel)
                    continue
                rows.append(
                    {
                        "path": rel,
                        "label": BONAFIDE if sub == "real" else ATTACK,
                        "pai": pai,
                        "subject": client,
                        "session": "",
                        "video": rel.rsplit(".", 1)[0],
                        "frame": -1,
                        "domain": device,
                        "split": split_of[client],
                        "device": device,
                    }
                )
        if strange:
            raise DatasetError(
                f"{len(strange)} video(s) under {self.root} do not follow MSU-MFSD naming "
                f"(real_client002_android_SD_scene01.mp4, attack_client002_laptop_SD_printed_photo_scene01.mov): {preview(strange)}"
            )
        if unknown:
            raise DatasetError(
                f"{len(unknown)} video(s) belong to subjects in neither the train nor the test list of MSU-MFSD: {preview(unknown)}"
            )
        if not rows:
            raise root_error("MSU-MFSD", self.root, EXPECTED)
        have = {r["path"] for r in rows}
        absent = []
        for client in sorted(split_of):
            for device, ext in EXTENSION.items():
                names = [f"real/real_client{client}_{device}_SD_scene01{ext}"] + [
                    f"attack/attack_client{client}_{device}_SD_{kind}_scene01{ext}"
                    for kind in ("ipad_video", "iphone_video", "printed_photo")
                ]
                absent += [prefix + n for n in names if prefix + n not in have]
        warn_absent("MSU-MFSD", self.root, absent)
        return rows

    def protocols(self) -> list[str]:
        return ["grandtest"]

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        check_protocol("MSU-MFSD", protocol, self.protocols(), self.default_protocol)
        return select_split(to_frame(self._rows, extra=("device",)), split)
