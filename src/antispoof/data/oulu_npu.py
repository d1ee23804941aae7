"""OULU-NPU: 4950 videos of 55 users on six phones, three sessions, two print and two replay attacks.

Layout (as distributed)::

    root/Train_files/1_1_01_1.avi    Phone_Session_User_File.avi (+ 1_1_01_1.txt eye positions)
    root/Dev_files/...  root/Test_files/...
    root/Protocols/Protocol_1/{Train,Dev,Test}.txt, Protocol_3/Train_1.txt ... (optional)

Facts used (Boulkenafet et al., FG 2017, and the dataset's protocol files): phones 1-6,
sessions 1-3, users 1-20 in Train_files, 21-35 in Dev_files, 36-55 in Test_files;
file 1 bona fide, 2 and 3 print (printers 1 and 2), 4 and 5 video replay (displays 1
and 2). Train and Dev always come from Train_files and Dev_files, Test from Test_files.

========== ===================================== ==========================================
protocol   train / dev                            test
========== ===================================== ==========================================
Protocol_1 sessions 1, 2; all phones, all files   session 3
Protocol_2 files 1, 2, 4 (print 1, replay 1)      files 1, 3, 5 (print 2, replay 2)
Protocol_3_k phones other than k; all sessions    phone k (k = 1..6)
Protocol_4_k phones != k, sessions 1, 2, files    phone k, session 3, files 1, 3, 5
           1, 2, 4
all        every video by its folder (not an official protocol: the convention of
           cross-dataset work, which tests on every Test_files video)
========== ===================================== ==========================================

Published counts (bona fide / attack), which the rules reproduce on the complete set:
Protocol_1 train 240/960, dev 180/720, test 120/480; Protocol_2 360/720, 270/540,
360/720; Protocol_3_k 300/1200, 225/900, 60/240; Protocol_4_k 200/400, 150/300, 20/40.

When ``Protocols/`` is present, the file of the protocol asked for is read (lines
``+1,1_1_01_1``: +1 bona fide, negative attack) and must list exactly the videos the
rules give, with the same bona fide/attack label; a disagreement or a listed video
missing on disk is an error. The sign of attack lines (-1 print, -2 replay in the
copies we know of) is not checked against the species: we could not confirm it for
every release.

Eye positions (``<video>.txt`` beside the video): one line per frame,
``frame, x, y, x, y`` with the subject's right eye first (as read by the Idiap loader);
returned as ``{"eyes": ((x, y) of the eye on the image left, (x, y) of the other)}``.

Extra columns: ``device`` (phone1..phone6), ``instrument`` (print1, print2, replay1,
replay2; '' for bona fide), ``pai_class``.

``domain`` is the capture session, ``session1``..``session3`` (each session is one
place and illumination, the same for every phone): PDLE (seed 003, Sec. 3.2) says "For
the domain labels on the intra-dataset, we used the number of sessions in each
protocol". The phone is in ``device``; a run that wants session x phone domains names
both columns (``pdle.domain_key=[session,device]``).
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
    check_exists,
    numeric_lines,
    check_protocol,
    preview,
    root_error,
    safe_relpath,
    select_split,
    to_frame,
    warn_absent,
)
from antispoof.data.base import ATTACK, BONAFIDE, DatasetAdapter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["OuluNPU", "oulu_split", "OULU_PROTOCOLS"]

FOLDERS = {"train": "Train_files", "dev": "Dev_files", "test": "Test_files"}
PHONES = range(1, 7)
SESSIONS = range(1, 4)
FILES = range(1, 6)
USERS = {"train": range(1, 21), "dev": range(21, 36), "test": range(36, 56)}
NAME = re.compile(r"^([1-6])_([1-3])_(\d{2})_([1-5])$")
OULU_PROTOCOLS = (
    ["Protocol_1", "Protocol_2"]
    + [f"Protocol_3_{k}" for k in PHONES]
    + [f"Protocol_4_{k}" for k in PHONES]
    + ["all"]
)
PAI = {1: BONAFIDE, 2: "print", 3: "print", 4: "replay", 5: "replay"}
INSTRUMENT = {1: "", 2: "print1", 3: "print2", 4: "replay1", 5: "replay2"}
EXPECTED = "Train_files/, Dev_files/ and Test_files/ holding Phone_Session_User_File.avi videos (e.g. Train_files/1_1_01_1.avi)"


def user_split(user: int) -> str:
    for split, users in USERS.items():
        if user in users:
            return split
    raise ValueError(f"OULU-NPU user {user} is outside 1-55")


def oulu_split(protocol: str, phone: int, session: int, user: int, file: int) -> str | None:
    """The split of one video under ``protocol``, or None when the protocol leaves it out."""
    split = user_split(user)
    test = split == "test"
    if protocol == "all":
        return split
    if protocol == "Protocol_1":
        keep = session == 3 if test else session in (1, 2)
    elif protocol == "Protocol_2":
        keep = file in ((1, 3, 5) if test else (1, 2, 4))
    elif protocol.startswith("Protocol_3_"):
        k = int(protocol[-1])
        keep = phone == k if test else phone != k
    elif protocol.startswith("Protocol_4_"):
        k = int(protocol[-1])
        if test:
            keep = phone == k and session == 3 and file in (1, 3, 5)
        else:
            keep = phone != k and session in (1, 2) and file in (1, 2, 4)
    else:
        raise KeyError(f"unknown OULU-NPU protocol {protocol!r}")
    return split if keep else None


def _video_name(key: tuple[int, int, int, int]) -> str:
    phone, session, user, file = key
    return f"{phone}_{session}_{user:02d}_{file}"


def _protocol_file(root: Path, protocol: str, split: str) -> Path:
    stem = {"train": "Train", "dev": "Dev", "test": "Test"}[split]
    if protocol in ("Protocol_1", "Protocol_2"):
        return root / "Protocols" / protocol / f"{stem}.txt"
    number, fold = protocol.split("_")[1:]
    return root / "Protocols" / f"Protocol_{number}" / f"{stem}_{fold}.txt"


@DATASETS.register("oulu-npu")
class OuluNPU(DatasetAdapter):
    """OULU-NPU with Protocols 1, 2, 3_1..3_6, 4_1..4_6 (and the folder-based ``all``)."""

    name = "oulu-npu"
    face_source_default = "dataset"  # its eye positions, one pair per frame

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        present = [f for f in FOLDERS.values() if (self.root / f).is_dir()]
        if not present:
            raise root_error("OULU-NPU", self.root, EXPECTED)
        self._videos = self._scan()

    def _scan(self) -> dict[tuple[int, int, int, int], str]:
        videos: dict[tuple[int, int, int, int], str] = {}
        strange: list[str] = []
        for split, folder in FOLDERS.items():
            directory = self.root / folder
            if not directory.is_dir():
                continue
            for file in sorted(directory.iterdir()):
                if file.suffix.lower() != ".avi":
                    continue
                match = NAME.match(file.stem)
                rel = f"{folder}/{file.name}"
                if not match:
                    strange.append(rel)
                    continue
                key = tuple(int(g) for g in match.groups())
                if not 1 <= key[2] <= 55:
                    strange.append(rel)
                    continue
                if user_split(key[2]) != split:
                    raise DatasetError(
                        f"{rel}: user {key[2]:02d} belongs to {FOLDERS[user_split(key[2])]} "
                        f"(users 1-20 Train, 21-35 Dev, 36-55 Test), not {folder}"
                    )
                videos[key] = rel
        if strange:
            raise DatasetError(
                f"{len(strange)} video(s) under {self.root} do not follow OULU-NPU naming Phone_Session_User_File.avi "
                f"(phone 1-6, session 1-3, user 01-55, file 1-5): {preview(strange)}"
            )
        if not videos:
            raise root_error("OULU-NPU", self.root, EXPECTED)
        return videos

    def protocols(self) -> list[str]:
        return list(OULU_PROTOCOLS)

    def _expected(self, protocol: str) -> dict[tuple[int, int, int, int], str]:
        out = {}
        for split, users in USERS.items():
            for user in users:
                for phone in PHONES:
                    for session in SESSIONS:
                        for file in FILES:
                            if oulu_split(protocol, phone, session, user, file) is not None:
                                out[(phone, session, user, file)] = split
        return out

    def _check_protocol_files(self, protocol: str, expected: dict[tuple[int, int, int, int], str]) -> None:
        if protocol == "all" or not (self.root / "Protocols").is_dir():
            return
        for split in FOLDERS:
            path = _protocol_file(self.root, protocol, split)
            if not path.is_file():
                logger.warning("OULU-NPU protocol file %s is absent; using the published rules alone", path)
                continue
            listed: dict[tuple[int, int, int, int], int] = {}
            for number, line in enumerate(path.read_text().splitlines(), 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    sign, name = (s.strip() for s in line.split(","))
                    key = tuple(int(g) for g in NAME.match(name).groups())  # type: ignore[union-attr]
                    listed[key] = int(sign)
                except (ValueError, AttributeError):
                    raise DatasetError(f"{path} line {number}: expected '+1,1_1_01_1' (label, video); found {line!r}") from None
            want = {k for k, s in expected.items() if s == split}
            extra = sorted(set(listed) - want)
            # a video absent from disk may be absent from the list too (a partial copy, warned about by samples());
            # one on disk must be listed
            lacking = sorted(k for k in want - set(listed) if k in self._videos)
            wrong = sorted(k for k, sign in listed.items() if (sign > 0) != (k[3] == 1))
            if extra or lacking or wrong:
                def fmt(keys: list[tuple[int, int, int, int]]) -> str:
                    return preview(_video_name(k) for k in keys)

                parts = []
                if extra:
                    parts.append(f"{len(extra)} video(s) not in the published {protocol} {split} set: {fmt(extra)}")
                if lacking:
                    parts.append(f"{len(lacking)} video(s) of the published set not listed: {fmt(lacking)}")
                if wrong:
                    parts.append(f"{len(wrong)} label(s) contradicting file 1 = bona fide: {fmt(wrong)}")
                raise ProtocolMismatchError(
                    f"{path} disagrees with the published OULU-NPU {protocol} rules: " + "; ".join(parts)
                    + ". Check the protocol files are the ones distributed with the dataset."
                )
            names = [f"{FOLDERS[split]}/{_video_name(k)}.avi" for k in sorted(listed)]
            check_exists(self.root, names, str(path))

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        protocol = check_protocol("OULU-NPU", protocol, self.protocols(), self.default_protocol)
        expected = self._expected(protocol)
        self._check_protocol_files(protocol, expected)
        absent = sorted(k for k in expected if k not in self._videos)
        warn_absent(
            "OULU-NPU", self.root, [f"{FOLDERS[expected[k]]}/{_video_name(k)}.avi" for k in absent]
        )
        rows = []
        for key, rel in sorted(self._videos.items()):
            which = expected.get(key)
            if which is None:
                continue
            phone, session, user, file = key
            rows.append(
                {
                    "path": rel,
                    "label": BONAFIDE if file == 1 else ATTACK,
                    "pai": PAI[file],
                    "subject": f"{user:02d}",
                    "session": str(session),
                    "video": rel.rsplit(".", 1)[0],
                    "frame": -1,
                    "domain": f"session{session}",
                    "split": which,
                    "device": f"phone{phone}",
                    "instrument": INSTRUMENT[file],
                }
            )
        return select_split(to_frame(rows, extra=("device", "instrument")), split)

    def face_annotations(self, path: str) -> dict[int, dict[str, Any]] | None:
        """Eye positions per frame from ``<video>.txt``; None when the file is absent."""
        rel = safe_relpath(path)
        eyes = self.root / (rel.rsplit(".", 1)[0] + ".txt")
        if not eyes.is_file():
            return None
        out: dict[int, dict[str, Any]] = {}
        for _, values in numeric_lines(eyes, 5, "frame, x, y, x, y", commas=True):
            frame, rx, ry, lx, ly = (int(v) for v in values)
            out[frame] = {"eyes": ((rx, ry), (lx, ly))}
        return out
