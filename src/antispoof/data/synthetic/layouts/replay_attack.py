"""Simulated Replay-Attack (Idiap): its train/devel/test tree, face-locations and protocol lists.

Each client gets what a complete copy holds per client: under both lightings
(``controlled``, ``adverse``) two real takes and, fixed and hand-held, the five attacks
(print; mobile photo and video; highdef photo and video): 4 real and 20 attack ``.mov``
videos, so every protocol has its published bona fide : attack proportion in every group.
Clients are shared out over train / devel / test as 15 : 15 : 20.

Mapping onto the generator:

* instruments: ``print`` -> ``print_flat`` on the fixed support, ``print_bent`` when held
  by hand (a held sheet flexes); ``mobile`` (iPhone screen) -> ``replay_phone``;
  ``highdef`` (iPad screen) -> ``replay_tablet``. The generator's replays always show a
  moving face: ``photo`` and ``video`` replays differ in their names, not their content.
* camera: every video is the one laptop webcam, domain ``laptop_720p``.
* lighting: ``controlled`` and ``adverse`` are the generator's sessions 1 and 2 of the
  client (each session draws its own light and backdrop; the generator has no
  "adverse light" setting, so the two differ as two sessions do).

Written besides the videos: ``face-locations/<video>.face`` (``frame x y width height``,
frames from 0, from the rendered face boxes) and ``protocols/`` with
``attack-<protocol>-allsupports-<group>.txt`` and ``real-<group>.txt`` (paths without
extension), built from the file-name attributes by the Idiap definitions. The
verification ``enroll/`` folder is not written (the adapter does not read it).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from antispoof.data.synthetic.clips import VideoSpec
from antispoof.data.synthetic.layouts import LAYOUTS, LayoutSettings, render, share, write_video

__all__ = ["replay_attack", "GROUP_SHARES", "PROTOCOL_RULES"]

GROUPS = {"train": "train", "devel": "dev", "test": "test"}
GROUP_SHARES = {"train": 15, "devel": 15, "test": 20}  # clients per group in the real dataset
LIGHTS = ("controlled", "adverse")
SUPPORTS = ("fixed", "hand")
# (instrument, sample device, sample type), in the order of the dataset's documentation.
ATTACKS = (("print", "highdef", "photo"), ("mobile", "mobile", "photo"), ("highdef", "highdef", "photo"),
           ("mobile", "mobile", "video"), ("highdef", "highdef", "video"))  # fmt: skip
DOMAIN = "laptop_720p"
# The Idiap protocols by the attributes in the file names: (instruments, sample types).
PROTOCOL_RULES = {
    "grandtest": ({"print", "mobile", "highdef"}, {"photo", "video"}),
    "print": ({"print"}, {"photo"}),
    "mobile": ({"mobile"}, {"photo", "video"}),
    "highdef": ({"highdef"}, {"photo", "video"}),
    "photo": ({"print", "mobile", "highdef"}, {"photo"}),
    "video": ({"mobile", "highdef"}, {"video"}),
    "digitalphoto": ({"mobile", "highdef"}, {"photo"}),
}


def _species(instrument: str, support: str) -> str:
    if instrument == "print":
        return "print_flat" if support == "fixed" else "print_bent"
    return {"mobile": "replay_phone", "highdef": "replay_tablet"}[instrument]


def _plan(settings: LayoutSettings) -> list[tuple[str, VideoSpec, dict[str, str]]]:
    """(path, spec, file-name attributes) of every video; seed keys (client, lighting, video of the lighting)."""
    plan = []
    client = 0
    for group, count in share(settings.subjects, GROUP_SHARES, "Replay-Attack").items():
        for _ in range(count):
            client += 1
            cid = f"{client:03d}"
            for session, light in enumerate(LIGHTS, 1):
                items = [(f"{group}/real/client{cid}_session01_webcam_authenticate_{light}_{take}.mov", "bonafide",
                          {"label": "bonafide"}) for take in (1, 2)]  # fmt: skip
                for support in SUPPORTS:
                    for instrument, device, kind in ATTACKS:
                        name = f"attack_{instrument}_client{cid}_session01_{device}_{kind}_{light}"
                        attrs = {"label": "attack", "instrument": instrument, "kind": kind, "support": support}
                        items.append((f"{group}/attack/{support}/{name}.mov", _species(instrument, support), attrs))
                for video, (rel, species, attrs) in enumerate(items):
                    spec = VideoSpec(subject=cid, session=str(session), video=rel[:-4], species=species, domain=DOMAIN,
                                     split=GROUPS[group], keys=(client, session, video))  # fmt: skip
                    plan.append((rel, spec, attrs))
    return plan


def _face_lines(boxes: list[tuple[float, float, float, float]]) -> str:
    lines = []
    for frame, (x0, y0, x1, y1) in enumerate(boxes):
        x, y = int(round(x0)), int(round(y0))
        lines.append(f"{frame} {x} {y} {int(round(x1)) - x} {int(round(y1)) - y}")
    return "\n".join(lines) + "\n"


def _write_lists(out: Path, plan: list[tuple[str, VideoSpec, dict[str, str]]]) -> None:
    folder = out / "protocols"
    folder.mkdir(parents=True, exist_ok=True)
    for group in GROUPS:
        ours = [(rel[:-4], attrs) for rel, _, attrs in plan if rel.startswith(group + "/")]
        (folder / f"real-{group}.txt").write_text("".join(f"{p}\n" for p, a in ours if a["label"] == "bonafide"))
        for protocol, (instruments, kinds) in PROTOCOL_RULES.items():
            attacks = [(p, a) for p, a in ours if a["label"] == "attack"]
            chosen = [p for p, a in attacks if a["instrument"] in instruments and a["kind"] in kinds]
            (folder / f"attack-{protocol}-allsupports-{group}.txt").write_text("".join(f"{p}\n" for p in chosen))


@LAYOUTS.register("replay-attack")
def replay_attack(out: Path, settings: LayoutSettings) -> dict[str, Any]:
    """Write the simulated Replay-Attack tree into ``out``; returns videos per group and label."""
    settings.check(minimum_subjects=3)
    if tuple(settings.modalities) != ("rgb",):
        raise ValueError(f"modalities {settings.modalities}: Replay-Attack is RGB only; use ('rgb',)")
    plan = _plan(settings)
    for rel, spec, _ in plan:
        clip = render(spec, settings, ("rgb",))
        write_video(out / rel, clip.rgb)
        face = out / "face-locations" / (rel[:-4] + ".face")
        face.parent.mkdir(parents=True, exist_ok=True)
        face.write_text(_face_lines(clip.boxes))
    _write_lists(out, plan)
    counts = Counter((rel.split("/")[0], attrs["label"]) for rel, _, attrs in plan)
    return {
        "videos": {g: {lab: counts[(g, lab)] for lab in ("bonafide", "attack")} for g in GROUPS},
        "clients": {g: len({s.subject for r, s, _ in plan if r.startswith(g + "/")}) for g in GROUPS},
        "species": {f"{i}/{s}": _species(i, s) for i in ("print", "mobile", "highdef") for s in SUPPORTS},
        "domain": DOMAIN,
    }
