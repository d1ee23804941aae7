"""Simulated OULU-NPU: ``{Train,Dev,Test}_files/Phone_Session_User_File.avi``, eye files and protocol lists.

Each user gets what a complete copy holds per user: 6 phones x 3 sessions x 5 files
(1 bona fide, 2-3 print, 4-5 replay), 90 ``.avi`` videos, so every (user, phone,
session) has the published 1 bona fide : 4 attacks and every protocol its published
proportion (1:4 in Protocols 1 and 3, 1:2 in 2 and 4). Users are shared out over
Train / Dev / Test as 20 : 15 : 20 (at least one each) and numbered as the dataset
numbers them: Train from 01, Dev from 21, Test from 36, so at most 55.

Mapping onto the generator:

* files: 2 (printer 1) -> ``print_flat``, 3 (printer 2) -> ``print_bent``, 4 (display 1,
  a 19" Dell monitor) -> ``replay_monitor``, 5 (display 2, a 13" MacBook screen) ->
  ``replay_tablet`` (the generator's nearest screen). Each pair is two species, so
  Protocol 2's unseen printer and display differ from the seen ones.
* phones: the six front cameras onto the five capture domains (1 Galaxy S6 edge
  ``phone_front``, 2 HTC Desire EYE ``webcam_hd``, 3 MEIZU X5 ``budget_phone``, 4 ASUS
  Zenfone Selfie ``laptop_720p``, 5 Sony XPERIA C5 ``rgbd_sensor``, 6 OPPO N3
  ``phone_front``): phones 1 and 6 share a profile but not their clips' seeds.
* sessions: the generator's session (light and backdrop) of the user, the same for the
  user's six phones, as one OULU-NPU session is one place and illumination.

Written besides the videos:

* ``<video>.txt``: one line per frame, ``frame, x, y, x, y`` (frames from 0, as the
  adapter and ``prepare`` index decoded frames), the eye on the image's left first (the
  subject's right eye), at 0.3 / 0.7 of the rendered face box's width and 0.4 of its
  height: where the generator draws the eyes, and what ``box_from_eyes`` inverts back
  to the box (side 2.5 inter-ocular distances, eyes at 40% height).
* the protocol lists, ``Protocol_1/{Train,Dev,Test}.txt``, ``Protocol_2/...``,
  ``Protocol_3/Train_1.txt`` .. ``Test_6.txt``, ``Protocol_4/...``: lines ``+1,1_1_01_1``
  (``+1`` bona fide, ``-1`` print, ``-2`` replay) for the videos written, by the
  published rules (:func:`antispoof.data.oulu_npu.oulu_split`), in ``Protocols/``; the
  adapter checks them against those rules for the videos on disk.

Videos are RGB only (OULU-NPU has no other modality) at 30 fps, the phones' rate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from antispoof.data.base import ATTACK, BONAFIDE
from antispoof.data.oulu_npu import FOLDERS, PHONES, SESSIONS, USERS, oulu_split
from antispoof.data.synthetic.clips import VideoSpec
from antispoof.data.synthetic.layouts import LAYOUTS, LayoutSettings, render, share, write_video

__all__ = ["oulu_npu", "OuluVideo", "plan_oulu", "share_users", "FILE_SPECIES", "PHONE_DOMAINS", "PROTOCOL_FILES"]

# File type -> generator species (file 1 is the bona fide face).
FILE_SPECIES = {1: BONAFIDE, 2: "print_flat", 3: "print_bent", 4: "replay_monitor", 5: "replay_tablet"}
FILE_SIGN = {1: "+1", 2: "-1", 3: "-1", 4: "-2", 5: "-2"}
PHONE_DOMAINS = {1: "phone_front", 2: "webcam_hd", 3: "budget_phone", 4: "laptop_720p", 5: "rgbd_sensor",
                 6: "phone_front"}  # fmt: skip
SHARES = {split: len(users) for split, users in USERS.items()}  # 20 : 15 : 20
STEMS = {"train": "Train", "dev": "Dev", "test": "Test"}
# Protocol name -> its list files' names below the protocols folder, per split.
PROTOCOL_FILES = {
    "Protocol_1": {s: f"Protocol_1/{stem}.txt" for s, stem in STEMS.items()},
    "Protocol_2": {s: f"Protocol_2/{stem}.txt" for s, stem in STEMS.items()},
    **{f"Protocol_{n}_{k}": {s: f"Protocol_{n}/{stem}_{k}.txt" for s, stem in STEMS.items()}
       for n in (3, 4) for k in PHONES},
}  # fmt: skip
FPS = 30
EYES_X, EYES_Y = (0.3, 0.7), 0.4  # eye centres as fractions of the face box


@dataclass(frozen=True)
class OuluVideo:
    """One planned video: its key (phone, session, user, file), where it goes and what to render."""

    phone: int
    session: int
    user: int
    file: int
    split: str
    spec: VideoSpec

    @property
    def name(self) -> str:
        return f"{self.phone}_{self.session}_{self.user:02d}_{self.file}"

    @property
    def path(self) -> str:
        return f"{FOLDERS[self.split]}/{self.name}.avi"


def share_users(subjects: int) -> dict[str, list[int]]:
    """OULU-NPU user numbers per split for ``subjects`` users, shared 20 : 15 : 20 (at least one each)."""
    counts = share(subjects, SHARES, "OULU-NPU")
    return {split: list(USERS[split])[:n] for split, n in counts.items()}


def plan_oulu(settings: LayoutSettings) -> list[OuluVideo]:
    """Every video of the simulated tree: per user, 6 phones x 3 sessions x 5 files."""
    plan = []
    for split, users in share_users(settings.subjects).items():
        for user in users:
            for phone in PHONES:
                for session in SESSIONS:
                    for file in FILE_SPECIES:
                        name = f"{phone}_{session}_{user:02d}_{file}"
                        spec = VideoSpec(subject=f"{user:02d}", session=str(session), video=name,
                                         species=FILE_SPECIES[file], domain=PHONE_DOMAINS[phone], split=split,
                                         keys=(user, session, 10 * phone + file))
                        plan.append(OuluVideo(phone, session, user, file, split, spec))
    return plan


def eye_lines(boxes: list[tuple[float, float, float, float]]) -> str:
    """The eye file of a clip: ``frame, x, y, x, y`` per frame, image-left eye first."""
    lines = []
    for frame, (x0, y0, x1, y1) in enumerate(boxes):
        w, h = x1 - x0, y1 - y0
        y = round(y0 + EYES_Y * h)
        left, right = (round(x0 + f * w) for f in EYES_X)
        lines.append(f"{frame}, {left}, {y}, {right}, {y}")
    return "\n".join(lines) + "\n"


def protocol_lists(videos: list[OuluVideo]) -> dict[str, str]:
    """The protocol list files (relative name -> text) for the videos written, by the published rules."""
    order = sorted(videos, key=lambda v: (v.phone, v.session, v.user, v.file))
    out: dict[str, list[str]] = {}
    for protocol, files in PROTOCOL_FILES.items():
        for split, rel in files.items():
            out[rel] = [f"{FILE_SIGN[v.file]},{v.name}" for v in order
                        if oulu_split(protocol, v.phone, v.session, v.user, v.file) == split]
    return {rel: "\n".join(lines) + "\n" for rel, lines in out.items()}


@LAYOUTS.register("oulu-npu")
def oulu_npu(out: Path, settings: LayoutSettings) -> dict[str, Any]:
    """Write the simulated OULU-NPU tree into ``out``; returns counts per split and label."""
    settings.check(minimum_subjects=3)
    videos = plan_oulu(settings)
    counts: Counter[tuple[str, str]] = Counter()
    for video in videos:
        clip = render(video.spec, settings, modalities=("rgb",))
        path = write_video(out / video.path, clip.rgb, fps=FPS)
        path.with_suffix(".txt").write_text(eye_lines(clip.boxes))
        counts[(video.split, BONAFIDE if video.file == 1 else ATTACK)] += 1
    folder = out / "Protocols"
    for rel, text in protocol_lists(videos).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    users = share_users(settings.subjects)
    return {
        "videos": {split: {label: counts[(split, label)] for label in (BONAFIDE, ATTACK)} for split in FOLDERS},
        "users": {FOLDERS[split]: [f"{u:02d}" for u in us] for split, us in users.items()},
        "species": {f"file{file}": species for file, species in FILE_SPECIES.items()},
        "domains": {f"phone{phone}": domain for phone, domain in PHONE_DOMAINS.items()},
        "protocol_files": folder.name,
    }
