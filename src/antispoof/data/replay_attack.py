"""Replay-Attack (Idiap): 1300 videos of 50 clients, print, photo and video attacks, fixed or hand-held.

Layout (as distributed; ``enroll/`` is for face verification and is not read)::

    root/{train,devel,test}/real/client001_session01_webcam_authenticate_adverse_1.mov
    root/{train,devel,test}/attack/{fixed,hand}/attack_highdef_client001_session01_highdef_photo_adverse.mov
    root/face-locations/<same path>.face                (optional: per-frame face boxes)
    root/protocols/attack-<protocol>-allsupports-<group>.txt, real-<group>.txt   (optional)

Attack names: ``attack_<instrument>_client<id>_session01_<sample device>_<photo|video>_<light>``
with instrument ``print`` (a highdef photo printed on paper), ``mobile`` (iPhone screen)
or ``highdef`` (iPad screen). Species (``pai``): ``print``, ``mobile_photo``,
``highdef_photo``, ``mobile_video``, ``highdef_video``. Split = folder (devel -> dev).

Protocols (the Idiap definitions; every protocol keeps every real video):
``grandtest`` all attacks; ``print`` print; ``mobile`` mobile photo + video; ``highdef``
highdef photo + video; ``photo`` print + mobile photo + highdef photo; ``video`` mobile
video + highdef video; ``digitalphoto`` mobile photo + highdef photo. Published sizes:
real 60/60/80 (train/dev/test) in every protocol; attacks grandtest 300/300/400, print
60/60/80, mobile and highdef 120/120/160, photo 180/180/240, video and digitalphoto
120/120/160. Suffix ``-fixed`` or ``-hand`` (``grandtest-fixed``) keeps only the attacks
of that support (the Idiap interface's support filter).

When ``protocols/`` holds the list files of the protocol asked for, they must list
exactly the videos the rules select (an error otherwise), and listed videos must exist.

A complete copy has 15 / 15 / 20 clients in train / devel / test, each with 4 real and
20 attack videos; absent ones are logged (never dropped silently).

Face locations: one line per frame ``frame x y width height`` (Idiap format); frames
with a zero-size box have no face and are left out.

Extra columns: ``support`` (fixed/hand, '' for real), ``light`` (controlled/adverse),
``device`` (webcam: the capture camera), ``pai_class``.

``domain`` is the lighting, ``controlled`` or ``adverse``: every video is session01 of
one webcam, so the two lighting scenarios in the file names are the dataset's capture
conditions (the within-dataset domains of PDLE, seed 003 Sec. 3.2, which takes the
sessions; here there is one).
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

__all__ = ["ReplayAttack", "REPLAY_PROTOCOLS"]

GROUPS = {"train": "train", "devel": "dev", "test": "test"}
REAL = re.compile(r"^client(\d{3})_session(\d{2})_webcam_authenticate_(controlled|adverse)_(\d+)$")
ATTACK_NAME = re.compile(
    r"^attack_(print|mobile|highdef)_client(\d{3})_session(\d{2})_(highdef|mobile)_(photo|video)_(controlled|adverse)$"
)
SPECIES = {
    "grandtest": {"print", "mobile_photo", "highdef_photo", "mobile_video", "highdef_video"},
    "print": {"print"},
    "mobile": {"mobile_photo", "mobile_video"},
    "highdef": {"highdef_photo", "highdef_video"},
    "photo": {"print", "mobile_photo", "highdef_photo"},
    "video": {"mobile_video", "highdef_video"},
    "digitalphoto": {"mobile_photo", "highdef_photo"},
}
ATTACK_KINDS = (("print", "highdef", "photo"), ("mobile", "mobile", "photo"), ("highdef", "highdef", "photo"),
                ("mobile", "mobile", "video"), ("highdef", "highdef", "video"))  # fmt: skip
CLIENTS_PER_GROUP = {"train": 15, "devel": 15, "test": 20}
REPLAY_PROTOCOLS = [*SPECIES] + [f"{p}-{s}" for p in SPECIES for s in ("fixed", "hand")]
EXPECTED = "train/, devel/ and test/ folders, each with real/ and attack/{fixed,hand}/ holding .mov videos"


def _species(instrument: str, kind: str) -> str:
    return "print" if instrument == "print" else f"{instrument}_{kind}"


@DATASETS.register("replay-attack")
class ReplayAttack(DatasetAdapter):
    """Replay-Attack with the Idiap protocols grandtest, print, photo, video, digitalphoto, highdef, mobile."""

    name = "replay-attack"
    default_protocol = "grandtest"
    face_source_default = "dataset"  # its face-locations files, one box per frame

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        if not any((self.root / g / "real").is_dir() or (self.root / g / "attack").is_dir() for g in GROUPS):
            raise root_error("Replay-Attack", self.root, EXPECTED)
        self._rows = self._scan()

    def _scan(self) -> list[dict[str, Any]]:
        rows = []
        strange: list[str] = []
        for group, split in GROUPS.items():
            for sub in ("real", "attack/fixed", "attack/hand"):
                directory = self.root / group / sub
                if not directory.is_dir():
                    continue
                for file in sorted(directory.iterdir()):
                    if file.suffix.lower() != ".mov":
                        continue
                    rel = f"{group}/{sub}/{file.name}"
                    if sub == "real":
                        match = REAL.match(file.stem)
                        if not match:
                            strange.append(rel)
                            continue
                        client, session, light, _take = match.groups()
                        label, pai, support = BONAFIDE, BONAFIDE, ""
                    else:
                        match = ATTACK_NAME.match(file.stem)
                        if not match:
                            strange.append(rel)
                            continue
                        instrument, client, session, _device, kind, light = match.groups()
                        label, pai, support = ATTACK, _species(instrument, kind), sub.split("/")[1]
                    rows.append(
                        {
                            "path": rel,
                            "label": label,
                            "pai": pai,
                            "subject": client,
                            "session": session,
                            "video": rel.rsplit(".", 1)[0],
                            "frame": -1,
                            "domain": light,
                            "split": split,
                            "support": support,
                            "light": light,
                            "device": "webcam",
                        }
                    )
        if strange:
            raise DatasetError(
                f"{len(strange)} video(s) under {self.root} do not follow Replay-Attack naming "
                "(client001_session01_webcam_authenticate_adverse_1.mov, "
                f"attack_highdef_client001_session01_highdef_photo_adverse.mov): {preview(strange)}"
            )
        if not rows:
            raise root_error("Replay-Attack", self.root, EXPECTED)
        warn_absent("Replay-Attack", self.root, self._absent(rows))
        return rows

    @staticmethod
    def _absent(rows: list[dict[str, Any]]) -> list[str]:
        """Videos a complete copy has for the clients present (4 real, 20 attacks each), and missing clients."""
        have = {r["path"] for r in rows}
        clients = {(r["path"].split("/")[0], r["subject"]) for r in rows}
        absent = []
        for group, client in sorted(clients):
            for light in ("controlled", "adverse"):
                absent += [
                    f"{group}/real/client{client}_session01_webcam_authenticate_{light}_{take}.mov" for take in (1, 2)
                ]
                for support in ("fixed", "hand"):
                    for instrument, device, kind in ATTACK_KINDS:
                        absent.append(
                            f"{group}/attack/{support}/attack_{instrument}_client{client}_session01_{device}_{kind}_{light}.mov"
                        )
        absent = [p for p in absent if p not in have]
        for group, count in CLIENTS_PER_GROUP.items():
            found = len({c for g, c in clients if g == group})
            if found < count:
                absent.append(f"{group}/: {count - found} of its {count} clients")
        return absent

    def protocols(self) -> list[str]:
        return list(REPLAY_PROTOCOLS)

    def _check_lists(self, protocol: str, selected: list[dict[str, Any]]) -> None:
        folder = self.root / "protocols"
        if not folder.is_dir() or "-" in protocol:
            return
        for group, split in GROUPS.items():
            attack_list = folder / f"attack-{protocol}-allsupports-{group}.txt"
            real_list = folder / f"real-{protocol}-allsupports-{group}.txt"
            if not real_list.is_file():
                real_list = folder / f"real-{group}.txt"
            for path, label in ((attack_list, ATTACK), (real_list, BONAFIDE)):
                if not path.is_file():
                    logger.warning("Replay-Attack list %s is absent; using the published rules alone", path)
                    continue
                listed = {safe_relpath(line, where=str(path)) for line in path.read_text().splitlines() if line.strip()}
                listed = {p if p.endswith(".mov") else p + ".mov" for p in listed}
                check_exists(self.root, sorted(listed), str(path))
                chosen = {r["path"] for r in selected if r["split"] == split and r["label"] == label}
                extra, lacking = sorted(listed - chosen), sorted(chosen - listed)
                if extra or lacking:
                    raise ProtocolMismatchError(
                        f"{path} disagrees with the published Replay-Attack {protocol} rules: "
                        f"listed but not selected: {len(extra)} ({preview(extra)}); "
                        f"selected but not listed: {len(lacking)} ({preview(lacking)})"
                    )

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        protocol = check_protocol("Replay-Attack", protocol, self.protocols(), self.default_protocol)
        base, _, support = protocol.partition("-")
        species = SPECIES[base]
        selected = [
            r
            for r in self._rows
            if r["label"] == BONAFIDE or (r["pai"] in species and (not support or r["support"] == support))
        ]
        self._check_lists(protocol, selected)
        frame = to_frame(selected, extra=("support", "light", "device"))
        return select_split(frame, split)

    def face_annotations(self, path: str) -> dict[int, dict[str, Any]] | None:
        """Boxes per frame from ``face-locations/<video>.face``; None when absent."""
        rel = safe_relpath(path)
        face = self.root / "face-locations" / (rel.rsplit(".", 1)[0] + ".face")
        if not face.is_file():
            return None
        out: dict[int, dict[str, Any]] = {}
        for _, values in numeric_lines(face, 5, "frame x y width height"):
            frame, x, y, w, h = (int(v) for v in values)
            if w > 0 and h > 0:
                out[frame] = {"box": (x, y, x + w, y + h)}
        return out
