"""Simulated MSU-MFSD: ``scene01/real`` and ``scene01/attack`` videos with the official subject lists.

Each subject gets the eight videos of a complete copy: from the laptop camera (``.mov``)
and from the Android phone (``.mp4``), one bona fide video and the three attacks
(printed photo, iPad replay, iPhone replay), so both splits have the published
proportion 1 : 3. Subjects take the dataset's own client numbers: the first of the
official training list and of the test list, shared out 15 : 20 (at most 15 and 20;
a client outside the lists is an error in the adapter). ``train_sub_list.txt`` and
``test_sub_list.txt`` are written at the root with the published lists, as distributed.

Mapping onto the generator:

* cameras: the MacBook Air webcam -> ``laptop_720p``; the Nexus 5 front camera ->
  ``phone_front``; one capture session per subject (every file is ``scene01``).
* attacks: ``printed_photo`` (a large colour print) -> ``print_flat``; ``ipad_video`` ->
  ``replay_tablet``; ``iphone_video`` -> ``replay_phone``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from antispoof.data.msu_mfsd import MSU_TEST_SUBJECTS, MSU_TRAIN_SUBJECTS
from antispoof.data.synthetic.clips import VideoSpec
from antispoof.data.synthetic.layouts import LAYOUTS, LayoutSettings, render, share, write_video

__all__ = ["msu_mfsd", "DEVICES", "ATTACKS"]

DEVICES = {"laptop": ("laptop_720p", ".mov"), "android": ("phone_front", ".mp4")}  # domain, file type
ATTACKS = {"printed_photo": "print_flat", "ipad_video": "replay_tablet", "iphone_video": "replay_phone"}
LISTS = {"train": MSU_TRAIN_SUBJECTS, "test": MSU_TEST_SUBJECTS}


def _clients(n: int) -> dict[str, list[str]]:
    """The first clients of each official list, ``n`` in all, shared 15 : 20."""
    counts = share(n, {"train": len(MSU_TRAIN_SUBJECTS), "test": len(MSU_TEST_SUBJECTS)}, "MSU-MFSD")
    return {"train": list(MSU_TRAIN_SUBJECTS[: counts["train"]]), "test": list(MSU_TEST_SUBJECTS[: counts["test"]])}


def _plan(settings: LayoutSettings) -> list[tuple[str, VideoSpec]]:
    plan = []
    for split, clients in _clients(settings.subjects).items():
        for client in clients:
            video = 0
            for device, (domain, ext) in DEVICES.items():
                items = [(f"scene01/real/real_client{client}_{device}_SD_scene01{ext}", "bonafide")]
                items += [(f"scene01/attack/attack_client{client}_{device}_SD_{kind}_scene01{ext}", species)
                          for kind, species in ATTACKS.items()]  # fmt: skip
                for rel, species in items:
                    stem = rel.rsplit(".", 1)[0]
                    plan.append((rel, VideoSpec(subject=client, session="1", video=stem, species=species, domain=domain,
                                                split=split, keys=(int(client), 1, video))))  # fmt: skip
                    video += 1
    return plan


@LAYOUTS.register("msu-mfsd")
def msu_mfsd(out: Path, settings: LayoutSettings) -> dict[str, Any]:
    """Write the simulated MSU-MFSD tree into ``out``; returns videos per split and label."""
    settings.check(minimum_subjects=2)
    if tuple(settings.modalities) != ("rgb",):
        raise ValueError(f"modalities {settings.modalities}: MSU-MFSD is RGB only; use ('rgb',)")
    plan = _plan(settings)
    for rel, spec in plan:
        write_video(out / rel, render(spec, settings, ("rgb",)).rgb, fps=30)
    for split, clients in LISTS.items():
        (out / f"{split}_sub_list.txt").write_text("".join(f"{c}\n" for c in clients))
    counts = Counter((spec.split, "bonafide" if spec.species == "bonafide" else "attack") for _, spec in plan)
    return {
        "videos": {s: {lab: counts[(s, lab)] for lab in ("bonafide", "attack")} for s in LISTS},
        "clients": _clients(settings.subjects),
        "species": dict(ATTACKS),
        "domains": {d: domain for d, (domain, _) in DEVICES.items()},
    }
