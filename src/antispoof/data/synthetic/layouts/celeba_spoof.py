"""CelebA-Spoof simulated: still images with ``_BB.txt`` boxes and the 44-value label files of its protocols.

What is written (the tree :mod:`antispoof.data.celeba_spoof` reads, ``out`` = ``CelebA_Spoof``)::

    Data/{train,test}/<subject>/{live,spoof}/000001.jpg + 000001_BB.txt
    metas/intra_test/{train,test}_label.json
    metas/protocol1/{train,test}_label.json
    metas/protocol2/test_on_{low,middle,high}_quality_device/{train,test}_label.json

Images are numbered through the dataset (train first, then test); live images are
JPEG (CelebA's), spoof images PNG, as in the release's file lists. ``_BB.txt`` holds
``x y w h score`` of the face on the image scaled to 224 x 224. A label vector is 40
CelebA attributes (all 0 here: not simulated), spoof type, illumination, environment,
live/spoof. Illumination and environment are drawn per spoof image and only annotated:
the rendering does not follow them.

Protocols (Zhang et al., ECCV 2020, Sec. 5): ``intra_test`` is every image, train
subjects against test subjects. ``protocol1`` (cross-medium): spoof types A4 (3), face
mask (4) and PC (7) only in test, photo, poster, upper-body mask, region mask, pad and
phone only in train (the 3D mask is in neither), live images in both. ``protocol2``
(cross-sensor): spoof images of one sensor quality group in test, those of the other
two groups in train, live images in both; the groups are our capture domains (low:
budget_phone, laptop_720p; middle: phone_front; high: webcam_hd). Which sensor took a
spoof image is only in these files, as in the release.

Spoof types onto the generator's species (its prints differ only by surface and cut-outs,
not by paper size or gloss; it has no paper mask cut to a face or a body):

====  ===============  ====================  ==========================================
type  CelebA-Spoof     species               counterpart
====  ===============  ====================  ==========================================
1     photo            print_flat            yes
2     poster           print_flat            approximate: no poster-sized print
3     A4               print_bent            yes (a hand-held sheet)
4     face mask        print_bent            none: a paper face cut to its outline
5     upper-body mask  print_flat            none: a print of head and shoulders
6     region mask      print_bent_eyes       approximate: a print with regions cut out
7     PC               replay_monitor        yes
8     pad              replay_tablet         yes
9     phone            replay_phone          yes
10    3D mask          mask_rigid            yes
====  ===============  ====================  ==========================================

Bona fide : attack is 1 : 3 in each split (156,384 live and 469,153 spoof images of the
625,537, Zhang et al. ECCV 2020, Table 1; the per-split counts are not published with
the release): ``--frames`` live images per subject and three times as many spoof ones.
Subjects are split about 88 : 12 (the intra_test lists' 494,405 : 67,170 images).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from antispoof.data.base import ATTACK, BONAFIDE
from antispoof.data.synthetic.clips import VideoSpec, rng_for
from antispoof.data.synthetic.layouts import LAYOUTS, LayoutSettings, render, share, write_image

__all__ = ["SPOOF_SPECIES", "COUNTERPART", "SENSOR_GROUPS", "PROTOCOL1_TEST", "SPOOF_PER_LIVE", "celeba_spoof"]

SPOOF_SPECIES = {
    1: "print_flat", 2: "print_flat", 3: "print_bent", 4: "print_bent", 5: "print_flat", 6: "print_bent_eyes",
    7: "replay_monitor", 8: "replay_tablet", 9: "replay_phone", 10: "mask_rigid",
}  # fmt: skip
COUNTERPART = {1: "yes", 2: "approximate", 3: "yes", 4: "none", 5: "none", 6: "approximate",
               7: "yes", 8: "yes", 9: "yes", 10: "yes"}  # fmt: skip
PROTOCOL1_TEST = (3, 4, 7)  # A4, face mask, PC
PROTOCOL1_TRAIN = (1, 2, 5, 6, 8, 9)
SENSOR_GROUPS = {"low": ("budget_phone", "laptop_720p"), "middle": ("phone_front",), "high": ("webcam_hd",)}
LIVE_DOMAINS = ("webcam_hd", "phone_front", "laptop_720p", "budget_phone")  # CelebA's web photos: any camera
SPOOF_PER_LIVE = 3  # 469,153 / 156,384
IMAGES = {"train": 494405, "test": 67170}  # images per split: subjects are dealt in this proportion
BOX_SCALE = 224
# Order in which a split's spoof images take their types: the protocol-1 types of the split first, so that
# a split of a few images still holds every type protocol 1 needs there.
TYPE_ORDER = {"train": (*PROTOCOL1_TRAIN, *PROTOCOL1_TEST, 10), "test": (*PROTOCOL1_TEST, *PROTOCOL1_TRAIN, 10)}


def _subject_splits(n: int, seed: int) -> list[str]:
    n_test = share(n, IMAGES, "CelebA-Spoof")["test"]
    order = rng_for(seed, 51).permutation(n)
    out = [""] * n
    for rank, index in enumerate(order):
        out[index] = "test" if rank < n_test else "train"
    return out


def _vector(spoof: int, illumination: int, environment: int) -> list[int]:
    return [0] * 40 + [spoof, illumination, environment, int(spoof != 0)]


def _plan(settings: LayoutSettings) -> list[dict[str, Any]]:
    """Every image: spec, spoof type (0 live), sensor group, illumination, environment; train first."""
    splits = _subject_splits(settings.subjects, settings.seed)
    groups = list(SENSOR_GROUPS)
    items = []
    for split in ("train", "test"):
        spoof_i = 0
        for subject in (s for s in range(settings.subjects) if splits[s] == split):
            name = str(subject + 1)  # CelebA's identity numbers
            live = settings.frames
            for k in range(live + SPOOF_PER_LIVE * live):
                rng = rng_for(settings.seed, 52, subject, k)
                if k < live:
                    spoof, group, light, place = 0, "", 0, 0
                    domain = LIVE_DOMAINS[int(rng.integers(len(LIVE_DOMAINS)))]
                else:
                    spoof = TYPE_ORDER[split][spoof_i % len(TYPE_ORDER[split])]
                    group = groups[spoof_i % len(groups)]
                    spoof_i += 1
                    domain = SENSOR_GROUPS[group][int(rng.integers(len(SENSOR_GROUPS[group])))]
                    light, place = int(rng.integers(1, 5)), int(rng.integers(1, 3))
                species = SPOOF_SPECIES[spoof] if spoof else BONAFIDE
                # a live image is one CelebA photo (its own session); spoof images show the subject's photos
                session = 1 + k if spoof == 0 else 1 + k % max(1, live)
                spec = VideoSpec(name, str(session), f"{name}_{k:03d}", species, domain, split, (subject, session, k))
                items.append({"spec": spec, "spoof": spoof, "group": group, "illumination": light, "environment": place})
    return items


@LAYOUTS.register("celeba-spoof")
def celeba_spoof(out: Path, settings: LayoutSettings) -> dict[str, Any]:
    """Write the simulated CelebA-Spoof tree into ``out``; returns counts per protocol, split, label and type."""
    settings.check(minimum_subjects=2)
    one_frame = replace(settings, frames=1)
    labels: dict[str, dict[str, dict[str, list[int]]]] = {}
    protocols = ["intra_test", "protocol1", *(f"protocol2/test_on_{g}_quality_device" for g in SENSOR_GROUPS)]
    for protocol in protocols:
        labels[protocol] = {"train": {}, "test": {}}
    counts: dict[str, dict[str, dict[str, int]]] = {p: {"train": {}, "test": {}} for p in protocols}
    types: dict[str, dict[str, int]] = {"train": {}, "test": {}}
    for number, item in enumerate(_plan(settings), 1):
        spec, spoof = item["spec"], item["spoof"]
        clip = render(spec, one_frame)
        kind, suffix = ("spoof", "png") if spoof else ("live", "jpg")
        rel = f"Data/{spec.split}/{spec.subject}/{kind}/{number:06d}.{suffix}"
        write_image(out / rel, clip.rgb[0], clip.jpeg_quality)
        x0, y0, x1, y1 = (v * BOX_SCALE / settings.size for v in clip.boxes[0])
        score = 0.9 + 0.0999 * float(rng_for(settings.seed, 53, number).random())
        (out / rel).with_name(f"{number:06d}_BB.txt").write_text(
            f"{round(x0)} {round(y0)} {round(x1 - x0)} {round(y1 - y0)} {score:.4f}\n")
        vector = _vector(spoof, item["illumination"], item["environment"])
        label = ATTACK if spoof else BONAFIDE
        if spoof:
            types[spec.split][str(spoof)] = types[spec.split].get(str(spoof), 0) + 1
        for protocol in protocols:
            if _in_protocol(protocol, spec.split, spoof, item["group"]):
                labels[protocol][spec.split][rel] = vector
                split_counts = counts[protocol][spec.split]
                split_counts[label] = split_counts.get(label, 0) + 1
    for protocol, splits in labels.items():
        folder = out / "metas" / protocol
        folder.mkdir(parents=True, exist_ok=True)
        for split, content in splits.items():
            (folder / f"{split}_label.json").write_text(json.dumps(content) + "\n")
    return {
        "images": counts,
        "spoof_types": types,
        "species": {str(k): {"species": v, "counterpart": COUNTERPART[k]} for k, v in SPOOF_SPECIES.items()},
        "sensor_groups": {g: list(d) for g, d in SENSOR_GROUPS.items()},
        "published_images": {BONAFIDE: 156384, ATTACK: 469153},
    }


def _in_protocol(protocol: str, split: str, spoof: int, group: str) -> bool:
    """Whether an image of ``split`` with spoof type ``spoof`` (0 live) and sensor ``group`` is in ``protocol``."""
    if spoof == 0 or protocol == "intra_test":
        return True
    if protocol == "protocol1":
        return spoof in (PROTOCOL1_TEST if split == "test" else PROTOCOL1_TRAIN)
    held_out = protocol.split("test_on_")[1].split("_quality")[0]
    return (group == held_out) == (split == "test")
