"""Simulated CASIA-FASD: ``train_release/`` and ``test_release/`` subject folders of twelve ``.avi`` videos.

Each subject gets the twelve videos of a complete copy: ``1``-``8`` from the two
standard cameras and ``HR_1``-``HR_4`` from the high-quality one; per camera one bona
fide, one warped print, one cut print and one video replay, so every protocol has its
published proportion (1 : 3 in ``grandtest`` and ``high``, 1 : 1 in ``warped``, ``cut``,
``video``). Subjects are shared out 20 : 30 over train and test (at most 20 and 30, the
folder numbers the adapter accepts); test folders restart at 1 as in the real dataset.

Mapping onto the generator:

* attacks: warped print (a photo bent towards the camera) -> ``print_bent``; cut print
  (eyes cut out, the attacker's eyes behind) -> ``print_flat_eyes``; video replay on an
  iPad -> ``replay_tablet``.
* cameras: the odd videos 1, 3, 5, 7 are the low-quality USB camera (``budget_phone``,
  the generator's lowest-resolution, noisiest profile), the even ones 2, 4, 6, 8 the
  normal-quality camera (``laptop_720p``), ``HR_*`` the high-quality Sony camera
  (``webcam_hd``). Which of odd and even is "low" is our choice (sources disagree; the
  adapter does not tell them apart).
* one capture session per subject (the generator's session 1): the three cameras filmed
  the same scene.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from antispoof.data.synthetic.clips import VideoSpec
from antispoof.data.synthetic.layouts import LAYOUTS, LayoutSettings, render, share, write_video

__all__ = ["casia_fasd", "VIDEOS"]

# split, subjects in the real dataset, subject number of folder 1 less one (test folder n is subject 20 + n)
FOLDERS = {"train_release": ("train", 20, 0), "test_release": ("test", 30, 20)}
# Video stem -> (species of the generator, camera domain); the dataset's kinds in the docstring.
VIDEOS = {
    "1": ("bonafide", "budget_phone"), "2": ("bonafide", "laptop_720p"), "HR_1": ("bonafide", "webcam_hd"),
    "3": ("print_bent", "budget_phone"), "4": ("print_bent", "laptop_720p"), "HR_2": ("print_bent", "webcam_hd"),
    "5": ("print_flat_eyes", "budget_phone"), "6": ("print_flat_eyes", "laptop_720p"), "HR_3": ("print_flat_eyes", "webcam_hd"),
    "7": ("replay_tablet", "budget_phone"), "8": ("replay_tablet", "laptop_720p"), "HR_4": ("replay_tablet", "webcam_hd"),
}  # fmt: skip
KINDS = {"bonafide": "bonafide", "print_bent": "warped_print", "print_flat_eyes": "cut_print", "replay_tablet": "replay"}


FOLDER_SUBJECTS = {"train_release": 20, "test_release": 30}  # subject folders of the release


def _plan(settings: LayoutSettings) -> list[tuple[str, VideoSpec]]:
    plan = []
    for folder, count in share(settings.subjects, FOLDER_SUBJECTS, "CASIA-FASD").items():
        split, _, offset = FOLDERS[folder]
        for number in range(1, count + 1):
            subject = number + offset
            for video, (stem, (species, domain)) in enumerate(VIDEOS.items()):
                rel = f"{folder}/{number}/{stem}.avi"
                plan.append((rel, VideoSpec(subject=str(subject), session="1", video=rel[:-4], species=species,
                                            domain=domain, split=split, keys=(subject, 1, video))))  # fmt: skip
    return plan


@LAYOUTS.register("casia-fasd")
def casia_fasd(out: Path, settings: LayoutSettings) -> dict[str, Any]:
    """Write the simulated CASIA-FASD tree into ``out``; returns videos per folder and label."""
    settings.check(minimum_subjects=2)
    if tuple(settings.modalities) != ("rgb",):
        raise ValueError(f"modalities {settings.modalities}: CASIA-FASD is RGB only; use ('rgb',)")
    plan = _plan(settings)
    for rel, spec in plan:
        write_video(out / rel, render(spec, settings, ("rgb",)).rgb)
    counts = Counter((rel.split("/")[0], KINDS[spec.species]) for rel, spec in plan)
    return {
        "videos": {f: {k: counts[(f, k)] for k in KINDS.values()} for f in FOLDERS},
        "subjects": share(settings.subjects, FOLDER_SUBJECTS, "CASIA-FASD"),
        "species": {kind: species for species, kind in KINDS.items() if kind != "bonafide"},
        "domains": {"1-8 odd": "budget_phone", "1-8 even": "laptop_720p", "HR_1-4": "webcam_hd"},
    }
