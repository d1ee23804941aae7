"""Simulated SiW: ``{Train,Test}/{live,spoof}/<subject>/SubjectID-SensorID-TypeID-MediumID-SessionID.mov``.

Each subject gets the complete per-subject inventory of the release ("8 live and up to
20 spoof videos", Liu et al., CVPR 2018), read off its file names:

* live (TypeID 1): sensors 1, 2 x MediumID 1, 2 x SessionID 1, 2 = 8;
* print (TypeID 2): sensor 1 x print media 1, 2 x sessions 1, 2 = 4;
* replay (TypeID 3): sensors 1, 2 x replay media 1-4 x sessions 1, 2 = 16,

so every protocol has the proportion the complete set has (8 bona fide : 20 attacks in
Protocol_1, 8 : 12 / 8 : 4 in Protocol_2_k train / test, 8 : 4 and 8 : 16 in Protocol_3).
Subjects are shared out over Train / Test as 90 : 75 (at least one each), numbered
001, 002, ... (the release numbers 165 subjects, so at most 165). SiW has no dev set.

Mapping onto the generator:

* sensors: 1 (Canon EOS T6) -> ``webcam_hd``, the cleanest capture domain; 2 (Logitech
  C920 webcam) -> ``laptop_720p``.
* print media: 1 (high quality) -> ``print_flat``, 2 (low quality) -> ``print_bent``
  (the generator has no print-quality setting; two species keep them apart).
* replay media, in the paper's order: 1 Galaxy S8 and 2 iPhone 7 -> ``replay_phone``,
  3 iPad Pro -> ``replay_tablet``, 4 Asus MB168B -> ``replay_monitor`` (we found no
  public statement of which MediumID is which device; this order is our assumption).
* sessions: a live video's four captures (MediumID x SessionID: distance, pose,
  illumination, expression) are the subject's generator sessions 1-4; spoof sessions
  1 and 2 are its sessions 5 and 6 (a capture of its own light and backdrop).

Written besides each video: ``<video>.face``, one line per frame ``x0 y0 x1 y1`` (the
rendered face box, integer pixels, space-separated), as the release ships face boxes.
The adapter does not read them (it has no ``face_annotations``). Videos are RGB H.264
``.mov`` at 30 fps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from antispoof.data.base import ATTACK, BONAFIDE
from antispoof.data.siw import FOLDERS
from antispoof.data.synthetic.clips import VideoSpec
from antispoof.data.synthetic.layouts import LAYOUTS, LayoutSettings, render, share, write_video

__all__ = ["siw", "SiWVideo", "plan_siw", "share_subjects", "TYPE_SPECIES", "SENSOR_DOMAINS", "INVENTORY"]

SHARES = {"Train": 90, "Test": 75}  # subjects per folder in the release
SENSOR_DOMAINS = {1: "webcam_hd", 2: "laptop_720p"}
# TypeID -> MediumID -> generator species.
TYPE_SPECIES = {
    1: {1: BONAFIDE, 2: BONAFIDE},
    2: {1: "print_flat", 2: "print_bent"},
    3: {1: "replay_phone", 2: "replay_phone", 3: "replay_tablet", 4: "replay_monitor"},
}
# TypeID -> the sensors that capture it; every (sensor, medium) has sessions 1 and 2.
INVENTORY = {1: (1, 2), 2: (1,), 3: (1, 2)}
SESSIONS = (1, 2)
FPS = 30


@dataclass(frozen=True)
class SiWVideo:
    """One planned video: its file-name fields, folder and what to render."""

    subject: int
    sensor: int
    type_id: int
    medium: int
    session: int
    folder: str
    spec: VideoSpec

    @property
    def name(self) -> str:
        return f"{self.subject:03d}-{self.sensor}-{self.type_id}-{self.medium}-{self.session}"

    @property
    def path(self) -> str:
        kind = "live" if self.type_id == 1 else "spoof"
        return f"{self.folder}/{kind}/{self.subject:03d}/{self.name}.mov"


def share_subjects(subjects: int) -> dict[str, list[int]]:
    """Subject numbers per folder for ``subjects`` subjects, shared 90 : 75 (at least one each)."""
    train = share(subjects, SHARES, "SiW")["Train"]
    return {"Train": list(range(1, train + 1)), "Test": list(range(train + 1, subjects + 1))}


def plan_siw(settings: LayoutSettings) -> list[SiWVideo]:
    """Every video of the simulated tree: per subject 8 live, 4 print and 16 replay videos."""
    plan = []
    for folder, subjects in share_subjects(settings.subjects).items():
        for subject in subjects:
            index = 0
            for type_id, sensors in INVENTORY.items():
                for sensor in sensors:
                    for medium, species in TYPE_SPECIES[type_id].items():
                        for session in SESSIONS:
                            # Live: MediumID x SessionID are the four captures (1-4); spoof: 5, 6.
                            scene = 2 * (medium - 1) + session if type_id == 1 else 4 + session
                            name = f"{subject:03d}-{sensor}-{type_id}-{medium}-{session}"
                            spec = VideoSpec(subject=f"{subject:03d}", session=str(session), video=name,
                                             species=species, domain=SENSOR_DOMAINS[sensor],
                                             split=FOLDERS[folder], keys=(subject, scene, index))
                            plan.append(SiWVideo(subject, sensor, type_id, medium, session, folder, spec))
                            index += 1
    return plan


def face_lines(boxes: list[tuple[float, float, float, float]]) -> str:
    """The ``.face`` file of a clip: ``x0 y0 x1 y1`` per frame."""
    return "".join(" ".join(str(round(v)) for v in box) + "\n" for box in boxes)


@LAYOUTS.register("siw")
def siw(out: Path, settings: LayoutSettings) -> dict[str, Any]:
    """Write the simulated SiW tree into ``out``; returns counts per split and label."""
    settings.check(minimum_subjects=2)
    videos = plan_siw(settings)
    counts: Counter[tuple[str, str]] = Counter()
    for video in videos:
        clip = render(video.spec, settings, modalities=("rgb",))
        path = write_video(out / video.path, clip.rgb, fps=FPS)
        path.with_suffix(".face").write_text(face_lines(clip.boxes))
        counts[(video.spec.split, BONAFIDE if video.type_id == 1 else ATTACK)] += 1
    shared = share_subjects(settings.subjects)
    return {
        "videos": {split: {label: counts[(split, label)] for label in (BONAFIDE, ATTACK)}
                   for split in FOLDERS.values()},
        "subjects": {folder: [f"{s:03d}" for s in subjects] for folder, subjects in shared.items()},
        "species": {f"type{t}-medium{m}": species for t, media in TYPE_SPECIES.items() for m, species in media.items()},
        "domains": {f"sensor{sensor}": domain for sensor, domain in SENSOR_DOMAINS.items()},
    }
